import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import { type AttentionSource, attentionResolved, type ResolveOutcome } from '../../../shared/platform/attention';
import type { Clock } from '../../../shared/platform/clock';
import type { Booking } from '../domain/booking';
import type { BookingStore } from './ports';

/** The query column of a flagged booking: when it went on the list (empty when it is not on it). */
export const ATTENTION_COLUMN = 'attentionSince';

/** The booking's attention column, for its codec. */
export function attentionColumns(booking: Booking): Record<string, string> {
  return { [ATTENTION_COLUMN]: booking.flags.needsAttention ? (booking.flags.attentionSince ?? booking.updatedAt) : '' };
}

/**
 * Bookings that need a person (a failed trip, a failed refund, money after a cancellation …), for the
 * attention list; resolving clears the flag and keeps the note in the booking's history.
 */
export function bookingAttention(deps: { bookings: BookingStore; clock: Clock }): AttentionSource {
  return {
    kind: 'booking',
    async list(limit) {
      const flagged = await deps.bookings.whereSet(ATTENTION_COLUMN, limit);
      return flagged
        .filter(({ state }) => state.flags.needsAttention)
        .map(({ state }) => ({
          subject: state.id,
          reason: state.flags.attentionReason ?? 'needs attention',
          since: state.flags.attentionSince ?? state.updatedAt,
        }));
    },
    async resolve(subject: string, note: string, cause: Cause): Promise<ResolveOutcome> {
      const outcome = await mutate<Booking, ResolveOutcome>(
        deps.bookings,
        subject,
        ({ state: booking }) => {
          if (!booking.flags.needsAttention) return skip('not-flagged');
          const at = deps.clock.now().toISOString();
          return save<Booking, ResolveOutcome>({ ...booking, flags: {}, updatedAt: at }, 'resolved', { history: [attentionResolved(note, cause, at)] });
        },
        { clock: deps.clock },
      );
      return outcome.kind === 'done' ? outcome.result : 'not-found';
    },
  };
}
