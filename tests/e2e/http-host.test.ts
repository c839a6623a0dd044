import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import type { FunctionDef, HttpFunctionDef } from '../../shared/function-table';
import { ApiKeyAuthenticator, hashApiKey } from '../../shared/http/auth';
import { createHttpPipeline, MAX_BODY_BYTES } from '../../shared/http/pipeline';
import { problemSchema } from '../../shared/http/problem';
import { FixedWindowRateLimiter } from '../../shared/http/rate-limit';
import { startHttpHost, type HttpHost } from '../../local/http-host';

const RATE_LIMIT = 20;
const keys = { admin: 'ohk_admin-key', workshop: 'ohk_workshop-key', burst: 'ohk_burst-key' };

const echoBodySchema = z.object({
  name: z.string().min(1),
  quantity: z.number().int().positive(),
  address: z.object({ city: z.string() }).optional(),
});

const echo: HttpFunctionDef<z.infer<typeof echoBodySchema>> = {
  kind: 'http',
  name: 'echo',
  route: 'v1/echo',
  methods: ['POST'],
  roles: ['admin'],
  summary: 'Echo the parsed body (admin only)',
  request: { body: echoBodySchema },
  responses: { 200: { description: 'the body' } },
  handler: async ({ body, caller }) => ({ status: 200, body: { received: body, caller } }),
};

const getThing: HttpFunctionDef<unknown, { id: string }> = {
  kind: 'http',
  name: 'getThing',
  route: 'v1/things/{id}',
  methods: ['GET'],
  summary: 'A public read with a path parameter',
  request: { params: z.object({ id: z.string().max(40) }), query: z.object({ verbose: z.enum(['true', 'false']).optional() }) },
  responses: { 200: { description: 'the thing' } },
  handler: async ({ params, query, request }) => ({ status: 200, body: { id: params.id, query, url: request.url } }),
};

// Same shape as getThing: the literal segment must win.
const getSpecial: HttpFunctionDef = {
  kind: 'http',
  name: 'getSpecial',
  route: 'v1/things/special',
  methods: ['GET'],
  summary: 'A literal route next to a parameter route',
  responses: { 200: { description: 'special' } },
  handler: async () => ({ status: 200, body: { special: true } }),
};

const boom: HttpFunctionDef = {
  kind: 'http',
  name: 'boom',
  route: 'v1/boom',
  methods: ['GET', 'DELETE'],
  summary: 'Always throws',
  responses: { 200: { description: 'never' } },
  handler: async () => {
    throw new Error('db password hunter2 leaked');
  },
};

const table: FunctionDef[] = [echo, getThing, getSpecial, boom, { kind: 'timer', name: 'tick', schedule: '0 * * * * *', handler: async () => {} }];

let host: HttpHost;
const log = { error: vi.fn() };

beforeAll(async () => {
  const auth = new ApiKeyAuthenticator([
    { name: 'admin', roles: ['admin'], sha256: hashApiKey(keys.admin) },
    { name: 'workshop', roles: ['workshop'], sha256: hashApiKey(keys.workshop) },
    { name: 'burst', roles: ['admin'], sha256: hashApiKey(keys.burst) },
  ]);
  // Each key has its own window; only the `burst` key is driven over the limit.
  const rateLimiter = new FixedWindowRateLimiter({ limit: RATE_LIMIT, windowMs: 60_000 });
  const pipeline = createHttpPipeline({ auth, rateLimiter, log, newOperationId: () => 'op-test' });
  host = await startHttpHost({ port: 0, functions: table, pipeline });
});

afterAll(async () => {
  await host?.stop();
});

const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${host.url}/${path}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json', ...headers },
  });

/** Asserts a problem+json response and returns its body. */
async function expectProblem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = problemSchema.parse(await response.json());
  expect(body.status).toBe(status);
  expect(body.type).toMatch(/^https:\/\/order-hub\.dev\/problems\//);
  return body;
}

describe('local HTTP host over real HTTP', () => {
  it('serves on a free port under the api prefix', () => {
    expect(host.port).toBeGreaterThan(0);
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/api`);
  });

  it('answers 200 with the parsed body for a good admin request', async () => {
    const response = await post('v1/echo', JSON.stringify({ name: 'Brake pads', quantity: 2, extra: 'stripped' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      received: { name: 'Brake pads', quantity: 2 },
      caller: { kind: 'apiKey', name: 'admin', roles: ['admin'] },
    });
  });

  it('accepts application/json with a UTF-8 charset', async () => {
    const response = await post('v1/echo', JSON.stringify({ name: 'Öl', quantity: 1 }), {
      'content-type': 'application/json; charset=UTF-8',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: { name: 'Öl' } });
  });

  it('decodes route parameters and passes the query', async () => {
    const response = await fetch(`${host.url}/v1/things/hello%20w%C3%B6rld%2Fx?verbose=true`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: 'hello wörld/x',
      query: { verbose: 'true' },
      url: 'v1/things/hello%20w%C3%B6rld%2Fx',
    });
  });

  it('prefers a literal segment over a parameter', async () => {
    const response = await fetch(`${host.url}/v1/things/special`);
    expect(await response.json()).toEqual({ special: true });
  });

  it('answers 404 for an unknown route and outside the prefix', async () => {
    const body = await expectProblem(await fetch(`${host.url}/v1/nothing-here`), 404);
    expect(body.type).toBe('https://order-hub.dev/problems/not-found');
    await expectProblem(await fetch(`http://127.0.0.1:${host.port}/v1/things/special`), 404);
    await expectProblem(await fetch(`${host.url}/v1/things/`), 404);
  });

  it('answers 405 with Allow for a known route and a wrong method', async () => {
    const response = await fetch(`${host.url}/v1/echo`, { method: 'PUT' });
    await expectProblem(response, 405);
    expect(response.headers.get('allow')).toBe('POST');
    const multi = await fetch(`${host.url}/v1/boom`, { method: 'POST' });
    await expectProblem(multi, 405);
    expect(multi.headers.get('allow')).toBe('DELETE, GET');
  });

  it('answers 400 for malformed and empty JSON without quoting it', async () => {
    const body = await expectProblem(await post('v1/echo', '{"name": "secret-input", '), 400);
    expect(JSON.stringify(body)).not.toContain('secret-input');
    await expectProblem(await post('v1/echo', '   '), 400);
  });

  it('answers 415 for a body that is not declared JSON', async () => {
    await expectProblem(await post('v1/echo', JSON.stringify({ name: 'x', quantity: 1 }), { 'content-type': 'text/plain' }), 415);
    await expectProblem(await post('v1/echo', JSON.stringify({ name: 'x', quantity: 1 }), { 'content-type': 'application/json; charset=latin1' }), 415);
  });

  it('answers 422 listing every invalid field', async () => {
    const response = await post('v1/echo', JSON.stringify({ name: '', quantity: 'many', address: { city: 7 } }));
    const body = await expectProblem(response, 422);
    expect(body.type).toBe('https://order-hub.dev/problems/validation');
    const fields = body.errors?.map((error) => `${error.in}:${error.path}`);
    expect(fields).toEqual(expect.arrayContaining(['body:name', 'body:quantity', 'body:address.city']));
    expect(JSON.stringify(body)).not.toContain('many');
  });

  it('validates path parameters too', async () => {
    const body = await expectProblem(await fetch(`${host.url}/v1/things/${'x'.repeat(41)}`), 422);
    expect(body.errors).toEqual([expect.objectContaining({ in: 'params', path: 'id' })]);
  });

  it('answers 401 without a key or with an unknown key', async () => {
    const missing = await post('v1/echo', '{}', { authorization: '' });
    await expectProblem(missing, 401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    await expectProblem(await post('v1/echo', '{}', { authorization: 'Bearer ohk_not-a-key' }), 401);
  });

  it('answers 403 for a key without the required role', async () => {
    await expectProblem(await post('v1/echo', '{}', { authorization: `Bearer ${keys.workshop}` }), 403);
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    await expectProblem(await post('v1/echo', big), 413);
    // Exactly at the limit is read, and then rejected as JSON only because it is blank.
    await expectProblem(await post('v1/echo', Buffer.alloc(MAX_BODY_BYTES, 0x20)), 400);
  });

  it('answers 413 for a streamed body without Content-Length once it passes 1 MiB', async () => {
    const chunk = new Uint8Array(256 * 1024);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i += 1) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${host.url}/v1/echo`, {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    });
    await expectProblem(response, 413);
    // The rest of the upload is not read: the connection is closed instead.
    expect(response.headers.get('connection')).toBe('close');
  });

  it('answers 429 with Retry-After once a key exceeds its limit', async () => {
    const send = () => post('v1/echo', JSON.stringify({ name: 'x', quantity: 1 }), { authorization: `Bearer ${keys.burst}` });
    for (let i = 0; i < RATE_LIMIT; i += 1) expect((await send()).status).toBe(200);
    const limited = await send();
    await expectProblem(limited, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Other keys have their own window.
    expect((await post('v1/echo', JSON.stringify({ name: 'x', quantity: 1 }))).status).toBe(200);
  });

  it('answers 500 without the error message when a handler throws, and logs it', async () => {
    log.error.mockClear();
    const response = await fetch(`${host.url}/v1/boom`);
    const body = await expectProblem(response, 500);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(body.operationId).toBe('op-test');
    expect(log.error).toHaveBeenCalledWith('http handler failed', expect.objectContaining({ operationId: 'op-test', function: 'boom' }));
  });

  it('frees the port on stop even with a request still in flight', async () => {
    let entered: () => void = () => {};
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    // A handler that never answers: only closing its connection lets stop() finish.
    const hanging = {
      handle: () => {
        entered();
        return new Promise<never>(() => {});
      },
    };
    const extra = await startHttpHost({ port: 0, functions: table, pipeline: hanging });
    const pending = fetch(`${extra.url}/v1/things/a`).catch((error: unknown) => error);
    await inHandler;
    // Without closing the open connection stop() would never finish: it must beat a generous timer.
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      extra.stop().then(() => 'stopped'),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still stopping after 10 s'), 10_000))),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('stopped');
    expect(await pending).toBeInstanceOf(Error);
    const again = await startHttpHost({ port: extra.port, functions: table, pipeline: hanging });
    expect(again.port).toBe(extra.port);
    await again.stop();
  });
});

/** Sends raw bytes (requests fetch refuses to send) and resolves with everything the server answered before closing. */
function exchange(port: number, chunks: Array<string | Buffer>, options: { pauseMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (options.pauseMs) await new Promise((done) => setTimeout(done, options.pauseMs));
      }
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
  });
}

/** Parses one HTTP/1.1 response: status, lower-cased headers, JSON body. */
function parseResponse(raw: string) {
  const end = raw.indexOf('\r\n\r\n');
  expect(end, `not an HTTP response: ${JSON.stringify(raw.slice(0, 200))}`).toBeGreaterThan(0);
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = Buffer.from(raw.slice(end + 4), 'latin1');
  expect(body.length).toBe(Number(headers['content-length']));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body.toString('utf8')) as unknown };
}

/** A problem+json answer with the security headers every answer carries. */
function expectRawProblem(raw: string, status: number) {
  const response = parseResponse(raw);
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/problem+json');
  expect(response.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'x-frame-options': 'DENY', connection: 'close' });
  const body = problemSchema.parse(response.body);
  expect(body.status).toBe(status);
  expect(body.type).toMatch(/^https:\/\/order-hub\.dev\/problems\//);
  return body;
}

describe('errors the server itself produces are problem+json (they had empty bodies)', () => {
  const hostHeader = () => `Host: 127.0.0.1:${host.port}\r\n`;

  it("answers 431 for headers over node's limit", async () => {
    const raw = await exchange(host.port, [`GET /api/v1/things/a HTTP/1.1\r\n${hostHeader()}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    const body = expectRawProblem(raw, 431);
    expect(body.type).toBe('https://order-hub.dev/problems/header-fields-too-large');
    expect(JSON.stringify(body)).not.toContain('aaaa');
  });

  it('answers 400 for conflicting Content-Length headers and for bytes that are not HTTP', async () => {
    const conflicting = await exchange(host.port, [
      `POST /api/v1/echo HTTP/1.1\r\n${hostHeader()}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    ]);
    expect(expectRawProblem(conflicting, 400).type).toBe('https://order-hub.dev/problems/malformed-request');
    const smuggled = await exchange(host.port, [
      `POST /api/v1/echo HTTP/1.1\r\n${hostHeader()}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ]);
    expectRawProblem(smuggled, 400);
    const garbage = await exchange(host.port, ['<script>alert(1)</script>\r\n\r\n']);
    expect(JSON.stringify(expectRawProblem(garbage, 400))).not.toContain('script');
  });

  it('answers 400 for an HTTP/1.1 request without Host', async () => {
    const raw = await exchange(host.port, ['GET /api/v1/things/special HTTP/1.1\r\n\r\n']);
    expectRawProblem(raw, 400);
  });

  it('answers 417 for an Expect it does not meet', async () => {
    const raw = await exchange(host.port, [`GET /api/v1/things/special HTTP/1.1\r\n${hostHeader()}Expect: teapot\r\n\r\n`]);
    expectRawProblem(raw, 417);
  });

  it('answers 408 when the headers or the body do not arrive in time, and logs no failure', async () => {
    const hostLog = { error: vi.fn() };
    const pipeline = createHttpPipeline({ auth: new ApiKeyAuthenticator([]), rateLimiter: new FixedWindowRateLimiter({ limit: 9, windowMs: 60_000 }) });
    const slow = await startHttpHost({ port: 0, functions: table, pipeline, log: hostLog, requestTimeoutMs: 300 });
    try {
      const headersOnly = await exchange(slow.port, [`GET /api/v1/things/special HTTP/1.1\r\nHost: 127.0.0.1:${slow.port}\r\n`]);
      expect(expectRawProblem(headersOnly, 408).type).toBe('https://order-hub.dev/problems/request-timeout');
      const bodyCut = await exchange(slow.port, [
        `POST /api/v1/echo HTTP/1.1\r\nHost: 127.0.0.1:${slow.port}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a"`,
      ]);
      expectRawProblem(bodyCut, 408);
      // The host still serves, and the timed-out requests were not taken for server failures.
      expect((await fetch(`${slow.url}/v1/things/special`)).status).toBe(200);
      expect(hostLog.error).not.toHaveBeenCalled();
    } finally {
      await slow.stop();
    }
  });

  it('refuses a content-coded body with 415 instead of calling gzip malformed JSON or taking a mislabelled body', async () => {
    const json = JSON.stringify({ name: 'x', quantity: 1 });
    const gzipped = await post('v1/echo', gzipSync(json), { 'content-encoding': 'gzip' });
    await expectProblem(gzipped, 415);
    expect(gzipped.headers.get('accept-encoding')).toBe('identity');
    await expectProblem(await post('v1/echo', json, { 'content-encoding': 'gzip' }), 415);
    expect((await post('v1/echo', json, { 'content-encoding': 'identity' })).status).toBe(200);
  });
});
