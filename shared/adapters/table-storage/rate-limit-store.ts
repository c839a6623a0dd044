import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { RateBudgetStore, RateWindow, VersionedRateWindow } from '../../platform/rate-budget';
import { isTableError, tableCall } from './tables';

/** Logical name of the table (the store adds the prefix): `<prefix>RateLimits`. */
export const RATE_LIMITS_TABLE = 'RateLimits';

// Deletes the sweep runs at once.
const SWEEP_CONCURRENCY = 32;

type Row = { windowEnd: Date | string; granted: number };

/**
 * Rate-limit windows in Table Storage, one entity per limited key: PartitionKey = SHA-256 of the key
 * (client addresses are personal data: the table holds no address in the clear, and any key fits),
 * RowKey ''. A write is an insert when no version is given (one creator wins) and otherwise a Replace
 * guarded by the ETag (one writer per version wins); losing either race answers undefined.
 * Every call gives up after `timeoutMs` (the limiter then falls back to counting per instance) rather
 * than holding a request through the SDK's retries.
 */
export class TableRateBudgetStore implements RateBudgetStore {
  private readonly timeoutMs: number;

  constructor(
    private readonly client: TableClient,
    options: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  async read(key: string): Promise<VersionedRateWindow | undefined> {
    try {
      const row = await tableCall('read rate limit window', () => this.client.getEntity<Row>(partitionOf(key), '', { abortSignal: this.deadline() }));
      return { window: { windowEnd: new Date(row.windowEnd).getTime(), granted: Number(row.granted) }, version: etagOf(row.etag) };
    } catch (error) {
      if (isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }

  async write(key: string, window: RateWindow, version: string | undefined): Promise<string | undefined> {
    const entity = { partitionKey: partitionOf(key), rowKey: '', windowEnd: new Date(window.windowEnd), granted: window.granted };
    const options = { abortSignal: this.deadline() };
    try {
      const written =
        version === undefined
          ? await tableCall('open rate limit window', () => this.client.createEntity(entity, options))
          : await tableCall('lease rate limit budget', () => this.client.updateEntity(entity, 'Replace', { ...options, etag: version }));
      return etagOf(written.etag);
    } catch (error) {
      // Created by another instance, changed since it was read, or swept meanwhile: the caller reads again.
      if (isTableError(error, 'duplicate') || isTableError(error, 'conflict') || isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }

  async sweep(before: Date): Promise<number> {
    // A scan (no PartitionKey in the filter): fine for an hourly timer over one row per recent key.
    const filter = odata`windowEnd lt ${before}`;
    const stale: Array<{ partitionKey: string; etag: string }> = [];
    await tableCall('list rate limit windows', async () => {
      const pages = this.client.listEntities<Row>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: 1000 });
      for await (const page of pages) for (const row of page) stale.push({ partitionKey: row.partitionKey as string, etag: row.etag });
    });
    let removed = 0;
    for (let i = 0; i < stale.length; i += SWEEP_CONCURRENCY) {
      const deleted = await Promise.all(
        stale.slice(i, i + SWEEP_CONCURRENCY).map(async (row) => {
          try {
            // With the listed ETag: a window some instance opened since is kept.
            await tableCall('sweep rate limit window', () => this.client.deleteEntity(row.partitionKey, '', { etag: row.etag }));
            return true;
          } catch (error) {
            if (isTableError(error, 'conflict') || isTableError(error, 'notFound')) return false;
            throw error;
          }
        }),
      );
      removed += deleted.filter(Boolean).length;
    }
    return removed;
  }

  private deadline(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs);
  }
}

function partitionOf(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function etagOf(etag: string | undefined): string {
  if (!etag) throw new Error('table storage returned no ETag for a rate limit window');
  return etag;
}
