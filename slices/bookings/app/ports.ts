import type { Booking } from '../domain/booking';
import type { HistoryEntry } from '../domain/booking-status';
import type { OutgoingJob } from '../../../shared/platform/jobs';

/** A booking as stored, with what optimistic concurrency and customer auth need. */
export interface StoredBooking {
  booking: Booking;
  /** The storage version the next save must match (Table Storage ETag). */
  etag: string;
  /** SHA-256 hex of the booking's access token (the token itself is never stored). */
  accessTokenHash: string;
}

/** One state change: the new booking, the history rows and jobs it causes, and the event it applies. */
export interface BookingChange {
  booking: Booking;
  history: HistoryEntry[];
  jobs: OutgoingJob[];
  /** A webhook event id (`stripe:evt_…`) recorded with the change, so the event is applied once. */
  eventId?: string;
}

export type SaveResult = 'saved' | 'conflict' | 'duplicate-event';

/** Bookings in Table Storage: one partition per booking holds it, its history, events and outbox. */
export interface BookingRepository {
  get(id: string): Promise<StoredBooking | undefined>;
  history(id: string): Promise<HistoryEntry[]>;
  /** Whether an event was already applied to this booking. */
  hasEvent(id: string, eventId: string): Promise<boolean>;
  create(change: BookingChange, accessTokenHash: string): Promise<void>;
  /** Saves if nobody changed the booking since `current` was read; jobs are relayed after the commit. */
  update(current: StoredBooking, change: BookingChange): Promise<SaveResult>;
}
