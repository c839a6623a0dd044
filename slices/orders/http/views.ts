import * as z from 'zod';
import type { HistoryRecord } from '../../../shared/kernel/history';
import type { HttpResponseData } from '../../../shared/function-table';
import { conflict, notFound, problem } from '../../../shared/http/problem';
import type { PaymentFailure } from '../../../shared/platform/payments';
import type { Customer } from '../domain/customer';
import type { Order, Payment, Refund } from '../domain/order';
export { toOrderView, toPaymentView, toRefundView } from '../app/representation';
import type { OrderError } from '../domain/payments';
import { ORDER_STATUSES, PAYMENT_STATUSES, PAYMENT_SUMMARIES, REFUND_STATUSES } from '../domain/status';

// ---- What the API shows (and the OpenAPI document describes).

const amount = z.number().int().min(0);
export const orderView = z.object({
  id: z.string(),
  source: z.string(),
  externalId: z.string(),
  status: z.enum(ORDER_STATUSES),
  paymentStatus: z.enum(PAYMENT_SUMMARIES),
  currency: z.string(),
  totalAmount: amount,
  paidAmount: amount,
  refundedAmount: amount,
  customerId: z.string(),
  customer: z.object({
    email: z.string(),
    name: z.string(),
    phone: z.string().optional(),
    address: z.object({ street: z.string(), zip: z.string(), city: z.string(), country: z.string().optional() }).optional(),
  }),
  items: z.array(
    z.object({ sku: z.string(), name: z.string(), quantity: z.number().int(), unitAmount: amount, taxRatePercent: z.number().optional(), lineAmount: amount }),
  ),
  metadata: z.record(z.string(), z.string()).optional(),
  attention: z.object({ reason: z.string(), since: z.string() }).optional(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const refundView = z.object({
  id: z.string(),
  paymentId: z.string(),
  amount,
  status: z.enum(REFUND_STATUSES),
  reason: z.string().optional(),
  origin: z.enum(['api', 'provider']),
  failureReason: z.string().optional(),
  /** BTCPay: where the customer claims the refund (gives an address to be paid back to). */
  claimLink: z.string().optional(),
  createdAt: z.string(),
});
export const paymentView = z.object({
  id: z.string(),
  orderId: z.string(),
  provider: z.enum(['stripe', 'btcpay']),
  status: z.enum(PAYMENT_STATUSES),
  amount,
  refundedAmount: amount,
  currency: z.string(),
  providerRef: z.string().optional(),
  failureReason: z.string().optional(),
  /** BTCPay: the invoice's status and additional status, e.g. `Expired/PaidPartial`. */
  providerStatus: z.string().optional(),
  refunds: z.array(refundView),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const historyView = z.object({
  items: z.array(
    z.object({
      machine: z.string(),
      subject: z.string(),
      from: z.string().nullable(),
      to: z.string(),
      at: z.string(),
      cause: z.string(),
      reason: z.string().optional(),
    }),
  ),
});
export const customerView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  phone: z.string().optional(),
  orders: z.array(z.object({ id: z.string(), status: z.enum(ORDER_STATUSES), totalAmount: amount, currency: z.string() })),
});

export const toHistoryView = (records: HistoryRecord[]) => ({
  items: records.map(({ machine, subject, from, to, at, cause, reason }) => ({ machine, subject, from, to, at, cause, ...(reason ? { reason } : {}) })),
});

export function toCustomerView(customer: Customer, orders: Order[]): z.infer<typeof customerView> {
  return {
    id: customer.id,
    email: customer.email,
    name: customer.name,
    ...(customer.phone ? { phone: customer.phone } : {}),
    orders: orders.map((order) => ({ id: order.id, status: order.status, totalAmount: order.totalAmount, currency: order.currency })),
  };
}

/** A strong ETag of a version (`"7"`). */
export const etagOf = (version: number) => `"${version}"`;

/**
 * The versions an `If-Match` header names: undefined when absent or `*` (any), else every
 * `"<n>"` / `W/"<n>"` in it (none that parse: nothing can match, so the request fails with 412).
 */
export function ifMatchVersions(header: string | undefined): number[] | undefined {
  if (header === undefined) return undefined;
  const tags = header.split(',').map((tag) => tag.trim());
  if (tags.includes('*')) return undefined;
  return tags.flatMap((tag) => {
    const match = /^(?:W\/)?"(\d{1,12})"$/.exec(tag);
    return match ? [Number(match[1])] : [];
  });
}

// ---- Problems.

/** A refund nobody could carry out: no provider for the payment, or the provider refused it. */
export function refundProblem(
  error: { code: 'PROVIDER_NOT_CONFIGURED'; provider: string } | { code: 'REFUND_FAILED'; payment: Payment; refund: Refund },
): HttpResponseData {
  if (error.code === 'PROVIDER_NOT_CONFIGURED')
    return conflict(`The ${error.provider} provider is not configured on this hub; the payment cannot be refunded here.`);
  return problem(502, 'Refund refused', 'The payment provider refused the refund; nothing went back.', {
    members: { refundId: error.refund.id, refundStatus: error.refund.status },
  });
}

export const orderNotFound = () => notFound('No order with this id.');
export const paymentNotFound = () => notFound('No payment with this id.');

export function paymentProviderProblem(failure: PaymentFailure): HttpResponseData {
  if (failure.code === 'unavailable') {
    return problem(503, 'Payment provider unavailable', 'The payment provider could not be reached; retry the same request (same Idempotency-Key).', {
      headers: { 'Retry-After': '5' },
    });
  }
  return problem(502, 'Payment provider refused the request', 'The payment provider rejected the request.');
}

/** The answer to a refused order or payment change. */
export function orderProblem(error: OrderError | { code: 'STALE'; version: number } | { code: 'ORDER_NOT_FOUND' }): HttpResponseData {
  switch (error.code) {
    case 'ORDER_NOT_FOUND':
      return orderNotFound();
    case 'PAYMENT_NOT_FOUND':
      return paymentNotFound();
    case 'STALE':
      return problem(412, 'Precondition failed', `If-Match does not name the order's current version (${etagOf(error.version)}); read it again.`, {
        members: { version: error.version },
      });
    case 'FORBIDDEN_TRANSITION':
      return problem(
        409,
        'Conflict',
        `An order cannot go from ${error.from} to ${error.to}; from ${error.from} it may go to: ${error.allowed.join(', ') || 'nothing'}.`,
        {
          members: { allowed: error.allowed },
        },
      );
    case 'DERIVED_STATUS':
      return problem(409, 'Conflict', `An order becomes ${error.to} by its payments; it may be moved to: ${error.allowed.join(', ') || 'nothing'}.`, {
        members: { allowed: error.allowed },
      });
    case 'NOT_PAYABLE':
      return conflict(`Only a pending or confirmed order takes payments; this one is ${error.status}.`);
    case 'NOTHING_OPEN':
      return conflict('Nothing is left to pay on this order; give an amount to pay more.');
    case 'INVALID_AMOUNT':
      return problem(422, 'Validation failed', 'The amount cannot be charged.', { errors: [{ in: 'body', path: 'amount', message: error.message }] });
    case 'TOO_MANY':
      return conflict(`An order holds at most ${error.limit} ${error.what === 'payments' ? 'payments' : 'refunds per payment'}.`);
    case 'NOT_REFUNDABLE':
      return conflict(`Only a payment that succeeded can be refunded; this one is ${error.status}.`);
    case 'EXCEEDS_REFUNDABLE':
      return problem(409, 'Conflict', `More than is left to refund: at most ${error.refundable} can still be refunded.`, {
        members: { refundable: error.refundable },
      });
  }
}
