/**
 * The Driver-App's wire contract, as the Driver-App sandbox reads it: the trip the app receives
 * (`POST /trips`), the withdrawal of a trip (`b2c_cancel`, POSTed to the same URL) and the status
 * update it sends back to Order Hub's webhook.
 *
 * Why the sandbox owns this copy instead of importing Order Hub's own dispatch and booking schemas:
 * a sandbox that validates with the sender's schema agrees with every change the sender makes, so
 * contract drift — a renamed field, a looser limit, a new status — would pass locally and only break
 * against the real Driver-App. Written independently from the Driver-App's side; when the contract
 * really changes, change it here on purpose. Nothing here may import production code.
 */
import * as z from 'zod';

/** Kinds of jockey trip the Driver-App knows. */
export const TRIP_TYPES = ['b2c_pickup', 'b2c_delivery'] as const;

/** Statuses a driver can report for a trip, in the order a trip normally goes through them. */
export const DRIVER_STATUSES = ['assigned', 'in_progress', 'arrived', 'pickup_completed', 'delivery_completed', 'failed'] as const;

/** A kind of trip. */
export type TripType = (typeof TRIP_TYPES)[number];

/** A status a driver can report. */
export type DriverStatus = (typeof DRIVER_STATUSES)[number];

/** Non-blank text of at most `max` characters (surrounding whitespace not counted). */
const text = (max: number) => z.string().trim().min(1).max(max);

/** Reference ids (booking, customer, trip): non-empty, at most 200 characters. */
const id = () => z.string().min(1).max(200);

/** An ISO 8601 instant with `Z` or an explicit offset; a local time without offset is refused. */
const instant = () => z.iso.datetime({ offset: true });

/** A postal code: 4–10 letters/digits, at most one inner space or hyphen. */
const zip = z
  .string()
  .trim()
  .min(4)
  .max(10)
  .regex(/^[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)?$/, 'Expected a postal code like 10115');

/** An address on a trip; coordinates only when known. */
const address = z.object({
  street: text(120),
  zip,
  city: text(80),
  lat: z.number().min(-90).max(90).optional(),
  lng: z.number().min(-180).max(180).optional(),
});

/** A trip as the Driver-App receives it (`POST /trips`). Unknown fields are ignored, not refused. */
export const tripSchema = z.object({
  type: z.enum(TRIP_TYPES),
  bookingId: id(),
  customerId: id(),
  customerName: z.string().min(1).max(200),
  customerPhone: z.string().min(1).max(32),
  pickupAddress: address,
  deliveryAddress: address,
  vehicle: z.object({
    brand: z.string().min(1).max(50),
    model: z.string().min(1).max(80),
    // Required by the Driver-App, but may be '' when the car has no plate yet.
    licensePlate: z.string().max(15),
  }),
  scheduledPickup: instant(),
  notes: z.string().max(2000).optional(),
});

/** A trip as the Driver-App receives it. */
export type Trip = z.infer<typeof tripSchema>;

/** Order Hub withdraws a trip it sent (its booking was cancelled): `POST /trips`, signed and keyed like a trip. */
export const cancelSchema = z.object({
  type: z.literal('b2c_cancel'),
  tripId: id(),
  bookingId: id(),
});

/** A trip withdrawal. */
export type Cancel = z.infer<typeof cancelSchema>;

/** The driver reporting a status. */
export const driverSchema = z.object({
  name: z.string().max(200).optional(),
  phone: z.string().max(32).optional(),
});

/** A status update the Driver-App POSTs (signed) to Order Hub's webhook. */
export const statusUpdateSchema = z.object({
  tripId: id(),
  bookingId: id(),
  type: z.enum(TRIP_TYPES),
  status: z.enum(DRIVER_STATUSES),
  occurredAt: instant(),
  /** Increases per trip, so the receiver can spot a stale or repeated update. */
  sequence: z.number().int().min(0).optional(),
  driver: driverSchema.optional(),
  /** Why a trip failed, in the driver's words. */
  reason: z.string().max(1000).optional(),
});

/** A status update the Driver-App sends. */
export type StatusUpdate = z.infer<typeof statusUpdateSchema>;
