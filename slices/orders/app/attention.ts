import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import { type AttentionSource, attentionResolved, type ResolveOutcome } from '../../../shared/platform/attention';
import type { Clock } from '../../../shared/platform/clock';
import type { Order } from '../domain/order';
import type { OrderStore } from './ports';

/** The query column of an order that needs a person: when it went on the list (empty when it is not on it). */
export const ATTENTION_COLUMN = 'attentionSince';

/** The order's attention column, for its codec. */
export function attentionColumns(order: Order): Record<string, string> {
  return { [ATTENTION_COLUMN]: order.attention?.since ?? '' };
}

/**
 * Orders whose money needs a person (paid late, partly, over, or after a cancellation), for the
 * attention list; resolving clears the mark and keeps the note in the order's history.
 */
export function orderAttention(deps: { orders: OrderStore; clock: Clock }): AttentionSource {
  return {
    kind: 'order',
    async list(limit) {
      const flagged = await deps.orders.whereSet(ATTENTION_COLUMN, limit);
      return flagged.flatMap(({ state }) => (state.attention ? [{ subject: state.id, reason: state.attention.reason, since: state.attention.since }] : []));
    },
    async resolve(subject: string, note: string, cause: Cause): Promise<ResolveOutcome> {
      const outcome = await mutate<Order, ResolveOutcome>(
        deps.orders,
        subject,
        ({ state: order }) => {
          if (!order.attention) return skip('not-flagged');
          const at = deps.clock.now().toISOString();
          const { attention: _, ...rest } = order;
          return save<Order, ResolveOutcome>({ ...rest, updatedAt: at }, 'resolved', { history: [attentionResolved(note, cause, at)] });
        },
        { clock: deps.clock },
      );
      return outcome.kind === 'done' ? outcome.result : 'not-found';
    },
  };
}
