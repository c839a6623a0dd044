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

/** Hand a trip to the Driver-App: exactly one pick-up and one delivery per booking. */
export function tripJob(booking: Booking, leg: TripLeg): JobRequest {
  return {
    queue: QUEUES.driverDispatch,
    type: `trip.${leg}`,
    subject: booking.id,
    id: `trip:${leg}:${booking.id}`,
    payload: { bookingId: booking.id, trip: leg },
  };
}
