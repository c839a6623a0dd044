import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { Order, Payment } from '../domain/order';
import { type OrderError, recordPaymentStatus, refundable, requestTransition, reserveRefund } from '../domain/payments';
import { CAPTURED, type OrderStatus } from '../domain/status';
import { type PaymentDeps, type RefundOutcome, refundPayment } from './payments';

export type TransitionOutcome =
  | { ok: true; order: Order }
  | { ok: false; error: { code: 'ORDER_NOT_FOUND' } | { code: 'STALE'; version: number } | OrderError | Exclude<RefundOutcome, { ok: true }>['error'] };

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
 * Cancels an order that has not shipped: `cancelled` first, so nothing moves it anywhere else
 * meanwhile; then every payment that brought money in is refunded for what is left (under an id
 * derived from the payment, so it is never refunded twice) and open payments are cancelled at the
 * provider — a payment is marked `canceled` only once the provider confirms, so one that succeeds
 * regardless arrives by webhook and flags the order. A refund that fails flags the order for a
 * person and is answered as an error; cancelling again finishes what a failed attempt left, whatever
 * version the order has reached meanwhile (the retry asks for what was asked before).
 */
export async function cancelOrder(
  deps: PaymentDeps,
  orderId: string,
  context: { cause: Cause; ifMatch?: readonly number[]; reason?: string; operationId?: string; eventId?: string },
): Promise<TransitionOutcome> {
  const now = () => deps.clock.now();
  const cancelled = await mutate<Order, TransitionOutcome>(
    deps.orders,
    orderId,
    ({ state }) => {
      if (state.status === 'cancelled') return skip({ ok: true, order: state });
      if (stale(state, context.ifMatch)) return skip({ ok: false, error: { code: 'STALE', version: state.version } });
      const moved = requestTransition(state, 'cancelled', context.cause, now(), context.reason);
      if (!moved.ok) return skip(moved);
      // Nothing is cancelled when its money could not go back: every refund must be possible first.
      const blocked = refundBlocker(deps, state, now());
      if (blocked) return skip({ ok: false, error: blocked });
      let next = moved.order;
      const history = [...moved.history];
      // A payment the provider never had can be withdrawn here and now.
      for (const payment of state.payments.filter(
        (candidate) => !candidate.providerRef && candidate.status !== 'canceled' && !CAPTURED.includes(candidate.status),
      )) {
        const withdrawn = recordPaymentStatus(next, payment.id, 'canceled', context.cause, now());
        if (withdrawn.ok) {
          next = withdrawn.order;
          history.push(...withdrawn.history);
        }
      }
      return save(next, { ok: true, order: next }, { history });
    },
    // A webhook asking for the cancellation (a shop's) is recorded with it and applied once.
    { clock: deps.clock, operationId: context.operationId, ...(context.eventId ? { eventId: context.eventId } : {}) },
  );
  if (cancelled.kind === 'duplicate-event') {
    const current = await deps.orders.get(orderId);
    return current ? { ok: true, order: current.state } : { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
  }
  if (cancelled.kind !== 'done') return { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
  if (!cancelled.result.ok) return cancelled.result;

  for (const payment of cancelled.state.payments) {
    if (CAPTURED.includes(payment.status)) {
      if (refundable(payment) === 0) continue;
      const refunded = await refundPayment(deps, payment.id, { reason: context.reason ?? 'order cancelled', refundId: `rfd_cancel_${payment.id}` }, context);
      if (!refunded.ok) {
        await flag(deps, orderId, `cancelled, but refunding payment ${payment.id} did not go through (${refunded.error.code})`);
        return refunded;
      }
    } else if (payment.status !== 'canceled' && payment.providerRef) {
      const withdrawn = await deps.providers[payment.provider]?.cancel({ paymentId: payment.id, providerRef: payment.providerRef });
      if (withdrawn?.ok) {
        await mutate(
          deps.orders,
          orderId,
          ({ state }) => {
            const recorded = recordPaymentStatus(state, payment.id, 'canceled', context.cause, now());
            return recorded.ok && recorded.order !== state ? save(recorded.order, undefined, { history: recorded.history }) : skip(undefined);
          },
          { clock: deps.clock, operationId: context.operationId },
        );
      }
    }
  }
  const final = await deps.orders.get(orderId);
  return final ? { ok: true, order: final.state } : { ok: false, error: { code: 'ORDER_NOT_FOUND' } };
}

/** Why the money of a payment that must be refunded on cancellation could not go back, if it could not. */
function refundBlocker(
  deps: PaymentDeps,
  order: Order,
  now: Date,
): OrderError | { code: 'PROVIDER_NOT_CONFIGURED'; provider: Payment['provider'] } | undefined {
  for (const payment of order.payments) {
    if (!CAPTURED.includes(payment.status) || refundable(payment) === 0) continue;
    if (!deps.providers[payment.provider] || !payment.providerRef) return { code: 'PROVIDER_NOT_CONFIGURED', provider: payment.provider };
    const reserved = reserveRefund(order, payment.id, { id: `rfd_cancel_${payment.id}` }, now);
    if (!reserved.ok) return reserved.error;
  }
  return undefined;
}

/** Puts the order on a person's list (once). */
async function flag(deps: PaymentDeps, orderId: string, reason: string): Promise<void> {
  await mutate(
    deps.orders,
    orderId,
    ({ state }) =>
      state.attention ? skip(undefined) : save({ ...state, attention: { reason: reason.slice(0, 500), since: deps.clock.now().toISOString() } }, undefined),
    { clock: deps.clock },
  );
}
