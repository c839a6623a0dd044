import { customerRef } from '../../../shared/kernel/customer-ref';
import { causes } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { JobHandler } from '../../../shared/platform/consume-job';
import { JobError, type JobEnvelope } from '../../../shared/platform/jobs';
import type { Logger } from '../../../shared/platform/log';
import type { Booking } from '../domain/booking';
import { type TripLeg, type TripState, tripHistory } from '../domain/trip';
import type { B2CTrip, TripDispatcher } from './driver-app';
import { type TripJobPayload, tripCancelJob } from './jobs';
import type { BookingContext } from './ports';

export interface DispatchDeps extends BookingContext {
  dispatcher: TripDispatcher;
  /** Records when the Driver-App last took a trip (health's `lastSync.driverApp`). */
  recordSync?: (at: Date) => Promise<void>;
  log?: Logger;
}

/** Booking statuses in which a leg's trip is still wanted; otherwise the job is stale and does nothing. */
const WANTED: Record<TripLeg, Booking['status']> = { pickup: 'CONFIRMED', delivery: 'READY_FOR_DELIVERY' };

/**
 * The seed's B2CTrip for one leg of a booking. `scheduled` is the delivery's scheduled pick-up as
 * fixed when its job was made (never the time of the attempt: a retry must send the same trip); a
 * pick-up is scheduled at the booked slot.
 */
export function toTrip(booking: Booking, leg: TripLeg, scheduled: Date): B2CTrip {
  return {
    type: leg === 'pickup' ? 'b2c_pickup' : 'b2c_delivery',
    bookingId: booking.id,
    // The same reference Odoo knows the customer by; it does not expose the e-mail address.
    customerId: customerRef(booking.customer.email),
    customerName: booking.customer.name,
    customerPhone: booking.customer.phone,
    // Delivery goes from the workshop back to the customer: its "pickup" is where the car was fetched.
    pickupAddress: booking.pickup.address,
    deliveryAddress: booking.delivery.address,
    vehicle: { brand: booking.vehicle.brand, model: booking.vehicle.model, licensePlate: booking.vehicle.licensePlate ?? '' },
    scheduledPickup: leg === 'pickup' ? booking.pickup.slotStart : scheduled.toISOString(),
    ...(booking.notes ? { notes: booking.notes } : {}),
  };
}

/**
 * When a delivery job's trip is scheduled: the time the job carries, or — for a job queued before it carried
 * one — the job's creation, which its retries and replays keep too. Never the time of this attempt.
 */
function scheduledAt(job: JobEnvelope): Date {
  const carried = (job.payload as Partial<TripJobPayload> | undefined)?.scheduledPickup;
  const at = new Date(typeof carried === 'string' ? carried : job.createdAt);
  if (Number.isNaN(at.getTime())) throw JobError.permanent('INVALID_TRIP_JOB', `trip job ${job.id} has no valid scheduled time`);
  return at;
}

/**
 * The `driver-dispatch` worker: hands each trip to the Driver-App once. The job id is the
 * idempotency key (`trip:<leg>:<bookingId>`), so a redelivered job returns the first trip; a job for
 * a booking that moved on (cancelled, already picked up) does nothing. A trip the Driver-App took
 * while the booking was being cancelled is withdrawn as soon as its id is known.
 */
export function dispatchHandlers(deps: DispatchDeps): Record<string, JobHandler> {
  const handle = (leg: TripLeg): JobHandler =>
    async function dispatch(job) {
      const stored = await deps.bookings.get(job.subject);
      if (!stored) throw JobError.permanent('BOOKING_NOT_FOUND', `booking ${job.subject} does not exist`);
      const booking = stored.state;
      if (booking.status !== WANTED[leg] || booking.trips?.[leg]?.tripId) {
        deps.log?.info('trip not dispatched: no longer wanted', { jobId: job.id, bookingId: booking.id, status: booking.status });
        return;
      }
      const scheduled = leg === 'delivery' ? scheduledAt(job) : new Date(booking.pickup.slotStart);
      const sent = await deps.dispatcher.send(toTrip(booking, leg, scheduled), job.id);
      await deps.recordSync?.(deps.clock.now());
      if (!sent.tripId) return;
      const tripId = sent.tripId;
      // Keep the trip id so status reports can be matched; a report may already have recorded it.
      await mutate(
        deps.bookings,
        booking.id,
        ({ state }) => {
          const trip = state.trips?.[leg];
          if (trip?.tripId) return skip(undefined);
          const at = deps.clock.now().toISOString();
          const accepted: TripState = { ...trip, tripId, status: trip?.status ?? 'dispatched' };
          if (state.status === 'CANCELLED') {
            // Cancelled while the trip was on its way: the cancellation could not withdraw a trip it did
            // not know, so the trip is withdrawn now, in the change that learns its id.
            const withdrawn: TripState = { ...accepted, status: 'cancelled' };
            return save({ ...state, trips: { ...state.trips, [leg]: withdrawn }, updatedAt: at }, undefined, {
              history: [tripHistory(leg, accepted, withdrawn, causes.system('booking-cancelled'), at)],
              jobs: [tripCancelJob(state, leg, tripId)],
            });
          }
          return save({ ...state, trips: { ...state.trips, [leg]: accepted }, updatedAt: at }, undefined);
        },
        { clock: deps.clock, first: stored },
      );
    };
  return { 'trip.pickup': handle('pickup'), 'trip.delivery': handle('delivery') };
}
