import * as z from 'zod';
import type { AggregateStore, Stored } from '../../../shared/platform/aggregate';
import { ATTENTION_MACHINE } from '../../../shared/platform/attention';
import type { Clock } from '../../../shared/platform/clock';
import type { Booking } from '../domain/booking';
import { bookingMachine, bookingStatusSchema, type HistoryEntry, historyEntrySchema } from '../domain/booking-status';
import { findingMachine, findingStatusSchema } from '../domain/finding';
import { parseTripSubject, TRIP_HISTORY, TRIP_LEGS, TRIP_STATES } from '../domain/trip';

/** Bookings: one partition per booking holds it, its history, the events it applied and its outbox. */
export type BookingStore = AggregateStore<Booking>;

/** A booking as stored, with its ETag and the hash of its access token. */
export type StoredBooking = Stored<Booking>;

/** The stored attribute holding the SHA-256 hex of the booking's access token (never the token). */
export const ACCESS_TOKEN_HASH = 'accessTokenHash';

/** What every booking use case works with. */
export interface BookingContext {
  bookings: BookingStore;
  clock: Clock;
}

/** A booking's status history, oldest first, as the booking's own machine wrote it. */
export async function bookingHistory(bookings: Pick<BookingStore, 'history'>, id: string): Promise<HistoryEntry[]> {
  const records = await bookings.history(id, { machine: bookingMachine.name });
  return records.map(({ from, to, at, cause }) => historyEntrySchema.parse({ from, to, at, cause }));
}

const instant = z.iso.datetime({ offset: true });
// Stored rows are read through the kernel's cause schema already; the row shows the cause as written.
const causeText = z.string();
const tripStatusSchema = z.enum(TRIP_STATES);

/** A status row: the booking's own status change, exactly as this endpoint has always shown it. */
const statusRowSchema = z.object({ from: bookingStatusSchema.nullable(), to: bookingStatusSchema, at: instant, cause: causeText });

/** A trip row: the trip's progress. `subject` is its Driver-App trip id, or the leg when it has none (manual fallback). */
const tripRowSchema = z.object({
  kind: z.literal('trip'),
  subject: z.string(),
  leg: z.enum(TRIP_LEGS),
  from: tripStatusSchema.nullable(),
  to: tripStatusSchema,
  at: instant,
  cause: causeText,
});

/** A finding row: added (from null), approved, declined, its charge's outcome. `subject` is the finding id. */
const findingRowSchema = z.object({
  kind: z.literal('finding'),
  subject: z.string(),
  from: findingStatusSchema.nullable(),
  to: findingStatusSchema,
  at: instant,
  cause: causeText,
});

/** A resolution of the booking's attention flag: who resolved it, when, and their note. */
const attentionRowSchema = z.object({
  kind: z.literal('attention'),
  from: z.literal('open'),
  to: z.literal('resolved'),
  at: instant,
  cause: causeText,
  note: z.string(),
});

/**
 * One row of a booking's whole history, as `GET /bookings/{id}/history` shows it. Status rows keep the
 * shape they always had (`{from, to, at, cause}`, no `kind`), so clients that read them keep working;
 * the trip and finding rows beside them say what they are (`kind`) and what they are about (`subject`).
 */
export const bookingHistoryRowSchema = z.union([statusRowSchema, tripRowSchema, findingRowSchema, attentionRowSchema]);

/** One row of a booking's whole history. */
export type BookingHistoryRow = z.infer<typeof bookingHistoryRowSchema>;

/** A booking's whole history, oldest first: its status changes, its trips' progress and its findings'. */
export async function bookingTimeline(bookings: Pick<BookingStore, 'history'>, id: string): Promise<BookingHistoryRow[]> {
  const records = await bookings.history(id);
  return records.flatMap(({ machine, subject, from, to, at, cause, reason }): BookingHistoryRow[] => {
    if (machine === bookingMachine.name) return [statusRowSchema.parse({ from, to, at, cause })];
    if (machine === ATTENTION_MACHINE) return [attentionRowSchema.parse({ kind: 'attention', from, to, at, cause, note: reason ?? '' })];
    if (machine === findingMachine.name) return [findingRowSchema.parse({ kind: 'finding', subject, from, to, at, cause })];
    const trip = machine === TRIP_HISTORY ? parseTripSubject(subject) : undefined;
    if (trip) return [tripRowSchema.parse({ kind: 'trip', subject: trip.tripId ?? trip.leg, leg: trip.leg, from, to, at, cause })];
    return []; // a machine this version does not know: not shown rather than failing the whole history
  });
}
