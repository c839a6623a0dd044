import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import type { HttpCall, HttpFunctionDef, HttpRequestData } from '../../shared/function-table';
import { ApiKeyAuthenticator, hashApiKey } from '../../shared/http/auth';
import { createHttpPipeline, isIdentityEncoding, isJsonContentType, MAX_BODY_BYTES, toWire } from '../../shared/http/pipeline';
import { FixedWindowRateLimiter } from '../../shared/http/rate-limit';
import { bodyFingerprint, type IdempotencyStore } from '../../shared/platform/idempotency';

const auth = new ApiKeyAuthenticator([{ name: 'ops', roles: ['admin'], sha256: hashApiKey('key-ops') }]);

function request(overrides: Partial<HttpRequestData> = {}): HttpRequestData {
  return {
    method: 'POST',
    url: 'v1/x',
    params: {},
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json' },
    rawBody: Buffer.from('{}'),
    clientIp: '127.0.0.1',
    ...overrides,
  };
}

function def(overrides: Partial<HttpFunctionDef> = {}) {
  const seen: HttpCall[] = [];
  const value: HttpFunctionDef = {
    kind: 'http',
    name: 'x',
    route: 'v1/x',
    methods: ['POST'],
    summary: 'x',
    responses: {},
    handler: async (call) => {
      seen.push(call);
      return { status: 200, body: { ok: true } };
    },
    ...overrides,
  };
  return { def: value, seen };
}

const pipeline = (limit = 100) =>
  createHttpPipeline({ auth, rateLimiter: new FixedWindowRateLimiter({ limit, windowMs: 60_000 }), newOperationId: () => 'generated' });

describe('createHttpPipeline', () => {
  it('checks the size before anything else, so an unauthenticated huge body is a 413', async () => {
    const { def: d, seen } = def({ roles: ['admin'] });
    const response = await pipeline().handle(d, request({ rawBody: Buffer.alloc(MAX_BODY_BYTES + 1), headers: {} }));
    expect(response.status).toBe(413);
    expect(seen).toHaveLength(0);
  });

  it('authenticates before parsing: a bad body from an anonymous caller is a 401, not a 400', async () => {
    const { def: d } = def({ roles: ['admin'], request: { body: z.object({}) } });
    const response = await pipeline().handle(d, request({ rawBody: Buffer.from('{') }));
    expect(response.status).toBe(401);
  });

  it('counts the rate limit per key name, never for public routes', async () => {
    const p = pipeline(1);
    const admin = def({ roles: ['admin'] }).def;
    const open = def().def;
    const headers = { authorization: 'Bearer key-ops' };
    expect((await p.handle(admin, request({ headers }))).status).toBe(200);
    expect((await p.handle(admin, request({ headers }))).status).toBe(429);
    expect((await p.handle(open, request({ headers }))).status).toBe(200);
    expect((await p.handle(open, request({ headers }))).status).toBe(200);
  });

  it('leaves a webhook def its bytes and skips JSON checks', async () => {
    const { def: d, seen } = def({
      verify: (req: HttpRequestData) => ({ ok: true, event: req.rawBody.length }),
      request: { body: z.object({ a: z.string() }) },
    });
    const response = await pipeline().handle(d, request({ headers: { 'content-type': 'text/plain' }, rawBody: Buffer.from('t=1,v1=abc') }));
    expect(response.status).toBe(200);
    expect(seen[0]?.body).toBeUndefined();
    expect(seen[0]?.request.rawBody.toString()).toBe('t=1,v1=abc');
  });

  it('hands a webhook handler the verified event, and answers a refused one without running the handler', async () => {
    const verify = (req: HttpRequestData) =>
      req.headers['x-signature'] === 'good'
        ? { ok: true as const, event: { id: 'evt_1' } }
        : { ok: false as const, response: { status: 401, body: 'refused' } };
    const { def: d, seen } = def({ verify });
    expect((await pipeline().handle(d, request({ headers: { 'x-signature': 'bad' } }))).status).toBe(401);
    expect(seen).toHaveLength(0);
    expect((await pipeline().handle(d, request({ headers: { 'x-signature': 'good' } }))).status).toBe(200);
    expect(seen[0]?.event).toEqual({ id: 'evt_1' });
  });

  it('rejects invalid UTF-8 as malformed, and accepts a BOM', async () => {
    const { def: d, seen } = def({ request: { body: z.object({ a: z.number() }) } });
    expect((await pipeline().handle(d, request({ rawBody: Buffer.from([0x7b, 0xff, 0x7d]) }))).status).toBe(400);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    expect((await pipeline().handle(d, request({ rawBody: bom }))).status).toBe(200);
    expect(seen[0]?.body).toEqual({ a: 1 });
  });

  it('hands the handler parsed params and query (repeated names as arrays), with schema defaults applied', async () => {
    const { def: d, seen } = def({
      methods: ['GET'],
      request: {
        params: z.object({ id: z.string() }),
        query: z.object({ tag: z.array(z.string()), limit: z.coerce.number().default(10) }),
      },
    });
    const response = await pipeline().handle(
      d,
      request({ method: 'GET', params: { id: 'b-1' }, query: new URLSearchParams('tag=a&tag=b'), rawBody: Buffer.alloc(0) }),
    );
    expect(response.status).toBe(200);
    expect(seen[0]).toMatchObject({ params: { id: 'b-1' }, query: { tag: ['a', 'b'], limit: 10 }, caller: { kind: 'anonymous' } });
  });

  it('reports params, query and body errors in one 422', async () => {
    const { def: d } = def({
      request: { params: z.object({ id: z.uuid() }), query: z.object({ n: z.coerce.number() }), body: z.object({ a: z.string() }) },
    });
    const response = await pipeline().handle(d, request({ params: { id: 'nope' }, query: new URLSearchParams('n=x') }));
    expect(response.status).toBe(422);
    expect((response.body as { errors: Array<{ in: string; path: string }> }).errors.map((e) => `${e.in}:${e.path}`)).toEqual([
      'params:id',
      'query:n',
      'body:a',
    ]);
  });

  it('takes the operation id from a W3C traceparent, else generates one', async () => {
    const { def: d, seen } = def();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await pipeline().handle(d, request({ headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` } }));
    await pipeline().handle(d, request({ headers: { traceparent: 'garbage' } }));
    expect(seen.map((call) => call.operationId)).toEqual([traceId, 'generated']);
  });

  it('turns a thrown error into a logged 500 that does not carry the message', async () => {
    const log = { error: vi.fn() };
    const p = createHttpPipeline({ auth, rateLimiter: new FixedWindowRateLimiter({ limit: 9, windowMs: 9 }), log, newOperationId: () => 'op-9' });
    const failure = new Error('connection string AccountKey=abc');
    const { def: d } = def({ handler: async () => Promise.reject(failure) });
    const response = await p.handle(d, request());
    expect(response.status).toBe(500);
    expect(JSON.stringify(response.body)).not.toContain('AccountKey');
    expect(log.error).toHaveBeenCalledWith('http handler failed', { operationId: 'op-9', function: 'x', error: failure });
  });
});

describe('createHttpPipeline and Content-Encoding', () => {
  const json = Buffer.from('{"a":1}');
  const bodyDef = () => def({ request: { body: z.object({ a: z.number() }) } });

  it.each([
    ['gzip', gzipSync(json)],
    ['deflate', deflateSync(json)],
    ['br', brotliCompressSync(json)],
    ['GZIP', gzipSync(json)],
    ['gzip, identity', gzipSync(json)],
  ])('refuses a %s-coded body with 415 and Accept-Encoding: identity, before the handler runs (it used to be "malformed JSON")', async (coding, rawBody) => {
    const { def: d, seen } = bodyDef();
    const response = await pipeline().handle(d, request({ headers: { 'content-type': 'application/json', 'content-encoding': coding }, rawBody }));
    expect(response.status).toBe(415);
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/problem+json', 'Accept-Encoding': 'identity' });
    expect(response.body).toMatchObject({ type: 'https://order-hub.dev/problems/unsupported-content-encoding', status: 415 });
    expect(seen).toHaveLength(0);
  });

  it('refuses a plain body labelled gzip (it used to be accepted)', async () => {
    const { def: d, seen } = bodyDef();
    const response = await pipeline().handle(d, request({ headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, rawBody: json }));
    expect(response.status).toBe(415);
    expect(seen).toHaveLength(0);
  });

  it('refuses it for a signed webhook too, before its verify hook sees the bytes', async () => {
    const verify = vi.fn(() => ({ ok: true as const, event: undefined }));
    const { def: d, seen } = def({ verify });
    const response = await pipeline().handle(d, request({ headers: { 'content-encoding': 'gzip' }, rawBody: gzipSync(json) }));
    expect(response.status).toBe(415);
    expect(verify).not.toHaveBeenCalled();
    expect(seen).toHaveLength(0);
  });

  it('takes identity (or no coding) as plain, and authenticates first', async () => {
    const { def: d, seen } = bodyDef();
    const identity = await pipeline().handle(d, request({ headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, rawBody: json }));
    expect(identity.status).toBe(200);
    expect(seen[0]?.body).toEqual({ a: 1 });
    const guarded = def({ roles: ['admin'], request: { body: z.object({}) } }).def;
    expect((await pipeline().handle(guarded, request({ headers: { 'content-encoding': 'gzip' }, rawBody: gzipSync(json) }))).status).toBe(401);
  });

  it.each([
    [undefined, true],
    ['', true],
    ['identity', true],
    [' Identity ', true],
    ['gzip', false],
    ['identity, br', false],
    ['x-custom', false],
  ])('isIdentityEncoding(%j) -> %s', (header, expected) => {
    expect(isIdentityEncoding(header)).toBe(expected);
  });
});

describe('createHttpPipeline with idempotent defs', () => {
  const NOW = new Date('2030-01-01T00:00:00.000Z');
  /** A store that grants every key and records what the pipeline asked. */
  function grantingStore() {
    const begins: Array<{ token: string; fingerprint: string; now: Date }> = [];
    const completed: number[] = [];
    const store: IdempotencyStore = {
      begin: async (token, fingerprint, now) => {
        begins.push({ token, fingerprint, now });
        return { outcome: 'new', handle: { token, lease: '1' } };
      },
      complete: async (_handle, response) => {
        completed.push(response.status);
        return true;
      },
      release: async () => true,
      sweep: async () => 0,
    };
    return { store, begins, completed };
  }
  const withStore = (store: IdempotencyStore) =>
    createHttpPipeline({ auth, rateLimiter: new FixedWindowRateLimiter({ limit: 100, windowMs: 60_000 }), idempotency: store, now: () => NOW });

  it('claims the key after schema validation, with the raw body’s fingerprint and the injected clock, then runs the handler', async () => {
    const { store, begins, completed } = grantingStore();
    const { def: d, seen } = def({ idempotent: true, request: { body: z.object({ a: z.number() }) } });
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'k-1' };
    expect((await withStore(store).handle(d, request({ headers, rawBody: Buffer.from('{"a":"x"}') }))).status).toBe(422);
    expect(begins).toHaveLength(0);
    const rawBody = Buffer.from('{"a":1}');
    expect((await withStore(store).handle(d, request({ headers, rawBody }))).status).toBe(200);
    expect(begins).toEqual([{ token: expect.stringMatching(/^[0-9a-f]{64}$/), fingerprint: bodyFingerprint(rawBody), now: NOW }]);
    expect(seen[0]?.idempotency).toEqual({ key: 'k-1', token: begins[0]?.token });
    expect(completed).toEqual([200]);
  });

  it('claims nothing for a webhook its verify hook refused', async () => {
    const { store, begins } = grantingStore();
    const { def: d, seen } = def({ idempotent: true, verify: () => ({ ok: false as const, response: { status: 400 } }) });
    expect((await withStore(store).handle(d, request({ headers: { 'idempotency-key': 'k-1' } }))).status).toBe(400);
    expect(begins).toHaveLength(0);
    expect(seen).toHaveLength(0);
  });

  it('refuses to serve an idempotent def when no store was given, naming the def', async () => {
    const { def: d, seen } = def({ name: 'payments-create', idempotent: true });
    await expect(pipeline().handle(d, request({ headers: { 'idempotency-key': 'k-1' } }))).rejects.toThrow(/payments-create.*idempotency store/);
    expect(seen).toHaveLength(0);
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    ['application/json;charset="UTF-8"', true],
    ['application/json; charset=iso-8859-1', false],
    ['application/jsonp', false],
    ['text/json', false],
    [undefined, false],
  ])('%s -> %s', (header, expected) => {
    expect(isJsonContentType(header)).toBe(expected);
  });
});

describe('toWire', () => {
  // Every answer carries these (see withSecurityHeaders); HSTS only over HTTPS.
  const SECURITY = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-resource-policy': 'same-origin',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cache-control': 'no-store',
  };

  it('serialises objects as application/json and lower-cases header names', () => {
    expect(toWire({ status: 201, headers: { Location: '/x' }, body: { id: 1 } })).toEqual({
      status: 201,
      headers: { location: '/x', 'content-type': 'application/json', ...SECURITY },
      body: '{"id":1}',
    });
  });

  it('keeps a problem content type, and passes strings and buffers through', () => {
    expect(toWire({ status: 400, headers: { 'Content-Type': 'application/problem+json' }, body: {} }).headers['content-type']).toBe('application/problem+json');
    expect(toWire({ status: 200, body: 'hi' })).toEqual({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', ...SECURITY }, body: 'hi' });
    const bytes = Buffer.from([1, 2]);
    expect(toWire({ status: 200, body: bytes }).body).toBe(bytes);
    expect(toWire({ status: 204 })).toEqual({ status: 204, headers: SECURITY, body: '' });
  });
});
