import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { JobRequest } from '../../../shared/platform/jobs';
import type { Booking } from '../domain/booking';
import { type BookingStatus, type HistoryEntry, transition } from '../domain/booking-status';
import { applyTripUpdate, isNewer, type TripLeg, type TripUpdate } from '../domain/trip';
import { tripJob } from './jobs';
import { notificationJob } from './notifications';
import type { BookingContext } from './ports';

export type TripDeps = BookingContext;

export type TripUpdateOutcome = 'applied' | 'ignored' | 'duplicate' | 'not-found' | 'wrong-state';

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
 * Applies a trip status report (the Driver-App's signed webhook, or an admin without a Driver-App):
 * duplicates and reports older than the last applied one are ignored; pick-up done moves the booking
 * to IN_WORKSHOP, delivery done to DELIVERED; a failed trip flags the booking for an admin. Every
 * applied report leaves a history row and may e-mail the customer.
 */
export async function recordTripUpdate(deps: TripDeps, bookingId: string, update: TripUpdate, cause: Cause, eventId?: string): Promise<TripUpdateOutcome> {
  const outcome = await mutate<Booking, TripUpdateOutcome>(
    deps.bookings,
    bookingId,
    ({ state: booking }) => {
      if (!LEG_STATES[update.leg].includes(booking.status)) return skip('wrong-state');
      const trip = booking.trips?.[update.leg];
      if (!isNewer(trip, update)) return skip('ignored');

      const at = deps.clock.now();
      let next: Booking = { ...booking, trips: { ...booking.trips, [update.leg]: applyTripUpdate(trip, update) }, updatedAt: at.toISOString() };
      let history: HistoryEntry = { from: booking.status, to: booking.status, at: at.toISOString(), cause };
      const completes = COMPLETES[update.status];
      if (completes && completes.leg === update.leg && booking.status === completes.from) {
        const moved = transition(next, completes.to, cause, at);
        if (moved.ok) {
          next = moved.booking;
          history = moved.history;
        }
      }
      if (update.status === 'failed') {
        next = { ...next, flags: { needsAttention: true, attentionReason: `${update.leg} trip failed: ${update.reason ?? 'no reason given'}`.slice(0, 500) } };
      }
      return save(next, 'applied', { history: [history], jobs: noticesFor(booking, update) });
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
