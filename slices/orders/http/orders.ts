import * as z from 'zod';
import { defineHttp, type HttpFunctionDef } from '../../../shared/function-table';
import { callerCause } from '../../../shared/http/auth';
import { notFound, problem, problemSchema } from '../../../shared/http/problem';
import { type CreateOrderDeps, createOrder } from '../app/create-order';
import type { PaymentDeps } from '../app/payments';
import { getCustomer, getOrder, getOrderBySource, type OrderQueryDeps, orderHistory } from '../app/queries';
import { transitionOrder } from '../app/transitions';
import { textSchema } from '../../../shared/kernel/text';
import { createOrderRequestSchema, reasonSchema, resourceIdSchema, sourceSchema } from '../domain/order';
import { orderStatusSchema } from '../domain/status';
import {
  customerView,
  etagOf,
  historyView,
  ifMatchVersions,
  orderNotFound,
  orderProblem,
  orderView,
  paymentProviderProblem,
  refundProblem,
  toCustomerView,
  toHistoryView,
  toOrderView,
} from './views';

export interface OrderFunctionDeps {
  create: CreateOrderDeps;
  queries: OrderQueryDeps;
  payments: PaymentDeps;
}

const ROLES: Array<'orders' | 'admin'> = ['orders', 'admin'];
const tags = ['orders'];
const idParams = z.object({ id: resourceIdSchema });
const transitionBody = z.strictObject({ to: orderStatusSchema, reason: reasonSchema.optional() });

const withOrder = (order: Parameters<typeof toOrderView>[0], status = 200) => ({
  status,
  headers: { ETag: etagOf(order.version) },
  body: toOrderView(order),
});

/** The order endpoints: create (idempotent), read by id or channel id, history, transitions, customers. */
export function orderFunctions(deps: OrderFunctionDeps): HttpFunctionDef[] {
  return [
    defineHttp({
      kind: 'http',
      name: 'orders-create',
      route: 'v1/orders',
      methods: ['POST'],
      roles: ROLES,
      idempotent: true,
      summary: 'A channel creates an order; totals are computed from the items',
      tags,
      request: { body: createOrderRequestSchema },
      responses: {
        201: { description: 'Created (ETag: the version)', schema: orderView },
        409: {
          description: 'The channel already has an order with this externalId (`orderId` names it)',
          schema: problemSchema.extend({ orderId: z.string() }),
        },
        422: { description: 'Invalid order: unknown channel, currency not accepted, amounts, a total that is not the sum of the items' },
      },
      handler: async ({ body, caller, idempotency }) => {
        const created = await createOrder(deps.create, body, { cause: callerCause(caller), token: idempotency?.token });
        if (created.ok) {
          const response = withOrder(created.order, 201);
          return { ...response, headers: { ...response.headers, Location: `/api/v1/orders/${created.order.id}` } };
        }
        if (created.error.code === 'DUPLICATE') {
          return problem(409, 'Conflict', 'This channel already has an order with this externalId.', { members: { orderId: created.error.orderId } });
        }
        return problem(422, 'Invalid order', 'The order cannot be accepted as sent; see errors.', {
          errors: created.error.problems.map((issue) => ({ in: 'body' as const, path: issue.path, message: issue.message })),
        });
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'orders-get',
      route: 'v1/orders/{id}',
      methods: ['GET'],
      roles: ROLES,
      summary: 'An order, with its ETag',
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'The order', schema: orderView }, 404: { description: 'Unknown order' } },
      handler: async ({ params }) => {
        const stored = await getOrder(deps.queries, params.id);
        return stored ? withOrder(stored.state) : orderNotFound();
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'orders-by-source',
      route: 'v1/orders/by-source/{source}/{externalId}',
      methods: ['GET'],
      roles: ROLES,
      summary: "An order by its channel's own id",
      tags,
      request: { params: z.object({ source: sourceSchema, externalId: textSchema({ max: 128 }) }) },
      responses: { 200: { description: 'The order', schema: orderView }, 404: { description: 'No such order' } },
      handler: async ({ params }) => {
        const stored = await getOrderBySource(deps.queries, params.source, params.externalId);
        return stored ? withOrder(stored.state) : orderNotFound();
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'orders-history',
      route: 'v1/orders/{id}/history',
      methods: ['GET'],
      roles: ROLES,
      summary: "The order's and its payments' status history, oldest first",
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'History', schema: historyView }, 404: { description: 'Unknown order' } },
      handler: async ({ params }) => {
        if (!(await getOrder(deps.queries, params.id))) return orderNotFound();
        return { status: 200, body: toHistoryView(await orderHistory(deps.queries, params.id)) };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'orders-transition',
      route: 'v1/orders/{id}/transitions',
      methods: ['POST'],
      roles: ROLES,
      summary: 'Move an order (confirmed, processing, shipped, delivered, cancelled); If-Match guards against a stale read',
      tags,
      request: { params: idParams, body: transitionBody },
      responses: {
        200: { description: 'The order (ETag: its new version)', schema: orderView },
        404: { description: 'Unknown order' },
        409: {
          description: "The machine does not allow it (`allowed` names where the order may go), or a payment's provider is not configured here to refund it",
          schema: problemSchema.extend({ allowed: z.array(orderStatusSchema).optional() }),
        },
        412: {
          description: 'If-Match names a version the order has left (`version` is the current one)',
          schema: problemSchema.extend({ version: z.number().int() }),
        },
        502: {
          description: 'The payment provider refused a refund of the cancellation (`refundId`, `refundStatus` name it)',
          schema: problemSchema.extend({ refundId: z.string().optional(), refundStatus: z.string().optional() }),
        },
        503: { description: 'The payment provider could not be reached for a refund; the order is cancelled, retry to finish the refunds' },
      },
      handler: async ({ params, body, caller, request, operationId }) => {
        const moved = await transitionOrder(deps.payments, params.id, body.to, {
          cause: callerCause(caller),
          ifMatch: ifMatchVersions(request.headers['if-match']),
          reason: body.reason,
          operationId,
        });
        if (moved.ok) return withOrder(moved.order);
        const { error } = moved;
        if (error.code === 'PAYMENT_PROVIDER') return paymentProviderProblem(error.failure);
        if (error.code === 'PROVIDER_NOT_CONFIGURED' || error.code === 'REFUND_FAILED') return refundProblem(error);
        return orderProblem(error);
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'customers-get',
      route: 'v1/customers/{id}',
      methods: ['GET'],
      roles: ROLES,
      summary: 'A customer (one per e-mail address) with its orders',
      tags,
      request: { params: idParams },
      responses: { 200: { description: 'The customer', schema: customerView }, 404: { description: 'Unknown customer' } },
      handler: async ({ params }) => {
        const found = await getCustomer(deps.queries, params.id);
        return found ? { status: 200, body: toCustomerView(found.customer, found.orders) } : notFound('No customer with this id.');
      },
    }),
  ];
}
