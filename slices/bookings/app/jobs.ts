import type { JobRequest } from '../../../shared/platform/jobs';
import { QUEUES } from '../../../shared/platform/queues';
import type { Booking } from '../domain/booking';
import type { TripLeg } from '../domain/trip';

/** The job type on `odoo-sync` that reconciles one booking with the ERP. */
export const BOOKING_SYNC_JOB = 'booking.sync';

/** Reconcile the booking with Odoo. One per booking version: a later change syncs again, a repeat does not. */
export function odooSyncJob(booking: Booking, reason: string): JobRequest {
  return {
    queue: QUEUES.odooSync,
    type: BOOKING_SYNC_JOB,
    subject: booking.id,
    id: `odoo:${booking.id}:v${booking.version + 1}`,
    payload: { bookingId: booking.id, reason },
  };
}

/** What a trip job carries: its booking and leg, and what the trip needs that is fixed when the job is made. */
export interface TripJobPayload {
  bookingId: string;
  trip: TripLeg;
  /**
   * A delivery's scheduled pick-up (ISO 8601): "now" when the car was marked ready, fixed here so
   * that every attempt of the job sends the same trip under its idempotency key. A pick-up's is the
   * booked slot, kept in the booking.
   */
  scheduledPickup?: string;
}

/**
 * Hand a trip to the Driver-App: exactly one pick-up and one delivery per booking. A delivery is
 * scheduled at `at` (when the car was ready): the time travels in the job, not read at send time.
 */
export function tripJob(booking: Booking, leg: 'pickup'): JobRequest;
export function tripJob(booking: Booking, leg: 'delivery', at: Date): JobRequest;
export function tripJob(booking: Booking, leg: TripLeg, at?: Date): JobRequest {
  const payload: TripJobPayload = { bookingId: booking.id, trip: leg, ...(leg === 'delivery' && at ? { scheduledPickup: at.toISOString() } : {}) };
  return {
    queue: QUEUES.driverDispatch,
    type: `trip.${leg}`,
    subject: booking.id,
    id: `trip:${leg}:${booking.id}`,
    payload,
  };
}

/** The job type on `driver-dispatch` that withdraws a trip of a cancelled booking at the Driver-App. */
export const TRIP_CANCEL_JOB = 'trip.cancel';

/** What a withdrawal job carries: the trip, fixed when the booking was cancelled, so every attempt sends the same message. */
export interface TripCancelJobPayload {
  bookingId: string;
  trip: TripLeg;
  tripId: string;
}

/**
 * Withdraw a trip the Driver-App accepted: queued with the cancellation (or with the trip id, when the
 * trip was accepted while the booking was being cancelled). One per booking and leg; the job id is the
 * message's Idempotency-Key.
 */
export function tripCancelJob(booking: Pick<Booking, 'id'>, leg: TripLeg, tripId: string): JobRequest {
  const payload: TripCancelJobPayload = { bookingId: booking.id, trip: leg, tripId };
  return {
    queue: QUEUES.driverDispatch,
    type: TRIP_CANCEL_JOB,
    subject: booking.id,
    id: `trip-cancel:${leg}:${booking.id}`,
    payload,
  };
}
