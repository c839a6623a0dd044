import { z } from 'zod';
import { addressSchema, instantSchema } from '../domain/booking';

// The Driver-App's wire contract, both directions: trips we send, status updates it sends back.
// Field names are the Driver-App's (the seed's B2CTrip), not ours, so they stay as they are.

/** The two kinds of jockey trip a B2C booking has. */
export const TRIP_TYPES = ['b2c_pickup', 'b2c_delivery'] as const;

/** A kind of jockey trip. */
export type TripType = (typeof TRIP_TYPES)[number];

/** A trip as the Driver-App receives it (the seed's B2CTrip). */
export const b2cTripSchema = z.object({
  type: z.enum(TRIP_TYPES),
  bookingId: z.string().min(1).max(200),
  customerId: z.string().min(1).max(200),
  customerName: z.string().min(1).max(200),
  customerPhone: z.string().min(1).max(32),
  pickupAddress: addressSchema,
  deliveryAddress: addressSchema,
  vehicle: z.object({
    brand: z.string().min(1).max(50),
    model: z.string().min(1).max(80),
    // The Driver-App requires the field but a booking may have no plate yet: send '' then.
    licensePlate: z.string().max(15),
  }),
  scheduledPickup: instantSchema,
  notes: z.string().max(2000).optional(),
});

/** A trip as the Driver-App receives it. */
export type B2CTrip = z.infer<typeof b2cTripSchema>;

/**
 * Hands a trip to the Driver-App. The idempotency key makes a re-send (job redelivered, retry after
 * a timeout that did reach the app) return the first trip instead of booking a second jockey.
 * Failures are thrown as `JobError`: transient ones are retried, permanent ones dead-lettered.
 */
export interface TripDispatcher {
  send(trip: B2CTrip, idempotencyKey: string): Promise<{ tripId?: string }>;
}

/** Everything a trip can report, in the order a trip normally goes through them. */
export const DRIVER_STATUSES = ['assigned', 'in_progress', 'arrived', 'pickup_completed', 'delivery_completed', 'failed'] as const;

/** One status a trip can report. */
export type DriverStatus = (typeof DRIVER_STATUSES)[number];

/**
 * A status update the Driver-App POSTs to our webhook (body signed, see the driver-app adapter).
 * Not strict: fields the app adds later are dropped instead of failing every update.
 */
export const driverStatusUpdateSchema = z.object({
  tripId: z.string().min(1).max(200),
  bookingId: z.string().min(1).max(200),
  type: z.enum(TRIP_TYPES),
  status: z.enum(DRIVER_STATUSES),
  occurredAt: instantSchema,
  /** Increases per trip; the reliable way to spot a stale or repeated update (clocks may differ). */
  sequence: z.number().int().min(0).optional(),
  driver: z.object({ name: z.string().max(200).optional(), phone: z.string().max(32).optional() }).optional(),
  /** Why a trip failed, in the driver's words. */
  reason: z.string().max(1000).optional(),
});

/** A status update from the Driver-App. */
export type DriverStatusUpdate = z.infer<typeof driverStatusUpdateSchema>;
