import type { Cause } from '../../../shared/kernel/history';
import { type HistoryInput, mutate, save, skip } from '../../../shared/platform/aggregate';
import type { JobRequest } from '../../../shared/platform/jobs';
import { flaggedFor } from '../domain/attention-flags';
import { type Booking, withAttention } from '../domain/booking';
import { type BookingStatus, transition } from '../domain/booking-status';
import { applyTripUpdate, isNewer, type TripLeg, type TripUpdate, tripHistory } from '../domain/trip';
import { tripJob } from './jobs';
import { notificationJob } from './notifications';
import type { BookingContext } from './ports';

export type TripDeps = BookingContext;

/**
 * What became of a report. `late`: the booking was cancelled (its trip withdrawn) and the Driver-App
 * still reported; nothing changed but the booking's attention flag.
 */
export type TripUpdateOutcome = 'applied' | 'ignored' | 'duplicate' | 'not-found' | 'wrong-state' | 'late';

/** Which booking statuses a leg's updates belong to; others are stale or early and change nothing. */
const LEG_STATES: Record<TripLeg, readonly BookingStatus[]> = {
  pickup: ['CONFIRMED', 'IN_WORKSHOP', 'READY_FOR_DELIVERY', 'DELIVERED'],
  delivery: ['READY_FOR_DELIVERY', 'DELIVERED'],
};

/** The booking status a completed trip leads to. */
const COMPLETES: Partial<Record<TripUpdate['status'], { leg: TripLeg; from: BookingStatus; to: BookingStatus }>> = {
  pickup_completed: { leg: 'pickup', from: 'CONFIRMED', to: 'IN_WORKSHOP' },
  delivery_completed: { leg: 'delivery', from: 'READY_FOR_DELIVERY', to: 'DELIVERED' },
};

function noticesFor(booking: Booking, update: TripUpdate): JobRequest[] {
  switch (update.status) {
    case 'assigned':
      return [notificationJob('trip.assigned', booking, { leg: update.leg })];
    case 'pickup_completed':
      return [notificationJob('trip.pickup-completed', booking, {})];
    case 'delivery_completed':
      return [notificationJob('trip.delivered', booking, {})];
    case 'failed':
      return [notificationJob('trip.failed', booking, { leg: update.leg })];
    default:
      return [];
  }
}

/**
 * Applies a trip status report (an admin's, without a Driver-App; the app's go through
 * `recordDriverReport`): duplicates and reports older than the last applied one are ignored; pick-up
 * done moves the booking to IN_WORKSHOP, delivery done to DELIVERED; a failed trip flags the booking
 * for an admin. Every applied report leaves a trip row in the history (machine `trip`), and a status
 * row only when the booking's status moved; it may e-mail the customer.
 */
export function recordTripUpdate(deps: TripDeps, bookingId: string, update: TripUpdate, cause: Cause, eventId?: string): Promise<TripUpdateOutcome> {
  return applyReport(deps, bookingId, update, cause, eventId, false);
}

/**
 * Applies a status report of the Driver-App, as `recordTripUpdate` does — except for a cancelled
 * booking: its trip was withdrawn, so a report still arriving changes nothing, and the booking is put
 * on the attention list (a jockey may be on the way to a booking that no longer exists). `late`.
 */
export function recordDriverReport(deps: TripDeps, bookingId: string, update: TripUpdate, cause: Cause, eventId: string): Promise<TripUpdateOutcome> {
  return applyReport(deps, bookingId, update, cause, eventId, true);
}

async function applyReport(
  deps: TripDeps,
  bookingId: string,
  update: TripUpdate,
  cause: Cause,
  eventId: string | undefined,
  flagLate: boolean,
): Promise<TripUpdateOutcome> {
  const outcome = await mutate<Booking, TripUpdateOutcome>(
    deps.bookings,
    bookingId,
    ({ state: booking }) => {
      const at = deps.clock.now();
      if (flagLate && booking.status === 'CANCELLED') {
        const trip = update.tripId ? `${update.leg} trip ${update.tripId}` : `${update.leg} trip`;
        const flags = withAttention(booking.flags, `${trip} reported ${update.status} after the booking was cancelled`, at.toISOString());
        if (flags.attentionReason === booking.flags.attentionReason && booking.flags.needsAttention) return skip('late');
        return save({ ...booking, flags, updatedAt: at.toISOString() }, 'late');
      }
      if (!LEG_STATES[update.leg].includes(booking.status)) return skip('wrong-state');
      const trip = booking.trips?.[update.leg];
      if (!isNewer(trip, update)) return skip('ignored');

      const reported = applyTripUpdate(trip, update);
      let next: Booking = { ...booking, trips: { ...booking.trips, [update.leg]: reported }, updatedAt: at.toISOString() };
      const history: HistoryInput[] = [tripHistory(update.leg, trip, reported, cause, at.toISOString())];
      const completes = COMPLETES[update.status];
      if (completes && completes.leg === update.leg && booking.status === completes.from) {
        const moved = transition(next, completes.to, cause, at);
        if (moved.ok) {
          next = moved.booking;
          history.push(moved.history);
        }
      }
      if (update.status === 'failed') {
        next = { ...next, flags: flaggedFor(booking.flags, `${update.leg} trip failed: ${update.reason ?? 'no reason given'}`, at.toISOString()) };
      }
      return save(next, 'applied', { history, jobs: noticesFor(booking, update) });
    },
    { clock: deps.clock, eventId },
  );
  if (outcome.kind === 'not-found') return 'not-found';
  if (outcome.kind === 'duplicate-event') return 'duplicate';
  return outcome.result;
}

export type ReadyOutcome = { ok: true; booking: Booking } | { ok: false; error: 'NOT_FOUND' | 'WRONG_STATE'; status?: BookingStatus };

/** The workshop marks the car ready: READY_FOR_DELIVERY, and the delivery trip is queued (once). */
export async function markReady(deps: TripDeps, bookingId: string, cause: Cause, operationId?: string): Promise<ReadyOutcome> {
  const outcome = await mutate<Booking, ReadyOutcome>(
    deps.bookings,
    bookingId,
    ({ state: booking }) => {
      if (booking.status === 'READY_FOR_DELIVERY') return skip({ ok: true, booking });
      const at = deps.clock.now();
      const ready = transition(booking, 'READY_FOR_DELIVERY', cause, at);
      if (!ready.ok) return skip({ ok: false, error: 'WRONG_STATE', status: booking.status });
      // The delivery is scheduled now, and that time goes into the job: every attempt sends the same trip.
      return save(ready.booking, { ok: true, booking: ready.booking }, { history: [ready.history], jobs: [tripJob(booking, 'delivery', at)] });
    },
    { clock: deps.clock, operationId },
  );
  return outcome.kind === 'done' ? outcome.result : { ok: false, error: 'NOT_FOUND' };
}

/** Without a Driver-App an admin assigns the jockey: recorded as the trip's `assigned` report. */
export function assignJockey(
  deps: TripDeps,
  bookingId: string,
  leg: TripLeg,
  jockey: { name: string; phone?: string },
  cause: Cause,
): Promise<TripUpdateOutcome> {
  return recordTripUpdate(deps, bookingId, { leg, status: 'assigned', occurredAt: deps.clock.now().toISOString(), jockey }, cause);
}
