import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { PaymentFailure } from '../../../shared/platform/payments';
import type { Order, Payment, PaymentProviderName, Refund } from '../domain/order';
import { attachProviderRef, findPayment, type OrderError, openPayment, reserveRefund, settleRefund } from '../domain/payments';
import { type OpenedPayment, type OrdersContext, type OrderIndex, type PaymentProviders, paymentKey } from './ports';
import { orderSyncJob } from './sync-to-erp';

export interface PaymentDeps extends OrdersContext {
  index: OrderIndex;
  providers: PaymentProviders;
}

type Failure =
  | { code: 'ORDER_NOT_FOUND' }
  | { code: 'PAYMENT_NOT_FOUND' }
  | { code: 'PROVIDER_NOT_CONFIGURED'; provider: PaymentProviderName }
  | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure }
  | OrderError;

export type CreatePaymentOutcome = { ok: true; order: Order; payment: Payment; opened: OpenedPayment } | { ok: false; error: Failure };

/** The id a request's idempotency token gives a new resource, or a fresh one. */
export const derivedId = (prefix: string, token: string | undefined, newId: () => string) =>
  `${prefix}_${token ? token.slice(0, 32) : newId().replaceAll('-', '')}`;

/**
 * A payment for an order: reserved on the order first (its share of the total is held, under the
 * order's ETag), then opened at the provider with a key derived from the payment id, then the
 * provider's reference kept. A retried request (same token, same payment id) continues where the
 * first stopped and never opens a second intent; a provider that cannot be reached leaves the
 * payment pending for that retry.
 */
export async function createPayment(
  deps: PaymentDeps,
  input: { orderId: string; provider: PaymentProviderName; amount?: number },
  context: { cause: Cause; token?: string; operationId?: string },
): Promise<CreatePaymentOutcome> {
  const provider = deps.providers[input.provider];
  if (!provider) return { ok: false, error: { code: 'PROVIDER_NOT_CONFIGURED', provider: input.provider } };
  const id = derivedId('pay', context.token, deps.clock.newId);
  const first = await deps.orders.get(input.orderId);
  if (!first) return { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
  // A request the order refuses writes nothing, not even the index row.
  const check = findPayment(first.state, id)
    ? undefined
    : openPayment(first.state, { id, provider: input.provider, amount: input.amount }, context.cause, deps.clock.now());
  if (check && !check.ok) return check;
  // The index before the payment: a payment that exists can always be found by its id.
  await deps.index.claim(paymentKey(id), input.orderId, deps.clock.now());

  const reserved = await mutate<Order, { ok: true; payment: Payment } | { ok: false; error: OrderError }>(
    deps.orders,
    input.orderId,
    ({ state }) => {
      const existing = findPayment(state, id);
      if (existing) return skip({ ok: true, payment: existing });
      const opened = openPayment(state, { id, provider: input.provider, amount: input.amount }, context.cause, deps.clock.now());
      return opened.ok ? save(opened.order, { ok: true, payment: opened.payment }, { history: opened.history }) : skip(opened);
    },
    { clock: deps.clock, operationId: context.operationId, first },
  );
  if (reserved.kind !== 'done') return { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
  if (!reserved.result.ok) return reserved.result;
  const order = reserved.state;
  const { payment } = reserved.result;

  if (payment.providerRef) {
    const again = await provider.reopen(payment.providerRef);
    if (!again.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: again.error } };
    return { ok: true, order, payment, opened: again.value };
  }
  const opened = await provider.open({
    id,
    orderId: input.orderId,
    amount: payment.amount,
    currency: order.currency,
    description: `Order ${order.externalId} (${order.source})`,
  });
  if (!opened.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: opened.error } };

  const attached = await mutate<Order, Order>(
    deps.orders,
    input.orderId,
    ({ state }) => {
      const next = attachProviderRef(state, id, opened.value.providerRef, deps.clock.now());
      return next.ok && next.order !== state ? save(next.order, next.order) : skip(state);
    },
    { clock: deps.clock },
  );
  const final = attached.kind === 'done' ? attached.state : order;
  return { ok: true, order: final, payment: findPayment(final, id) ?? payment, opened: opened.value };
}

export type RefundOutcome =
  | { ok: true; order: Order; payment: Payment; refund: Refund }
  | { ok: false; error: Failure | { code: 'REFUND_FAILED'; payment: Payment; refund: Refund } };

/**
 * Refunds a payment, fully or in part. The refund is reserved on the order first, so concurrent
 * refunds can never together pass what was paid; then the provider is asked with a key derived from
 * the refund id; then its answer is recorded. A provider that cannot be reached releases the
 * reservation — a retried request (same token, same refund id, same provider key) tries again.
 */
export async function refundPayment(
  deps: PaymentDeps,
  paymentId: string,
  input: { amount?: number; reason?: string; refundId?: string },
  context: { cause: Cause; token?: string; operationId?: string },
): Promise<RefundOutcome> {
  const orderId = await deps.index.find(paymentKey(paymentId));
  const first = orderId ? await deps.orders.get(orderId) : undefined;
  const known = first ? findPayment(first.state, paymentId) : undefined;
  if (!orderId || !first || !known) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  // Nothing is reserved for a refund nobody could carry out.
  const provider = deps.providers[known.provider];
  if (!provider || !known.providerRef) return { ok: false, error: { code: 'PROVIDER_NOT_CONFIGURED', provider: known.provider } };
  const providerRef = known.providerRef;
  const refundId = input.refundId ?? derivedId('rfd', context.token, deps.clock.newId);

  const reserved = await mutate<Order, { ok: true; refund: Refund } | { ok: false; error: OrderError }>(
    deps.orders,
    orderId,
    ({ state }) => {
      const result = reserveRefund(state, paymentId, { id: refundId, amount: input.amount, reason: input.reason }, deps.clock.now());
      if (!result.ok) return skip(result);
      return result.order === state ? skip({ ok: true, refund: result.refund }) : save(result.order, { ok: true, refund: result.refund });
    },
    { clock: deps.clock, operationId: context.operationId, first },
  );
  if (reserved.kind !== 'done') return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  if (!reserved.result.ok) return reserved.result;
  const { refund } = reserved.result;
  // A retried request whose refund the provider already answered: answer with it as it stands.
  if (refund.status !== 'reserved') return answer(reserved.state, paymentId, refund);

  const asked = await provider.refund({ orderId, paymentId, refundId, providerRef, amount: refund.amount });
  const outcome = asked.ok ? asked.value : { status: 'failed' as const, failureReason: asked.error.message.slice(0, 500) };
  const settled = await mutate<Order, Refund | undefined>(
    deps.orders,
    orderId,
    ({ state }) => {
      const result = settleRefund(state, paymentId, refundId, outcome, context.cause, deps.clock.now());
      if (!result.ok) return skip(undefined);
      if (result.order === state) return skip(result.refund);
      // Money went back: the books get their credit note.
      const jobs = result.refund.status === 'succeeded' ? [orderSyncJob(state, `refund ${refundId}`)] : [];
      return save(result.order, result.refund, { history: result.history, jobs });
    },
    { clock: deps.clock, operationId: context.operationId },
  );
  if (!asked.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: asked.error } };
  if (settled.kind !== 'done' || !settled.result) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  return answer(settled.state, paymentId, settled.result);
}

/** A refund's answer: done or under way, or refused by the provider (an error value). */
function answer(order: Order, paymentId: string, refund: Refund): RefundOutcome {
  const payment = findPayment(order, paymentId) as Payment;
  return refund.status === 'failed' ? { ok: false, error: { code: 'REFUND_FAILED', payment, refund } } : { ok: true, order, payment, refund };
}
