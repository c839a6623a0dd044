import { odata, type TableClient } from '@azure/data-tables';
import type { CallbackEvent, Delivery, DeliveryAttempt, DeliveryLog, DeliveryStatus } from '../../platform/callbacks';
import { gatherText, isTableError, safeKey, spreadText, tableCall } from './tables';

/** The table of the delivery log (the store adds the prefix). */
export const CALLBACK_DELIVERIES_TABLE = 'CallbackDeliveries';

/** Attempts kept per delivery: the first and the latest ones; the rest are counted. */
const KEEP_LATEST = 9;
const MAX_EVENT_CHUNKS = 6;
const MAX_TRIES = 5;

interface DeliveryRow {
  channel: string;
  deliveryId: string;
  subject: string;
  type: string;
  status: DeliveryStatus;
  attempts: string;
  attemptCount: number;
  createdAt: Date;
  updatedAt: Date;
  [column: string]: unknown;
}

/** The first attempt and the latest few: enough to see how it began and how it goes, bounded in size. */
function keep(attempts: DeliveryAttempt[]): DeliveryAttempt[] {
  return attempts.length <= KEEP_LATEST + 1 ? attempts : [attempts[0] as DeliveryAttempt, ...attempts.slice(-KEEP_LATEST)];
}

/** Every callback delivery with its attempts, one row per delivery (its own partition: ids are unique). */
export class TableDeliveryLog implements DeliveryLog {
  constructor(private readonly client: TableClient) {}

  async record(delivery: { channel: string; subject: string; event: CallbackEvent }, attempt: DeliveryAttempt, status: DeliveryStatus): Promise<void> {
    const partitionKey = safeKey(delivery.event.id);
    const rowKey = '';
    for (let tries = 1; ; tries++) {
      const current = await this.read(partitionKey, rowKey);
      const attempts = keep([...(current ? (JSON.parse(current.attempts) as DeliveryAttempt[]) : []), attempt]);
      const row = {
        partitionKey,
        rowKey,
        channel: delivery.channel,
        deliveryId: delivery.event.id,
        subject: delivery.subject,
        type: delivery.event.type,
        status,
        attempts: JSON.stringify(attempts),
        attemptCount: (current?.attemptCount ?? 0) + 1,
        createdAt: current?.createdAt ?? new Date(attempt.at),
        updatedAt: new Date(attempt.at),
        ...spreadText('event', JSON.stringify(delivery.event), MAX_EVENT_CHUNKS, `callback ${delivery.event.id}`),
      };
      try {
        if (current) await tableCall('update delivery', () => this.client.updateEntity(row, 'Replace', { etag: current.etag }));
        else await tableCall('create delivery', () => this.client.createEntity(row));
        return;
      } catch (error) {
        // Two attempts of one delivery at once (a redelivered message): write again on top of the other.
        if (tries >= MAX_TRIES || !(isTableError(error, 'conflict') || isTableError(error, 'duplicate'))) throw error;
      }
    }
  }

  async get(id: string): Promise<Delivery | undefined> {
    const row = await this.read(safeKey(id), '');
    return row ? this.view(row) : undefined;
  }

  async list(filter: { channel?: string; status?: DeliveryStatus; subject?: string; since?: Date; limit: number }): Promise<Delivery[]> {
    const conditions = [
      filter.channel !== undefined ? odata`channel eq ${filter.channel}` : undefined,
      filter.status !== undefined ? odata`status eq ${filter.status}` : undefined,
      filter.subject !== undefined ? odata`subject eq ${filter.subject}` : undefined,
      filter.since !== undefined ? odata`updatedAt ge ${filter.since}` : undefined,
    ].filter((condition): condition is string => condition !== undefined);
    // Table Storage returns rows in key order (delivery id), not by time: the newest `limit` are
    // only known once every match is read. Filters keep the scan short; the log holds one row per delivery.
    const rows = this.client.listEntities<DeliveryRow>({ queryOptions: conditions.length > 0 ? { filter: conditions.join(' and ') } : {} });
    const found: DeliveryRow[] = [];
    for await (const row of rows) found.push(row);
    // Newest first, as an admin reads a log.
    return found
      .sort((a, b) => new Date(b.updatedAt).getTime() - new Date(a.updatedAt).getTime())
      .slice(0, filter.limit)
      .map((row) => this.view(row));
  }

  private async read(partitionKey: string, rowKey: string): Promise<(DeliveryRow & { etag: string }) | undefined> {
    try {
      return await tableCall('read delivery', () => this.client.getEntity<DeliveryRow>(partitionKey, rowKey));
    } catch (error) {
      if (isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }

  private view(row: DeliveryRow): Delivery {
    return {
      id: row.deliveryId,
      channel: row.channel,
      subject: row.subject,
      type: row.type,
      status: row.status,
      attempts: JSON.parse(row.attempts) as DeliveryAttempt[],
      attemptCount: row.attemptCount,
      event: JSON.parse(gatherText(row, 'event')) as CallbackEvent,
      createdAt: new Date(row.createdAt).toISOString(),
      updatedAt: new Date(row.updatedAt).toISOString(),
    };
  }
}
