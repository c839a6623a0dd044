import type { TableClient } from '@azure/data-tables';
import { isTableError, safeKey, tableCall } from '../../../shared/adapters/table-storage/tables';
import type { OrderIndex } from '../app/ports';

/** The table of the order look-ups (the store adds the prefix). */
export const ORDER_INDEX_TABLE = 'OrderIndex';

interface IndexRow {
  orderId: string;
  claimedAt: Date;
}

/** The order look-ups in Table Storage: one row per key, its own partition, so claims never contend with each other. */
export class TableOrderIndex implements OrderIndex {
  constructor(private readonly client: TableClient) {}

  async claim(key: string, orderId: string, now: Date): Promise<{ claimed: true } | { claimed: false; orderId: string; since: Date }> {
    try {
      await tableCall('claim order key', () => this.client.createEntity<IndexRow>({ partitionKey: safeKey(key), rowKey: '', orderId, claimedAt: now }));
      return { claimed: true };
    } catch (error) {
      if (!isTableError(error, 'duplicate')) throw error;
    }
    const row = await this.read(key);
    // Gone between the two calls (never deleted today): claim again.
    if (!row) return this.claim(key, orderId, now);
    return { claimed: false, orderId: row.orderId, since: new Date(row.claimedAt) };
  }

  async reassign(key: string, from: string, orderId: string, now: Date): Promise<boolean> {
    const row = await this.read(key);
    if (!row || row.orderId !== from) return false;
    try {
      await tableCall('reassign order key', () =>
        this.client.updateEntity<IndexRow>({ partitionKey: safeKey(key), rowKey: '', orderId, claimedAt: now }, 'Replace', { etag: row.etag }),
      );
      return true;
    } catch (error) {
      if (isTableError(error, 'conflict')) return false;
      throw error;
    }
  }

  async find(key: string): Promise<string | undefined> {
    return (await this.read(key))?.orderId;
  }

  private async read(key: string): Promise<(IndexRow & { etag: string }) | undefined> {
    try {
      return await tableCall('read order key', () => this.client.getEntity<IndexRow>(safeKey(key), ''));
    } catch (error) {
      if (isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }
}
