import * as z from 'zod';
import { amountProblem, type CurrencyCode, currencyCodeSchema } from '../../../shared/kernel/currency';
import type { Cause, HistoryEntry } from '../../../shared/kernel/history';
import type { Issue } from '../../../shared/kernel/result';
import { textSchema } from '../../../shared/kernel/text';
import { type OrderStatus, orderStatusSchema, type PaymentSummary, paymentStatusSchema, REFUND_STATUSES } from './status';

// ---- Fields, shared by the stored aggregate and the HTTP request.

/** A sales channel's name (the order's `source`): lower-case letters, digits, `_` and `-`. */
export const sourceSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'Expected a channel name like woocommerce, pos or b2b (lower case)');

/** An e-mail address, normalised (trimmed, lower case) so one person is one customer. */
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email().max(254));

export const orderAddressSchema = z.object({
  street: textSchema({ max: 200 }),
  zip: textSchema({ max: 20 }),
  city: textSchema({ max: 100 }),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'Expected an ISO 3166-1 alpha-2 country code like DE')
    .optional(),
});

export const orderCustomerSchema = z.object({
  email: emailSchema,
  name: textSchema({ max: 200 }),
  phone: z
    .string()
    .trim()
    .regex(/^\+?[0-9][0-9 ()/-]{3,30}$/, 'Expected a phone number: digits with spaces, ( ) / or -, optionally after a leading +')
    .optional(),
  address: orderAddressSchema.optional(),
});

export const orderItemSchema = z.object({
  sku: textSchema({ max: 64 }),
  name: textSchema({ max: 200 }),
  quantity: z.number().int().min(1).max(100_000),
  /** Gross price of one unit, in the currency's minor unit. */
  unitAmount: z.number().int().min(0),
  /** The VAT rate included in the price, for the books (e.g. 19). */
  taxRatePercent: z.number().min(0).max(100).multipleOf(0.01).optional(),
});

/** An id of ours in a path or a body: letters, digits and `._:~-`, so it can never be mistaken for text. */
export const resourceIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:~-]{0,99}$/, 'Not an id of this hub');

/** Why a change was asked for (a cancellation, a refund), in the caller's words. */
export const reasonSchema = textSchema({ max: 200 });

/** Free-form key/value pairs a channel keeps on its order (its own references), bounded. */
export const metadataSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.:-]{1,40}$/, 'Metadata keys are 1–40 letters, digits or _.:-'), textSchema({ max: 500, min: 0 }))
  .refine((metadata) => Object.keys(metadata).length <= 20, 'At most 20 metadata keys');

/** Bounds that keep one order's aggregate well inside what one Table Storage entity holds. */
export const ORDER_LIMITS = { items: 100, payments: 20, refundsPerPayment: 20 } as const;

// ---- The aggregate.

export const refundSchema = z.object({
  id: z.string().min(1).max(100),
  amount: z.number().int().positive(),
  status: z.enum(REFUND_STATUSES),
  reason: z.string().max(200).optional(),
  /** The provider's refund id, once it has one. */
  providerRef: z.string().max(200).optional(),
  /** Where the customer claims a refund the provider pays out on request (BTCPay: the pull payment's page). */
  claimLink: z.string().max(500).optional(),
  /** `api`: asked for through the hub; `provider`: made at the provider (e.g. in the Stripe dashboard). */
  origin: z.enum(['api', 'provider']),
  failureReason: z.string().max(500).optional(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type Refund = z.infer<typeof refundSchema>;

export const PAYMENT_PROVIDERS = ['stripe', 'btcpay'] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];

export const paymentSchema = z.object({
  id: z.string().min(1).max(100),
  provider: z.enum(PAYMENT_PROVIDERS),
  status: paymentStatusSchema,
  amount: z.number().int().positive(),
  /** What went back (refunds the provider finished). */
  refundedAmount: z.number().int().min(0),
  /** The provider's reference (a Stripe PaymentIntent id), once the provider has the payment. */
  providerRef: z.string().max(200).optional(),
  failureReason: z.string().max(500).optional(),
  /** What the provider last said beyond the status (BTCPay: the invoice's status and additional status, e.g. `Expired/PaidPartial`). */
  providerStatus: z.string().max(100).optional(),
  refunds: z.array(refundSchema),
  /** Counts this payment's changes (its ETag); the order's version counts every change of the order. */
  version: z.number().int().min(1),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type Payment = z.infer<typeof paymentSchema>;

export const lineSchema = orderItemSchema.extend({ lineAmount: z.number().int().min(0) });
export type OrderLine = z.infer<typeof lineSchema>;

/** An order with its payments and refunds: one aggregate, one partition, one ETag. */
export const orderSchema = z.object({
  id: z.string().min(1).max(100),
  source: sourceSchema,
  externalId: z.string().min(1).max(128),
  status: orderStatusSchema,
  currency: currencyCodeSchema,
  customerId: z.string().min(1).max(100),
  customer: orderCustomerSchema,
  items: z.array(lineSchema),
  totalAmount: z.number().int().min(0),
  metadata: z.record(z.string(), z.string()).optional(),
  payments: z.array(paymentSchema),
  /** Where the order lives in the ERP (Odoo ids), stored back by the sync; found again by our refs if absent. */
  erp: z.object({ partnerId: z.number().int().positive(), invoiceId: z.number().int().positive() }).optional(),
  /** A person must look (e.g. money arrived for a cancelled order). */
  attention: z.object({ reason: z.string().max(500), since: z.iso.datetime({ offset: true }) }).optional(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  version: z.number().int().min(1),
});
export type Order = z.infer<typeof orderSchema>;

// ---- The HTTP request (a public contract): strict objects, so unknown fields are refused.

export const createOrderRequestSchema = z.strictObject({
  source: sourceSchema,
  externalId: textSchema({ max: 128 }),
  currency: currencyCodeSchema,
  customer: z.strictObject({ ...orderCustomerSchema.shape, address: z.strictObject(orderAddressSchema.shape).optional() }),
  items: z.array(z.strictObject(orderItemSchema.shape)).min(1).max(ORDER_LIMITS.items),
  /** Optional check: when given it must equal the sum of the items. */
  totalAmount: z.number().int().min(0).optional(),
  metadata: metadataSchema.optional(),
});
export type CreateOrderRequest = z.infer<typeof createOrderRequestSchema>;

// ---- Money derived from the payments.

/** Money the order received, what went back, and the resulting payment summary. */
export function moneyOf(order: Pick<Order, 'payments' | 'totalAmount'>): { paidAmount: number; refundedAmount: number; paymentStatus: PaymentSummary } {
  let paidAmount = 0;
  let refundedAmount = 0;
  for (const payment of order.payments) {
    if (payment.status === 'succeeded' || payment.status === 'partially_refunded' || payment.status === 'refunded') paidAmount += payment.amount;
    refundedAmount += payment.refundedAmount;
  }
  const paymentStatus: PaymentSummary =
    refundedAmount > 0 && refundedAmount >= paidAmount
      ? 'refunded'
      : refundedAmount > 0
        ? 'partially_refunded'
        : paidAmount === 0
          ? 'not_paid'
          : paidAmount >= order.totalAmount
            ? 'paid'
            : 'partially_paid';
  return { paidAmount, refundedAmount, paymentStatus };
}

// ---- Creation.

export interface CreateOrderContext {
  id: string;
  now: Date;
  customerId: string;
  cause: Cause;
  /** Channels that may create orders (`CHANNELS`). */
  channels: readonly string[];
  /** Currencies the hub accepts (`ORDER_CURRENCIES`). */
  currencies: readonly string[];
}

export type CreateOrderResult = { ok: true; order: Order; history: HistoryEntry<OrderStatus> } | { ok: false; problems: Issue[] };

/**
 * A new order in `pending`, its lines and total computed from the items (a client total that
 * disagrees is refused), every amount checked for the currency. All problems are reported at once.
 */
export function createOrder(input: CreateOrderRequest, context: CreateOrderContext): CreateOrderResult {
  const problems: Issue[] = [];
  if (!context.channels.includes(input.source)) {
    problems.push({
      path: 'source',
      message: `Not a channel of this hub, which takes orders from: ${context.channels.join(', ') || 'no channel (set CHANNELS)'}`,
    });
  }
  const currency = input.currency as CurrencyCode;
  if (!context.currencies.includes(currency)) {
    problems.push({ path: 'currency', message: `${currency} is not accepted here; accepted: ${context.currencies.join(', ')}` });
  }
  const items: OrderLine[] = input.items.map((item, index) => {
    const lineAmount = item.quantity * item.unitAmount;
    const unit = amountProblem(item.unitAmount, currency);
    if (unit) problems.push({ path: `items.${index}.unitAmount`, message: unit });
    else {
      const line = amountProblem(lineAmount, currency);
      if (line) problems.push({ path: `items.${index}.quantity`, message: `quantity × unitAmount ${line}` });
    }
    return { ...item, lineAmount };
  });
  const totalAmount = items.reduce((sum, item) => sum + item.lineAmount, 0);
  const total = problems.some((problem) => problem.path.startsWith('items.')) ? undefined : amountProblem(totalAmount, currency);
  if (total) problems.push({ path: 'items', message: `the order's total ${total}` });
  if (input.totalAmount !== undefined && input.totalAmount !== totalAmount) {
    problems.push({ path: 'totalAmount', message: `Does not match the items: they sum to ${totalAmount}` });
  }
  if (problems.length > 0) return { ok: false, problems };

  const at = context.now.toISOString();
  const order: Order = {
    id: context.id,
    source: input.source,
    externalId: input.externalId,
    status: 'pending',
    currency,
    customerId: context.customerId,
    customer: input.customer,
    items,
    totalAmount,
    ...(input.metadata ? { metadata: input.metadata } : {}),
    payments: [],
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
  return { ok: true, order, history: { from: null, to: 'pending', at, cause: context.cause } };
}
