import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { BookingChange, BookingRepository, SaveResult, StoredBooking } from '../../../slices/bookings/app/ports';
import { type Booking, bookingSchema } from '../../../slices/bookings/domain/booking';
import { type HistoryEntry, historyEntrySchema } from '../../../slices/bookings/domain/booking-status';
import type { OutboxCommitter } from './outbox';
import { isTableError, safeKey, tableCall } from './tables';

/** The logical table name (prefixed by TableStore). */
export const BOOKINGS_TABLE = 'Bookings';

const BOOKING_ROW = 'booking';
const HISTORY_PREFIX = 'history|';
const EVENT_PREFIX = 'event|';

interface BookingRow {
  status: string;
  data: string;
  accessTokenHash: string;
  version: number;
}

const historyRowKey = (version: number, index: number) =>
  `${HISTORY_PREFIX}${String(version).padStart(8, '0')}|${String(index).padStart(2, '0')}`;

/**
 * The one codec between a booking and its entities: the booking row (the aggregate as JSON, with
 * status and version as columns for ad-hoc queries), one row per history entry, one per applied
 * webhook event, and the outbox rows — all in the booking's partition, so one entity-group
 * transaction commits a change with everything it causes.
 */
export class TableBookingRepository implements BookingRepository {
  constructor(
    private readonly client: TableClient,
    private readonly outbox: OutboxCommitter,
  ) {}

  async get(id: string): Promise<StoredBooking | undefined> {
    try {
      const row = await tableCall(`read booking ${id}`, () => this.client.getEntity<BookingRow>(safeKey(id), BOOKING_ROW));
      return {
        booking: bookingSchema.parse(JSON.parse(row.data)),
        etag: row.etag,
        accessTokenHash: row.accessTokenHash,
      };
    } catch (error) {
      if (isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const rows = this.client.listEntities<Record<string, unknown>>({
      queryOptions: {
        filter: odata`PartitionKey eq ${safeKey(id)} and RowKey ge ${HISTORY_PREFIX} and RowKey lt ${'history}'}`,
      },
    });
    const entries: HistoryEntry[] = [];
    for await (const row of rows) {
      entries.push(historyEntrySchema.parse({ from: row.from ?? null, to: row.to, at: row.at, cause: row.cause }));
    }
    return entries; // row keys sort by version, so this is oldest first
  }

  async hasEvent(id: string, eventId: string): Promise<boolean> {
    try {
      await tableCall('read event', () => this.client.getEntity(safeKey(id), `${EVENT_PREFIX}${safeKey(eventId)}`));
      return true;
    } catch (error) {
      if (isTableError(error, 'notFound')) return false;
      throw error;
    }
  }

  async create(change: BookingChange, accessTokenHash: string): Promise<void> {
    const booking = change.booking;
    const actions: TransactionAction[] = [
      ['create', this.bookingRow(booking, accessTokenHash)],
      ...this.historyRows(booking, change.history),
    ];
    await this.outbox.commit(this.client, safeKey(booking.id), actions, change.jobs);
  }

  async update(current: StoredBooking, change: BookingChange): Promise<SaveResult> {
    // Every save moves the version on, so history row keys stay unique and ordered.
    const booking: Booking = { ...change.booking, version: current.booking.version + 1 };
    const actions: TransactionAction[] = [
      ['update', { ...this.bookingRow(booking, current.accessTokenHash) }, 'Replace', { etag: current.etag }],
      ...this.historyRows(booking, change.history),
    ];
    if (change.eventId) {
      actions.push(['create', { partitionKey: safeKey(booking.id), rowKey: `${EVENT_PREFIX}${safeKey(change.eventId)}`, appliedAt: booking.updatedAt }]);
    }
    try {
      await this.outbox.commit(this.client, safeKey(booking.id), actions, change.jobs);
      return 'saved';
    } catch (error) {
      if (isTableError(error, 'conflict')) return 'conflict';
      // The only row a change creates that can already exist is the event marker (history keys
      // carry the new version, which the ETag check makes unique).
      if (isTableError(error, 'duplicate')) return change.eventId ? 'duplicate-event' : 'conflict';
      throw error;
    }
  }

  private bookingRow(booking: Booking, accessTokenHash: string) {
    return {
      partitionKey: safeKey(booking.id),
      rowKey: BOOKING_ROW,
      status: booking.status,
      data: JSON.stringify(booking),
      accessTokenHash,
      version: booking.version,
    };
  }

  private historyRows(booking: Booking, history: HistoryEntry[]): TransactionAction[] {
    return history.map((entry, index) => [
      'create',
      {
        partitionKey: safeKey(booking.id),
        rowKey: historyRowKey(booking.version, index),
        from: entry.from ?? undefined,
        to: entry.to,
        at: entry.at,
        cause: entry.cause,
      },
    ]);
  }
}
