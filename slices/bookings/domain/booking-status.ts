import { z } from 'zod';
import type { Booking } from './booking';

/** Statuses of a booking, in the order a booking normally passes through them. */
export const BOOKING_STATUSES = ['PENDING_PAYMENT', 'CONFIRMED', 'IN_WORKSHOP', 'READY_FOR_DELIVERY', 'DELIVERED', 'CANCELLED'] as const;

/** Validates a booking status. */
export const bookingStatusSchema = z.enum(BOOKING_STATUSES);

/** Where a booking is in its life. */
export type BookingStatus = z.infer<typeof bookingStatusSchema>;

/**
 * The status machine: the only edges a booking may take. Cancellation is allowed "until pick-up"
 * (DESIGN.md §5), i.e. while the car has not left the customer: PENDING_PAYMENT and CONFIRMED.
 */
export const BOOKING_TRANSITIONS: Readonly<Record<BookingStatus, readonly BookingStatus[]>> = {
  PENDING_PAYMENT: ['CONFIRMED', 'CANCELLED'],
  CONFIRMED: ['IN_WORKSHOP', 'CANCELLED'],
  IN_WORKSHOP: ['READY_FOR_DELIVERY'],
  READY_FOR_DELIVERY: ['DELIVERED'],
  DELIVERED: [],
  CANCELLED: [],
};

/** Whether the machine has the edge `from -> to`. */
export function canTransition(from: BookingStatus, to: BookingStatus): boolean {
  return BOOKING_TRANSITIONS[from].includes(to);
}

/** Whether a booking in this status may still be cancelled (the car has not been picked up). */
export function isCancellable(status: BookingStatus): boolean {
  return canTransition(status, 'CANCELLED');
}

/**
 * Who or what caused a change, kept in the history: a Stripe event, a Driver-App update, a staff
 * API key (by its name, never the key), the customer, or the system itself (timers, reconciliation).
 */
export type Cause = `stripe:${string}` | `driver:${string}` | `api:${string}` | `system:${string}` | 'customer';

/** Validates a cause string. */
export const causeSchema = z
  .string()
  .max(200)
  .regex(/^(?:customer|(?:stripe|driver|api|system):\S.*)$/, 'Expected customer or stripe:/driver:/api:/system:<id>')
  .transform((value) => value as Cause);

/** Builds causes, so call sites cannot misspell a prefix. */
export const causes = {
  /** A Stripe webhook event, by its id (`evt_...`), so a duplicate delivery is traceable. */
  stripe: (eventId: string): Cause => `stripe:${eventId}`,
  /** A Driver-App status update (its event or trip id). */
  driver: (id: string): Cause => `driver:${id}`,
  /** A staff call, by the API key's configured name. */
  api: (keyName: string): Cause => `api:${keyName}`,
  /** Something the hub did on its own (a timer, a reconciliation). */
  system: (what: string): Cause => `system:${what}`,
  /** The customer, through the app with the booking's access token. */
  customer: (): Cause => 'customer',
} as const;

/** One row of a booking's history: a status change, when, and why. `from` is null for the creation. */
export const historyEntrySchema = z.object({
  from: bookingStatusSchema.nullable(),
  to: bookingStatusSchema,
  at: z.iso.datetime({ offset: true }),
  cause: causeSchema,
});

/** One row of a booking's history. */
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** Why a transition was not applied. `ALREADY_IN_STATE` lets a duplicate webhook be told from a real conflict. */
export type TransitionError =
  | { code: 'FORBIDDEN_TRANSITION'; from: BookingStatus; to: BookingStatus }
  | { code: 'ALREADY_IN_STATE'; from: BookingStatus; to: BookingStatus };

/** The changed booking and the history row to store with it, or why nothing changed. */
export type TransitionResult = { ok: true; booking: Booking; history: HistoryEntry } | { ok: false; error: TransitionError };

/**
 * Moves a booking to `to` if the machine allows it. Returns a new booking (the input is not touched)
 * with `updatedAt` and `version` advanced, and the history row that must be saved in the same write.
 */
export function transition(booking: Booking, to: BookingStatus, cause: Cause, at: Date): TransitionResult {
  const from = booking.status;
  if (from === to) return { ok: false, error: { code: 'ALREADY_IN_STATE', from, to } };
  if (!canTransition(from, to)) return { ok: false, error: { code: 'FORBIDDEN_TRANSITION', from, to } };
  const timestamp = at.toISOString();
  return {
    ok: true,
    booking: { ...booking, status: to, updatedAt: timestamp, version: booking.version + 1 },
    history: { from, to, at: timestamp, cause },
  };
}
