/**
 * The JSON-2 client (Odoo 19's External JSON-2 API): what it sends, and how it classifies every answer
 * Odoo (or something in front of it) can give — first against a tiny scripted HTTP server, so each
 * status and error body is played exactly, then against the Odoo sandbox's JSON-2 face.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OdooSandbox } from '../../local/odoo-sandbox';
import { odooCredentialProbe } from '../../shared/adapters/odoo/credential-probe';
import { isMissingMethod, isUnknownField, type OdooError } from '../../shared/adapters/odoo/odoo-errors';
import { OdooJson2Client, type OdooJson2Settings } from '../../shared/adapters/odoo/odoo-json2-client';
import { JobError } from '../../shared/platform/jobs';
import { freePort } from '../support/ports';

const API_KEY = 'key-7f3a9c1d0e5b';

/** The rejection of `promise`, which must be an Odoo JobError. */
async function failure(promise: Promise<unknown>): Promise<OdooError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(JobError);
  return error as OdooError;
}

// ---- a scripted server: each request is answered by the test's handler

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (request: Seen, response: http.ServerResponse) => void;

class ScriptedServer {
  readonly seen: Seen[] = [];
  handler: Handler = (_request, response) => json(response, 200, true);

  private constructor(private readonly server: http.Server) {
    server.on('request', async (request: http.IncomingMessage, response: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const seen = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.seen.push(seen);
      this.handler(seen, response);
    });
  }

  static async start(): Promise<ScriptedServer> {
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new ScriptedServer(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function json(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

/** Odoo's error body (`serialize_exception`). */
const odooError = (name: string, message: string) => ({
  name,
  message,
  arguments: [message],
  context: {},
  debug: `Traceback (most recent call last):\n  File "/odoo/http.py", line 2212, in _transactioning\n${name}: ${message}\n`,
});

const page = (status: number, title: string) => `<!doctype html>\n<html lang=en>\n<title>${status} ${title}</title>\n<h1>${title}</h1>\n`;

describe('OdooJson2Client against a scripted server', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterAll(() => server.stop());
  afterEach(() => {
    server.seen.length = 0;
    server.handler = (_request, response) => json(response, 200, true);
  });

  const client = (settings: Partial<OdooJson2Settings> = {}) =>
    new OdooJson2Client({ url: server.url, apiKey: API_KEY, db: 'prod', timeoutMs: 2_000, ...settings });

  it('posts the named arguments, ids and context to /json/2/<model>/<method> with the key as bearer and the database header', async () => {
    server.handler = (_request, response) => json(response, 200, [{ id: 7, name: 'INV/2026/00007' }]);
    const odoo = client({ url: `${server.url}/odoo/` });

    const result = await odoo.call({
      model: 'account.move',
      method: 'read',
      ids: [7],
      params: { fields: ['name'] },
      context: { lang: 'de_DE' },
    });

    expect(result).toEqual([{ id: 7, name: 'INV/2026/00007' }]);
    expect(server.seen).toHaveLength(1);
    const [seen] = server.seen as [Seen];
    expect(seen).toMatchObject({ method: 'POST', path: '/odoo/json/2/account.move/read' });
    expect(seen.headers).toMatchObject({
      authorization: `bearer ${API_KEY}`,
      'x-odoo-database': 'prod',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(JSON.parse(seen.body)).toEqual({ ids: [7], context: { lang: 'de_DE' }, fields: ['name'] });
    expect(odoo.callCount).toBe(1);
  });

  it('sends no database header when none is configured, and no login call ever', async () => {
    await client({ db: undefined }).call({ model: 'res.partner', method: 'search_count', params: { domain: [] } });
    expect(server.seen.map((seen) => [seen.path, seen.headers['x-odoo-database']])).toEqual([['/json/2/res.partner/search_count', undefined]]);
    expect(JSON.parse(server.seen[0]?.body ?? '')).toEqual({ domain: [] });
  });

  // Status, body → kind, code, message. Every row is one answer Odoo 19 (or a proxy before it) gives.
  it.each([
    [
      401,
      odooError('werkzeug.exceptions.Unauthorized', 'Invalid apikey'),
      'permanent',
      'ODOO_BAD_CREDENTIALS',
      /^Odoo rejected the API key for database prod \(check ODOO_PASSWORD/,
    ],
    [
      403,
      odooError('odoo.exceptions.AccessError', "You are not allowed to create 'Contact' (res.partner) records."),
      'permanent',
      'ODOO_ACCESS_ERROR',
      /^The API key's Odoo user lacks the rights for res\.partner\.create: You are not allowed/,
    ],
    [403, odooError('odoo.exceptions.AccessDenied', 'Access Denied'), 'permanent', 'ODOO_ACCESS_DENIED', /^Odoo rejected the API key/],
    [
      403,
      page(403, 'Forbidden'),
      'permanent',
      'ODOO_HTTP_ERROR',
      /answered HTTP 403 to res\.partner\.create; check ODOO_URL and that the database allows the external API$/,
    ],
    [
      404,
      odooError('odoo.exceptions.MissingError', 'Record does not exist or has been deleted.'),
      'permanent',
      'ODOO_USER_ERROR',
      /^Odoo refused res\.partner\.create: Record does not exist/,
    ],
    [
      404,
      odooError('werkzeug.exceptions.NotFound', "the model 'res.partner' does not exist"),
      'permanent',
      'ODOO_NOT_FOUND',
      /^Odoo has no res\.partner\.create: the model 'res\.partner' does not exist$/,
    ],
    [
      404,
      odooError('werkzeug.exceptions.NotFound', 'Did you mean POST /json/2/<model>/<method>?'),
      'permanent',
      'ODOO_NOT_FOUND',
      /has no Odoo JSON-2 endpoint \(HTTP 404 for res\.partner\.create\); check ODOO_URL and ODOO_DB, and that Odoo is 19 or later/,
    ],
    [404, page(404, 'Not Found'), 'permanent', 'ODOO_NOT_FOUND', /has no Odoo JSON-2 endpoint/],
    [
      409,
      odooError('odoo.exceptions.LockError', 'Cannot update the record: another transaction holds it.'),
      'transient',
      'ODOO_CONCURRENT_UPDATE',
      /^Odoo hit a concurrent update in res\.partner\.create/,
    ],
    [
      422,
      odooError('odoo.exceptions.UserError', 'Contacts require a name'),
      'permanent',
      'ODOO_USER_ERROR',
      /^Odoo refused res\.partner\.create: Contacts require a name$/,
    ],
    [
      422,
      odooError('odoo.exceptions.ValidationError', 'The operation cannot be completed: invalid e-mail'),
      'permanent',
      'ODOO_USER_ERROR',
      /^Odoo refused res\.partner\.create: The operation cannot be completed/,
    ],
    [
      422,
      odooError('werkzeug.exceptions.UnprocessableEntity', "create() got an unexpected keyword argument 'values'"),
      'permanent',
      'ODOO_INVALID_REQUEST',
      /^Odoo could not take our arguments for res\.partner\.create: create\(\) got an unexpected keyword argument 'values'$/,
    ],
    [
      400,
      odooError('werkzeug.exceptions.BadRequest', 'could not parse the body as json: Expecting value'),
      'permanent',
      'ODOO_INVALID_REQUEST',
      /^Odoo could not read our request for res\.partner\.create: could not parse the body as json/,
    ],
    [400, page(400, 'Bad Request'), 'permanent', 'ODOO_BAD_REQUEST', /refused res\.partner\.create as a bad request \(HTTP 400\)$/],
    [
      500,
      odooError('builtins.ValueError', 'A string literal cannot contain NUL (0x00) characters.'),
      'permanent',
      'ODOO_INVALID_VALUE',
      /^Odoo refused a value in res\.partner\.create: ValueError: A string literal cannot contain NUL \(0x00\) characters\.$/,
    ],
    [
      500,
      odooError('psycopg2.errors.UniqueViolation', 'duplicate key value violates unique constraint'),
      'permanent',
      'ODOO_INVALID_VALUE',
      /psycopg2\.errors\.UniqueViolation: duplicate key/,
    ],
    [
      500,
      odooError('psycopg2.errors.SerializationFailure', 'could not serialize access due to concurrent update'),
      'transient',
      'ODOO_CONCURRENT_UPDATE',
      /could not serialize access due to concurrent update$/,
    ],
    [
      500,
      odooError('builtins.KeyError', "'partner_id'"),
      'permanent',
      'ODOO_APPLICATION_ERROR',
      /^Odoo failed in res\.partner\.create: KeyError: 'partner_id'$/,
    ],
    [
      500,
      odooError('werkzeug.exceptions.InternalServerError', 'The server encountered an internal error'),
      'transient',
      'ODOO_UNAVAILABLE',
      /answered HTTP 500 to res\.partner\.create$/,
    ],
    [500, page(500, 'Internal Server Error'), 'transient', 'ODOO_UNAVAILABLE', /^Odoo at http:\/\/127\.0\.0\.1:\d+ answered HTTP 500 to res\.partner\.create$/],
    [502, page(502, 'Bad Gateway'), 'transient', 'ODOO_UNAVAILABLE', /answered HTTP 502/],
    [503, page(503, 'Service Unavailable'), 'transient', 'ODOO_UNAVAILABLE', /answered HTTP 503/],
    [504, page(504, 'Gateway Timeout'), 'transient', 'ODOO_UNAVAILABLE', /answered HTTP 504/],
    [429, page(429, 'Too Many Requests'), 'transient', 'ODOO_UNAVAILABLE', /answered HTTP 429/],
    [405, page(405, 'Method Not Allowed'), 'permanent', 'ODOO_HTTP_ERROR', /answered HTTP 405 to res\.partner\.create; check ODOO_URL$/],
    [200, page(200, 'Please log in'), 'transient', 'ODOO_BAD_RESPONSE', /answered res\.partner\.create with a body that is not JSON \(HTTP 200, text\/html/],
    [200, '[{"id": 1, "na', 'transient', 'ODOO_BAD_RESPONSE', /with a body that is not JSON \(HTTP 200, application\/json/],
  ] as const)('HTTP %i %j → %s %s', async (status, body, kind, code, message) => {
    server.handler = (_request, response) => {
      if (typeof body === 'string')
        response.writeHead(status, { 'Content-Type': body.startsWith('<') ? 'text/html; charset=utf-8' : 'application/json' }).end(body);
      else json(response, status, body);
    };
    const error = await failure(client().call({ model: 'res.partner', method: 'create', params: { vals_list: { name: 'Erika' } } }));
    expect(error).toMatchObject({ kind, code, status });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(API_KEY);
    // A write is sent once, whatever the answer.
    expect(server.seen).toHaveLength(1);
  });

  it('keeps the exception Odoo named, so a missing method or field is recognised as over XML-RPC', async () => {
    server.handler = (_request, response) =>
      json(response, 404, odooError('werkzeug.exceptions.NotFound', "The method 'account.move.reversal.frobnicate' does not exist"));
    const method = await failure(client().call({ model: 'account.move.reversal', method: 'frobnicate', ids: [1] }));
    expect(isMissingMethod(method, 'frobnicate')).toBe(true);
    expect(method.exception).toEqual({ name: 'werkzeug.exceptions.NotFound', message: "The method 'account.move.reversal.frobnicate' does not exist" });

    server.handler = (_request, response) =>
      json(response, 500, odooError('builtins.ValueError', "Invalid field account.payment.memo in condition ('memo', 'in', ['pi_1'])"));
    const field = await failure(client().call({ model: 'account.payment', method: 'search_read', params: { domain: [['memo', 'in', ['pi_1']]] } }));
    expect(field).toMatchObject({ kind: 'permanent', code: 'ODOO_INVALID_VALUE' });
    expect(isUnknownField(field, 'memo')).toBe(true);
    expect(isMissingMethod(field, 'memo')).toBe(false);

    server.handler = (_request, response) => json(response, 422, odooError('odoo.exceptions.UserError', 'The method does not exist here'));
    expect(isMissingMethod(await failure(client().call({ model: 'account.move', method: 'action_post', ids: [1] })), 'action_post')).toBe(false);
  });

  it('passes on how long Odoo asked us to wait (Retry-After)', async () => {
    server.handler = (_request, response) => response.writeHead(503, { 'Retry-After': '7' }).end();
    const error = await failure(client().call({ model: 'res.partner', method: 'search_count', params: { domain: [] } }));
    expect(error).toMatchObject({ kind: 'transient', code: 'ODOO_UNAVAILABLE', retryAfterMs: 7_000 });
  });

  it('does not follow a redirect: ODOO_URL is not the endpoint', async () => {
    server.handler = (_request, response) => response.writeHead(301, { Location: 'https://erp.example.com/json/2/res.partner/create' }).end();
    const error = await failure(client().call({ model: 'res.partner', method: 'create', params: { vals_list: { name: 'x' } } }));
    expect(error).toMatchObject({ kind: 'permanent', code: 'ODOO_HTTP_ERROR' });
    expect(error.message).toMatch(/answered HTTP 301 to https:\/\/erp\.example\.com\/json\/2\/res\.partner\/create to res\.partner\.create; check ODOO_URL$/);
    expect(server.seen).toHaveLength(1);
  });

  it('gives up after the timeout with a transient error', async () => {
    server.handler = (_request, response) => setTimeout(() => json(response, 200, 1), 3_000).unref();
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 150 }).call({ model: 'res.partner', method: 'search_count', params: { domain: [] } }));
    expect(error).toMatchObject({
      kind: 'transient',
      code: 'ODOO_UNAVAILABLE',
      message: expect.stringMatching(/did not answer res\.partner\.search_count within 150 ms$/),
    });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('sends a read once more when its connection dropped, never a write', async () => {
    let drops = 1;
    server.handler = (_request, response) => {
      if (drops-- > 0) response.socket?.destroy();
      else json(response, 200, 3);
    };
    await expect(client().call({ model: 'res.partner', method: 'search_count', params: { domain: [] } })).resolves.toBe(3);
    expect(server.seen).toHaveLength(2);

    server.seen.length = 0;
    drops = 5;
    const read = await failure(client().call({ model: 'res.partner', method: 'search_count', params: { domain: [] } }));
    expect(read).toMatchObject({ kind: 'transient', code: 'ODOO_UNAVAILABLE', connectionLost: true });
    expect(read.message).toMatch(/is unreachable during res\.partner\.search_count \(/);
    expect(server.seen).toHaveLength(2);

    server.seen.length = 0;
    drops = 1;
    const write = await failure(client().call({ model: 'res.partner', method: 'create', params: { vals_list: { name: 'x' } } }));
    expect(write).toMatchObject({ kind: 'transient', code: 'ODOO_UNAVAILABLE' });
    expect(server.seen).toHaveLength(1);
  });

  it('maps a refused connection to transient, sent once', async () => {
    const error = await failure(
      new OdooJson2Client({ url: `http://127.0.0.1:${await freePort()}`, apiKey: API_KEY }).call({
        model: 'res.partner',
        method: 'search_count',
        params: { domain: [] },
      }),
    );
    expect(error).toMatchObject({ kind: 'transient', code: 'ODOO_UNAVAILABLE', connectionLost: false, message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it.each([
    [
      'a lone surrogate',
      'Erika \ud800Mustermann',
      /^res\.partner\.create was not sent to Odoo: body\.vals_list\.name holds a lone UTF-16 surrogate, which is not text$/,
    ],
    [
      'a NUL',
      'Erika\u0000Mustermann',
      /^res\.partner\.create was not sent to Odoo: body\.vals_list\.name holds a NUL character, which Odoo's database cannot store$/,
    ],
  ])('refuses %s permanently, before sending it', async (_what, name, message) => {
    const error = await failure(client().call({ model: 'res.partner', method: 'create', params: { vals_list: { name } } }));
    expect(error).toMatchObject({ kind: 'permanent', code: 'ODOO_INVALID_REQUEST' });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('Mustermann');
    expect(server.seen).toEqual([]);
  });

  it('sends what JSON carries and XML-RPC cannot (control characters, an emoji) as it is', async () => {
    server.handler = (_request, response) => json(response, 200, [42]);
    await expect(client().call({ model: 'res.partner', method: 'create', params: { vals_list: { name: 'Erika\u001b 🚗 \uffff' } } })).resolves.toEqual([42]);
    expect(JSON.parse(server.seen[0]?.body ?? '')).toEqual({ vals_list: { name: 'Erika\u001b 🚗 \uffff' } });
  });

  it('refuses at construction a key that cannot travel as a header, without quoting it', () => {
    const build = () => new OdooJson2Client({ url: server.url, apiKey: 'key-1\r\nX-Injected: yes' });
    expect(build).toThrow('ODOO_PASSWORD must be an API key of printable ASCII characters for ODOO_API=json2');
  });

  it('checks the credentials with one cheap call; health names the refusal without the key', async () => {
    server.handler = (request, response) =>
      request.headers.authorization === `bearer ${API_KEY}`
        ? json(response, 200, 7)
        : json(response, 401, odooError('werkzeug.exceptions.Unauthorized', 'Invalid apikey'), { 'WWW-Authenticate': 'Bearer' });
    const connection = { api: 'json2', url: server.url, db: 'prod', password: API_KEY } as const;
    await expect(odooCredentialProbe(connection)(new AbortController().signal)).resolves.toEqual({ ok: true });
    expect(server.seen.map((seen) => [seen.path, JSON.parse(seen.body)])).toEqual([['/json/2/res.currency/search_count', { domain: [], limit: 1 }]]);
    const refused = await odooCredentialProbe({ ...connection, password: 'revoked-key' })(new AbortController().signal);
    expect(refused).toEqual({
      ok: false,
      reason: 'Odoo rejected the API key for database prod (check ODOO_PASSWORD: with ODOO_API=json2 it holds an API key of the integration user)',
    });
  });
});

// ---- the sandbox's JSON-2 face

describe('OdooJson2Client against the Odoo sandbox', () => {
  let sandbox: OdooSandbox;
  beforeAll(async () => {
    sandbox = await OdooSandbox.start({ port: 0, logFile: false, users: { admin: 'admin', viewer: 'viewer' }, readOnlyUsers: ['viewer'] });
  });
  afterAll(() => sandbox.stop());
  afterEach(() => sandbox.reset());

  const client = (settings: Partial<OdooJson2Settings> = {}) =>
    new OdooJson2Client({ url: sandbox.url, apiKey: 'admin', db: 'sandbox', timeoutMs: 5_000, ...settings });

  it('creates, reads and finds records by named arguments; create answers the new ids', async () => {
    const odoo = client();
    const before = sandbox.calls('json2');
    const ids = await odoo.call({ model: 'res.partner', method: 'create', params: { vals_list: { name: 'Erika Mustermann', email: 'erika@example.de' } } });
    expect(ids).toEqual([expect.any(Number)]);
    const [id] = ids as [number];
    await expect(odoo.call({ model: 'res.partner', method: 'read', ids: [id], params: { fields: ['name', 'email'] } })).resolves.toEqual([
      { id, name: 'Erika Mustermann', email: 'erika@example.de' },
    ]);
    await expect(
      odoo.call({ model: 'res.partner', method: 'search_read', params: { domain: [['email', '=ilike', 'ERIKA@example.de']], fields: ['name'] } }),
    ).resolves.toEqual([{ id, name: 'Erika Mustermann' }]);
    // No login: three calls, three requests.
    expect(sandbox.calls('json2') - before).toBe(3);
    expect(odoo.callCount).toBe(3);
  });

  it('reports a wrong key, an unknown database, model and method, and a missing right as permanent errors', async () => {
    const wrongKey = await failure(client({ apiKey: 'wrong' }).call({ model: 'res.partner', method: 'search_count', params: { domain: [] } }));
    expect(wrongKey).toMatchObject({ kind: 'permanent', code: 'ODOO_BAD_CREDENTIALS', status: 401 });
    expect(wrongKey.message).not.toContain('wrong');

    const otherDb = await failure(client({ db: 'nope' }).call({ model: 'res.partner', method: 'search_count', params: { domain: [] } }));
    expect(otherDb).toMatchObject({ kind: 'permanent', code: 'ODOO_NOT_FOUND', message: expect.stringMatching(/has no Odoo JSON-2 endpoint/) });

    const model = await failure(client().call({ model: 'sale.nothing', method: 'search', params: { domain: [] } }));
    expect(model).toMatchObject({
      kind: 'permanent',
      code: 'ODOO_NOT_FOUND',
      message: "Odoo has no sale.nothing.search: the model 'sale.nothing' does not exist",
    });

    const method = await failure(client().call({ model: 'account.move.reversal', method: 'frobnicate', ids: [1] }));
    expect(method).toMatchObject({ kind: 'permanent', code: 'ODOO_NOT_FOUND' });
    expect(isMissingMethod(method, 'frobnicate')).toBe(true);

    const access = await failure(client({ apiKey: 'viewer' }).call({ model: 'res.partner', method: 'create', params: { vals_list: { name: 'x' } } }));
    expect(access).toMatchObject({ kind: 'permanent', code: 'ODOO_ACCESS_ERROR', status: 403 });
    expect(access.message).toMatch(/^The API key's Odoo user lacks the rights for res\.partner\.create: You are not allowed to create 'Contact'/);

    const args = await failure(client().call({ model: 'res.partner', method: 'create', params: { values: { name: 'x' } } }));
    expect(args).toMatchObject({ kind: 'permanent', code: 'ODOO_INVALID_REQUEST', status: 422 });
  });

  it.each([
    ['http500', 'transient', 'ODOO_UNAVAILABLE', /answered HTTP 500 to res\.partner\.create$/],
    ['disconnect', 'transient', 'ODOO_UNAVAILABLE', /unreachable during res\.partner\.create/],
    ['lostResponse', 'transient', 'ODOO_UNAVAILABLE', /unreachable during res\.partner\.create/],
    ['fault', 'transient', 'ODOO_CONCURRENT_UPDATE', /could not serialize access due to concurrent update$/],
    [
      'validation',
      'permanent',
      'ODOO_USER_ERROR',
      /^Odoo refused res\.partner\.create: The operation cannot be completed: Contact names must not contain control characters\.$/,
    ],
    [
      'valueError',
      'permanent',
      'ODOO_INVALID_VALUE',
      /^Odoo refused a value in res\.partner\.create: ValueError: A string literal cannot contain NUL \(0x00\) characters\.$/,
    ],
    ['parseError', 'permanent', 'ODOO_INVALID_REQUEST', /^Odoo could not read our request for res\.partner\.create: could not parse the body as json/],
    ['http400', 'permanent', 'ODOO_BAD_REQUEST', /refused res\.partner\.create as a bad request \(HTTP 400\)$/],
  ] as const)('maps an injected %s on a write to %s %s, sent once (as over XML-RPC)', async (kind, errorKind, code, message) => {
    const odoo = client();
    sandbox.failNext(1, kind);
    const before = sandbox.calls('json2');
    const error = await failure(odoo.call({ model: 'res.partner', method: 'create', params: { vals_list: { name: `write ${kind}` } } }));
    expect(error).toMatchObject({ kind: errorKind, code });
    expect(error.message).toMatch(message);
    expect(sandbox.calls('json2') - before).toBe(1);
    await expect(odoo.call({ model: 'res.partner', method: 'search_count', params: { domain: [] } })).resolves.toEqual(expect.any(Number));
  });

  it('sends a read once more when its connection dropped, but not twice', async () => {
    const odoo = client();
    sandbox.failNext(1, 'disconnect');
    await expect(odoo.call({ model: 'res.partner', method: 'search_count', params: { domain: [] } })).resolves.toEqual(expect.any(Number));
    sandbox.failNext(2, 'lostResponse');
    await expect(failure(odoo.call({ model: 'res.partner', method: 'search_count', params: { domain: [] } }))).resolves.toMatchObject({
      kind: 'transient',
      code: 'ODOO_UNAVAILABLE',
    });
  });

  it('gives up after the timeout with a transient error', async () => {
    sandbox.setLatency(5_000);
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 150 }).call({ model: 'res.partner', method: 'search_count', params: { domain: [] } }));
    expect(error).toMatchObject({ kind: 'transient', code: 'ODOO_UNAVAILABLE', message: expect.stringMatching(/within 150 ms$/) });
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('answers the credential check, and health names a refused key', async () => {
    const connection = { api: 'json2', url: sandbox.url, db: 'sandbox', password: 'admin' } as const;
    await expect(odooCredentialProbe(connection)(new AbortController().signal)).resolves.toEqual({ ok: true });
    await expect(odooCredentialProbe({ ...connection, password: 'wrong' })(new AbortController().signal)).resolves.toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^Odoo rejected the API key for database sandbox/),
    });
  });
});
