import type { AggregateStore, Stored } from '../../../shared/platform/aggregate';
import type { Clock } from '../../../shared/platform/clock';
import type { Booking } from '../domain/booking';
import { bookingMachine, type HistoryEntry, historyEntrySchema } from '../domain/booking-status';

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
