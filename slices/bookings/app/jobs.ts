import type { Booking } from '../domain/booking';
import type { JobRequest } from '../../../shared/platform/jobs';
export { toOutgoing } from '../../../shared/platform/jobs';

export const ODOO_SYNC_QUEUE = 'odoo-sync';
export const DRIVER_DISPATCH_QUEUE = 'driver-dispatch';

/** Reconcile the booking with Odoo. One per booking version: a later change syncs again, a repeat does not. */
export function odooSyncJob(booking: Booking, reason: string): JobRequest {
  return {
    queue: ODOO_SYNC_QUEUE,
    type: 'booking.sync',
    subject: booking.id,
    id: `odoo:${booking.id}:v${booking.version + 1}`,
    payload: { bookingId: booking.id, reason },
  };
}

/** Hand a trip to the Driver-App: exactly one pick-up and one delivery per booking. */
export function tripJob(booking: Booking, trip: 'pickup' | 'delivery'): JobRequest {
  return {
    queue: DRIVER_DISPATCH_QUEUE,
    type: `trip.${trip}`,
    subject: booking.id,
    id: `trip:${trip}:${booking.id}`,
    payload: { bookingId: booking.id, trip },
  };
}
