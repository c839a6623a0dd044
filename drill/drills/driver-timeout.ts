/**
 * The Driver-App takes a trip but answers after the app has given up (its timeout): the job is
 * retried, and the retry must send the same trip — same Idempotency-Key, same bytes — so the
 * Driver-App answers with the trip it already has instead of booking a second jockey. Checked for
 * the pick-up and the delivery leg: one trip per booking and leg at the Driver-App, every send of it
 * byte-identical, and the booking holding that trip's id.
 */
import { waitFor } from '../../tests/support/wait';
import { DRIVER_TIMEOUT_MS, type DrillContext } from '../context';
import { deadLetters } from '../dead-letters';
import { type Drill, Tally } from '../drill';
import { acceptedTrips, type Booking, bookingReaches, createBooking, inBatches, type Leg, payBooking, storedTripId, TRIP_TYPE } from '../fixtures';

/** Sends every booking's `leg` trip while the Driver-App answers too late, then lets it answer and checks each booking. */
async function slowLeg(ctx: DrillContext, tally: Tally, bookings: readonly Booking[], leg: Leg, send: (booking: Booking) => Promise<void>): Promise<void> {
  ctx.driver.setLatency(DRIVER_TIMEOUT_MS * 2.5);
  try {
    await inBatches(bookings, 4, send);
    // The Driver-App records a trip on arrival and answers late: once every trip arrived, it may answer on time again.
    await waitFor(() => bookings.every((booking) => acceptedTrips(ctx, booking, leg).length > 0), { timeoutMs: 15_000 }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, DRIVER_TIMEOUT_MS));
  } finally {
    ctx.driver.setLatency(0);
  }
  await waitFor(async () => (await Promise.all(bookings.map((booking) => storedTripId(ctx, booking, leg)))).every(Boolean), { timeoutMs: 20_000 }).catch(
    () => undefined,
  );
  await ctx.quiesce({ queues: ['driver-dispatch'] }).catch(() => undefined);
  const subjects = new Set(bookings.map((booking) => booking.id));
  const letters = await deadLetters(ctx, 'driver-dispatch', subjects);
  await Promise.all(
    bookings.map((booking) =>
      tally.attempt(`${leg} of ${booking.id}`, async (check) => {
        const trips = acceptedTrips(ctx, booking, leg);
        check(trips.length === 1, `${trips.length} ${leg} trips at the Driver-App`);
        check(
          trips.every((trip) => trip.signatureValid),
          'a trip arrived with a bad signature',
        );
        const stored = await storedTripId(ctx, booking, leg);
        check(
          stored !== undefined && stored === trips[0]?.tripId,
          `the booking holds trip ${stored ?? '(none)'}, the Driver-App has ${trips[0]?.tripId ?? '(none)'}`,
        );
        const sends = ctx.driverProxy
          .requests()
          .filter((request) => request.method === 'POST' && request.bookingId === booking.id && request.type === TRIP_TYPE[leg]);
        check(
          sends.some((send) => !send.answered),
          `no send timed out (${sends.length} sends): the fault was not exercised`,
        );
        check(sends.length >= 2, `${sends.length} sends: the timed-out trip was not sent again`);
        check(
          new Set(sends.map((send) => send.idempotencyKey)).size === 1,
          `the sends used ${new Set(sends.map((send) => send.idempotencyKey)).size} Idempotency-Keys`,
        );
        check(
          new Set(sends.map((send) => send.bodyHash)).size === 1,
          `the ${sends.length} sends carried ${new Set(sends.map((send) => send.bodyHash)).size} different bodies`,
        );
        const stuck = letters.filter((letter) => letter.subject === booking.id);
        check(stuck.length === 0, `dead-lettered: ${stuck.map((letter) => letter.reason).join(', ')}`);
      }),
    ),
  );
}

export const driverTimeout: Drill = {
  name: 'Driver-App timeout',
  async run(ctx) {
    const tally = new Tally();
    const bookings = await inBatches(Array.from({ length: ctx.count(6, 3) }), 4, () => createBooking(ctx));

    await slowLeg(ctx, tally, bookings, 'pickup', (booking) => payBooking(ctx, booking));

    // The jockey picks the cars up (signed status updates from the Driver-App), then the workshop is done.
    const inWorkshop = await inBatches(bookings, 4, async (booking) => {
      const trip = acceptedTrips(ctx, booking, 'pickup')[0];
      if (!trip) return undefined;
      await ctx.driver.sendStatus(trip.tripId, 'pickup_completed');
      await bookingReaches(ctx, booking, 'IN_WORKSHOP');
      return booking;
    });
    const ready = inWorkshop.filter((booking): booking is Booking => booking !== undefined);
    await slowLeg(ctx, tally, ready, 'delivery', async (booking) => {
      await ctx.api.expect(200, 'POST', `/v1/bookings/${booking.id}/ready`, { token: ctx.keys.workshop });
    });
    tally.note(
      `${bookings.length} bookings × 2 legs; the Driver-App sandbox answered after ${(DRIVER_TIMEOUT_MS * 2.5) / 1000} s against a ${DRIVER_TIMEOUT_MS / 1000} s timeout; every send read at a proxy`,
    );
    return tally.result();
  },
};
