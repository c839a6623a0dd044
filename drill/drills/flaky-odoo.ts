/**
 * A flaky Odoo: failures queued in small bursts between the payments (and some cancellations) of
 * many bookings, of every transient kind — a serialization fault, HTTP 500, a dropped connection,
 * and a lost answer to a write that did commit (the case that makes a careless retry create a
 * duplicate). Whatever the syncs hit, each booking ends with exactly one partner, one invoice and
 * one payment in Odoo, and a cancelled one with exactly one credit note and one refund.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FailureKind } from '../../local/odoo-sandbox';
import { type Drill, Tally } from '../drill';
import { cancelAfterPayment, createBooking, inBatches, payBooking } from '../fixtures';
import { recoverAndCheck } from './odoo-outage';

const KINDS: readonly FailureKind[] = ['fault', 'http500', 'disconnect', 'lostResponse'];

export const flakyOdoo: Drill = {
  name: 'flaky Odoo',
  async run(ctx) {
    const tally = new Tally();
    const count = ctx.count(12, 6);
    const bookings = await inBatches(Array.from({ length: count }), 4, () => createBooking(ctx));
    const cancelled = new Set(bookings.filter((_, i) => i % 3 === 2).map((booking) => booking.id));
    const injected = new Map<FailureKind, number>();
    const inject = (i: number) => {
      const kind = KINDS[i % KINDS.length] as FailureKind;
      const burst = 1 + Math.floor(ctx.random() * 3);
      ctx.odoo.failNext(burst, kind);
      injected.set(kind, (injected.get(kind) ?? 0) + burst);
    };
    try {
      for (const [i, booking] of bookings.entries()) {
        inject(i);
        await payBooking(ctx, booking);
        if (cancelled.has(booking.id)) {
          await cancelAfterPayment(ctx, booking);
          inject(i + 1);
        }
        await sleep(40 + Math.floor(ctx.random() * 120));
      }
    } finally {
      // Faults nobody met yet must not wait for the drills' own reads.
      await sleep(500);
      ctx.odoo.reset();
    }
    const { deadLettered, replayed } = await recoverAndCheck(ctx, tally, bookings, cancelled);
    // The syncs must have met some of the faults, or nothing was tried.
    const subjects = new Set(bookings.map((booking) => booking.id));
    const retries = ctx.jobs.sent.filter((job) => job.queue === 'odoo-sync' && subjects.has(job.envelope.subject) && job.envelope.attempt > 1).length;
    await tally.attempt('the faults', async (check) => {
      check(retries > 0, 'no sync was retried: the faults never reached the app');
    });
    const kinds = [...injected].map(([kind, n]) => `${n}× ${kind}`).join(', ');
    tally.note(
      `${count} bookings (${cancelled.size} cancelled after payment) synced through ${kinds}: ${retries} retries, ${deadLettered} dead-lettered, ${replayed} replayed`,
    );
    return tally.result();
  },
};
