/**
 * Conformance suite for local/odoo-sandbox.ts, driven by the `xmlrpc` client the app uses: what
 * the Odoo sync relies on (authentication, partners, invoices, posting, payments, resetting and
 * cancelling, credit notes, domains, Odoo-shaped faults) must behave as Odoo 17's external API does,
 * and the test controls (fault injection, latency, the write log) must do what they say. The JSON-2
 * face: odoo-sandbox-json2.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import xmlrpc from 'xmlrpc';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OdooSandbox, type OdooSandboxOptions } from '../../local/odoo-sandbox';
import { isListening } from '../support/ports';

const TODAY = '2026-06-15';
const DB = 'sandbox';

interface Fault {
  faultCode: number;
  faultString: string;
}

/** An Odoo external-API client, as thin as the XML-RPC protocol allows. */
class Rpc {
  private readonly commonClient: xmlrpc.Client;
  private readonly objectClient: xmlrpc.Client;
  uid = 2;

  constructor(port: number) {
    this.commonClient = xmlrpc.createClient({ host: '127.0.0.1', port, path: '/xmlrpc/2/common' });
    this.objectClient = xmlrpc.createClient({ host: '127.0.0.1', port, path: '/xmlrpc/2/object' });
  }

  common(method: string, params: unknown[]): Promise<unknown> {
    return call(this.commonClient, method, params);
  }

  /** execute_kw as admin (or the given credentials). */
  kw<T = unknown>(
    model: string,
    method: string,
    args: unknown[],
    kwargs: Record<string, unknown> = {},
    as: { uid: unknown; password: string } = { uid: this.uid, password: 'admin' },
  ): Promise<T> {
    return call(this.objectClient, 'execute_kw', [DB, as.uid, as.password, model, method, args, kwargs]) as Promise<T>;
  }
}

function call(client: xmlrpc.Client, method: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => client.methodCall(method, params, (error, value) => (error ? reject(error) : resolve(value))));
}

/** Awaits a call that must fail with an XML-RPC fault; returns the fault. */
async function fault(action: Promise<unknown>): Promise<Fault> {
  const error = await action.then(
    () => undefined,
    (caught: unknown) => caught as Partial<Fault>,
  );
  expect(error, 'the call should have failed').toBeDefined();
  expect(typeof error?.faultCode, `not an XML-RPC fault: ${String(error)}`).toBe('number');
  return { faultCode: error?.faultCode as number, faultString: String(error?.faultString) };
}

/** Awaits a call that must fail without a fault (transport failure); returns the error. */
async function transportError(action: Promise<unknown>): Promise<Error & { faultCode?: number; res?: { statusCode?: number }; code?: string }> {
  const error = await action.then(
    () => undefined,
    (caught: unknown) => caught as Error,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(Error);
  return error as Error & { faultCode?: number };
}

const unique = (): string => Math.random().toString(36).slice(2, 10);

let tmp: string;
let logFile: string;
let sandbox: OdooSandbox;
let rpc: Rpc;

async function startSandbox(options: OdooSandboxOptions = {}): Promise<{ sandbox: OdooSandbox; rpc: Rpc }> {
  const started = await OdooSandbox.start({ port: 0, logFile: join(tmp, `${unique()}.jsonl`), today: () => TODAY, ...options });
  return { sandbox: started, rpc: new Rpc(started.port) };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'odoo-sandbox-'));
  logFile = join(tmp, 'nested', 'dir', 'odoo.jsonl');
  ({ sandbox, rpc } = await startSandbox({ logFile, apiKeys: ['key-123'], users: { admin: 'admin', auditor: 'audit' }, readOnlyUsers: ['auditor'] }));
});

afterAll(async () => {
  await sandbox?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => sandbox.reset());

async function createPartner(values: Record<string, unknown> = {}): Promise<number> {
  return rpc.kw<number>('res.partner', 'create', [{ name: `Customer ${unique()}`, ...values }]);
}

const line = (name: string, quantity: number, price_unit: number) => [0, 0, { name, quantity, price_unit }];

async function createInvoice(values: Record<string, unknown> = {}): Promise<number> {
  const partner = values.partner_id ?? (await createPartner());
  return rpc.kw<number>('account.move', 'create', [
    {
      move_type: 'out_invoice',
      partner_id: partner,
      ref: `bk_${unique()}`,
      invoice_line_ids: [line('Inspection', 2, 59.5), line('Pick-up', 1, 10)],
      ...values,
    },
  ]);
}

async function postedInvoice(values: Record<string, unknown> = {}): Promise<number> {
  const id = await createInvoice(values);
  await rpc.kw('account.move', 'action_post', [[id]]);
  return id;
}

async function readMove(id: number, fields: string[] = []): Promise<Record<string, unknown>> {
  const [record] = await rpc.kw<Record<string, unknown>[]>('account.move', 'read', [[id], fields]);
  return record as Record<string, unknown>;
}

async function pay(moveId: number, values: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const wizard = await rpc.kw<number>('account.payment.register', 'create', [values], { context: { active_model: 'account.move', active_ids: [moveId] } });
  return rpc.kw('account.payment.register', 'action_create_payments', [[wizard]]);
}

async function refund(moveId: number, values: Record<string, unknown> = {}, method = 'refund_moves', target: Rpc = rpc): Promise<Record<string, unknown>> {
  const wizard = await target.kw<number>('account.move.reversal', 'create', [values], { context: { active_model: 'account.move', active_ids: [moveId] } });
  return target.kw(`account.move.reversal`, method, [[wizard]]);
}

// --- common ---------------------------------------------------------------------------------------

describe('common', () => {
  it('answers version like Odoo 17', async () => {
    expect(await rpc.common('version', [])).toEqual({
      server_version: '17.0',
      server_version_info: [17, 0, 0, 'final', 0, ''],
      server_serie: '17.0',
      protocol_version: 1,
    });
  });

  it('authenticates admin/admin and API keys, and returns false for a wrong login or password', async () => {
    expect(await rpc.common('authenticate', [DB, 'admin', 'admin', {}])).toBe(2);
    expect(await rpc.common('authenticate', [DB, 'admin', 'key-123', {}])).toBe(2);
    expect(await rpc.common('login', [DB, 'auditor', 'audit'])).toBe(3);
    expect(await rpc.common('authenticate', [DB, 'admin', 'wrong', {}])).toBe(false);
    expect(await rpc.common('authenticate', [DB, 'nobody', 'admin', {}])).toBe(false);
    expect(await rpc.common('authenticate', [DB, 'admin', '', {}])).toBe(false);
  });

  it('fails like Odoo for an unknown database (fault 1: the database cannot be opened)', async () => {
    const { faultCode, faultString } = await fault(rpc.common('authenticate', ['production', 'admin', 'admin', {}]));
    expect(faultCode).toBe(1);
    expect(faultString).toMatch(/^Traceback \(most recent call last\):/);
    expect(faultString).toContain('psycopg2.OperationalError');
    expect(faultString).toContain('database "production" does not exist');
  });
});

// --- partners -------------------------------------------------------------------------------------

describe('res.partner', () => {
  it('creates a partner and finds it by e-mail with ilike', async () => {
    const tag = unique();
    const id = await createPartner({ name: 'Ada Lovelace', email: `Ada.${tag}@Example.com`, phone: '+49 30 1234', ref: `cus_${tag}` });
    await createPartner({ email: `someone.else.${tag}@example.org` });

    const found = await rpc.kw<Record<string, unknown>[]>('res.partner', 'search_read', [[['email', 'ilike', `ada.${tag}@example`]]], {
      fields: ['name', 'email', 'phone', 'ref', 'display_name', 'customer_rank'],
    });
    expect(found).toEqual([
      { id, name: 'Ada Lovelace', email: `Ada.${tag}@Example.com`, phone: '+49 30 1234', ref: `cus_${tag}`, display_name: 'Ada Lovelace', customer_rank: 0 },
    ]);
    // `like` is case-sensitive, `=ilike` is an exact (case-insensitive) match.
    expect(await rpc.kw('res.partner', 'search', [[['email', 'like', `ada.${tag}`]]])).toEqual([]);
    expect(await rpc.kw('res.partner', 'search', [[['email', '=ilike', `ada.${tag}@example.com`]]])).toEqual([id]);
  });

  it('creates several records from a list of dicts and answers unset fields with false', async () => {
    const ids = await rpc.kw<number[]>('res.partner', 'create', [[{ name: 'One' }, { name: 'Two', email: 'two@example.com' }]]);
    expect(ids).toHaveLength(2);
    const records = await rpc.kw<Record<string, unknown>[]>('res.partner', 'read', [ids, ['name', 'email', 'parent_id']]);
    expect(records).toEqual([
      { id: ids[0], name: 'One', email: false, parent_id: false },
      { id: ids[1], name: 'Two', email: 'two@example.com', parent_id: false },
    ]);
  });

  it('writes, and refuses missing records with a MissingError (fault 2)', async () => {
    const id = await createPartner();
    expect(await rpc.kw('res.partner', 'write', [[id], { email: 'new@example.com' }])).toBe(true);
    expect(await rpc.kw('res.partner', 'read', [[id], ['email']])).toEqual([{ id, email: 'new@example.com' }]);
    const missing = await fault(rpc.kw('res.partner', 'read', [[999_999], ['name']]));
    expect(missing).toEqual({ faultCode: 2, faultString: 'Record does not exist or has been deleted.\n(Record: res.partner(999999,), User: 2)' });
  });

  it("requires a name, as Odoo's check constraint does (fault 2)", async () => {
    const { faultCode, faultString } = await fault(rpc.kw('res.partner', 'create', [{ email: 'nameless@example.com' }]));
    expect(faultCode).toBe(2);
    expect(faultString).toBe('The operation cannot be completed: Contacts require a name');
  });
});

// --- domains --------------------------------------------------------------------------------------

describe('domains', () => {
  let tag: string;
  let ids: Record<'alice' | 'bob' | 'carol' | 'dave', number>;

  beforeAll(async () => {
    tag = unique();
    const make = (name: string, values: Record<string, unknown>) => createPartner({ name: `${name} ${tag}`, ref: tag, ...values });
    ids = {
      alice: await make('Alice', { email: `alice@${tag}.com`, city: 'Berlin', customer_rank: 3 }),
      bob: await make('Bob', { email: `bob@${tag}.com`, city: 'Hamburg', customer_rank: 1 }),
      carol: await make('Carol', { city: 'Berlin', customer_rank: 0 }),
      dave: await make('Dave', { email: `dave@${tag}.org`, customer_rank: 5, active: false }),
    };
  });

  const search = (domain: unknown[], kwargs: Record<string, unknown> = {}) =>
    rpc.kw<number[]>('res.partner', 'search', [[['ref', '=', tag], ...domain]], { order: 'id', ...kwargs });

  it('ANDs top-level terms and applies prefix | & !', async () => {
    expect(
      await search([
        ['city', '=', 'Berlin'],
        ['customer_rank', '>', 0],
      ]),
    ).toEqual([ids.alice]);
    expect(await search(['|', ['city', '=', 'Hamburg'], ['email', '=', false]])).toEqual([ids.bob, ids.carol]);
    expect(await search(['&', ['city', '=', 'Berlin'], '!', ['email', '!=', false]])).toEqual([ids.carol]);
    expect(await search(['|', '&', ['city', '=', 'Berlin'], ['customer_rank', '>=', 3], ['city', '=', 'Hamburg']])).toEqual([ids.alice, ids.bob]);
  });

  it("supports = != in, not in, comparisons and like operators with Odoo's null rules", async () => {
    expect(await search([['city', 'in', ['Hamburg', 'Munich']]])).toEqual([ids.bob]);
    // `!=` and `not in` also match records where the field is unset, as in Odoo 17.
    expect(await search([['city', '!=', 'Berlin']])).toEqual([ids.bob]);
    expect(await search([['email', '!=', `bob@${tag}.com`]])).toEqual([ids.alice, ids.carol]);
    expect(await search([['email', 'not in', [`bob@${tag}.com`]]])).toEqual([ids.alice, ids.carol]);
    expect(await search([['customer_rank', '<', 3]])).toEqual([ids.bob, ids.carol]);
    expect(await search([['customer_rank', '<=', 3]])).toEqual([ids.alice, ids.bob, ids.carol]);
    expect(await search([['email', 'ilike', `${tag}.COM`]])).toEqual([ids.alice, ids.bob]);
    expect(await search([['email', 'not ilike', `${tag}.com`]])).toEqual([ids.carol]);
    expect(await search([['name', '=like', `_ob ${tag}`]])).toEqual([ids.bob]);
  });

  it('hides archived records unless the domain asks about active', async () => {
    expect(await search([])).toEqual([ids.alice, ids.bob, ids.carol]);
    expect(await search([['active', '=', false]])).toEqual([ids.dave]);
    expect(await search([['active', 'in', [true, false]]])).toEqual([ids.alice, ids.bob, ids.carol, ids.dave]);
  });

  it('orders, pages and counts', async () => {
    expect(await search([], { order: 'customer_rank desc' })).toEqual([ids.alice, ids.bob, ids.carol]);
    expect(await search([], { order: 'name asc', offset: 1, limit: 1 })).toEqual([ids.bob]);
    expect(await rpc.kw('res.partner', 'search_count', [[['ref', '=', tag]]])).toBe(3);
    const rows = await rpc.kw<Record<string, unknown>[]>('res.partner', 'search_read', [[['ref', '=', tag]]], { fields: ['name'], limit: 2, order: 'id desc' });
    expect(rows.map((row) => row.id)).toEqual([ids.carol, ids.bob]);
  });

  it('compares many2one fields by id, by name, and through dotted paths', async () => {
    const invoice = await createInvoice({ partner_id: ids.alice });
    const other = await createInvoice({ partner_id: ids.bob });
    const moves = (domain: unknown[]) => rpc.kw<number[]>('account.move', 'search', [[['id', 'in', [invoice, other]], ...domain]], { order: 'id' });
    expect(await moves([['partner_id', '=', ids.alice]])).toEqual([invoice]);
    expect(await moves([['partner_id', 'in', [ids.alice, ids.bob]]])).toEqual([invoice, other]);
    expect(await moves([['partner_id', '=', `Bob ${tag}`]])).toEqual([other]);
    expect(await moves([['partner_id.email', 'ilike', `alice@${tag}`]])).toEqual([invoice]);
    expect(await moves([['partner_id.city', '=', 'Hamburg']])).toEqual([other]);
  });

  it('rejects unknown fields, operators and malformed domains with fault 1', async () => {
    const badField = await fault(search([['nickname', '=', 'x']]));
    expect(badField.faultCode).toBe(1);
    expect(badField.faultString).toContain("ValueError: Invalid field res.partner.nickname in leaf ('nickname', '=', 'x')");
    const badOperator = await fault(search([['name', 'contains', 'x']]));
    expect(badOperator.faultString).toContain("ValueError: Invalid leaf ('name', 'contains', 'x')");
    const badSyntax = await fault(rpc.kw('res.partner', 'search', [['|', ['name', '=', 'x']]]));
    expect(badSyntax.faultCode).toBe(1);
    expect(badSyntax.faultString).toContain('is syntactically not correct');
    const badOrder = await fault(search([], { order: 'nickname desc' }));
    expect(badOrder.faultString).toContain('Invalid "order" specified');
  });
});

// --- invoices -------------------------------------------------------------------------------------

describe('account.move', () => {
  it('creates a draft invoice whose totals come from its lines', async () => {
    const id = await createInvoice();
    const move = await readMove(id, [
      'name',
      'state',
      'move_type',
      'amount_untaxed',
      'amount_tax',
      'amount_total',
      'amount_residual',
      'payment_state',
      'display_name',
      'currency_id',
      'journal_id',
      'invoice_line_ids',
    ]);
    expect(move).toMatchObject({
      name: '/',
      state: 'draft',
      move_type: 'out_invoice',
      amount_untaxed: 129,
      amount_tax: 0,
      amount_total: 129,
      amount_residual: 129,
      payment_state: 'not_paid',
      display_name: `Draft Invoice (* ${id})`,
      currency_id: [1, 'EUR'],
      journal_id: [1, 'Customer Invoices'],
    });
    const lines = await rpc.kw<Record<string, unknown>[]>('account.move.line', 'read', [
      move.invoice_line_ids,
      ['name', 'quantity', 'price_unit', 'price_subtotal', 'move_id'],
    ]);
    expect(lines).toEqual([
      {
        id: (move.invoice_line_ids as number[])[0],
        name: 'Inspection',
        quantity: 2,
        price_unit: 59.5,
        price_subtotal: 119,
        move_id: [id, `Draft Invoice (* ${id})`],
      },
      {
        id: (move.invoice_line_ids as number[])[1],
        name: 'Pick-up',
        quantity: 1,
        price_unit: 10,
        price_subtotal: 10,
        move_id: [id, `Draft Invoice (* ${id})`],
      },
    ]);
  });

  it('posts a draft: number INV/<year>/00001 per year, state posted, payment reference, customer rank', async () => {
    const partner = await createPartner();
    const first = await createInvoice({ partner_id: partner, invoice_date: '2031-02-03' });
    const second = await createInvoice({ partner_id: partner, invoice_date: '2031-04-05' });
    expect(await rpc.kw('account.move', 'action_post', [[first]])).toBe(false);
    await rpc.kw('account.move', 'action_post', [[second]]);
    expect(await readMove(first, ['name', 'state', 'date', 'payment_reference', 'display_name'])).toEqual({
      id: first,
      name: 'INV/2031/00001',
      state: 'posted',
      date: '2031-02-03',
      payment_reference: 'INV/2031/00001',
      display_name: 'INV/2031/00001',
    });
    expect((await readMove(second, ['name'])).name).toBe('INV/2031/00002');
    expect(await rpc.kw('res.partner', 'read', [[partner], ['customer_rank']])).toEqual([{ id: partner, customer_rank: 2 }]);
  });

  it('dates an invoice posted without invoice_date today', async () => {
    const id = await postedInvoice();
    const move = await readMove(id, ['name', 'invoice_date']);
    expect(move.invoice_date).toBe(TODAY);
    expect(move.name).toMatch(/^INV\/2026\/\d{5}$/);
  });

  it('refuses to post twice, without a customer or without lines (UserError, fault 2)', async () => {
    const id = await postedInvoice();
    const { name } = await readMove(id, ['name']);
    expect(await fault(rpc.kw('account.move', 'action_post', [[id]]))).toEqual({
      faultCode: 2,
      faultString: `The entry ${String(name)} (id ${id}) must be in draft.`,
    });

    const noPartner = await rpc.kw<number>('account.move', 'create', [{ move_type: 'out_invoice', invoice_line_ids: [line('x', 1, 1)] }]);
    expect((await fault(rpc.kw('account.move', 'action_post', [[noPartner]]))).faultString).toBe(
      "The field 'Customer' is required, please complete it to validate the Customer Invoice.",
    );
    const noLines = await createInvoice({ invoice_line_ids: [] });
    expect((await fault(rpc.kw('account.move', 'action_post', [[noLines]]))).faultString).toBe('You need to add a line before posting.');
  });

  it('locks amounts and parties of a posted invoice but lets its reference change', async () => {
    const id = await postedInvoice();
    const locked = await fault(rpc.kw('account.move', 'write', [[id], { invoice_line_ids: [line('extra', 1, 5)] }]));
    expect(locked.faultCode).toBe(2);
    expect(await rpc.kw('account.move', 'write', [[id], { ref: 'bk_renamed' }])).toBe(true);
    expect(await readMove(id, ['ref', 'amount_total'])).toEqual({ id, ref: 'bk_renamed', amount_total: 129 });
  });

  it('edits draft lines with x2many commands', async () => {
    const id = await createInvoice();
    const { invoice_line_ids: lines } = (await readMove(id, ['invoice_line_ids'])) as { invoice_line_ids: number[] };
    await rpc.kw('account.move', 'write', [[id], { invoice_line_ids: [[1, lines[0], { quantity: 3 }], [2, lines[1]], line('Wash', 1, 15.25)] }]);
    expect(await readMove(id, ['amount_total'])).toEqual({ id, amount_total: 193.75 });
  });

  it('runs a call in one transaction: a failing line leaves no invoice behind', async () => {
    const before = sandbox.records('account.move').length;
    const { faultCode, faultString } = await fault(createInvoice({ invoice_line_ids: [line('ok', 1, 1), [0, 0, { name: 'bad', colour: 'red' }]] }));
    expect(faultCode).toBe(1);
    expect(faultString).toContain("ValueError: Invalid field 'colour' on model 'account.move.line'");
    expect(sandbox.records('account.move')).toHaveLength(before);
  });

  it('serves the sale and bank journals read-only', async () => {
    const journals = await rpc.kw('account.journal', 'search_read', [[]], { fields: ['name', 'code', 'type'], order: 'id' });
    expect(journals).toEqual([
      { id: 1, name: 'Customer Invoices', code: 'INV', type: 'sale' },
      { id: 2, name: 'Bank', code: 'BNK1', type: 'bank' },
    ]);
    expect((await fault(rpc.kw('account.journal', 'create', [{ name: 'Cash', code: 'CSH', type: 'cash' }]))).faultCode).toBe(4);
  });
});

// --- payments -------------------------------------------------------------------------------------

describe('account.payment.register', () => {
  it('pays an invoice in full: payment_state paid, nothing due, a posted payment with the memo', async () => {
    const id = await postedInvoice();
    const action = await pay(id, { communication: 'bk_42 card payment' });
    expect(action).toMatchObject({ type: 'ir.actions.act_window', res_model: 'account.payment', view_mode: 'form' });
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'paid', amount_residual: 0 });

    const payments = await rpc.kw<Record<string, unknown>[]>('account.payment', 'search_read', [[['reconciled_invoice_ids', 'in', [id]]]], {
      fields: ['amount', 'ref', 'memo', 'partner_id', 'move_id', 'reconciled_invoice_ids', 'state', 'payment_type', 'journal_id'],
    });
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({
      id: action.res_id,
      amount: 129,
      ref: 'bk_42 card payment',
      memo: 'bk_42 card payment',
      reconciled_invoice_ids: [id],
      state: 'posted',
      payment_type: 'inbound',
      journal_id: [2, 'Bank'],
    });
    expect((payments[0]!.move_id as [number, string])[1]).toMatch(/^PBNK1\/2026\/\d{5}$/);
  });

  it('pays in parts: partial, then paid; the default memo is the invoice number', async () => {
    const id = await postedInvoice();
    await pay(id, { amount: 100 });
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'partial', amount_residual: 29 });
    await pay(id);
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'paid', amount_residual: 0 });
    const { name } = await readMove(id, ['name']);
    const memos = await rpc.kw<Record<string, unknown>[]>('account.payment', 'search_read', [[['reconciled_invoice_ids', '=', id]]], {
      fields: ['amount', 'ref'],
      order: 'id',
    });
    expect(memos.map(({ amount, ref }) => ({ amount, ref }))).toEqual([
      { amount: 100, ref: name },
      { amount: 29, ref: name },
    ]);
  });

  it('"mark as fully paid" writes the difference off; several invoices get one payment each', async () => {
    const id = await postedInvoice();
    await pay(id, { amount: 120, payment_difference_handling: 'reconcile' });
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'paid', amount_residual: 0 });

    const [first, second] = [await postedInvoice(), await postedInvoice()];
    const wizard = await rpc.kw<number>('account.payment.register', 'create', [{}], { context: { active_model: 'account.move', active_ids: [first, second] } });
    const action = await rpc.kw<Record<string, unknown>>('account.payment.register', 'action_create_payments', [[wizard]]);
    expect(action).toMatchObject({ res_model: 'account.payment', view_mode: 'tree,form', domain: [['id', 'in', expect.any(Array)]] });
    const payments = await rpc.kw<Record<string, unknown>[]>('account.payment', 'search_read', [[['reconciled_invoice_ids', 'in', [first, second]]]], {
      fields: ['amount'],
    });
    expect(payments.map(({ amount }) => amount)).toEqual([129, 129]);
  });

  it('refuses to pay a draft or an invoice with nothing left to pay (fault 2)', async () => {
    const draft = await createInvoice();
    expect(await fault(pay(draft))).toEqual({ faultCode: 2, faultString: 'You can only register payment for posted journal entries.' });
    const paid = await postedInvoice();
    await pay(paid);
    expect((await fault(pay(paid))).faultString).toBe("You can't register a payment because there is nothing left to pay on the selected journal items.");
  });

  it('needs the moves in the context (active_model / active_ids)', async () => {
    const { faultCode, faultString } = await fault(rpc.kw('account.payment.register', 'create', [{}]));
    expect(faultCode).toBe(2);
    expect(faultString).toContain('should only be called on account.move or account.move.line records');
  });
});

// --- reset to draft and cancel --------------------------------------------------------------------

describe('reset to draft and cancel', () => {
  /** These methods return None, which Odoo cannot marshal: they run and commit, then fault 1. */
  async function returnsNone(action: Promise<unknown>): Promise<void> {
    const { faultCode, faultString } = await fault(action);
    expect(faultCode).toBe(1);
    expect(faultString).toContain('OdooMarshaller(allow_none=False)');
    expect(faultString.trimEnd().split('\n').at(-1)).toBe('TypeError: cannot marshal None unless allow_none is enabled');
  }

  it('button_draft undoes the payment and keeps the number for the next post; button_cancel cancels', async () => {
    const id = await postedInvoice();
    await pay(id);
    const { name } = await readMove(id, ['name']);
    await returnsNone(rpc.kw('account.move', 'button_draft', [[id]]));
    expect(await readMove(id, ['state', 'name', 'payment_state', 'amount_residual'])).toEqual({
      id,
      state: 'draft',
      name,
      payment_state: 'not_paid',
      amount_residual: 129,
    });
    await rpc.kw('account.move', 'action_post', [[id]]);
    expect(await readMove(id, ['state', 'name'])).toEqual({ id, state: 'posted', name });
    await returnsNone(rpc.kw('account.move', 'button_cancel', [[id]]));
    expect(await readMove(id, ['state', 'payment_state'])).toEqual({ id, state: 'cancel', payment_state: 'not_paid' });
    expect((await fault(rpc.kw('account.move', 'unlink', [[id]]))).faultString).toBe('You cannot delete an entry which has been posted once.');
  });

  it('refuses to reset a draft (UserError, fault 2)', async () => {
    const draft = await createInvoice();
    expect(await fault(rpc.kw('account.move', 'button_draft', [[draft]]))).toEqual({
      faultCode: 2,
      faultString: 'Only posted/cancelled journal entries can be reset to draft.',
    });
  });

  it('a refused button_cancel changes nothing: the reset to draft before it is rolled back', async () => {
    const paid = await postedInvoice();
    await pay(paid);
    const cancelled = await postedInvoice();
    await returnsNone(rpc.kw('account.move', 'button_cancel', [[cancelled]]));
    await returnsNone(rpc.kw('account.move', 'button_draft', [[cancelled]]));
    await returnsNone(rpc.kw('account.move', 'button_cancel', [[cancelled]]));
    // A cancelled move is not reset by button_cancel, so the pair is refused as a whole.
    expect((await fault(rpc.kw('account.move', 'button_cancel', [[paid, cancelled]]))).faultString).toBe('Only draft journal entries can be cancelled.');
    expect(await readMove(paid, ['state', 'payment_state'])).toEqual({ id: paid, state: 'posted', payment_state: 'paid' });
  });

  it('account.payment action_draft reopens the invoice, action_cancel cancels the payment and its entry', async () => {
    const id = await postedInvoice();
    const { res_id: payment } = (await pay(id)) as { res_id: number };
    await returnsNone(rpc.kw('account.payment', 'action_draft', [[payment]]));
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'not_paid', amount_residual: 129 });
    await returnsNone(rpc.kw('account.payment', 'action_cancel', [[payment]]));
    const [read] = await rpc.kw<Record<string, unknown>[]>('account.payment', 'read', [[payment], ['state', 'move_id']]);
    expect(read?.state).toBe('cancel');
    expect(await readMove((read!.move_id as [number, string])[0], ['state'])).toMatchObject({ state: 'cancel' });
    // Payments stay read-only for the ORM.
    expect((await fault(rpc.kw('account.payment', 'write', [[payment], { amount: 1 }]))).faultCode).toBe(4);
  });
});

// --- credit notes ---------------------------------------------------------------------------------

describe('account.move.reversal', () => {
  it('refund_moves: a posted out_refund with the same lines, reconciled; the original becomes reversed', async () => {
    const id = await postedInvoice();
    const original = await readMove(id, ['name']);
    const action = await refund(id, { reason: 'booking cancelled' });
    expect(action).toMatchObject({ type: 'ir.actions.act_window', res_model: 'account.move', view_mode: 'form', context: { default_move_type: 'out_refund' } });
    const creditNote = await readMove(action.res_id as number, [
      'move_type',
      'state',
      'name',
      'reversed_entry_id',
      'ref',
      'amount_total',
      'payment_state',
      'partner_id',
    ]);
    expect(creditNote).toMatchObject({
      move_type: 'out_refund',
      state: 'posted',
      reversed_entry_id: [id, original.name],
      ref: `Reversal of: ${String(original.name)}, booking cancelled`,
      amount_total: 129,
    });
    expect(creditNote.name).toMatch(/^RINV\/2026\/\d{5}$/);
    expect(await readMove(id, ['payment_state', 'amount_residual', 'reversal_move_id'])).toEqual({
      id,
      payment_state: 'reversed',
      amount_residual: 0,
      reversal_move_id: [action.res_id],
    });
    const lines = await rpc.kw<Record<string, unknown>[]>('account.move.line', 'search_read', [[['move_id', '=', action.res_id]]], {
      fields: ['name', 'quantity', 'price_unit'],
      order: 'id',
    });
    expect(lines.map(({ name, quantity, price_unit }) => ({ name, quantity, price_unit }))).toEqual([
      { name: 'Inspection', quantity: 2, price_unit: 59.5 },
      { name: 'Pick-up', quantity: 1, price_unit: 10 },
    ]);
  });

  it('reverse_moves (the pre-17 name) does the same; a credit note is found again by reversed_entry_id', async () => {
    const id = await postedInvoice();
    const action = await refund(id, {}, 'reverse_moves');
    expect(
      await rpc.kw('account.move', 'search', [
        [
          ['reversed_entry_id', '=', id],
          ['move_type', '=', 'out_refund'],
        ],
      ]),
    ).toEqual([action.res_id]);
  });

  it('leaves a paid invoice paid and its credit note open (money goes back through a payment)', async () => {
    const id = await postedInvoice();
    await pay(id);
    const action = await refund(id);
    expect((await readMove(id, ['payment_state'])).payment_state).toBe('paid');
    expect(await readMove(action.res_id as number, ['payment_state', 'amount_residual'])).toMatchObject({ payment_state: 'not_paid', amount_residual: 129 });
    // Refunding the customer: an outbound payment on the credit note.
    await pay(action.res_id as number);
    expect((await readMove(action.res_id as number, ['payment_state'])).payment_state).toBe('paid');
  });

  it('refuses to reverse a draft (fault 2)', async () => {
    const draft = await createInvoice();
    expect(await fault(refund(draft))).toEqual({ faultCode: 2, faultString: 'You can only reverse posted moves.' });
  });
});

describe('Odoo 17 settings: in_payment and draft credit notes', () => {
  let strict: { sandbox: OdooSandbox; rpc: Rpc };

  beforeAll(async () => {
    strict = await startSandbox({ paidState: 'in_payment', reversal: 'draft' });
  });

  afterAll(() => strict?.sandbox.stop());

  it('shows in_payment for a paid invoice and makes refund_moves create a draft credit note', async () => {
    const partner = await strict.rpc.kw<number>('res.partner', 'create', [{ name: 'Strict' }]);
    const create = () =>
      strict.rpc.kw<number>('account.move', 'create', [{ move_type: 'out_invoice', partner_id: partner, invoice_line_ids: [line('x', 1, 50)] }]);
    const paid = await create();
    await strict.rpc.kw('account.move', 'action_post', [[paid]]);
    const wizard = await strict.rpc.kw<number>('account.payment.register', 'create', [{}], { context: { active_model: 'account.move', active_ids: [paid] } });
    await strict.rpc.kw('account.payment.register', 'action_create_payments', [[wizard]]);
    expect(await strict.rpc.kw('account.move', 'read', [[paid], ['payment_state']])).toEqual([{ id: paid, payment_state: 'in_payment' }]);

    const cancelled = await create();
    await strict.rpc.kw('account.move', 'action_post', [[cancelled]]);
    const action = await refund(cancelled, {}, 'refund_moves', strict.rpc);
    expect(await strict.rpc.kw('account.move', 'read', [[action.res_id], ['state', 'name']])).toEqual([{ id: action.res_id, state: 'draft', name: '/' }]);
    expect(await strict.rpc.kw('account.move', 'read', [[cancelled], ['payment_state']])).toEqual([{ id: cancelled, payment_state: 'not_paid' }]);
  });
});

// --- currencies -----------------------------------------------------------------------------------

describe('currencies', () => {
  const currencyId = async (name: string): Promise<number> => {
    const [found] = await rpc.kw<Array<{ id: number }>>(
      'res.currency',
      'search_read',
      [
        [
          ['name', '=', name],
          ['active', 'in', [true, false]],
        ],
      ],
      { fields: ['name'] },
    );
    return found?.id as number;
  };
  const linesOf = (id: number) =>
    rpc.kw<Record<string, unknown>[]>('account.move.line', 'search_read', [[['move_id', '=', id]]], {
      fields: ['name', 'quantity', 'price_unit', 'price_subtotal', 'currency_id'],
      order: 'id',
    });

  it('serves EUR, USD, GBP, CHF, JPY and KWD with their decimals, read-only; inactive ones only when asked', async () => {
    const active = await rpc.kw<Record<string, unknown>[]>('res.currency', 'search_read', [[]], {
      fields: ['name', 'decimal_places', 'rounding', 'active'],
      order: 'id',
    });
    expect(active.map(({ name, decimal_places, rounding, active }) => [name, decimal_places, rounding, active])).toEqual([
      ['EUR', 2, 0.01, true],
      ['USD', 2, 0.01, true],
      ['GBP', 2, 0.01, true],
      ['CHF', 2, 0.01, true],
      ['JPY', 0, 1, true],
      ['KWD', 3, 0.001, true],
    ]);
    expect(active[0]?.id).toBe(1);
    const all = await rpc.kw<Record<string, unknown>[]>('res.currency', 'search_read', [[['active', 'in', [true, false]]]], { fields: ['name', 'active'] });
    expect(all.filter((currency) => currency.active === false).map((currency) => currency.name)).toEqual(['SEK']);
    expect((await fault(rpc.kw('res.currency', 'create', [{ name: 'XTS' }]))).faultCode).toBe(4);
  });

  it('keeps a JPY invoice in yen: subtotals and totals rounded to whole yen, currency_id in search_read', async () => {
    const jpy = await currencyId('JPY');
    const ref = `ord_${unique()}`;
    const id = await createInvoice({ ref, currency_id: jpy, invoice_line_ids: [line('Sencha', 3, 1234.4), line('Wrapping', 1, 99.5)] });
    const [found] = await rpc.kw<Record<string, unknown>[]>('account.move', 'search_read', [[['ref', '=', ref]]], {
      fields: ['currency_id', 'amount_total', 'amount_residual'],
    });
    expect(found).toEqual({ id, currency_id: [jpy, 'JPY'], amount_total: 3803, amount_residual: 3803 });
    expect((await linesOf(id)).map(({ price_subtotal, currency_id }) => [price_subtotal, currency_id])).toEqual([
      [3703, [jpy, 'JPY']],
      [100, [jpy, 'JPY']],
    ]);
    // Without currency_id a move is in the company currency.
    expect((await readMove(await createInvoice(), ['currency_id'])).currency_id).toEqual([1, 'EUR']);
  });

  it('keeps a KWD invoice to the fils (3 decimals) and pays it in parts in KWD', async () => {
    const kwd = await currencyId('KWD');
    const id = await postedInvoice({ currency_id: kwd, invoice_line_ids: [line('Dates', 2, 1.2345), line('Box', 3, 0.1116)] });
    // 2.469 + 0.3348 → 0.335: three decimals, where EUR would round to 2.47 + 0.33.
    expect(await readMove(id, ['amount_total', 'amount_residual'])).toEqual({ id, amount_total: 2.804, amount_residual: 2.804 });
    await pay(id, { amount: 1.5, communication: 'kwd part 1' });
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'partial', amount_residual: 1.304 });
    await pay(id, { communication: 'kwd part 2' });
    expect(await readMove(id, ['payment_state', 'amount_residual'])).toEqual({ id, payment_state: 'paid', amount_residual: 0 });
    const payments = await rpc.kw<Record<string, unknown>[]>('account.payment', 'search_read', [[['reconciled_invoice_ids', '=', id]]], {
      fields: ['amount', 'currency_id'],
      order: 'id',
    });
    expect(payments.map(({ amount, currency_id }) => [amount, currency_id])).toEqual([
      [1.5, [kwd, 'KWD']],
      [1.304, [kwd, 'KWD']],
    ]);
  });

  it('takes a payment in the document currency only (no exchange rates): the wizard defaults to it', async () => {
    const jpy = await currencyId('JPY');
    const id = await postedInvoice({ currency_id: jpy, invoice_line_ids: [line('Matcha', 1, 2500)] });
    const refused = await fault(pay(id, { currency_id: 1 }));
    expect(refused.faultCode).toBe(2);
    expect(refused.faultString).toContain('no currency exchange rates');
    expect(refused.faultString).toContain('(JPY), not in EUR');
    const wizard = await rpc.kw<number>('account.payment.register', 'create', [{}], { context: { active_model: 'account.move', active_ids: [id] } });
    expect(await rpc.kw('account.payment.register', 'read', [[wizard], ['currency_id', 'amount']])).toEqual([
      { id: wizard, currency_id: [jpy, 'JPY'], amount: 2500 },
    ]);
  });

  it('creates credit notes directly: out_refund with reversed_entry_id and its own lines, RINV when posted, paid out in its currency', async () => {
    const kwd = await currencyId('KWD');
    const invoice = await postedInvoice({ currency_id: kwd, invoice_line_ids: [line('Dates', 4, 1.25)] });
    await pay(invoice);
    const { name, partner_id: partner } = (await readMove(invoice, ['name', 'partner_id'])) as { name: string; partner_id: [number, string] };
    const creditNote = (origin: string, amount: number) =>
      rpc.kw<number>('account.move', 'create', [
        {
          move_type: 'out_refund',
          partner_id: partner[0],
          reversed_entry_id: invoice,
          currency_id: kwd,
          invoice_origin: origin,
          ref: `Reversal of: ${name}, partial refund`,
          invoice_line_ids: [line('partial refund', 1, amount)],
        },
      ]);
    const first = await creditNote('refund:re_1', 1.2506);
    const second = await creditNote('refund:re_2', 0.5);
    expect(await readMove(first, ['state', 'name', 'move_type', 'amount_total', 'reversed_entry_id', 'invoice_origin', 'currency_id'])).toEqual({
      id: first,
      state: 'draft',
      name: '/',
      move_type: 'out_refund',
      amount_total: 1.251,
      reversed_entry_id: [invoice, name],
      invoice_origin: 'refund:re_1',
      currency_id: [kwd, 'KWD'],
    });
    await rpc.kw('account.move', 'action_post', [[first, second]]);
    expect((await readMove(first, ['name'])).name).toMatch(/^RINV\/2026\/\d{5}$/);
    // Not reconciled with the invoice (only the wizard's "full refund" does that): the money goes back through payments.
    expect(await readMove(invoice, ['payment_state', 'amount_residual', 'reversal_move_id'])).toEqual({
      id: invoice,
      payment_state: 'paid',
      amount_residual: 0,
      reversal_move_id: [first, second],
    });
    expect(await readMove(second, ['payment_state', 'amount_residual'])).toEqual({ id: second, payment_state: 'not_paid', amount_residual: 0.5 });
    const action = await pay(second, { amount: 0.5, communication: 'refund:re_2' });
    const [payment] = await rpc.kw<Record<string, unknown>[]>('account.payment', 'read', [
      [action.res_id],
      ['payment_type', 'amount', 'currency_id', 'reconciled_invoice_ids'],
    ]);
    expect(payment).toEqual({ id: action.res_id, payment_type: 'outbound', amount: 0.5, currency_id: [kwd, 'KWD'], reconciled_invoice_ids: [second] });
    expect(await readMove(second, ['payment_state', 'amount_residual'])).toEqual({ id: second, payment_state: 'paid', amount_residual: 0 });
    expect(
      await rpc.kw(
        'account.move',
        'search',
        [
          [
            ['move_type', '=', 'out_refund'],
            ['reversed_entry_id', 'in', [invoice]],
          ],
        ],
        { order: 'id' },
      ),
    ).toEqual([first, second]);
  });
});

// --- faults and access ----------------------------------------------------------------------------

describe('faults', () => {
  it('unknown model: UserError "Object … doesn\'t exist" (fault 2, as Odoo 17 raises it)', async () => {
    expect(await fault(rpc.kw('sale.order', 'search', [[]]))).toEqual({ faultCode: 2, faultString: "Object sale.order doesn't exist" });
  });

  it('unknown field: fault 1 with a Python traceback', async () => {
    const { faultCode, faultString } = await fault(rpc.kw('res.partner', 'search_read', [[]], { fields: ['name', 'x'] }));
    expect(faultCode).toBe(1);
    expect(faultString).toMatch(/^Traceback \(most recent call last\):\n {2}File "/);
    expect(faultString.trimEnd().split('\n').at(-1)).toBe("ValueError: Invalid field 'x' on model 'res.partner'");
  });

  it('unknown or private method, bad arguments: faults 1 and 4', async () => {
    expect((await fault(rpc.kw('account.move', 'action_fly', [[1]]))).faultString).toContain(
      "AttributeError: The method 'account.move.action_fly' does not exist",
    );
    expect(await fault(rpc.kw('account.move', '_post', [[1]]))).toEqual({
      faultCode: 4,
      faultString: 'Private methods (such as account.move._post) cannot be called remotely.',
    });
    expect((await fault(rpc.kw('res.partner', 'search', [[]], { count: true }))).faultString).toContain(
      "TypeError: BaseModel.search() got an unexpected keyword argument 'count'",
    );
  });

  it('wrong password or uid on execute_kw: AccessDenied (fault 3)', async () => {
    expect(await fault(rpc.kw('res.partner', 'search', [[]], {}, { uid: 2, password: 'nope' }))).toEqual({ faultCode: 3, faultString: 'Access Denied' });
    expect((await fault(rpc.kw('res.partner', 'search', [[]], {}, { uid: false, password: 'admin' }))).faultCode).toBe(3);
    expect(await rpc.kw('res.partner', 'search_count', [[]], {}, { uid: 2, password: 'key-123' })).toBeGreaterThan(0);
  });

  it('read-only users read but get AccessError (fault 4) on changes', async () => {
    const auditor = { uid: 3, password: 'audit' };
    expect(await rpc.kw('res.partner', 'search_count', [[]], {}, auditor)).toBeGreaterThan(0);
    const { faultCode, faultString } = await fault(rpc.kw('res.partner', 'create', [{ name: 'Nope' }], {}, auditor));
    expect(faultCode).toBe(4);
    expect(faultString).toMatch(/^You are not allowed to create 'Contact' \(res\.partner\) records\./);
  });
});

// --- fault injection ------------------------------------------------------------------------------

describe('fault injection', () => {
  const partnerCount = () => sandbox.records('res.partner').length;

  it('failNext(n, "fault"): n transient faults (nothing runs), then normal service', async () => {
    const before = partnerCount();
    sandbox.failNext(2, 'fault');
    for (let i = 0; i < 2; i++) {
      const { faultCode, faultString } = await fault(createPartner());
      expect(faultCode).toBe(1);
      expect(faultString).toContain('psycopg2.errors.SerializationFailure');
    }
    expect(partnerCount()).toBe(before);
    await createPartner();
    expect(partnerCount()).toBe(before + 1);
  });

  it('http500 and disconnect fail at the transport level; lostResponse commits but never answers', async () => {
    sandbox.failNext(1, 'http500');
    const http500 = await transportError(rpc.kw('res.partner', 'search', [[]]));
    expect(http500.faultCode).toBeUndefined();
    expect(http500.res?.statusCode).toBe(500);

    const before = partnerCount();
    sandbox.failNext(1, 'disconnect');
    const dropped = await transportError(createPartner());
    expect(dropped.faultCode).toBeUndefined();
    expect(partnerCount()).toBe(before);

    sandbox.failNext(1, 'lostResponse');
    await transportError(createPartner({ name: 'Lost but saved' }));
    expect(sandbox.records('res.partner').at(-1)).toMatchObject({ name: 'Lost but saved' });
  });

  it('failFor(ms) fails every call in the window, then recovers', async () => {
    sandbox.failFor(1_000, 'fault');
    await fault(rpc.kw('res.partner', 'search', [[]]));
    await fault(rpc.kw('res.partner', 'search', [[]]));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await rpc.kw('res.partner', 'search', [[]])).toEqual(expect.any(Array));
  });

  it('setLatency delays every call; reset() clears it', async () => {
    // A latency far above any scheduling noise: with it a call takes at least ~2 s, without it under half that.
    sandbox.setLatency(2_000);
    let started = performance.now();
    await rpc.common('version', []);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_950);
    sandbox.reset();
    started = performance.now();
    await rpc.common('version', []);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('counts execute_kw and authenticate calls, failed ones included', async () => {
    const before = sandbox.calls();
    await rpc.common('version', []);
    await rpc.common('authenticate', [DB, 'admin', 'admin', {}]);
    await rpc.kw('res.partner', 'search', [[]]);
    sandbox.failNext(1, 'http500');
    await transportError(rpc.kw('res.partner', 'search', [[]]));
    expect(sandbox.calls() - before).toBe(3);
  });
});

// --- write log ------------------------------------------------------------------------------------

describe('write log', () => {
  const entries = (): Record<string, unknown>[] =>
    readFileSync(logFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text) as Record<string, unknown>);

  it('appends one JSON line per change (in a folder it creates), none for reads or failed calls', async () => {
    const before = entries().length;
    const email = `log-${unique()}@example.com`;
    const partner = await createPartner({ email });
    await rpc.kw('res.partner', 'search_read', [[['email', '=', email]]]);
    await fault(rpc.kw('res.partner', 'create', [{ email: 'no-name@example.com' }]));
    const invoice = await createInvoice({ partner_id: partner });
    await rpc.kw('account.move', 'action_post', [[invoice]], { context: { lang: 'de_DE' } });

    const added = entries().slice(before);
    expect(added.map(({ model, method }) => `${String(model)}.${String(method)}`)).toEqual([
      'res.partner.create',
      'account.move.create',
      'account.move.action_post',
    ]);
    expect(added[0]).toMatchObject({ api: 'xmlrpc', db: DB, uid: 2, login: 'admin', args: [{ email }], result: partner });
    expect(added[2]).toMatchObject({ args: [[invoice]], kwargs: { context: { lang: 'de_DE' } }, result: false });
    expect(Date.parse(String(added[2]?.at))).not.toBeNaN();
  });
});

// --- lifecycle ------------------------------------------------------------------------------------

describe('lifecycle', () => {
  it('stop() frees the port, even with a call waiting on latency', async () => {
    const { sandbox: extra, rpc: client } = await startSandbox({ logFile: false });
    const port = extra.port;
    expect(extra.url).toBe(`http://127.0.0.1:${port}`);
    extra.setLatency(10_000);
    const pending = transportError(client.common('version', []));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await extra.stop();
    await pending;
    expect(await isListening(port)).toBe(false);
  });
});
