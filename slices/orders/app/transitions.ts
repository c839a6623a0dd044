import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { PaymentFailure } from '../../../shared/platform/payments';
import type { Order } from '../domain/order';
import { type OrderError, recordPaymentStatus, refundable, requestTransition } from '../domain/payments';
import { CAPTURED, type OrderStatus } from '../domain/status';
import { type PaymentDeps, refundPayment } from './payments';

export type TransitionOutcome =
  | { ok: true; order: Order }
  | { ok: false; error: { code: 'ORDER_NOT_FOUND' } | { code: 'STALE'; version: number } | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure } | OrderError };

/** The version an `If-Match` names must still be the order's: otherwise nothing changes (412). */
const stale = (order: Order, ifMatch: readonly number[] | undefined) => ifMatch !== undefined && !ifMatch.includes(order.version);

/**
 * A status a channel asks for. With `ifMatch` the order must still be at that version; without it a
 * concurrent change is retried against the fresh order, never overwritten. Cancelling refunds what
 * was paid.
 */
export async function transitionOrder(
  deps: PaymentDeps,
  orderId: string,
  to: OrderStatus,
  context: { cause: Cause; ifMatch?: readonly number[]; reason?: string; operationId?: string },
): Promise<TransitionOutcome> {
  if (to === 'cancelled') return cancelOrder(deps, orderId, context);
  const outcome = await mutate<Order, TransitionOutcome>(
    deps.orders,
    orderId,
    ({ state }) => {
      if (stale(state, context.ifMatch)) return skip({ ok: false, error: { code: 'STALE', version: state.version } });
      const moved = requestTransition(state, to, context.cause, deps.clock.now(), context.reason);
      if (!moved.ok) return skip(moved);
      return moved.history.length === 0 ? skip({ ok: true, order: state }) : save(moved.order, { ok: true, order: moved.order }, { history: moved.history });
    },
    { clock: deps.clock, operationId: context.operationId },
  );
  if (outcome.kind !== 'done') return { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
  return outcome.result.ok ? { ok: true, order: outcome.state } : outcome.result;
}

/**
 * Cancels an order that has not shipped: `cancelled` first (with its open payments), so nothing
 * moves it anywhere else meanwhile; then every payment that brought money in is refunded for what is
 * left, under an id derived from the payment, and open intents are cancelled at the provider.
 * Cancelling again finishes what a failed attempt left (the refunds are idempotent), so a 503 from
 * the provider is answered by retrying the same call.
 */
export async function cancelOrder(
  deps: PaymentDeps,
  orderId: string,
  context: { cause: Cause; ifMatch?: readonly number[]; reason?: string; operationId?: string },
): Promise<TransitionOutcome> {
  const cancelled = await mutate<Order, TransitionOutcome>(
    deps.orders,
    orderId,
    ({ state }) => {
      if (stale(state, context.ifMatch)) return skip({ ok: false, error: { code: 'STALE', version: state.version } });
      const moved = requestTransition(state, 'cancelled', context.cause, deps.clock.now(), context.reason);
      if (!moved.ok) return skip(moved);
      if (moved.history.length === 0) return skip({ ok: true, order: state });
      let next = moved.order;
      const history = [...moved.history];
      for (const payment of state.payments) {
        if (CAPTURED.includes(payment.status) || payment.status === 'canceled') continue;
        const withdrawn = recordPaymentStatus(next, payment.id, 'canceled', context.cause, deps.clock.now());
        if (withdrawn.ok) {
          next = withdrawn.order;
          history.push(...withdrawn.history);
        }
      }
      return save(next, { ok: true, order: next }, { history });
    },
    { clock: deps.clock, operationId: context.operationId },
  );
  if (cancelled.kind !== 'done') return { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
  if (!cancelled.result.ok) return cancelled.result;

  let order = cancelled.state;
  for (const payment of order.payments) {
    if (CAPTURED.includes(payment.status) && refundable(payment) > 0) {
      const refunded = await refundPayment(deps, payment.id, { reason: context.reason ?? 'order cancelled', refundId: `rfd_cancel_${payment.id}` }, context);
      if (!refunded.ok)
        return refunded.error.code === 'PAYMENT_PROVIDER' ? { ok: false, error: refunded.error } : { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
      order = refunded.order;
    } else if (payment.status === 'canceled' && payment.providerRef) {
      // Best effort: an intent that still succeeds arrives by webhook and flags the cancelled order.
      await deps.providers[payment.provider]?.cancel({ paymentId: payment.id, providerRef: payment.providerRef });
    }
  }
  return { ok: true, order };
}
