/**
 * Everything after a payment fails for a while — Odoo answers HTTP 500, the Driver-App cannot be
 * reached, the mail server refuses the message — so every booking's sync, trip and e-mail end in
 * the dead-letter queues. Once the causes are fixed, two admins press "replay all" on every queue
 * at the same moment. Each job is then applied once: one invoice and payment in Odoo, one trip at
 * the Driver-App (its id on the booking), one e-mail, and no dead letter left.
 */
import { waitFor } from '../../tests/support/wait';
import type { DrillContext } from '../context';
import { type DeadLetter, deadLetters, replayAll } from '../dead-letters';
import { type Drill, Tally } from '../drill';
import { acceptedTrips, type Booking, createBooking, inBatches, payBooking, storedTripId } from '../fixtures';
import { awaitSettledBooks, booksOf, checkBooks } from '../odoo-books';

const QUEUES = ['odoo-sync', 'driver-dispatch', 'notifications'] as const;

async function lettersByQueue(ctx: DrillContext, subjects: ReadonlySet<string>): Promise<Record<(typeof QUEUES)[number], DeadLetter[]>> {
  const [odoo, driver, mail] = await Promise.all(QUEUES.map((queue) => deadLetters(ctx, queue, subjects)));
  return { 'odoo-sync': odoo ?? [], 'driver-dispatch': driver ?? [], notifications: mail ?? [] };
}

export const deadLetterReplay: Drill = {
  name: 'bulk dead-letter replay',
  async run(ctx) {
    const tally = new Tally();
    const count = ctx.count(8, 3);
    const bookings = await inBatches(Array.from({ length: count }), 4, () => createBooking(ctx));
    const subjects = new Set(bookings.map((booking) => booking.id));

    ctx.odoo.failFor(120_000, 'http500');
    ctx.driverProxy.down = true;
    ctx.smtp.failNext(count, 550);
    let before: Awaited<ReturnType<typeof lettersByQueue>>;
    try {
      await inBatches(bookings, 4, (booking) => payBooking(ctx, booking));
      before = await lettersByQueue(ctx, subjects);
      await waitFor(
        async () => {
          before = await lettersByQueue(ctx, subjects);
          return QUEUES.every((queue) => bookings.every((booking) => before[queue].some((letter) => letter.subject === booking.id)));
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      ).catch(() => undefined);
    } finally {
      ctx.odoo.reset();
      ctx.driverProxy.down = false;
    }

    // Two admins, one button, the same moment: every queue replayed twice at once.
    const replayed = await Promise.all(
      QUEUES.map(async (queue) => (await Promise.all([replayAll(ctx, queue), replayAll(ctx, queue)])).reduce((a, b) => a + b, 0)),
    );

    await awaitSettledBooks(ctx, bookings, 25_000);
    const tripOf = (booking: Booking) => acceptedTrips(ctx, booking, 'pickup');
    await waitFor(() => bookings.every((booking) => tripOf(booking).length > 0 && ctx.smtp.inbox({ to: booking.email }).length > 0), {
      timeoutMs: 15_000,
    }).catch(() => undefined);
    await ctx.quiesce({ queues: QUEUES }).catch(() => undefined);
    const books = await booksOf(ctx, bookings);
    const after = await lettersByQueue(ctx, subjects);

    await tally.attempt('the faults', async (check) => {
      for (const queue of QUEUES)
        check(before[queue].length === count, `${before[queue].length} of ${count} ${queue} jobs were dead-lettered: the fault was not felt`);
    });
    for (const [i, queue] of QUEUES.entries()) {
      await tally.attempt(`replay of ${queue}`, async (check) => {
        const letters = before[queue].length;
        check(replayed[i] === letters, `two replays at once reported ${replayed[i]} replayed for ${letters} dead letters`);
      });
    }
    await Promise.all(
      bookings.map((booking) =>
        tally.attempt(`booking ${booking.id}`, async (check) => {
          checkBooks(check, booking, books.get(booking.id));
          const trips = tripOf(booking);
          check(trips.length === 1, `${trips.length} pick-up trips at the Driver-App`);
          const stored = await storedTripId(ctx, booking, 'pickup');
          check(
            stored !== undefined && stored === trips[0]?.tripId,
            `the booking holds trip ${stored ?? '(none)'}, the Driver-App has ${trips[0]?.tripId ?? '(none)'}`,
          );
          const mails = ctx.smtp.inbox({ to: booking.email }).length;
          check(mails === 1, `${mails} confirmation e-mails`);
          for (const queue of QUEUES) {
            const left = after[queue].filter((letter) => letter.subject === booking.id).length;
            check(left === 0, `${left} dead letters left in ${queue}`);
          }
        }),
      ),
    );
    const total = QUEUES.reduce((sum, queue) => sum + before[queue].length, 0);
    tally.note(`${total} dead letters (${count} bookings × Odoo 500, Driver-App down, mail 550) replayed by two concurrent "replay all" per queue`);
    return tally.result();
  },
};
