import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteTables, startAzurite } from '../../local/azurite';
import { IDEMPOTENCY_TABLE, TableIdempotencyStore } from '../../shared/adapters/table-storage/idempotency';
import { TableStore } from '../../shared/adapters/table-storage/tables';
import type { IdempotencyBegin, IdempotencyHandle, StoredResponse } from '../../shared/platform/idempotency';
import type { Logger } from '../../shared/platform/log';

let azurite: AzuriteTables;
let tables: TableStore;
// Unique per run so a reused emulator (or a parallel file) never sees these rows.
const prefix = `id${randomBytes(4).toString('hex')}`;
const SWEEP_TABLE = 'IdempotencySweep';
const LOCK_MS = 60_000;
const T0 = new Date('2030-01-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const hours = (n: number) => at(n * 3_600_000);

class RecordingLogger implements Logger {
  readonly lines: Array<{ level: string; message: string; data?: Record<string, unknown> }> = [];
  info(message: string, data?: Record<string, unknown>) {
    this.lines.push({ level: 'info', message, data });
  }
  warn(message: string, data?: Record<string, unknown>) {
    this.lines.push({ level: 'warn', message, data });
  }
  error(message: string, data?: Record<string, unknown>) {
    this.lines.push({ level: 'error', message, data });
  }
}

beforeAll(async () => {
  azurite = await startAzurite({ port: 0 });
  tables = new TableStore({ connectionString: azurite.connectionString, prefix });
  await tables.ensureTables([IDEMPOTENCY_TABLE, SWEEP_TABLE]);
});

afterAll(async () => {
  await azurite?.stop();
});

const newStore = (log?: Logger, table = IDEMPOTENCY_TABLE) => new TableIdempotencyStore(tables.client(table), { lockMs: LOCK_MS, log });
/** A second, independent client of the same table: another Functions instance. */
const otherInstance = (table = IDEMPOTENCY_TABLE) =>
  new TableIdempotencyStore(TableClient.fromConnectionString(azurite.connectionString, tables.tableName(table), { allowInsecureConnection: true }), {
    lockMs: LOCK_MS,
  });
const token = () => randomBytes(32).toString('hex');

function claimed(begun: IdempotencyBegin): IdempotencyHandle {
  if (begun.outcome !== 'new') throw new Error(`expected a new claim, got ${begun.outcome}`);
  return begun.handle;
}

const created: StoredResponse = {
  status: 201,
  headers: { Location: '/api/v1/orders/o-1', ETag: '"1"' },
  body: { kind: 'json', json: { id: 'o-1', customer: 'Jürgen Müller', lines: [{ sku: 'A', qty: 2 }] } },
};

describe('TableIdempotencyStore', () => {
  it('claims a fresh key in a row of its own (PartitionKey = token, RowKey empty), then replays it once completed', async () => {
    const store = newStore();
    const t = token();
    const handle = claimed(await store.begin(t, 'fp-1', T0));
    expect(handle.token).toBe(t);
    const row = await tables.client(IDEMPOTENCY_TABLE).getEntity<Record<string, unknown>>(t, '');
    expect(row).toMatchObject({ fingerprint: 'fp-1', state: 'in-flight' });
    expect(await store.complete(handle, created, at(5_000))).toBe(true);
    expect(await store.begin(t, 'fp-1', at(10_000))).toEqual({ outcome: 'replay', response: created });
    expect(await otherInstance().begin(t, 'fp-1', hours(23))).toEqual({ outcome: 'replay', response: created });
    const done = await tables.client(IDEMPOTENCY_TABLE).getEntity<Record<string, unknown>>(t, '');
    expect(done).toMatchObject({ fingerprint: 'fp-1', state: 'completed' });
    expect(new Date(done.completedAt as Date).toISOString()).toBe(at(5_000).toISOString());
  });

  it('answers mismatch for another fingerprint, in flight or completed', async () => {
    const store = newStore();
    const t = token();
    const handle = claimed(await store.begin(t, 'fp-1', T0));
    expect(await store.begin(t, 'fp-2', T0)).toEqual({ outcome: 'mismatch' });
    expect(await store.begin(t, 'fp-2', at(10 * LOCK_MS))).toEqual({ outcome: 'mismatch' });
    await store.complete(handle, created, T0);
    expect(await store.begin(t, 'fp-2', T0)).toEqual({ outcome: 'mismatch' });
  });

  it('answers in-flight while the lock holds', async () => {
    const store = newStore();
    const t = token();
    claimed(await store.begin(t, 'fp-1', T0));
    expect(await store.begin(t, 'fp-1', T0)).toEqual({ outcome: 'in-flight' });
    expect(await otherInstance().begin(t, 'fp-1', at(LOCK_MS - 1))).toEqual({ outcome: 'in-flight' });
  });

  it('of ten instances claiming one fresh key at once, exactly one gets it', async () => {
    const t = token();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? newStore() : otherInstance()).begin(t, 'fp-1', T0)));
    expect(results.filter((result) => result.outcome === 'new')).toHaveLength(1);
    expect(results.filter((result) => result.outcome === 'in-flight')).toHaveLength(9);
  });

  it('takes a stale in-flight record over after the lock timeout; the dead holder can neither complete nor release', async () => {
    const store = newStore();
    const t = token();
    const dead = claimed(await store.begin(t, 'fp-1', T0));
    const taker = claimed(await otherInstance().begin(t, 'fp-1', at(LOCK_MS)));
    expect(taker.lease).not.toBe(dead.lease);
    expect(await store.complete(dead, { status: 201, headers: {}, body: { kind: 'text', text: 'dead' } }, at(LOCK_MS + 1))).toBe(false);
    expect(await store.release(dead)).toBe(false);
    expect(await store.begin(t, 'fp-1', at(LOCK_MS + 2))).toEqual({ outcome: 'in-flight' });
    expect(await store.complete(taker, created, at(LOCK_MS + 3))).toBe(true);
    expect(await store.begin(t, 'fp-1', at(LOCK_MS + 4))).toEqual({ outcome: 'replay', response: created });
  });

  it('of two instances taking the same stale record over at once, exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const t = token();
      claimed(await newStore().begin(t, 'fp-1', T0));
      const results = await Promise.all([newStore().begin(t, 'fp-1', at(2 * LOCK_MS)), otherInstance().begin(t, 'fp-1', at(2 * LOCK_MS))]);
      expect(results.map((result) => result.outcome).sort(), `round ${round}`).toEqual(['in-flight', 'new']);
    }
  });

  it('release deletes the record, so the key can be claimed again (even with another body)', async () => {
    const store = newStore();
    const t = token();
    const handle = claimed(await store.begin(t, 'fp-1', T0));
    expect(await store.release(handle)).toBe(true);
    expect(await store.release(handle)).toBe(false);
    claimed(await store.begin(t, 'fp-2', T0));
  });

  it('keeps a large response spread over several properties', async () => {
    const store = newStore();
    const t = token();
    // ASCII on purpose: Azurite 3.35 decodes each chunk of a request body on its own and so breaks a
    // multi-byte character that straddles a chunk boundary (Azure/Azurite#2670); Azure does not.
    const large: StoredResponse = { status: 201, headers: { Location: '/x' }, body: { kind: 'text', text: 'order line;'.repeat(15_000) } };
    await store.complete(claimed(await store.begin(t, 'fp-1', T0)), large, T0);
    const row = await tables.client(IDEMPOTENCY_TABLE).getEntity<Record<string, unknown>>(t, '');
    expect(Object.keys(row).filter((name) => name.startsWith('response')).length).toBeGreaterThan(4);
    for (const [name, value] of Object.entries(row)) if (name.startsWith('response')) expect((value as string).length).toBeLessThanOrEqual(32_000);
    expect(await store.begin(t, 'fp-1', T0)).toEqual({ outcome: 'replay', response: large });
  });

  it('keeps only status and headers of a response too large for an entity, with a warning', async () => {
    const log = new RecordingLogger();
    const store = newStore(log);
    const t = token();
    const huge: StoredResponse = { status: 201, headers: { Location: '/x' }, body: { kind: 'text', text: 'x'.repeat(400_000) } };
    expect(await store.complete(claimed(await store.begin(t, 'fp-1', T0)), huge, T0)).toBe(true);
    expect(await store.begin(t, 'fp-1', T0)).toEqual({ outcome: 'replay', response: { status: 201, headers: { Location: '/x' }, bodyDropped: true } });
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('too large'), data: expect.objectContaining({ token: t }) }),
    ]);
    expect(JSON.stringify(log.lines)).not.toContain('xxxx');
  });

  it('sweep deletes records completed, or left in flight, before the cut-off and keeps the rest', async () => {
    const store = newStore(undefined, SWEEP_TABLE);
    const record = async (name: string, lockedAt: Date, completedAt?: Date) => {
      const handle = claimed(await store.begin(name, 'fp', lockedAt));
      if (completedAt) await store.complete(handle, created, completedAt);
    };
    await record('completed-old', hours(-26), hours(-25));
    await record('completed-recent', hours(-25), hours(-23));
    await record('abandoned-old', hours(-25));
    await record('in-flight-recent', hours(-1));
    expect(await store.sweep(hours(-24))).toBe(2);
    const left: string[] = [];
    for await (const row of tables.client(SWEEP_TABLE).listEntities()) left.push(row.partitionKey as string);
    expect(left.sort()).toEqual(['completed-recent', 'in-flight-recent']);
    expect(await store.sweep(hours(-24))).toBe(0);
  });
});
