// The shared rate limit against Azurite: the table adapter's compare-and-swap contract, and two
// instances (each its own TableClient, as two Function instances have) keeping one limit together.
import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteTables, startAzurite } from '../../local/azurite';
import { RATE_LIMITS_TABLE, TableRateBudgetStore } from '../../shared/adapters/table-storage/rate-limit-store';
import { TableStore } from '../../shared/adapters/table-storage/tables';
import type { HttpFunctionDef, HttpRequestData } from '../../shared/function-table';
import { ApiKeyAuthenticator, hashApiKey } from '../../shared/http/auth';
import { createHttpPipeline } from '../../shared/http/pipeline';
import { LeasedRateLimiter, type RateDecision } from '../../shared/http/rate-limit';
import type { RateBudgetStore } from '../../shared/platform/rate-budget';

let azurite: AzuriteTables;
let tables: TableStore;
// Unique per run so a reused emulator (or a parallel file) never sees these rows.
const prefix = `rl${randomBytes(4).toString('hex')}`;
const WINDOW_MS = 60_000;

beforeAll(async () => {
  azurite = await startAzurite({ port: 0 });
  tables = new TableStore({ connectionString: azurite.connectionString, prefix });
  await tables.ensureTables([RATE_LIMITS_TABLE]);
});

afterAll(async () => {
  await azurite?.stop();
});

/** A store on its own client of the one table: another Functions instance. */
const instanceStore = () =>
  new TableRateBudgetStore(TableClient.fromConnectionString(azurite.connectionString, tables.tableName(RATE_LIMITS_TABLE), { allowInsecureConnection: true }));

/** Counts the storage calls a store makes. */
function counted(store: RateBudgetStore) {
  const calls = { count: 0 };
  const wrapped: RateBudgetStore = {
    read: (key) => {
      calls.count++;
      return store.read(key);
    },
    write: (key, window, version) => {
      calls.count++;
      return store.write(key, window, version);
    },
    sweep: (before) => store.sweep(before),
  };
  return { store: wrapped, calls };
}

const uniqueKey = () => `ip:203.0.113.${randomBytes(2).readUInt16BE()}-${randomBytes(4).toString('hex')}`;
const allowed = (decisions: RateDecision[]) => decisions.filter((decision) => decision.allowed).length;

describe('TableRateBudgetStore (Azurite)', () => {
  it('inserts once, then writes only over the version it read', async () => {
    const store = instanceStore();
    const key = uniqueKey();
    expect(await store.read(key)).toBeUndefined();
    const windowEnd = Date.UTC(2030, 0, 1, 12);
    const v1 = await store.write(key, { windowEnd, granted: 3 }, undefined);
    expect(v1).toEqual(expect.any(String));
    expect(await instanceStore().write(key, { windowEnd, granted: 5 }, undefined)).toBeUndefined(); // lost the insert
    expect(await store.read(key)).toEqual({ window: { windowEnd, granted: 3 }, version: v1 });
    const v2 = await store.write(key, { windowEnd, granted: 7 }, v1);
    expect(v2).toEqual(expect.any(String));
    expect(await instanceStore().write(key, { windowEnd, granted: 8 }, v1)).toBeUndefined(); // stale version
    expect(await store.read(key)).toEqual({ window: { windowEnd, granted: 7 }, version: v2 });
  });

  it('keeps no key in the clear and sweeps windows that ended', async () => {
    const store = instanceStore();
    const ended = uniqueKey();
    const open = uniqueKey();
    const now = Date.now();
    await store.write(ended, { windowEnd: now - 1_000, granted: 1 }, undefined);
    await store.write(open, { windowEnd: now + WINDOW_MS, granted: 1 }, undefined);
    const client = tables.client(RATE_LIMITS_TABLE);
    const partitions: string[] = [];
    for await (const row of client.listEntities()) partitions.push(row.partitionKey as string);
    expect(partitions.some((partition) => partition.includes('203.0.113'))).toBe(false);
    expect(partitions.every((partition) => /^[0-9a-f]{64}$/.test(partition))).toBe(true);
    expect(await store.sweep(new Date(now))).toBeGreaterThanOrEqual(1);
    expect(await store.read(ended)).toBeUndefined();
    expect(await store.read(open)).toMatchObject({ window: { granted: 1 } });
  });

  it('times out instead of waiting out the SDK retries when storage does not answer', async () => {
    const dead = new TableRateBudgetStore(
      TableClient.fromConnectionString(azurite.connectionString.replace(/:(\d+)\//, ':9/'), tables.tableName(RATE_LIMITS_TABLE), {
        allowInsecureConnection: true,
      }),
      { timeoutMs: 300 },
    );
    const started = Date.now();
    await expect(dead.read(uniqueKey())).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('LeasedRateLimiter on Table Storage: two instances, one limit', () => {
  it('lets exactly 10 of 30 concurrent requests through across both instances', async () => {
    for (let run = 0; run < 5; run++) {
      const key = uniqueKey();
      const [a, b] = [instanceStore(), instanceStore()].map((store) => new LeasedRateLimiter({ name: 'bookings', limit: 10, windowMs: WINDOW_MS, store }));
      const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => ((i % 2 === 0 ? a : b) as LeasedRateLimiter).take(key)));
      expect(allowed(decisions)).toBe(10);
      for (const decision of decisions) if (!decision.allowed) expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(59);
      expect(await instanceStore().read(`bookings:${key}`)).toMatchObject({ window: { granted: 10 } });
    }
  });

  it('lets exactly 10 of 30 through when they come in small concurrent waves on alternating instances', async () => {
    const key = uniqueKey();
    const limiters = [instanceStore(), instanceStore()].map((store) => new LeasedRateLimiter({ name: 'bookings', limit: 10, windowMs: WINDOW_MS, store }));
    const decisions: RateDecision[] = [];
    for (let wave = 0; wave < 10; wave++) {
      // Three at once: two on one instance, one on the other, so leases and version races mix.
      decisions.push(...(await Promise.all([0, 1, 0].map((offset) => (limiters[(wave + offset) % 2] as LeasedRateLimiter).take(key)))));
    }
    expect(allowed(decisions)).toBe(10);
    expect(decisions.slice(0, 10).every((decision) => decision.allowed)).toBe(true); // nobody refused while budget was left
  });

  it('holds over HTTP: two app pipelines answer 10 of 30 concurrent requests of one API key, the rest 429 with Retry-After', async () => {
    const auth = new ApiKeyAuthenticator([{ name: `shop-${randomBytes(4).toString('hex')}`, roles: ['orders'], sha256: hashApiKey('key-shop') }]);
    const def: HttpFunctionDef = {
      kind: 'http',
      name: 'orders-probe',
      route: 'v1/orders/probe',
      methods: ['GET'],
      summary: 'probe',
      roles: ['orders'],
      responses: {},
      handler: async () => ({ status: 200, body: { ok: true } }),
    };
    const pipelines = [instanceStore(), instanceStore()].map((store) =>
      createHttpPipeline({ auth, rateLimiter: new LeasedRateLimiter({ name: 'api-keys', limit: 10, windowMs: WINDOW_MS, store }) }),
    );
    const request: HttpRequestData = {
      method: 'GET',
      url: 'v1/orders/probe',
      params: {},
      query: new URLSearchParams(),
      headers: { authorization: 'Bearer key-shop' },
      rawBody: Buffer.alloc(0),
      clientIp: '203.0.113.7',
    };
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => pipelines[i % 2]?.handle(def, request)));
    expect(answers.filter((answer) => answer?.status === 200)).toHaveLength(10);
    const refused = answers.filter((answer) => answer?.status === 429);
    expect(refused).toHaveLength(20);
    for (const answer of refused) expect(Number(answer?.headers?.['Retry-After'])).toBeGreaterThanOrEqual(59);
  });

  it('costs a handful of storage calls per 100 requests', async () => {
    const key = uniqueKey();
    const [a, b] = [counted(instanceStore()), counted(instanceStore())];
    const limiters = [a, b].map(({ store }) => new LeasedRateLimiter({ name: 'api-keys', limit: 1_000, windowMs: WINDOW_MS, store }));
    // Requests arrive in bursts of 10 on alternating instances, as a load balancer spreads them.
    for (let burst = 0; burst < 10; burst++) {
      const limiter = limiters[burst % 2] as LeasedRateLimiter;
      expect(allowed(await Promise.all(Array.from({ length: 10 }, () => limiter.take(key))))).toBe(10);
    }
    // The worst case: a limit of 100 used to the last request, one request at a time, instances taking turns.
    const [c, d] = [counted(instanceStore()), counted(instanceStore())];
    const small = [c, d].map(({ store }) => new LeasedRateLimiter({ name: 'api-keys', limit: 100, windowMs: WINDOW_MS, store }));
    const smallKey = uniqueKey();
    for (let i = 0; i < 100; i++) expect((await (small[i % 2] as LeasedRateLimiter).take(smallKey)).allowed).toBe(true);
    const figures = { 'limit 1000, bursts of 10': a.calls.count + b.calls.count, 'limit 100 used up, turns': c.calls.count + d.calls.count };
    console.info('storage calls per 100 requests over two instances (Azurite)', figures);
    expect(figures['limit 1000, bursts of 10']).toBeLessThanOrEqual(6);
    expect(figures['limit 100 used up, turns']).toBeLessThanOrEqual(60);
  });
});
