/**
 * Odoo goes down while bookings are paid, and some cancelled right after (first it answers HTTP 500,
 * then it drops connections). Syncs that start early exhaust their retries and are dead-lettered;
 * those that start near the end heal by retrying. After the outage an admin replays the dead letters
 * through the API until none is left. In the end each booking has exactly one partner, one posted
 * invoice and one payment in Odoo — and a cancelled one exactly one credit note and one refund.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DrillContext } from '../context';
import { deadLetters, replayEach } from '../dead-letters';
import { type Drill, Tally } from '../drill';
import { type Booking, cancelAfterPayment, createBooking, inBatches, payBooking } from '../fixtures';
import { awaitSettledBooks, booksOf, checkBooks } from '../odoo-books';

const QUEUE = 'odoo-sync';

/**
 * What an admin does after an outage: once no job is waiting or retrying, replay the bookings' dead
 * letters, and again until none is left (a few rounds at most). Then checks Odoo booking by booking.
 */
export async function recoverAndCheck(
  ctx: DrillContext,
  tally: Tally,
  bookings: readonly Booking[],
  cancelled: ReadonlySet<string>,
): Promise<{ deadLettered: number; replayed: number }> {
  const subjects = new Set(bookings.map((booking) => booking.id));
  let deadLettered = 0;
  let replayed = 0;
  for (let round = 0; round < 4; round++) {
    await ctx.quiesce({ queues: [QUEUE] });
    const letters = await deadLetters(ctx, QUEUE, subjects);
    if (letters.length === 0) break;
    deadLettered += letters.length;
    replayed += await replayEach(ctx, QUEUE, letters);
  }
  await awaitSettledBooks(ctx, bookings, 10_000, cancelled);
  const books = await booksOf(ctx, bookings);
  const left = await deadLetters(ctx, QUEUE, subjects);
  await Promise.all(
    bookings.map((booking) =>
      tally.attempt(`booking ${booking.id}${cancelled.has(booking.id) ? ' (cancelled)' : ''}`, async (check) => {
        checkBooks(check, booking, books.get(booking.id), cancelled.has(booking.id));
        const stuck = left.filter((letter) => letter.subject === booking.id);
        check(stuck.length === 0, `${stuck.length} dead letters left after replaying (${stuck.map((letter) => letter.reason).join(', ')})`);
      }),
    ),
  );
  return { deadLettered, replayed };
}

export const odooOutage: Drill = {
  name: 'Odoo outage',
  async run(ctx) {
    const tally = new Tally();
    const count = ctx.count(12, 6);
    const outageMs = ctx.count(5_000, 4_000);
    const bookings = await inBatches(Array.from({ length: count }), 4, () => createBooking(ctx));
    const cancelled = new Set(bookings.filter((_, i) => i % 3 === 1).map((booking) => booking.id));
    const pay = async (booking: Booking) => {
      await payBooking(ctx, booking);
      if (cancelled.has(booking.id)) await cancelAfterPayment(ctx, booking);
    };
    const early = bookings.slice(0, Math.ceil(count / 2));
    const late = bookings.slice(early.length);

    const start = Date.now();
    try {
      ctx.odoo.failFor(outageMs / 2, 'http500');
      await inBatches(early, 4, pay);
      await sleep(Math.max(0, start + outageMs / 2 - Date.now()));
      ctx.odoo.failFor(outageMs / 2, 'disconnect');
      await sleep(Math.max(0, start + outageMs - 800 - Date.now()));
      await inBatches(late, 4, pay);
      await sleep(Math.max(0, start + outageMs - Date.now()));
    } finally {
      ctx.odoo.reset();
    }

    const { deadLettered, replayed } = await recoverAndCheck(ctx, tally, bookings, cancelled);
    // A drill whose fault never bit proves nothing: the early syncs must have run out of retries.
    await tally.attempt('the outage', async (check) => {
      check(deadLettered > 0, 'no sync was dead-lettered: the outage was not felt');
    });
    tally.note(
      `${count} bookings (${cancelled.size} cancelled after payment) during a ${outageMs / 1000} s outage (HTTP 500, then dropped connections); ${deadLettered} syncs dead-lettered, ${replayed} replayed through the admin API`,
    );
    return tally.result();
  },
};
