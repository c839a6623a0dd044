import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { idempotencySweepFunction } from '../../functions/idempotency-sweep';
import type { HttpCall, HttpFunctionDef, HttpRequestData, HttpResponseData } from '../../shared/function-table';
import { ApiKeyAuthenticator, hashApiKey } from '../../shared/http/auth';
import { createHttpPipeline, IDEMPOTENT_REPLAYED_HEADER, MAX_BODY_BYTES, toWire } from '../../shared/http/pipeline';
import { FixedWindowRateLimiter } from '../../shared/http/rate-limit';
import {
  bodyFingerprint,
  classifyRecord,
  fromStoredResponse,
  type IdempotencyBegin,
  type IdempotencyHandle,
  type IdempotencyRecord,
  type IdempotencyStore,
  idempotencyScope,
  idempotencyToken,
  type StoredResponse,
  toStoredResponse,
} from '../../shared/platform/idempotency';

const LOCK_MS = 60_000;
const T0 = new Date('2030-01-01T12:00:00.000Z');

/** Lets racing requests interleave at every store call, as they would around a remote store. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * An in-memory store with the Table adapter's rules: the claim is atomic (one creator, one taker of
 * a stale record), complete/release act only under the claim's lease, a record is one per token.
 */
class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord & { lease: string }>();
  readonly calls = { begin: 0, complete: 0, release: 0 };
  failComplete = false;
  private leases = 0;

  constructor(private readonly lockMs = LOCK_MS) {}

  async begin(token: string, fingerprint: string, now: Date): Promise<IdempotencyBegin> {
    this.calls.begin++;
    await tick();
    const existing = this.records.get(token);
    const verdict = existing ? classifyRecord(existing, fingerprint, now, this.lockMs) : 'absent';
    if (verdict === 'absent' || verdict === 'stale') {
      const lease = String(++this.leases);
      this.records.set(token, { fingerprint, state: 'in-flight', lockedAt: now, lease });
      return { outcome: 'new', handle: { token, lease } };
    }
    if (verdict === 'replay') return { outcome: 'replay', response: structuredClone(existing?.response as StoredResponse) };
    return { outcome: verdict };
  }

  async complete(handle: IdempotencyHandle, response: StoredResponse, now: Date): Promise<boolean> {
    this.calls.complete++;
    await tick();
    if (this.failComplete) throw new Error('storage unavailable');
    const record = this.records.get(handle.token);
    if (record?.lease !== handle.lease) return false;
    Object.assign(record, { state: 'completed', completedAt: now, response: structuredClone(response) });
    return true;
  }

  async release(handle: IdempotencyHandle): Promise<boolean> {
    this.calls.release++;
    await tick();
    if (this.records.get(handle.token)?.lease !== handle.lease) return false;
    this.records.delete(handle.token);
    return true;
  }

  async sweep(olderThan: Date): Promise<number> {
    let removed = 0;
    for (const [token, record] of this.records) {
      const settled = record.completedAt ?? (record.state === 'in-flight' ? record.lockedAt : undefined);
      if (settled && settled < olderThan) {
        this.records.delete(token);
        removed++;
      }
    }
    return removed;
  }
}

const auth = new ApiKeyAuthenticator([
  { name: 'shop-a', roles: ['orders'], sha256: hashApiKey('key-a') },
  { name: 'shop-b', roles: ['orders'], sha256: hashApiKey('key-b') },
  { name: 'viewer', roles: ['workshop'], sha256: hashApiKey('key-viewer') },
]);

const KEY = 'c7f1d2a0-order-1';

function request(overrides: Partial<HttpRequestData> & { key?: string | null; apiKey?: string | null; body?: unknown } = {}): HttpRequestData {
  const { key = KEY, apiKey = 'key-a', body = { sku: 'A-1' }, ...rest } = overrides;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers['idempotency-key'] = key;
  if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`;
  return {
    method: 'POST',
    url: 'v1/orders',
    params: {},
    query: new URLSearchParams(),
    headers,
    rawBody: Buffer.from(JSON.stringify(body)),
    clientIp: '203.0.113.7',
    ...rest,
  };
}

/** A gate a handler waits on, opened by the test. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Waits (in event-loop turns, not time) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !done(); turn++) await tick();
  if (!done()) throw new Error('condition never held');
}

type Answer = (call: HttpCall, n: number) => Promise<HttpResponseData> | HttpResponseData;

/** An idempotent "create order" def counting its runs; each answer is 201 with Location and ETag. */
function createOrder(overrides: Partial<HttpFunctionDef> & { answer?: Answer } = {}) {
  const calls: HttpCall[] = [];
  const { answer, ...rest } = overrides;
  const def: HttpFunctionDef = {
    kind: 'http',
    name: 'orders-create',
    route: 'v1/orders',
    methods: ['POST'],
    roles: ['orders'],
    summary: 'Create an order',
    idempotent: true,
    request: { body: z.object({ sku: z.string() }) },
    responses: { 201: { description: 'created' } },
    handler: async (call) => {
      calls.push(call);
      if (answer) return answer(call, calls.length);
      return { status: 201, headers: { Location: `/api/v1/orders/o-${calls.length}`, ETag: `"v${calls.length}"` }, body: { id: `o-${calls.length}` } };
    },
    ...rest,
  };
  return { def, calls };
}

function setup(options: { limit?: number; store?: MemoryIdempotencyStore } = {}) {
  const store = options.store ?? new MemoryIdempotencyStore();
  const clock = { now: T0 };
  const log = { error: vi.fn() };
  const pipeline = createHttpPipeline({
    auth,
    rateLimiter: new FixedWindowRateLimiter({ limit: options.limit ?? 1000, windowMs: 60_000 }),
    idempotency: store,
    now: () => clock.now,
    log,
    newOperationId: () => 'op-1',
  });
  const advance = (ms: number) => {
    clock.now = new Date(clock.now.getTime() + ms);
  };
  return { store, pipeline, log, advance };
}

const problemOf = (response: HttpResponseData) => response.body as { type: string; status: number; detail: string };
const contentType = (response: HttpResponseData) => toWire(response).headers['content-type'];

describe('the Idempotency-Key header', () => {
  it('is required: missing or empty is a 400 problem and runs nothing', async () => {
    const { pipeline, store } = setup();
    const { def, calls } = createOrder();
    for (const key of [null, '', '   ']) {
      const response = await pipeline.handle(def, request({ key }));
      expect(response.status, String(key)).toBe(400);
      expect(contentType(response)).toBe('application/problem+json');
      expect(problemOf(response).detail).toContain('Idempotency-Key');
    }
    expect(calls).toHaveLength(0);
    expect(store.calls.begin).toBe(0);
  });

  it('takes at most 255 characters', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder();
    const long = await pipeline.handle(def, request({ key: 'k'.repeat(256) }));
    expect(long.status).toBe(400);
    expect(problemOf(long).detail).toContain('255');
    expect(calls).toHaveLength(0);
    expect((await pipeline.handle(def, request({ key: 'k'.repeat(255) }))).status).toBe(201);
    expect(calls).toHaveLength(1);
  });

  it('is not asked of a def that does not opt in', async () => {
    const { pipeline, store } = setup();
    const { def, calls } = createOrder({ idempotent: undefined });
    expect((await pipeline.handle(def, request({ key: null }))).status).toBe(201);
    expect((await pipeline.handle(def, request({ key: null }))).status).toBe(201);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.idempotency).toBeUndefined();
    expect(store.calls.begin).toBe(0);
  });
});

describe('an idempotent request', () => {
  it('hands the handler the key and the token of its scope', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder();
    await pipeline.handle(def, request());
    const token = idempotencyToken({ principal: 'apiKey:shop-a', method: 'POST', path: 'v1/orders' }, KEY);
    expect(calls[0]?.idempotency).toEqual({ key: KEY, token });
    expect(token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers a repeat with the first response (status, body, Location, ETag) and Idempotent-Replayed: true', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder();
    const first = await pipeline.handle(def, request());
    expect(first.headers).not.toHaveProperty(IDEMPOTENT_REPLAYED_HEADER);
    const again = await pipeline.handle(def, request());
    expect(calls).toHaveLength(1);
    expect(again.status).toBe(201);
    expect(again.body).toEqual({ id: 'o-1' });
    expect(again.headers).toEqual({ Location: '/api/v1/orders/o-1', ETag: '"v1"', [IDEMPOTENT_REPLAYED_HEADER]: 'true' });
    // On the wire the replay carries the very bytes of the first answer.
    expect(toWire(again).body).toBe(toWire(first).body);
  });

  it('replays an answer of the handler that refused the request (a 4xx it returned)', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder({
      answer: () => ({ status: 409, headers: { 'Content-Type': 'application/problem+json' }, body: { title: 'sold out' } }),
    });
    await pipeline.handle(def, request());
    const again = await pipeline.handle(def, request());
    expect(calls).toHaveLength(1);
    expect(again).toMatchObject({ status: 409, body: { title: 'sold out' }, headers: { [IDEMPOTENT_REPLAYED_HEADER]: 'true' } });
  });

  it('refuses the key with another body: 422 problem that does not echo the body', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder();
    await pipeline.handle(def, request({ body: { sku: 'A-1' } }));
    const other = await pipeline.handle(def, request({ body: { sku: 'SECRET-SKU-42' } }));
    expect(other.status).toBe(422);
    expect(contentType(other)).toBe('application/problem+json');
    expect(problemOf(other).type).toMatch(/idempotency-key-reused$/);
    expect(problemOf(other).detail).toMatch(/another request body/);
    expect(JSON.stringify(other)).not.toContain('SECRET-SKU-42');
    expect(calls).toHaveLength(1);
  });

  it('fingerprints the raw bytes: the same JSON written differently is another body', async () => {
    const { pipeline } = setup();
    const { def } = createOrder();
    await pipeline.handle(def, request({ rawBody: Buffer.from('{"sku":"A-1"}') }));
    expect((await pipeline.handle(def, request({ rawBody: Buffer.from('{ "sku": "A-1" }') }))).status).toBe(422);
    expect(bodyFingerprint(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('answers 409 with Retry-After: 1 while the first is still running, then replays', async () => {
    const { pipeline } = setup();
    const hold = gate();
    const { def, calls } = createOrder({
      answer: async (_call, n) => {
        await hold.opened;
        return { status: 201, body: { id: `o-${n}` } };
      },
    });
    const first = pipeline.handle(def, request());
    await until(() => calls.length === 1);
    const during = await pipeline.handle(def, request());
    expect(during.status).toBe(409);
    expect(during.headers?.['Retry-After']).toBe('1');
    expect(contentType(during)).toBe('application/problem+json');
    expect(problemOf(during).type).toMatch(/idempotency-key-in-use$/);
    hold.open();
    expect((await first).status).toBe(201);
    const after = await pipeline.handle(def, request());
    expect(after).toMatchObject({ status: 201, body: { id: 'o-1' }, headers: { [IDEMPOTENT_REPLAYED_HEADER]: 'true' } });
    expect(calls).toHaveLength(1);
  });

  it('ten identical requests at once run the handler once; the others get 409 while it runs', async () => {
    const { pipeline } = setup();
    const hold = gate();
    const { def, calls } = createOrder({
      answer: async (_call, n) => {
        await hold.opened;
        return { status: 201, body: { id: `o-${n}` } };
      },
    });
    const answered: HttpResponseData[] = [];
    const all = Array.from({ length: 10 }, () =>
      pipeline.handle(def, request()).then((response) => {
        answered.push(response);
        return response;
      }),
    );
    await until(() => answered.length === 9);
    expect(answered.map((response) => response.status)).toEqual(Array(9).fill(409));
    hold.open();
    const responses = await Promise.all(all);
    expect(calls).toHaveLength(1);
    expect(responses.filter((response) => response.status === 201)).toHaveLength(1);
    // Ten more after it finished: all replays of the one answer.
    const later = await Promise.all(Array.from({ length: 10 }, () => pipeline.handle(def, request())));
    expect(later.every((response) => response.status === 201 && response.headers?.[IDEMPOTENT_REPLAYED_HEADER] === 'true')).toBe(true);
    expect(new Set(later.map((response) => JSON.stringify(response.body)))).toEqual(new Set(['{"id":"o-1"}']));
    expect(calls).toHaveLength(1);
  });

  it('ten identical requests racing a fast handler: one runs, each other one replays or gets 409', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder();
    const responses = await Promise.all(Array.from({ length: 10 }, () => pipeline.handle(def, request())));
    expect(calls).toHaveLength(1);
    const original = responses.filter((response) => response.status === 201 && !response.headers?.[IDEMPOTENT_REPLAYED_HEADER]);
    expect(original).toHaveLength(1);
    for (const response of responses) {
      if (response.status === 409) continue;
      expect(response).toMatchObject({ status: 201, body: { id: 'o-1' } });
    }
  });
});

describe('a failed request releases its key', () => {
  it('a 5xx answer deletes the record, so a retry runs the handler again with the same token', async () => {
    const { pipeline, store } = setup();
    const { def, calls } = createOrder({
      answer: (_call, n) => (n === 1 ? { status: 503, body: { title: 'payments down' } } : { status: 201, body: { id: 'o-2' } }),
    });
    expect((await pipeline.handle(def, request())).status).toBe(503);
    expect(store.records.size).toBe(0);
    const retry = await pipeline.handle(def, request());
    expect(retry).toMatchObject({ status: 201, body: { id: 'o-2' } });
    expect(retry.headers).toBeUndefined();
    expect(calls).toHaveLength(2);
    expect(calls[1]?.idempotency?.token).toBe(calls[0]?.idempotency?.token);
    // A retry after a 5xx may even change its body: the key was released.
    expect(store.records.size).toBe(1);
  });

  it('a thrown error is a 500 that releases the key', async () => {
    const { pipeline, store, log } = setup();
    const { def, calls } = createOrder({ answer: (_call, n) => (n === 1 ? Promise.reject(new Error('boom')) : { status: 201, body: { id: 'o-2' } }) });
    expect((await pipeline.handle(def, request())).status).toBe(500);
    expect(store.calls.release).toBe(1);
    expect(store.records.size).toBe(0);
    expect(log.error).toHaveBeenCalledWith('http handler failed', expect.objectContaining({ function: 'orders-create' }));
    expect((await pipeline.handle(def, request())).status).toBe(201);
    expect(calls).toHaveLength(2);
  });

  it('a store that cannot record the answer leaves the answer standing and logs the failure', async () => {
    const { pipeline, store, log } = setup();
    store.failComplete = true;
    const { def } = createOrder();
    const response = await pipeline.handle(def, request());
    expect(response).toMatchObject({ status: 201, body: { id: 'o-1' } });
    expect(log.error).toHaveBeenCalledWith('idempotency complete failed', expect.objectContaining({ operationId: 'op-1' }));
  });
});

describe('requests refused before the handler record nothing', () => {
  const refusals: Array<[string, Partial<Parameters<typeof request>[0]>, number]> = [
    ['no API key', { apiKey: null }, 401],
    ['unknown API key', { apiKey: 'nope' }, 401],
    ['wrong role', { apiKey: 'key-viewer' }, 403],
    ['body over the limit', { rawBody: Buffer.alloc(MAX_BODY_BYTES + 1) }, 413],
    ['not JSON', { rawBody: Buffer.from('{') }, 400],
    ['wrong media type', { headers: { 'content-type': 'text/plain', authorization: 'Bearer key-a', 'idempotency-key': KEY } }, 415],
    ['schema violation', { body: { sku: 7 } }, 422],
  ];
  it.each(refusals)('%s', async (_name, overrides, status) => {
    const { pipeline, store } = setup();
    const { def, calls } = createOrder();
    expect((await pipeline.handle(def, request(overrides))).status).toBe(status);
    expect(store.calls.begin).toBe(0);
    expect(store.records.size).toBe(0);
    // The key is still free: the corrected request runs.
    expect((await pipeline.handle(def, request())).status).toBe(201);
    expect(calls).toHaveLength(1);
  });

  it('rate limited', async () => {
    const { pipeline, store } = setup({ limit: 1 });
    const { def, calls } = createOrder();
    expect((await pipeline.handle(def, request({ key: 'first' }))).status).toBe(201);
    expect((await pipeline.handle(def, request({ key: 'second' }))).status).toBe(429);
    expect(store.calls.begin).toBe(1);
    expect(calls).toHaveLength(1);
  });

  it('validation comes before the key: an invalid body without a key is a 422, not a 400', async () => {
    const { pipeline } = setup();
    const { def } = createOrder();
    expect((await pipeline.handle(def, request({ key: null, body: { sku: 7 } }))).status).toBe(422);
    expect((await pipeline.handle(def, request({ key: null, apiKey: null }))).status).toBe(401);
  });
});

describe('the scope of a key', () => {
  it('is the API key: the same key under another API key is independent', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder();
    await pipeline.handle(def, request({ apiKey: 'key-a' }));
    const other = await pipeline.handle(def, request({ apiKey: 'key-b', body: { sku: 'B-9' } }));
    expect(other).toMatchObject({ status: 201, body: { id: 'o-2' } });
    expect(calls.map((call) => call.idempotency?.token)).toHaveLength(2);
    expect(calls[0]?.idempotency?.token).not.toBe(calls[1]?.idempotency?.token);
  });

  it('is the method and the path', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder({ methods: ['POST', 'PUT'], route: 'v1/orders/{id}' });
    await pipeline.handle(def, request({ url: 'v1/orders/1' }));
    expect((await pipeline.handle(def, request({ url: 'v1/orders/1', method: 'PUT' }))).body).toEqual({ id: 'o-2' });
    expect((await pipeline.handle(def, request({ url: 'v1/orders/2' }))).body).toEqual({ id: 'o-3' });
    expect((await pipeline.handle(def, request({ url: 'v1/orders/1' }))).headers?.[IDEMPOTENT_REPLAYED_HEADER]).toBe('true');
    expect(new Set(calls.map((call) => call.idempotency?.token)).size).toBe(3);
  });

  it('is the client address for anonymous callers', async () => {
    const { pipeline } = setup();
    const { def, calls } = createOrder({ roles: undefined });
    await pipeline.handle(def, request({ apiKey: null, clientIp: '198.51.100.1' }));
    expect((await pipeline.handle(def, request({ apiKey: null, clientIp: '198.51.100.2' }))).body).toEqual({ id: 'o-2' });
    expect((await pipeline.handle(def, request({ apiKey: null, clientIp: '198.51.100.1' }))).headers?.[IDEMPOTENT_REPLAYED_HEADER]).toBe('true');
    expect(calls).toHaveLength(2);
  });
});

describe('a first request whose process died', () => {
  it('blocks its key until the lock times out; then one request takes it over, and the dead one cannot complete', async () => {
    const { pipeline, store, advance, log } = setup();
    const hold = gate();
    const { def, calls } = createOrder({
      answer: async (_call, n) => {
        if (n === 1) await hold.opened; // the "dead" first request
        return { status: 201, body: { id: `o-${n}` } };
      },
    });
    const first = pipeline.handle(def, request());
    await until(() => calls.length === 1);
    advance(LOCK_MS - 1);
    expect((await pipeline.handle(def, request())).status).toBe(409);
    advance(1);
    const taker = await pipeline.handle(def, request());
    expect(taker).toMatchObject({ status: 201, body: { id: 'o-2' } });
    expect(calls[1]?.idempotency).toEqual(calls[0]?.idempotency);
    // The first one wakes up: its answer goes to its client, but the record stays the taker's.
    hold.open();
    expect((await first).body).toEqual({ id: 'o-1' });
    expect(log.error).toHaveBeenCalledWith(expect.stringContaining('idempotency key lost before complete'), expect.objectContaining({ operationId: 'op-1' }));
    expect((await pipeline.handle(def, request())).body).toEqual({ id: 'o-2' });
    expect(store.calls.complete).toBe(2);
    expect(calls).toHaveLength(2);
  });

  it('a stale record under another body is still a mismatch, not a takeover', () => {
    const record: IdempotencyRecord = { fingerprint: 'a', state: 'in-flight', lockedAt: T0 };
    const later = new Date(T0.getTime() + 10 * LOCK_MS);
    expect(classifyRecord(record, 'b', later, LOCK_MS)).toBe('mismatch');
    expect(classifyRecord(record, 'a', later, LOCK_MS)).toBe('stale');
    expect(classifyRecord(record, 'a', new Date(T0.getTime() + LOCK_MS - 1), LOCK_MS)).toBe('in-flight');
    expect(classifyRecord({ ...record, state: 'completed' }, 'a', T0, LOCK_MS)).toBe('replay');
    expect(classifyRecord({ ...record, state: 'completed' }, 'b', T0, LOCK_MS)).toBe('mismatch');
  });
});

describe('the token', () => {
  const scope = { principal: 'apiKey:shop-a', method: 'POST', path: 'v1/orders' };
  it('is stable hex, and differs per caller, method, path and key', () => {
    const token = idempotencyToken(scope, KEY);
    expect(idempotencyToken({ ...scope }, KEY)).toBe(token);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const others = [
      idempotencyToken({ ...scope, principal: 'apiKey:shop-b' }, KEY),
      idempotencyToken({ ...scope, method: 'PUT' }, KEY),
      idempotencyToken({ ...scope, path: 'v1/payments' }, KEY),
      idempotencyToken(scope, `${KEY}x`),
      // No separator trick makes two scopes meet.
      idempotencyToken({ ...scope, path: `v1/orders","${KEY}` }, ''),
    ];
    expect(new Set([token, ...others]).size).toBe(6);
  });

  it('scopes an API key by its name and an anonymous caller by its address', () => {
    const req = { method: 'post', url: 'v1/orders', clientIp: '198.51.100.1' };
    expect(idempotencyScope({ kind: 'apiKey', name: 'shop-a', roles: ['orders'] }, req)).toEqual(scope);
    expect(idempotencyScope({ kind: 'anonymous' }, req)).toEqual({ ...scope, principal: 'ip:198.51.100.1' });
  });
});

describe('stored responses', () => {
  it('keep JSON, text and byte bodies as the wire carried them', () => {
    const bytes = Buffer.from([0, 1, 254, 255]);
    const responses: HttpResponseData[] = [
      { status: 201, headers: { Location: '/x' }, body: { at: new Date(T0), n: 1, skip: undefined } },
      { status: 200, headers: { 'Content-Type': 'text/csv' }, body: 'a,b\n1,2' },
      { status: 200, body: bytes },
      { status: 204 },
    ];
    for (const response of responses) {
      const stored = toStoredResponse(response);
      const back = fromStoredResponse(JSON.parse(JSON.stringify(stored)));
      expect(toWire(back)).toEqual(toWire(response));
    }
  });

  it('a body the store dropped replays as status and headers only', async () => {
    const store = new MemoryIdempotencyStore();
    const { pipeline } = setup({ store });
    const { def } = createOrder();
    await pipeline.handle(def, request());
    const [record] = store.records.values();
    record!.response = { status: 201, headers: { Location: '/api/v1/orders/o-1' }, bodyDropped: true };
    const replay = await pipeline.handle(def, request());
    expect(replay).toEqual({ status: 201, headers: { Location: '/api/v1/orders/o-1', [IDEMPOTENT_REPLAYED_HEADER]: 'true' } });
  });
});

describe('wiring', () => {
  it('an idempotent def without a store in the pipeline fails loudly on first use', async () => {
    const pipeline = createHttpPipeline({ auth, rateLimiter: new FixedWindowRateLimiter({ limit: 9, windowMs: 9 }) });
    const { def, calls } = createOrder();
    await expect(pipeline.handle(def, request())).rejects.toThrow(/orders-create is idempotent but the pipeline has no idempotency store/);
    expect(calls).toHaveLength(0);
    // Defs that do not opt in are served as before.
    expect((await pipeline.handle(createOrder({ idempotent: false }).def, request())).status).toBe(201);
  });

  it('the sweep timer removes records older than the retention, finished or abandoned', async () => {
    const store = new MemoryIdempotencyStore();
    const hours = (n: number) => new Date(T0.getTime() + n * 3_600_000);
    const begin = async (token: string, at: Date) => {
      const begun = await store.begin(token, 'f', at);
      if (begun.outcome !== 'new') throw new Error('expected a new record');
      return begun.handle;
    };
    await store.complete(await begin('old', hours(-26)), { status: 201, headers: {} }, hours(-25));
    await store.complete(await begin('recent', hours(-24)), { status: 201, headers: {} }, hours(-23));
    await begin('abandoned', hours(-25));
    const sweep = vi.spyOn(store, 'sweep');
    const timer = idempotencySweepFunction(store, { schedule: '0 0 * * * *', retentionHours: 24, now: () => T0 });
    expect(timer).toMatchObject({ kind: 'timer', name: 'idempotency-sweep', schedule: '0 0 * * * *' });
    await timer.handler();
    expect(sweep).toHaveBeenCalledWith(hours(-24));
    expect([...store.records.keys()]).toEqual(['recent']);
  });
});
