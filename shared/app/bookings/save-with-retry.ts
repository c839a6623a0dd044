import type { BookingChange, BookingRepository, StoredBooking } from '../../../slices/bookings/app/ports';

/** What a mutation decides after reading the current booking. */
export type Decision<R> =
  | { kind: 'save'; change: BookingChange; result: R }
  | { kind: 'skip'; result: R };

export type MutationOutcome<R> =
  | { kind: 'done'; result: R; saved: boolean }
  | { kind: 'not-found' }
  | { kind: 'duplicate-event' };

const MAX_TRIES = 8;

/**
 * Read, decide, save with the ETag — and on a conflict start over from the fresh state (DESIGN.md
 * §6: a conflict is retried against the fresh state, never overwritten).
 */
export async function mutateBooking<R>(
  repo: BookingRepository,
  id: string,
  decide: (current: StoredBooking) => Promise<Decision<R>> | Decision<R>,
): Promise<MutationOutcome<R>> {
  for (let attempt = 1; ; attempt++) {
    const current = await repo.get(id);
    if (!current) return { kind: 'not-found' };
    const decision = await decide(current);
    if (decision.kind === 'skip') return { kind: 'done', result: decision.result, saved: false };
    const saved = await repo.update(current, decision.change);
    if (saved === 'saved') return { kind: 'done', result: decision.result, saved: true };
    if (saved === 'duplicate-event') return { kind: 'duplicate-event' };
    if (attempt >= MAX_TRIES) throw new Error(`booking ${id}: still conflicting after ${MAX_TRIES} tries`);
    // Spread competing writers apart a little before the next read.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
  }
}
