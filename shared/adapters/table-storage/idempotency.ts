import { odata, type TableClient } from '@azure/data-tables';
import {
  classifyRecord,
  type IdempotencyBegin,
  type IdempotencyHandle,
  type IdempotencyRecord,
  type IdempotencyStore,
  type StoredResponse,
  storedResponseSchema,
} from '../../platform/idempotency';
import type { Logger } from '../../platform/log';
import { isTableError, safeKey, tableCall } from './tables';

/** Logical name of the table (the store adds the prefix): `<prefix>IdempotencyKeys`. */
export const IDEMPOTENCY_TABLE = 'IdempotencyKeys';

// A string property holds at most 64 KiB (32K UTF-16 units): the stored response is spread over
// `response`, `response1`, … An entity may not pass 1 MiB, hence the chunk limit; a response larger
// than that keeps its status and headers only (`bodyDropped`), with a warning.
const CHUNK_CHARS = 32_000;
const MAX_CHUNKS = 12;

// How often `begin` looks again when the record changes under it (released, taken over, swept).
const MAX_BEGIN_ATTEMPTS = 5;
// Deletes the sweep runs at once.
const SWEEP_CONCURRENCY = 32;

type State = IdempotencyRecord['state'];
type Row = { fingerprint: string; state: State; lockedAt: Date; completedAt?: Date } & Record<string, unknown>;

function responseColumns(json: string): Record<string, string> {
  const columns: Record<string, string> = {};
  const chunks = Math.max(1, Math.ceil(json.length / CHUNK_CHARS));
  for (let i = 0; i < chunks; i++) columns[i === 0 ? 'response' : `response${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  return columns;
}

function joinResponse(row: Record<string, unknown>): string {
  let json = String(row.response ?? '');
  for (let i = 1; typeof row[`response${i}`] === 'string'; i++) json += row[`response${i}`] as string;
  return json;
}

/**
 * Idempotency-Key records in Table Storage, one entity per key: PartitionKey = the token, RowKey ''.
 * `begin` creates the entity if absent (the service's insert is the lock: one creator wins), and takes
 * a stale in-flight one over by replacing it with the ETag it read (one taker wins). `complete` and
 * `release` act only with the ETag of the claim, so a request whose lock was taken over writes nothing.
 */
export class TableIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: TableClient,
    private readonly options: { lockMs: number; log?: Logger },
  ) {}

  async begin(token: string, fingerprint: string, now: Date): Promise<IdempotencyBegin> {
    const partitionKey = safeKey(token);
    const claim: Row = { fingerprint, state: 'in-flight', lockedAt: now };
    for (let attempt = 0; attempt < MAX_BEGIN_ATTEMPTS; attempt++) {
      const created = await this.attempt(() => tableCall('claim idempotency key', () => this.client.createEntity({ partitionKey, rowKey: '', ...claim })));
      if (created) return { outcome: 'new', handle: { token, lease: leaseOf(created.etag) } };
      const row = await this.read(partitionKey);
      if (!row) continue; // released or swept since the insert failed: claim it afresh
      const record = toRecord(row);
      const verdict = classifyRecord(record, fingerprint, now, this.options.lockMs);
      if (verdict === 'replay') return { outcome: 'replay', response: readResponse(row) };
      if (verdict !== 'stale') return { outcome: verdict };
      // The holder died (or outlived its lock): replace its claim, guarded by the ETag just read.
      const taken = await this.attempt(() =>
        tableCall('take over idempotency key', () => this.client.updateEntity({ partitionKey, rowKey: '', ...claim }, 'Replace', { etag: row.etag })),
      );
      if (taken) return { outcome: 'new', handle: { token, lease: leaseOf(taken.etag) } };
      // Another request took it over (or it finished, or went): look again.
    }
    // The record keeps changing under us: whoever changes it holds it; the client retries.
    return { outcome: 'in-flight' };
  }

  async complete(handle: IdempotencyHandle, response: StoredResponse, now: Date): Promise<boolean> {
    let json = JSON.stringify(response);
    if (json.length > CHUNK_CHARS * MAX_CHUNKS) {
      this.options.log?.warn('idempotent response too large to keep; replays carry its status and headers only', {
        token: handle.token,
        status: response.status,
        chars: json.length,
      });
      json = JSON.stringify({ status: response.status, headers: response.headers, bodyDropped: true } satisfies StoredResponse);
      if (json.length > CHUNK_CHARS * MAX_CHUNKS) throw new Error(`the headers of the response for ${handle.token} are too large to keep`);
    }
    const done = await this.attempt(() =>
      tableCall('complete idempotency key', () =>
        // Merge keeps fingerprint and lockedAt; the claim's ETag makes sure the lock is still ours.
        this.client.updateEntity(
          { partitionKey: safeKey(handle.token), rowKey: '', state: 'completed' satisfies State, completedAt: now, ...responseColumns(json) },
          'Merge',
          { etag: handle.lease },
        ),
      ),
    );
    return done !== undefined;
  }

  async release(handle: IdempotencyHandle): Promise<boolean> {
    const done = await this.attempt(() =>
      tableCall('release idempotency key', () => this.client.deleteEntity(safeKey(handle.token), '', { etag: handle.lease })),
    );
    return done !== undefined;
  }

  async sweep(olderThan: Date): Promise<number> {
    // A scan (no PartitionKey in the filter): fine for an hourly timer. In-flight records that old
    // were abandoned by a process that died; no lock lasts that long (checked in the configuration).
    const filter = odata`completedAt lt ${olderThan} or (state eq ${'in-flight'} and lockedAt lt ${olderThan})`;
    let removed = 0;
    const pages = this.client.listEntities<Row>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: 1000 });
    const stale: Array<{ partitionKey: string; rowKey: string; etag: string }> = [];
    await tableCall('list idempotency records', async () => {
      for await (const page of pages) {
        for (const entity of page) stale.push({ partitionKey: entity.partitionKey as string, rowKey: entity.rowKey as string, etag: entity.etag });
      }
    });
    for (let i = 0; i < stale.length; i += SWEEP_CONCURRENCY) {
      const deleted = await Promise.all(
        stale.slice(i, i + SWEEP_CONCURRENCY).map((row) =>
          // With the ETag listed: a record taken over or finished since is not swept.
          this.attempt(() => tableCall('sweep idempotency record', () => this.client.deleteEntity(row.partitionKey, row.rowKey, { etag: row.etag }))),
        ),
      );
      removed += deleted.filter((result) => result !== undefined).length;
    }
    return removed;
  }

  private async read(partitionKey: string): Promise<(Row & { etag: string }) | undefined> {
    return this.attempt(() => tableCall('read idempotency key', () => this.client.getEntity<Row>(partitionKey, '')));
  }

  /** Runs a storage call; undefined when it lost a race (exists already, ETag changed, gone), other errors thrown. */
  private async attempt<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (isTableError(error, 'duplicate') || isTableError(error, 'conflict') || isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }
}

function leaseOf(etag: string | undefined): string {
  if (!etag) throw new Error('table storage returned no ETag for an idempotency claim');
  return etag;
}

function toRecord(row: Row): IdempotencyRecord {
  return {
    fingerprint: row.fingerprint,
    state: row.state,
    lockedAt: new Date(row.lockedAt),
    completedAt: row.completedAt ? new Date(row.completedAt) : undefined,
  };
}

function readResponse(row: Row): StoredResponse {
  return storedResponseSchema.parse(JSON.parse(joinResponse(row)));
}
