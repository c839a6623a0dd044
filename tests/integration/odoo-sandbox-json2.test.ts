/**
 * Conformance suite for the Odoo sandbox's JSON-2 face (`POST /json/2/<model>/<method>`), driven with
 * plain fetch: every method the Odoo sync uses by its named arguments, Odoo 19's statuses and error
 * body, bearer authentication and the database header, one store behind both faces (checked with
 * the `xmlrpc` client the app uses), fault injection and the write log.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import xmlrpc from 'xmlrpc';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OdooSandbox } from '../../local/odoo-sandbox';

const TODAY = '2026-06-15';
const DB = 'sandbox';

interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: T;
}

/** Odoo 19's JSON-2 error body (`odoo.http.serialize_exception`). */
interface ErrorBody {
  name: string;
  message: string;
  arguments: unknown[];
  context: Record<string, unknown>;
  debug: string;
}

interface Options {
  key?: string | null;
  db?: string;
  headers?: Record<string, string>;
  method?: string;
  /** Sent as is instead of JSON. */
  raw?: string;
}

let tmp: string;
let logFile: string;
let sandbox: OdooSandbox;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'odoo-sandbox-json2-'));
  logFile = join(tmp, 'odoo.jsonl');
  sandbox = await OdooSandbox.start({
    port: 0,
    logFile,
    today: () => TODAY,
    apiKeys: ['key-123'],
    users: { admin: 'admin', auditor: 'audit' },
    readOnlyUsers: ['auditor'],
  });
});

afterAll(async () => {
  await sandbox?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => sandbox.reset());

/** Sends one request under `/json/2` (bearer `admin` unless told otherwise). */
async function send<T = unknown>(path: string, body: unknown, options: Options = {}): Promise<Answer<T>> {
  const { key = 'admin', db, method = 'POST' } = options;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    ...(key !== null && { Authorization: `bearer ${key}` }),
    ...(db !== undefined && { 'X-Odoo-Database': db }),
    ...options.headers,
  };
  const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const response = await fetch(`${sandbox.url}${path}`, { method, headers, body: method === 'GET' ? undefined : payload });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // an HTML page
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

const json2 = <T = unknown>(model: string, method: string, body: Record<string, unknown> = {}, options: Options = {}) =>
  send<T>(`/json/2/${model}/${method}`, body, options);

/** A call that must succeed: its result. */
async function ok<T = unknown>(model: string, method: string, body: Record<string, unknown> = {}, options: Options = {}): Promise<T> {
  const answer = await json2<T>(model, method, body, options);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return answer.body;
}

/** A call that must fail with Odoo's JSON error body: status and body. */
async function error(model: string, method: string, body: Record<string, unknown> = {}, options: Options = {}): Promise<Answer<ErrorBody>> {
  const answer = await json2<ErrorBody>(model, method, body, options);
  expect(answer.status).toBeGreaterThanOrEqual(400);
  expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(Object.keys(answer.body).sort()).toEqual(['arguments', 'context', 'debug', 'message', 'name']);
  expect(answer.body.debug).toMatch(/^Traceback \(most recent call last\):\n/);
  return answer;
}

/** execute_kw over XML-RPC as admin, with the client the app uses. */
function kw<T = unknown>(model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<T> {
  const client = xmlrpc.createClient({ host: '127.0.0.1', port: sandbox.port, path: '/xmlrpc/2/object' });
  return new Promise((resolve, reject) =>
    client.methodCall('execute_kw', [DB, 2, 'admin', model, method, args, kwargs], (failure, value) => (failure ? reject(failure) : resolve(value as T))),
  );
}

const unique = (): string => Math.random().toString(36).slice(2, 10);
const line = (name: string, quantity: number, price_unit: number) => [0, 0, { name, quantity, price_unit }];
const moveContext = (ids: number[]) => ({ active_model: 'account.move', active_ids: ids });

async function createPartner(values: Record<string, unknown> = {}): Promise<number> {
  const [id] = await ok<number[]>('res.partner', 'create', { vals_list: [{ name: `Customer ${unique()}`, ...values }] });
  return id as number;
}

async function postedInvoice(): Promise<number> {
  const partner = await createPartner();
  const [id] = await ok<number[]>('account.move', 'create', {
    vals_list: [
      { move_type: 'out_invoice', partner_id: partner, ref: `bk_${unique()}`, invoice_line_ids: [line('Inspection', 2, 59.5), line('Pick-up', 1, 10)] },
    ],
  });
  await ok('account.move', 'action_post', { ids: [id] });
  return id as number;
}

async function readMove(id: number, fields: string[]): Promise<Record<string, unknown>> {
  const [move] = await ok<Record<string, unknown>[]>('account.move', 'read', { ids: [id], fields });
  return move as Record<string, unknown>;
}

/** Pays a posted invoice through the Register Payment wizard over JSON-2; the payment's id. */
async function pay(invoice: number, values: Record<string, unknown> = {}): Promise<number> {
  const context = moveContext([invoice]);
  const [wizard] = await ok<number[]>('account.payment.register', 'create', { vals_list: [values], context });
  const action = await ok<{ res_id: number }>('account.payment.register', 'action_create_payments', { ids: [wizard], context });
  return action.res_id;
}

// --- the ORM over JSON-2 --------------------------------------------------------------------------

describe('ORM methods by name', () => {
  it('create takes a list of dicts or one dict and answers ids (a list either way); read takes ids and fields', async () => {
    const email = `json2-${unique()}@example.com`;
    const ids = await ok<number[]>('res.partner', 'create', {
      vals_list: [
        { name: 'A', email },
        { name: 'B', email },
      ],
    });
    expect(ids).toEqual([expect.any(Number), expect.any(Number)]);
    const single = await ok<number[]>('res.partner', 'create', { vals_list: { name: 'C', email } });
    expect(single).toEqual([expect.any(Number)]);
    expect(await ok('res.partner', 'read', { ids: [...ids, ...single], fields: ['name', 'email', 'phone'] })).toEqual([
      { id: ids[0], name: 'A', email, phone: false },
      { id: ids[1], name: 'B', email, phone: false },
      { id: single[0], name: 'C', email, phone: false },
    ]);
  });

  it('search, search_read and search_count take domain, fields, offset, limit and order', async () => {
    const email = `find-${unique()}@example.com`;
    const ids = await ok<number[]>('res.partner', 'create', { vals_list: ['Zed', 'Amy', 'Kim'].map((name) => ({ name, email })) });
    const domain = [['email', '=ilike', email.toUpperCase()]];
    expect(await ok('res.partner', 'search', { domain, order: 'name asc' })).toEqual([ids[1], ids[2], ids[0]]);
    expect(await ok('res.partner', 'search_read', { domain, fields: ['name'], order: 'name desc', offset: 1, limit: 1 })).toEqual([
      { id: ids[2], name: 'Kim' },
    ]);
    expect(await ok('res.partner', 'search_count', { domain })).toBe(3);
    expect(await ok('res.partner', 'search_count', { domain, limit: 2 })).toBe(2);
    expect(await ok('res.partner', 'search', { domain: [['email', '=', 'nobody@example.com']] })).toEqual([]);
  });

  it('write and unlink take ids; a record that is gone is a MissingError (404)', async () => {
    const id = await createPartner();
    expect(await ok('res.partner', 'write', { ids: [id], vals: { phone: '+49 30 1234' } })).toBe(true);
    expect(await ok('res.partner', 'read', { ids: [id], fields: ['phone'] })).toEqual([{ id, phone: '+49 30 1234' }]);
    expect(await ok('res.partner', 'unlink', { ids: [id] })).toBe(true);
    const { status, body } = await error('res.partner', 'read', { ids: [id], fields: ['name'] });
    expect(status).toBe(404);
    expect(body).toMatchObject({ name: 'odoo.exceptions.MissingError', arguments: [body.message], context: {} });
    expect(body.message).toBe(`Record does not exist or has been deleted.\n(Record: res.partner(${id},), User: 2)`);
  });

  it('fields_get takes attributes', async () => {
    const fields = await ok<Record<string, Record<string, unknown>>>('account.move', 'fields_get', { attributes: ['type', 'string'] });
    expect(fields.payment_state).toEqual({ type: 'selection', string: 'Payment Status' });
  });

  it('carries the context: default_<field> values, and the read of archived records with active_test', async () => {
    const id = await createPartner({ active: false });
    const [withDefault] = await ok<number[]>('res.partner', 'create', { vals_list: [{ name: 'Defaulted' }], context: { default_lang: 'de_DE' } });
    expect(await ok('res.partner', 'read', { ids: [withDefault], fields: ['lang'] })).toEqual([{ id: withDefault, lang: 'de_DE' }]);
    expect(await ok('res.partner', 'search', { domain: [['id', '=', id]] })).toEqual([]);
    expect(await ok('res.partner', 'search', { domain: [['id', '=', id]], context: { active_test: false } })).toEqual([id]);
  });

  it("res.users/context_get names the key's user (JSON-2 has no login)", async () => {
    expect(await ok('res.users', 'context_get')).toEqual({ lang: 'en_US', tz: false, uid: 2 });
    expect(await ok('res.users', 'context_get', {}, { key: 'audit' })).toMatchObject({ uid: 3 });
    expect(await ok('res.users', 'search_read', { domain: [['login', '=', 'admin']], fields: ['login'] })).toEqual([{ id: 2, login: 'admin' }]);
  });
});

// --- accounting over JSON-2 -----------------------------------------------------------------------

describe('accounting methods', () => {
  it('posts an invoice (action_post with ids answers false) and pays it through the wizard with active_model/active_ids in the context', async () => {
    const id = await postedInvoice();
    expect(await readMove(id, ['state', 'name', 'amount_total'])).toEqual({
      id,
      state: 'posted',
      name: expect.stringMatching(/^INV\/2026\/\d{5}$/),
      amount_total: 129,
    });
    const payment = await pay(id, { communication: 'bk_1 card' });
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'paid', amount_residual: 0 });
    expect(await ok('account.payment', 'read', { ids: [payment], fields: ['amount', 'memo', 'state'] })).toEqual([
      { id: payment, amount: 129, memo: 'bk_1 card', state: 'posted' },
    ]);
  });

  it('action_create_payments answers the action that opens the payment', async () => {
    const id = await postedInvoice();
    const context = moveContext([id]);
    const [wizard] = await ok<number[]>('account.payment.register', 'create', { vals_list: [{}], context });
    expect(await ok('account.payment.register', 'action_create_payments', { ids: [wizard], context })).toMatchObject({
      type: 'ir.actions.act_window',
      res_model: 'account.payment',
      view_mode: 'form',
      res_id: expect.any(Number),
    });
  });

  it('cancels a payment: action_draft reopens the invoice, action_cancel cancels the payment (both answer null)', async () => {
    const id = await postedInvoice();
    const payment = await pay(id);
    expect(await ok('account.payment', 'action_draft', { ids: [payment] })).toBeNull();
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'not_paid', amount_residual: 129 });
    expect(await ok('account.payment', 'action_cancel', { ids: [payment] })).toBeNull();
    const [cancelled] = await ok<Record<string, unknown>[]>('account.payment', 'read', { ids: [payment], fields: ['state', 'move_id'] });
    expect(cancelled?.state).toBe('cancel');
    expect(await readMove((cancelled!.move_id as [number, string])[0], ['state'])).toMatchObject({ state: 'cancel' });
    // The invoice can be paid again.
    await pay(id);
    expect(await readMove(id, ['payment_state'])).toMatchObject({ payment_state: 'paid' });
  });

  it('button_draft and button_cancel take a posted invoice back and cancel it; the number stays', async () => {
    const id = await postedInvoice();
    const { name } = await readMove(id, ['name']);
    expect(await ok('account.move', 'button_draft', { ids: [id] })).toBeNull();
    expect(await readMove(id, ['state', 'name'])).toEqual({ id, state: 'draft', name });
    expect(await ok('account.move', 'button_cancel', { ids: [id] })).toBeNull();
    expect(await readMove(id, ['state'])).toEqual({ id, state: 'cancel' });
    const { status, body } = await error('account.move', 'button_cancel', { ids: [id] });
    expect([status, body.name, body.message]).toEqual([422, 'odoo.exceptions.UserError', 'Only draft journal entries can be cancelled.']);
  });

  it('button_cancel straight from posted undoes the payment, as Odoo resets it to draft first', async () => {
    const id = await postedInvoice();
    await pay(id);
    await ok('account.move', 'button_cancel', { ids: [id] });
    expect(await readMove(id, ['state', 'payment_state', 'amount_residual'])).toEqual({ id, state: 'cancel', payment_state: 'not_paid', amount_residual: 129 });
  });

  it('reverses through the wizard: refund_moves, reverse_moves and modify_moves take the wizard ids', async () => {
    const reverse = async (method: string): Promise<{ invoice: number; action: Record<string, unknown> }> => {
      const invoice = await postedInvoice();
      const [wizard] = await ok<number[]>('account.move.reversal', 'create', { vals_list: [{ reason: 'cancelled' }], context: moveContext([invoice]) });
      return { invoice, action: await ok<Record<string, unknown>>('account.move.reversal', method, { ids: [wizard] }) };
    };
    for (const method of ['refund_moves', 'reverse_moves']) {
      const { invoice, action } = await reverse(method);
      expect(action).toMatchObject({ res_model: 'account.move', view_mode: 'form', context: { default_move_type: 'out_refund' } });
      expect(await readMove(action.res_id as number, ['move_type', 'state', 'reversed_entry_id'])).toMatchObject({
        move_type: 'out_refund',
        state: 'posted',
        reversed_entry_id: [invoice, expect.any(String)],
      });
      expect(await readMove(invoice, ['payment_state'])).toMatchObject({ payment_state: 'reversed' });
    }
    const { action } = await reverse('modify_moves');
    expect(await readMove(action.res_id as number, ['move_type', 'state'])).toMatchObject({ move_type: 'out_invoice', state: 'draft' });
  });
});

// --- errors ----------------------------------------------------------------------------------------

describe('named arguments and the call', () => {
  it('refuses arguments that do not bind with 422 UnprocessableEntity, in the words of inspect.Signature.bind', async () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['res.partner', 'search', { domain: [], count: true }, "got an unexpected keyword argument 'count'"],
      ['res.partner', 'search', {}, "missing a required argument: 'domain'"],
      ['res.partner', 'create', {}, "missing a required argument: 'vals_list'"],
      ['res.partner', 'search_read', { args: [[]] }, "got an unexpected keyword argument 'args'"],
      ['account.move', 'action_post', { ids: [1], force: true }, "got an unexpected keyword argument 'force'"],
      ['res.partner', 'create', { ids: [1], vals_list: [] }, 'cannot call res.partner.create with ids'],
    ];
    for (const [model, method, body, message] of cases) {
      const { status, body: answer } = await error(model, method, body);
      expect({ status, answer }).toEqual({
        status: 422,
        answer: expect.objectContaining({ name: 'werkzeug.exceptions.UnprocessableEntity', message, arguments: [message, 422], context: {} }),
      });
    }
  });

  it('answers 404 for an unknown model or method and 403 for a private method', async () => {
    expect((await error('sale.order', 'search', { domain: [] })).body).toMatchObject({
      name: 'werkzeug.exceptions.NotFound',
      message: "the model 'sale.order' does not exist",
      arguments: ["the model 'sale.order' does not exist", 404],
    });
    const unknown = await error('account.move', 'action_fly', { ids: [1] });
    expect([unknown.status, unknown.body.message]).toEqual([404, "The method 'account.move.action_fly' does not exist"]);
    const hidden = await error('account.move', '_post', { ids: [1] });
    expect([hidden.status, hidden.body.name, hidden.body.message]).toEqual([
      403,
      'odoo.exceptions.AccessError',
      "Private methods (such as 'account.move._post') cannot be called remotely.",
    ]);
  });

  it("answers Odoo's exceptions with their status: UserError and ValidationError 422, AccessError 403, others 500", async () => {
    const posted = await postedInvoice();
    const twice = await error('account.move', 'action_post', { ids: [posted] });
    expect([twice.status, twice.body.name]).toEqual([422, 'odoo.exceptions.UserError']);
    expect(twice.body.message).toMatch(/must be in draft/);
    expect(twice.body.debug.trimEnd().split('\n').at(-1)).toBe(`odoo.exceptions.UserError: ${twice.body.message}`);

    const nameless = await error('res.partner', 'create', { vals_list: [{ email: 'x@example.com' }] });
    expect([nameless.status, nameless.body.name, nameless.body.message]).toEqual([
      422,
      'odoo.exceptions.ValidationError',
      'The operation cannot be completed: Contacts require a name',
    ]);

    const denied = await error('res.partner', 'create', { vals_list: [{ name: 'Nope' }] }, { key: 'audit' });
    expect([denied.status, denied.body.name]).toEqual([403, 'odoo.exceptions.AccessError']);
    expect(denied.body.message).toMatch(/^You are not allowed to create 'Contact' \(res\.partner\) records\./);

    const field = await error('res.partner', 'search_read', { domain: [], fields: ['name', 'x'] });
    expect([field.status, field.body.name, field.body.message]).toEqual([500, 'builtins.ValueError', "Invalid field 'x' on model 'res.partner'"]);
    expect(field.body.debug.trimEnd().split('\n').at(-1)).toBe("ValueError: Invalid field 'x' on model 'res.partner'");
  });

  it('runs a call in one transaction: a failing line leaves no invoice behind', async () => {
    const before = sandbox.records('account.move').length;
    const partner = await createPartner();
    await error('account.move', 'create', {
      vals_list: [{ move_type: 'out_invoice', partner_id: partner, invoice_line_ids: [line('ok', 1, 1), [0, 0, { price_unit: 'x' }]] }],
    });
    expect(sandbox.records('account.move')).toHaveLength(before);
  });

  it('answers a body that is not JSON, or not an object, with 400 BadRequest', async () => {
    const broken = await send<ErrorBody>('/json/2/res.partner/search', undefined, { raw: '{"domain": [' });
    expect([broken.status, broken.body.name]).toEqual([400, 'werkzeug.exceptions.BadRequest']);
    expect(broken.body.message).toMatch(/^could not parse the body as json: /);
    const list = await send<ErrorBody>('/json/2/res.partner/search', [[]]);
    expect([list.status, list.body.message]).toEqual([400, 'could not parse the body, expecting a json object']);
    // An empty body is no argument at all.
    expect(await send('/json/2/res.users/context_get', undefined)).toMatchObject({ status: 200, body: { uid: 2 } });
  });

  it('refuses a Content-Type other than application/json before JSON-2 runs (Werkzeug 400 page)', async () => {
    const answer = await json2('res.partner', 'search', { domain: [] }, { headers: { 'Content-Type': 'text/plain' } });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.body).toContain("Request inferred type is compatible with ['http'] but '/json/2/rpc' was forced.");
  });

  it('answers any other method or path under /json/2 with its catch-all 404', async () => {
    for (const [path, method] of [
      ['/json/2/res.partner/search', 'GET'],
      ['/json/2/res.partner', 'POST'],
      ['/json/2', 'POST'],
      ['/json/2/res.partner/search/extra', 'POST'],
    ] as const) {
      const answer = await send<ErrorBody>(path, {}, { method, key: null });
      expect({ path, method, status: answer.status, message: answer.body.message }).toEqual({
        path,
        method,
        status: 404,
        message: 'Did you mean POST /json/2/<model>/<method>?',
      });
    }
  });
});

describe('authentication and database', () => {
  it("answers a missing or unknown key with 401 as in Odoo's documentation, with a bearer challenge", async () => {
    const missing = await error('res.partner', 'search', { domain: [] }, { key: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.body).toMatchObject({ name: 'werkzeug.exceptions.Unauthorized', message: 'User not authenticated, use the "Authorization" header' });

    const invalid = await error('res.partner', 'search', { domain: [] }, { key: 'nope' });
    expect(invalid.status).toBe(401);
    expect(invalid.body).toMatchObject({
      name: 'werkzeug.exceptions.Unauthorized',
      message: 'Invalid apikey',
      arguments: ['Invalid apikey', 401],
      context: {},
    });
    expect(invalid.body.debug).toContain('in _auth_method_bearer');
    expect(invalid.body.debug.trimEnd().split('\n').at(-1)).toBe('werkzeug.exceptions.Unauthorized: 401 Unauthorized: Invalid apikey');

    const basic = await error('res.partner', 'search', { domain: [] }, { key: null, headers: { Authorization: 'Basic YWRtaW46YWRtaW4=' } });
    expect(basic.status).toBe(401);
    // Authentication comes before the body is read.
    expect((await send('/json/2/res.partner/search', undefined, { key: 'nope', raw: '{' })).status).toBe(401);
  });

  it("takes a user's password (admin) or an issued API key, with the scheme in any case", async () => {
    expect(await ok('res.users', 'context_get', {}, { key: 'key-123' })).toMatchObject({ uid: 2 });
    expect(await ok('res.users', 'context_get', {}, { key: null, headers: { Authorization: 'Bearer admin' } })).toMatchObject({ uid: 2 });
  });

  it('uses X-Odoo-Database when sent; another database leaves no JSON-2 route (Werkzeug 404 page)', async () => {
    expect(await ok('res.partner', 'search_count', { domain: [] }, { db: DB })).toBeGreaterThan(0);
    const other = await json2('res.partner', 'search_count', { domain: [] }, { db: 'production' });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(other.body).toContain('<title>404 Not Found</title>');
  });

  it('answers GET /web/version without a key', async () => {
    const answer = await send('/web/version', undefined, { method: 'GET', key: null });
    expect(answer).toMatchObject({ status: 200, body: { version: '17.0', version_info: [17, 0, 0, 'final', 0, ''] } });
  });
});

// --- one store, two faces --------------------------------------------------------------------------

describe('one store behind XML-RPC and JSON-2', () => {
  it('reads over XML-RPC what JSON-2 wrote, and the other way round', async () => {
    const email = `both-${unique()}@example.com`;
    const [fromJson2] = await ok<number[]>('res.partner', 'create', { vals_list: [{ name: 'Written over JSON-2', email }] });
    expect(await kw('res.partner', 'search_read', [[['email', '=', email]]], { fields: ['name'] })).toEqual([{ id: fromJson2, name: 'Written over JSON-2' }]);

    const fromXmlrpc = await kw<number>('account.move', 'create', [
      { move_type: 'out_invoice', partner_id: fromJson2, invoice_line_ids: [line('Service', 1, 80)] },
    ]);
    await ok('account.move', 'action_post', { ids: [fromXmlrpc] });
    const [posted] = await kw<Record<string, unknown>[]>('account.move', 'read', [[fromXmlrpc], ['state', 'name', 'partner_id']]);
    expect(posted).toMatchObject({ state: 'posted', name: expect.stringMatching(/^INV\//), partner_id: [fromJson2, 'Written over JSON-2'] });

    const payment = await pay(fromXmlrpc);
    const payments = await kw<Record<string, unknown>[]>('account.payment', 'search_read', [[['reconciled_invoice_ids', 'in', [fromXmlrpc]]]], {
      fields: ['amount'],
    });
    expect(payments).toEqual([{ id: payment, amount: 80 }]);
  });

  it('a method returning None over XML-RPC has run but answers fault 1 "cannot marshal None"; JSON-2 answers null', async () => {
    const invoice = await postedInvoice();
    const failure = await kw('account.move', 'button_draft', [[invoice]]).then(
      () => undefined,
      (caught: { faultCode?: number; faultString?: string }) => caught,
    );
    expect(failure?.faultCode).toBe(1);
    expect(failure?.faultString?.trimEnd().split('\n').at(-1)).toBe('TypeError: cannot marshal None unless allow_none is enabled');
    expect(await readMove(invoice, ['state'])).toMatchObject({ state: 'draft' });
    expect(await ok('account.move', 'button_cancel', { ids: [invoice] })).toBeNull();
  });
});

// --- fault injection ------------------------------------------------------------------------------

describe('fault injection over JSON-2', () => {
  const partners = () => sandbox.records('res.partner').length;

  it('answers each kind in JSON-2 form; nothing runs', async () => {
    const before = partners();
    const create = { vals_list: [{ name: 'Never' }] };
    sandbox.failNext(1, 'fault');
    const transient = await error('res.partner', 'create', create);
    expect([transient.status, transient.body.name, transient.body.message]).toEqual([
      500,
      'psycopg2.errors.SerializationFailure',
      'could not serialize access due to concurrent update',
    ]);
    sandbox.failNext(1, 'validation');
    expect((await error('res.partner', 'create', create)).body).toMatchObject({ name: 'odoo.exceptions.ValidationError' });
    sandbox.failNext(1, 'valueError');
    expect(await error('res.partner', 'create', create)).toMatchObject({ status: 500, body: { name: 'builtins.ValueError' } });
    sandbox.failNext(1, 'parseError');
    const unreadable = await error('res.partner', 'create', create);
    expect([unreadable.status, unreadable.body.name]).toEqual([400, 'werkzeug.exceptions.BadRequest']);
    expect(unreadable.body.message).toMatch(/^could not parse the body as json: /);

    sandbox.failNext(1, 'http500');
    const page = await json2('res.partner', 'create', create);
    expect([page.status, page.headers.get('content-type')]).toEqual([500, 'text/html; charset=utf-8']);
    sandbox.failNext(1, 'http400');
    expect((await json2('res.partner', 'create', create)).status).toBe(400);
    sandbox.failNext(1, 'disconnect');
    await expect(json2('res.partner', 'create', create)).rejects.toThrow();
    expect(partners()).toBe(before);
  });

  it('lostResponse commits the call and drops the answer', async () => {
    sandbox.failNext(1, 'lostResponse');
    await expect(json2('res.partner', 'create', { vals_list: [{ name: 'Lost but saved' }] })).rejects.toThrow();
    expect(sandbox.records('res.partner').at(-1)).toMatchObject({ name: 'Lost but saved' });
  });

  it('shares one queue with XML-RPC, in arrival order', async () => {
    sandbox.failNext(1, 'validation');
    sandbox.failNext(1, 'fault');
    const xmlrpcFailure = await kw('res.partner', 'search', [[]]).then(
      () => undefined,
      (caught: { faultCode?: number }) => caught,
    );
    expect(xmlrpcFailure?.faultCode).toBe(2);
    expect((await error('res.partner', 'search', { domain: [] })).status).toBe(500);
    expect(await ok('res.partner', 'search_count', { domain: [] })).toBeGreaterThan(0);
  });

  it('arms, shows and clears failures over HTTP: POST, GET and DELETE /sandbox/faults', async () => {
    const control = (method: string, body?: unknown) =>
      fetch(`${sandbox.url}/sandbox/faults`, {
        method,
        headers: { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const armed = await control('POST', { count: 2 });
    expect([armed.status, await armed.json()]).toEqual([200, { next: ['fault', 'fault'], window: null }]);
    expect((await error('res.partner', 'search', { domain: [] })).body.name).toBe('psycopg2.errors.SerializationFailure');
    expect(await (await control('GET')).json()).toEqual({ next: ['fault'], window: null });
    expect(await (await control('DELETE')).json()).toEqual({ next: [], window: null });
    expect(await ok('res.partner', 'search_count', { domain: [] })).toBeGreaterThan(0);

    const windowed = (await (await control('POST', { seconds: 30, kind: 'http500' })).json()) as { window: { until: string; kind: string } };
    expect(windowed.window).toEqual({ until: expect.any(String), kind: 'http500' });
    expect((await json2('res.partner', 'search', { domain: [] })).status).toBe(500);
    expect((await json2('res.partner', 'search', { domain: [] })).status).toBe(500);
    await control('DELETE');
    expect(await ok('res.partner', 'search', { domain: [] })).toEqual(expect.any(Array));

    for (const bad of [{}, { count: 1, seconds: 1 }, { count: 0 }, { count: 1, kind: 'meteor' }, { seconds: -1 }, [1]]) {
      expect((await control('POST', bad)).status, JSON.stringify(bad)).toBe(422);
    }
  });

  it('counts JSON-2 calls next to XML-RPC ones, failed ones included, and nothing else under /json/2', async () => {
    const [all, xml, json] = [sandbox.calls(), sandbox.calls('xmlrpc'), sandbox.calls('json2')];
    await ok('res.partner', 'search_count', { domain: [] });
    await error('res.partner', 'search_count', { domain: [] }, { key: 'nope' });
    sandbox.failNext(1, 'http500');
    await json2('res.partner', 'search_count', { domain: [] });
    await send('/json/2', {}, { method: 'GET' });
    await kw('res.partner', 'search_count', [[]]);
    expect([sandbox.calls() - all, sandbox.calls('xmlrpc') - xml, sandbox.calls('json2') - json]).toEqual([4, 1, 3]);
  });
});

// --- write log ------------------------------------------------------------------------------------

describe('write log', () => {
  const entries = (): Record<string, unknown>[] =>
    readFileSync(logFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text) as Record<string, unknown>);

  it('logs JSON-2 changes like XML-RPC ones (api, ids, named arguments, result); no reads, no failed calls', async () => {
    const before = entries().length;
    const email = `log-${unique()}@example.com`;
    const [partner] = await ok<number[]>('res.partner', 'create', { vals_list: [{ name: 'Logged', email }], context: { lang: 'de_DE' } });
    await ok('res.partner', 'search_read', { domain: [['email', '=', email]] });
    await error('res.partner', 'create', { vals_list: [{ email }] });
    await ok('res.partner', 'write', { ids: [partner], vals: { phone: '1' } });
    await kw('res.partner', 'write', [[partner], { phone: '2' }]);

    const added = entries().slice(before);
    expect(added.map(({ api, method }) => `${String(api)} ${String(method)}`)).toEqual(['json2 create', 'json2 write', 'xmlrpc write']);
    expect(added[0]).toMatchObject({
      db: DB,
      uid: 2,
      login: 'admin',
      model: 'res.partner',
      args: [],
      kwargs: { vals_list: [{ name: 'Logged', email }], context: { lang: 'de_DE' } },
      result: [partner],
    });
    expect(added[0]).not.toHaveProperty('ids');
    expect(added[1]).toMatchObject({ ids: [partner], kwargs: { vals: { phone: '1' } }, result: true });
    expect(added[2]).toMatchObject({ args: [[partner], { phone: '2' }], result: true });
  });
});
