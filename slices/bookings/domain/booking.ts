import { tripsSchema } from './trip';
import * as z from 'zod';
import { bookingStatusSchema, causes, type Cause, type HistoryEntry } from './booking-status';
import { priceOf, serviceCodeSchema, type Catalogue } from './catalogue';
import { findingSchema } from './finding';
import { bookingRefundSchema } from './refund';
import { centsSchema, currencySchema } from '../../../shared/kernel/money';
import { checkSlot, type OpeningHours, type SlotProblemCode, type SlotRules } from './opening-hours';
import type { Issue } from '../../../shared/kernel/result';
import { textSchema } from '../../../shared/kernel/text';

// ---- Fields, shared by the stored aggregate and the HTTP request so both validate alike.

// The stored aggregate keeps its lenient reading of text (a booking stored before the text rule must
// still load); what comes in through the API follows the text rule (`requestText`, below).
const text = (max: number) => z.string().trim().min(1).max(max);

/**
 * Free text in a request (the text rule of `shared/kernel/text.ts`): well-formed Unicode, no control
 * characters (tab and line breaks only where `multiline`), NFC, trimmed, bounded — so whatever is
 * accepted can travel on to Stripe, Odoo, the Driver-App, e-mails and Table Storage unchanged.
 */
const requestText = (max: number, options: { multiline?: boolean; min?: number } = {}) => textSchema({ max, ...options });

/**
 * An id of ours (or a partner's) in a path, a body or an event: letters, digits and `._:~-`, 1–100
 * characters, so it can never be text — no control characters, no lone surrogates, nothing a key or a
 * URL would have to escape. Our ids are UUIDs.
 */
export const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:~-]{0,99}$/, 'Not an id');

/** Whether a value from outside (a webhook's metadata, a partner's report) can be one of our ids. */
export const isId = (value: unknown): value is string => idSchema.safeParse(value).success;

/** Notes for the workshop and the jockey (several lines allowed); empty notes are no notes. */
export const notesSchema = requestText(2000, { multiline: true, min: 0 });

/** Languages the customer can be written to in. */
export const LANGUAGES = ['de', 'en'] as const;

/** Validates a language; German unless the customer chose otherwise. */
export const languageSchema = z.enum(LANGUAGES);

/** E.164 (`+` and 7–15 digits) with optional single spaces or hyphens; stored without them for SMS and the Driver-App. */
export const phoneSchema = z
  .string()
  .trim()
  .regex(/^\+[1-9](?:[ -]?\d){6,14}$/, 'Expected an international phone number: + then 7 to 15 digits (spaces or - between them allowed)')
  .transform((phone) => phone.replace(/[ -]/g, ''));

/**
 * Postal code: lenient (4–10 letters/digits, one inner space or hyphen) so Austrian, Dutch or UK codes
 * pass; whether an address is in the service area is a business check, not a format check.
 */
export const zipSchema = z
  .string()
  .trim()
  .min(4)
  .max(10)
  .regex(/^[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)?$/, 'Expected a postal code like 10115');

/** A licence plate as written (`M-AB 1234`, `MÜ-X 1E`), upper-cased. */
export const licensePlateSchema = z
  .string()
  .trim()
  .toUpperCase()
  .min(1)
  .max(15)
  .regex(/^[\p{L}\d]+(?:[ -][\p{L}\d]+)*$/u, 'Expected a licence plate like M-AB 1234');

/** An instant in ISO 8601 with `Z` or an offset; a local time without offset is ambiguous and refused. */
export const instantSchema = z.iso.datetime({ offset: true });

// ---- The aggregate.

/** The customer of a booking. */
export const customerSchema = z.object({
  name: text(100),
  email: z.email().max(254),
  phone: phoneSchema,
  language: languageSchema.default('de'),
});

/** The car to be serviced. */
export const vehicleSchema = z.object({
  brand: text(50),
  model: text(80),
  licensePlate: licensePlateSchema.optional(),
  year: z.number().int().min(1900).max(2100).optional(),
  mileage: z.number().int().min(0).max(5_000_000).optional(),
});

/** A pick-up or delivery address; coordinates once geocoded. */
export const addressSchema = z.object({
  street: text(120),
  zip: zipSchema,
  city: text(80),
  lat: z.number().min(-90).max(90).optional(),
  lng: z.number().min(-180).max(180).optional(),
});

/** Payment states of a booking, as Stripe's PaymentIntent moves (lower-case, like Stripe's). */
export const PAYMENT_STATUSES = ['pending', 'processing', 'requires_action', 'succeeded', 'failed', 'refunded', 'canceled'] as const;

/** The booking's payment: its state and the Stripe ids needed to charge findings off-session later. */
export const bookingPaymentSchema = z.object({
  status: z.enum(PAYMENT_STATUSES),
  paymentIntentId: z.string().optional(),
  failureReason: z.string().max(500).optional(),
  stripeCustomerId: z.string().optional(),
  paymentMethodId: z.string().optional(),
  /** The refund a cancellation reserved before asking Stripe; `status` becomes `refunded` once it succeeded. */
  refund: bookingRefundSchema.optional(),
});

/** Everything a booking is, as stored (one partition per booking). */
export const bookingSchema = z.object({
  id: z.string().min(1).max(100),
  status: bookingStatusSchema,
  customer: customerSchema,
  vehicle: vehicleSchema,
  serviceType: serviceCodeSchema,
  priceCents: centsSchema,
  currency: currencySchema,
  pickup: z.object({ address: addressSchema, slotStart: instantSchema, slotEnd: instantSchema }),
  delivery: z.object({ address: addressSchema }),
  notes: z.string().max(2000).optional(),
  payment: bookingPaymentSchema,
  findings: z.array(findingSchema),
  /** The jockey trips, once dispatched (absent before). */
  trips: tripsSchema.optional(),
  /** Where the booking lives in the ERP (Odoo ids), stored back by the sync; found again by our refs if absent. */
  erp: z
    .object({
      partnerId: z.number().int().positive(),
      /** Invoice id per document ref (the booking id, each paid finding's id). */
      invoiceIds: z.record(z.string(), z.number().int().positive()),
    })
    .optional(),
  /** needsAttention: a human must look (e.g. a failed jockey trip); the status alone does not say so. */
  flags: z.object({
    needsAttention: z.boolean().optional(),
    attentionReason: z.string().max(500).optional(),
    /** When the booking went on the attention list (absent on bookings flagged before it was kept). */
    attentionSince: instantSchema.optional(),
  }),
  createdAt: instantSchema,
  updatedAt: instantSchema,
  /** Counts changes; bumped by every domain operation so a stale copy is recognisable. */
  version: z.number().int().min(1),
});

/** The customer of a booking. */
export type Customer = z.infer<typeof customerSchema>;
/** The car to be serviced. */
export type Vehicle = z.infer<typeof vehicleSchema>;
/** A pick-up or delivery address. */
export type Address = z.infer<typeof addressSchema>;
/** The payment part of a booking. */
export type BookingPayment = z.infer<typeof bookingPaymentSchema>;
/** A payment state. */
export type PaymentStatus = BookingPayment['status'];
/** A booking (the aggregate). */
export type Booking = z.infer<typeof bookingSchema>;

/**
 * The flags with the booking on the attention list for `reason`. A reason already there stays (a
 * failed refund must not be hidden by a later note): the new one is added after it, once.
 */
export function withAttention(flags: Booking['flags'], reason: string, at: string): Booking['flags'] {
  const current = flags.needsAttention ? flags.attentionReason : undefined;
  if (!current) return { ...flags, needsAttention: true, attentionReason: reason.slice(0, 500), attentionSince: at };
  if (current.includes(reason)) return flags;
  return { ...flags, needsAttention: true, attentionReason: `${current}; ${reason}`.slice(0, 500) };
}

// ---- The HTTP request (a public contract): strict objects, so unknown fields are refused.

// The same fields and bounds as the aggregate's, with free text under the text rule.

/** An address in a request: coordinates are ours to find, not the client's to send. */
export const addressRequestSchema = z.strictObject({ street: requestText(120), zip: zipSchema, city: requestText(80) });

/** The customer in a request. */
export const customerRequestSchema = z.strictObject({
  name: requestText(100),
  email: customerSchema.shape.email,
  phone: phoneSchema,
  language: customerSchema.shape.language,
});

/** `POST /api/v1/bookings` body. The price is absent on purpose: it comes from the catalogue. */
export const createBookingRequestSchema = z.strictObject({
  customer: customerRequestSchema,
  // year and mileage are the workshop's to record; the contract's request carries only these three.
  vehicle: z.strictObject({ brand: requestText(50), model: requestText(80), licensePlate: licensePlateSchema.optional() }),
  serviceType: serviceCodeSchema,
  pickup: z.strictObject({ address: addressRequestSchema, slotStart: instantSchema, slotEnd: instantSchema }),
  delivery: z.strictObject({ address: addressRequestSchema }).optional(),
  notes: notesSchema.optional(),
});

/** A validated booking request. */
export type CreateBookingRequest = z.infer<typeof createBookingRequestSchema>;

// ---- Creation.

/** What `createBooking` needs besides the request: the new id, the clock and the configuration. */
export interface CreateBookingContext {
  id: string;
  now: Date;
  catalogue: Catalogue;
  hours: OpeningHours;
  rules: SlotRules;
  /** Who creates it; the customer's app unless a staff key or channel does. */
  cause?: Cause;
}

/** One reason a request was refused, with the request path it concerns (for problem+json `errors[]`). */
export interface BookingProblem extends Issue {
  code: 'UNKNOWN_SERVICE' | SlotProblemCode;
}

/** Why no booking was created: every problem found, not just the first. */
export interface CreateBookingError {
  code: 'BOOKING_REJECTED';
  problems: BookingProblem[];
}

/** The new booking with its first history row, or why it was refused. */
export type CreateBookingResult = { ok: true; booking: Booking; history: HistoryEntry } | { ok: false; error: CreateBookingError };

/**
 * Builds a new booking in PENDING_PAYMENT from a validated request: checks the slot, prices the
 * service from the catalogue (any price the client smuggles in is ignored), and delivers back to the
 * pick-up address unless a delivery address is given. Times are stored normalised to UTC.
 */
export function createBooking(input: CreateBookingRequest, context: CreateBookingContext): CreateBookingResult {
  const problems: BookingProblem[] = [];
  const price = priceOf(context.catalogue, input.serviceType);
  if (!price.ok) problems.push({ code: 'UNKNOWN_SERVICE', path: 'serviceType', message: `Unknown service "${input.serviceType}"` });
  const slotStart = new Date(input.pickup.slotStart);
  const slotEnd = new Date(input.pickup.slotEnd);
  const slot = checkSlot(context.hours, slotStart, slotEnd, context.now, context.rules);
  if (!slot.ok) problems.push(...slot.reasons.map((reason) => ({ code: reason.code, path: `pickup.${reason.field}`, message: reason.message })));
  if (!price.ok || problems.length > 0) return { ok: false, error: { code: 'BOOKING_REJECTED', problems } };

  const at = context.now.toISOString();
  const pickupAddress = copyAddress(input.pickup.address);
  const notes = input.notes?.trim();
  const booking: Booking = {
    id: context.id,
    status: 'PENDING_PAYMENT',
    customer: { name: input.customer.name, email: input.customer.email, phone: input.customer.phone, language: input.customer.language },
    vehicle: defined({ brand: input.vehicle.brand, model: input.vehicle.model, licensePlate: input.vehicle.licensePlate }),
    serviceType: input.serviceType,
    priceCents: price.value.cents,
    currency: price.value.currency,
    pickup: { address: pickupAddress, slotStart: slotStart.toISOString(), slotEnd: slotEnd.toISOString() },
    delivery: { address: input.delivery ? copyAddress(input.delivery.address) : { ...pickupAddress } },
    ...(notes ? { notes } : {}),
    payment: { status: 'pending' },
    findings: [],
    flags: {},
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
  return { ok: true, booking, history: { from: null, to: 'PENDING_PAYMENT', at, cause: context.cause ?? causes.customer() } };
}

// Fields are picked one by one so nothing the caller added beyond the type ends up stored.
function copyAddress(address: { street: string; zip: string; city: string }): Address {
  return { street: address.street, zip: address.zip, city: address.city };
}

/** The object without its undefined members (stores and JSON should not see `key: undefined`). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as T;
}
