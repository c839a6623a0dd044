import * as z from 'zod';
import { textSchema } from '../../../shared/kernel/text';
import { addressSchema, idSchema, instantSchema } from '../domain/booking';

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

/** A trip id as the Driver-App hands them out (the sandbox's `trp_…`): an id, never text. */
export const tripIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:~-]{0,199}$/, 'Not a trip id');

/**
 * The message that withdraws a trip the Driver-App accepted, because its booking was cancelled. It is
 * POSTed to the same URL as trips, signed and keyed the same way; it names the trip and the booking
 * and nothing else, so every attempt under one Idempotency-Key sends the same bytes.
 */
export const b2cCancelSchema = z.object({
  type: z.literal('b2c_cancel'),
  tripId: tripIdSchema,
  bookingId: z.string().min(1).max(200),
});

/** A trip withdrawal as the Driver-App receives it. */
export type B2CCancel = z.infer<typeof b2cCancelSchema>;

/**
 * Withdraws trips at the Driver-App. The idempotency key makes a re-send (job redelivered, retry after
 * a timeout) one withdrawal. Failures are thrown as `JobError`, with the same rules as sending a trip.
 */
export interface TripWithdrawer {
  withdraw(message: B2CCancel, idempotencyKey: string): Promise<void>;
}

/**
 * The driver's own words (name, phone, a failure reason): kept only when they are text under the
 * text rule. Anything else (a control character, a lone surrogate) is dropped rather than refusing
 * the update: the status it carries (picked up, delivered) must not be lost over a driver's name.
 */
const driverText = (max: number, multiline = false) =>
  textSchema({ max, multiline })
    .optional()
    .catch(() => undefined);

/**
 * A status update the Driver-App POSTs to our webhook (body signed, see the driver-app adapter).
 * Not strict: fields the app adds later are dropped instead of failing every update. Its ids are
 * ids: a `bookingId` that cannot be one of ours, or a `tripId` holding control characters or lone
 * surrogates, fails the update (422) before it can reach a Table Storage key.
 */
export const driverStatusUpdateSchema = z.object({
  tripId: tripIdSchema,
  bookingId: idSchema,
  type: z.enum(TRIP_TYPES),
  status: z.enum(DRIVER_STATUSES),
  occurredAt: instantSchema,
  /** Increases per trip; the reliable way to spot a stale or repeated update (clocks may differ). */
  sequence: z.number().int().min(0).optional(),
  driver: z.object({ name: driverText(200), phone: driverText(32) }).optional(),
  /** Why a trip failed, in the driver's words. */
  reason: driverText(1000, true),
});

/** A status update from the Driver-App. */
export type DriverStatusUpdate = z.infer<typeof driverStatusUpdateSchema>;
