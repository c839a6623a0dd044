import * as z from 'zod';
import { defineHttp, type HttpFunctionDef } from '../../../shared/function-table';
import { callerCause } from '../../../shared/http/auth';
import { problem, problemSchema } from '../../../shared/http/problem';
import { createPayment, type PaymentDeps, refundPayment } from '../app/payments';
import { getOrder, getPayment, type OrderQueryDeps, paymentHistory } from '../app/queries';
import { PAYMENT_PROVIDERS, reasonSchema, resourceIdSchema } from '../domain/order';
import {
  etagOf,
  historyView,
  orderNotFound,
  orderProblem,
  paymentNotFound,
  paymentProviderProblem,
  paymentView,
  refundProblem,
  refundView,
  toHistoryView,
  toPaymentView,
  toRefundView,
} from './views';

export interface PaymentFunctionDeps {
  payments: PaymentDeps;
  queries: OrderQueryDeps;
}

const ROLES: Array<'orders' | 'admin'> = ['orders', 'admin'];
const tags = ['payments'];
const idParams = z.object({ id: resourceIdSchema });
const amount = z.number().int().positive();

const createPaymentBody = z.strictObject({ orderId: resourceIdSchema, provider: z.enum(PAYMENT_PROVIDERS), amount: amount.optional() });
const createdPaymentView = paymentView.extend({ clientSecret: z.string().optional(), checkoutLink: z.string().optional() });
const refundBody = z.strictObject({ amount: amount.optional(), reason: reasonSchema.optional() });

/** The payment endpoints: create (idempotent), read, by order, history, refunds (idempotent). */
export function paymentFunctions(deps: PaymentFunctionDeps): HttpFunctionDef[] {
  return [
    defineHttp({
      kind: 'http',
      name: 'payments-create',
      route: 'v1/payments',
      methods: ['POST'],
      roles: ROLES,
      idempotent: true,
      summary: 'A payment for an order (default amount: what is still open); Stripe answers with the client secret',
      tags,
      request: { body: createPaymentBody },
      responses: {
        201: { description: 'Created, pending', schema: createdPaymentView },
        404: { description: 'Unknown order' },
        409: { description: 'The order takes no payment now, nothing is left to pay, or it holds the most payments it may' },
        422: { description: 'An amount that cannot be charged, or a provider that is not configured' },
        502: { description: 'The provider refused' },
        503: { description: 'The provider could not be reached: retry with the same Idempotency-Key' },
      },
      handler: async ({ body, caller, idempotency, operationId }) => {
        const created = await createPayment(deps.payments, body, { cause: callerCause(caller), token: idempotency?.token, operationId });
        if (!created.ok) {
          const { error } = created;
          if (error.code === 'PROVIDER_NOT_CONFIGURED') {
            return problem(422, 'Validation failed', `The ${error.provider} provider is not configured on this hub.`, {
              errors: [{ in: 'body', path: 'provider', message: `${error.provider} is not available` }],
            });
          }
          if (error.code === 'PAYMENT_PROVIDER') return paymentProviderProblem(error.failure);
          return orderProblem(error);
        }
        const { order, payment, opened } = created;
        return {
          status: 201,
          headers: { Location: `/api/v1/payments/${payment.id}`, ETag: etagOf(payment.version) },
          body: {
            ...toPaymentView(order, payment),
            ...(opened.clientSecret ? { clientSecret: opened.clientSecret } : {}),
            ...(opened.checkoutLink ? { checkoutLink: opened.checkoutLink } : {}),
          },
        };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'payments-get',
      route: 'v1/payments/{id}',
      methods: ['GET'],
      roles: ROLES,
      summary: 'A payment with its refunds, and its ETag',
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'The payment', schema: paymentView }, 404: { description: 'Unknown payment' } },
      handler: async ({ params }) => {
        const found = await getPayment(deps.queries, params.id);
        return found ? { status: 200, headers: { ETag: etagOf(found.payment.version) }, body: toPaymentView(found.order, found.payment) } : paymentNotFound();
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'payments-of-order',
      route: 'v1/payments/order/{orderId}',
      methods: ['GET'],
      roles: ROLES,
      summary: "An order's payments",
      tags,
      request: { params: z.object({ orderId: resourceIdSchema }) },
      responses: { 200: { description: 'Payments, oldest first', schema: z.object({ items: z.array(paymentView) }) }, 404: { description: 'Unknown order' } },
      handler: async ({ params }) => {
        const stored = await getOrder(deps.queries, params.orderId);
        if (!stored) return orderNotFound();
        return { status: 200, body: { items: stored.state.payments.map((payment) => toPaymentView(stored.state, payment)) } };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'payments-history',
      route: 'v1/payments/{id}/history',
      methods: ['GET'],
      roles: ROLES,
      summary: "A payment's status history, oldest first",
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'History', schema: historyView }, 404: { description: 'Unknown payment' } },
      handler: async ({ params }) => {
        const history = await paymentHistory(deps.queries, params.id);
        return history ? { status: 200, body: toHistoryView(history) } : paymentNotFound();
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'payments-refund',
      route: 'v1/payments/{id}/refunds',
      methods: ['POST'],
      roles: ROLES,
      idempotent: true,
      summary: 'Refund a payment, fully (default: all that is left) or in part',
      tags,
      request: { params: idParams, body: refundBody },
      responses: {
        201: { description: 'The refund (succeeded, or pending at the provider)', schema: refundView },
        404: { description: 'Unknown payment' },
        409: {
          description:
            'Not refundable, more than is left (`refundable` is what is), the most refunds a payment may have, or its provider is not configured here',
          schema: problemSchema.extend({ refundable: z.number().int().min(0).optional() }),
        },
        422: { description: 'An amount the currency cannot take' },
        502: {
          description: 'The provider refused (`refundId`, `refundStatus` name the failed refund)',
          schema: problemSchema.extend({ refundId: z.string().optional(), refundStatus: z.string().optional() }),
        },
        503: { description: 'The provider could not be reached: retry with the same Idempotency-Key' },
      },
      handler: async ({ params, body, caller, idempotency, operationId }) => {
        const refunded = await refundPayment(deps.payments, params.id, body, { cause: callerCause(caller), token: idempotency?.token, operationId });
        if (refunded.ok) {
          return { status: 201, headers: { Location: `/api/v1/payments/${params.id}` }, body: toRefundView(refunded.payment, refunded.refund) };
        }
        const { error } = refunded;
        if (error.code === 'PAYMENT_PROVIDER') return paymentProviderProblem(error.failure);
        if (error.code === 'PROVIDER_NOT_CONFIGURED' || error.code === 'REFUND_FAILED') return refundProblem(error);
        return orderProblem(error);
      },
    }),
  ];
}
