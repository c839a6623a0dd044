import * as z from 'zod';
import { type Cause, type HistoryEntry as KernelHistoryEntry, historyEntrySchemaOf } from '../../../shared/kernel/history';
import { canMove, defineMachine, refusal, type TransitionRefusal } from '../../../shared/kernel/state-machine';
import type { Booking } from './booking';

export { type Cause, causes, causeSchema } from '../../../shared/kernel/history';

/** Statuses of a booking, in the order a booking normally passes through them. */
export const BOOKING_STATUSES = ['PENDING_PAYMENT', 'CONFIRMED', 'IN_WORKSHOP', 'READY_FOR_DELIVERY', 'DELIVERED', 'CANCELLED'] as const;

/** Validates a booking status. */
export const bookingStatusSchema = z.enum(BOOKING_STATUSES);

/** Where a booking is in its life. */
export type BookingStatus = z.infer<typeof bookingStatusSchema>;

/**
 * The status machine: the only edges a booking may take. Cancellation is allowed "until pick-up",
 * i.e. while the car has not left the customer: PENDING_PAYMENT and CONFIRMED.
 */
export const bookingMachine = defineMachine<BookingStatus>('booking', {
  PENDING_PAYMENT: ['CONFIRMED', 'CANCELLED'],
  CONFIRMED: ['IN_WORKSHOP', 'CANCELLED'],
  IN_WORKSHOP: ['READY_FOR_DELIVERY'],
  READY_FOR_DELIVERY: ['DELIVERED'],
  DELIVERED: [],
  CANCELLED: [],
});

/** Whether a booking in this status may still be cancelled (the car has not been picked up). */
export function isCancellable(status: BookingStatus): boolean {
  return canMove(bookingMachine, status, 'CANCELLED');
}

/** One row of a booking's history: a status change, when, and why. `from` is null for the creation. */
export const historyEntrySchema = historyEntrySchemaOf(bookingStatusSchema);

/** One row of a booking's history. */
export type HistoryEntry = KernelHistoryEntry<BookingStatus>;

/** Why a transition was not applied. `ALREADY_IN_STATE` lets a duplicate webhook be told from a real conflict. */
export type TransitionError = TransitionRefusal<BookingStatus>;

/** The changed booking and the history row to store with it, or why nothing changed. */
export type TransitionResult = { ok: true; booking: Booking; history: HistoryEntry } | { ok: false; error: TransitionError };

/**
 * Moves a booking to `to` if the machine allows it. Returns a new booking (the input is not touched)
 * with `updatedAt` and `version` advanced, and the history row that must be saved in the same write.
 */
export function transition(booking: Booking, to: BookingStatus, cause: Cause, at: Date): TransitionResult {
  const refused = refusal(bookingMachine, booking.status, to);
  if (refused) return { ok: false, error: refused };
  const timestamp = at.toISOString();
  return {
    ok: true,
    booking: { ...booking, status: to, updatedAt: timestamp, version: booking.version + 1 },
    history: { from: booking.status, to, at: timestamp, cause },
  };
}
