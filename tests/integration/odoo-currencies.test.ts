/**
 * Sales in any currency through the Odoo adapter against the Odoo sandbox: reconcileBillable with
 * OdooErp, read back over XML-RPC as an accountant would — a JPY and a KWD order, each with a partial
 * credit note, a second one and their refunds; the currency looked up once; unknown and inactive
 * currencies refused; a credit note made earlier by Odoo's reversal wizard adopted, not doubled.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OdooSandbox } from '../../local/odoo-sandbox';
import { OdooClient } from '../../shared/adapters/odoo/odoo-client';
import { OdooErp } from '../../shared/adapters/odoo/odoo-erp';
import { type Billable, type BillableDocument, reconcileBillable } from '../../shared/platform/reconcile-billable';

let sandbox: OdooSandbox;
let accountant: OdooClient;
const clients: OdooClient[] = [];

function client(): OdooClient {
  const created = new OdooClient({ url: sandbox.url, db: 'sandbox', username: 'admin', password: 'admin', timeoutMs: 5_000 });
  clients.push(created);
  return created;
}

/** A worker's adapter, counting its calls per model. */
function worker() {
  const odoo = client();
  const models: string[] = [];
  const executeKw = odoo.executeKw.bind(odoo);
  odoo.executeKw = (model, method, args, kwargs) => {
    models.push(`${model}.${method}`);
    return executeKw(model, method, args, kwargs);
  };
  return { odoo, erp: new OdooErp(odoo), models };
}

beforeAll(async () => {
  sandbox = await OdooSandbox.start({ port: 0, logFile: false });
  accountant = client();
});

afterAll(async () => {
  for (const created of clients) created.close();
  await sandbox?.stop();
});

function order(currency: string, document: Omit<BillableDocument, 'ref' | 'date'>): Billable {
  const id = `ord_${randomUUID().slice(0, 8)}`;
  return {
    source: `order:${id}`,
    customer: { ref: `cust:${id}`, name: 'Aiko Tanaka', email: `aiko.${id}@example.jp` },
    currency,
    documents: [{ ref: id, date: '2026-04-01', ...document }],
  };
}

/** The sale with its (only) document changed, as the order looks at a later sync. */
const later = (billable: Billable, change: Partial<BillableDocument>): Billable => ({
  ...billable,
  documents: [{ ...(billable.documents[0] as BillableDocument), ...change }],
});

interface Move {
  id: number;
  name: string;
  move_type: string;
  state: string;
  ref: string | false;
  invoice_origin: string | false;
  currency_id: [number, string];
  amount_total: number;
  amount_residual: number;
  payment_state: string;
  reversed_entry_id: [number, string] | false;
  invoice_line_ids: number[];
}

/** The invoice, its credit notes, their lines and every payment on them, as Odoo shows them. */
async function books(ref: string) {
  const fields = [
    'name',
    'move_type',
    'state',
    'ref',
    'invoice_origin',
    'currency_id',
    'amount_total',
    'amount_residual',
    'payment_state',
    'reversed_entry_id',
    'invoice_line_ids',
  ];
  const invoices = (await accountant.executeKw(
    'account.move',
    'search_read',
    [
      [
        ['move_type', '=', 'out_invoice'],
        ['ref', '=', ref],
      ],
    ],
    { fields, order: 'id asc' },
  )) as Move[];
  const creditNotes = (await accountant.executeKw(
    'account.move',
    'search_read',
    [
      [
        ['move_type', '=', 'out_refund'],
        ['reversed_entry_id', 'in', invoices.map((invoice) => invoice.id)],
      ],
    ],
    { fields, order: 'id asc' },
  )) as Move[];
  const moves = [...invoices, ...creditNotes];
  const lines = (await accountant.executeKw('account.move.line', 'read', [moves.flatMap((move) => move.invoice_line_ids)], {
    fields: ['move_id', 'name', 'quantity', 'price_unit', 'price_subtotal'],
  })) as Array<{ move_id: [number, string]; name: string; quantity: number; price_unit: number; price_subtotal: number }>;
  const payments = (await accountant.executeKw('account.payment', 'search_read', [[['reconciled_invoice_ids', 'in', moves.map((move) => move.id)]]], {
    fields: ['memo', 'amount', 'currency_id', 'payment_type', 'reconciled_invoice_ids', 'state'],
    order: 'id asc',
  })) as Array<{ memo: string; amount: number; currency_id: [number, string]; payment_type: string; reconciled_invoice_ids: number[]; state: string }>;
  return {
    invoices,
    creditNotes,
    linesOf: (moveId: number) => lines.filter((line) => line.move_id[0] === moveId).map(({ name, quantity, price_unit }) => [name, quantity, price_unit]),
    payments: payments.map(({ memo, amount, currency_id, payment_type, reconciled_invoice_ids }) => [
      memo,
      amount,
      currency_id[1],
      payment_type,
      reconciled_invoice_ids,
    ]),
  };
}

describe('orders in any currency against the Odoo sandbox', () => {
  it('a JPY order: invoice in yen with quantities, its payment, a partial credit note and a second one, refunded', async () => {
    const { erp, models } = worker();
    const paid = order('JPY', {
      lines: [
        { name: 'Sencha 100 g', quantity: 3, unitAmount: 1200, taxRatePercent: 8 },
        { name: 'Shipping', quantity: 1, unitAmount: 500 },
      ],
      payments: [{ memo: `pi_${randomUUID()}`, amount: 4100, date: '2026-04-01' }],
      credits: [],
    });
    const ref = paid.documents[0]?.ref as string;
    await reconcileBillable(erp, paid);
    const partial = later(paid, {
      credits: [
        { ref: `re_1_${ref}`, reason: 'One tin arrived dented', date: '2026-04-03', amount: 1200, refund: { memo: `refund:re_1_${ref}`, amount: 1200 } },
      ],
    });
    await reconcileBillable(erp, partial);
    const second = later(paid, {
      credits: [
        ...(partial.documents[0]?.credits ?? []),
        { ref: `re_2_${ref}`, reason: 'Shipping refunded', date: '2026-04-04', amount: 500, refund: { memo: `refund:re_2_${ref}`, amount: 500 } },
      ],
    });
    await reconcileBillable(erp, second);

    const seen = await books(ref);
    expect(seen.invoices).toEqual([
      expect.objectContaining({
        state: 'posted',
        currency_id: [expect.any(Number), 'JPY'],
        amount_total: 4100,
        amount_residual: 0,
        payment_state: 'paid',
        invoice_origin: false,
      }),
    ]);
    const invoice = seen.invoices[0] as Move;
    expect(seen.linesOf(invoice.id)).toEqual([
      ['Sencha 100 g', 3, 1200],
      ['Shipping', 1, 500],
    ]);
    expect(
      seen.creditNotes.map((note) => [
        note.invoice_origin,
        note.ref,
        note.state,
        note.currency_id[1],
        note.amount_total,
        note.amount_residual,
        note.reversed_entry_id,
      ]),
    ).toEqual([
      [`re_1_${ref}`, `Reversal of: ${invoice.name}, One tin arrived dented`, 'posted', 'JPY', 1200, 0, [invoice.id, invoice.name]],
      [`re_2_${ref}`, `Reversal of: ${invoice.name}, Shipping refunded`, 'posted', 'JPY', 500, 0, [invoice.id, invoice.name]],
    ]);
    expect(seen.creditNotes[0]?.name).toMatch(/^RINV\/2026\/\d{5}$/);
    expect(seen.linesOf(seen.creditNotes[0]?.id as number)).toEqual([['One tin arrived dented', 1, 1200]]);
    expect(seen.payments).toEqual([
      [paid.documents[0]?.payments[0]?.memo, 4100, 'JPY', 'inbound', [invoice.id]],
      [`refund:re_1_${ref}`, 1200, 'JPY', 'outbound', [seen.creditNotes[0]?.id]],
      [`refund:re_2_${ref}`, 500, 'JPY', 'outbound', [seen.creditNotes[1]?.id]],
    ]);

    // The currency was looked up once for the adapter's life; a repeat only looks.
    expect(models.filter((call) => call.startsWith('res.currency'))).toEqual(['res.currency.search_read']);
    models.length = 0;
    expect(await reconcileBillable(erp, second)).toMatchObject({ changes: [], warnings: [] });
    expect(models).toEqual(['account.move.search_read', 'account.move.search_read']);
  });

  it('a KWD order: three decimals; a refund larger than its credit is capped, a second credit refunded later', async () => {
    const { erp } = worker();
    const sale = order('KWD', {
      lines: [{ name: 'Medjool dates 1 kg', quantity: 2, unitAmount: 2125 }],
      payments: [{ memo: `pi_${randomUUID()}`, amount: 4250, date: '2026-04-01' }],
      credits: [],
    });
    const ref = sale.documents[0]?.ref as string;
    const first = { ref: `re_1_${ref}`, reason: 'Partial refund', date: '2026-04-02', amount: 1250, refund: { memo: `refund:re_1_${ref}`, amount: 1500 } };
    const second = { ref: `re_2_${ref}`, reason: 'Goodwill', date: '2026-04-03', amount: 333 };
    await reconcileBillable(erp, later(sale, { credits: [first, second] }));
    let seen = await books(ref);
    expect(seen.invoices.map((invoice) => [invoice.currency_id[1], invoice.amount_total, invoice.amount_residual, invoice.payment_state])).toEqual([
      ['KWD', 4.25, 0, 'paid'],
    ]);
    expect(seen.linesOf(seen.invoices[0]?.id as number)).toEqual([['Medjool dates 1 kg', 2, 2.125]]);
    expect(seen.creditNotes.map((note) => [note.invoice_origin, note.amount_total, note.amount_residual, note.payment_state])).toEqual([
      [first.ref, 1.25, 0, 'paid'],
      [second.ref, 0.333, 0.333, 'not_paid'],
    ]);
    expect(seen.payments.map(([memo, amount, currency]) => [memo, amount, currency])).toEqual([
      [sale.documents[0]?.payments[0]?.memo, 4.25, 'KWD'],
      [first.refund.memo, 1.25, 'KWD'],
    ]);

    const refunded = { ...second, refund: { memo: `refund:re_2_${ref}`, amount: 333 } };
    const report = await reconcileBillable(erp, later(sale, { credits: [first, refunded] }));
    expect(report.changes).toEqual([`refund refund:re_2_${ref} registered on credit note ${seen.creditNotes[1]?.id}`]);
    seen = await books(ref);
    expect(seen.creditNotes.map((note) => [note.amount_residual, note.payment_state])).toEqual([
      [0, 'paid'],
      [0, 'paid'],
    ]);
    expect(seen.payments.at(-1)).toEqual([refunded.refund.memo, 0.333, 'KWD', 'outbound', [seen.creditNotes[1]?.id]]);
  });

  it.each([
    ['XTS', 'ODOO_CURRENCY_UNKNOWN', /Odoo has no currency XTS/],
    ['SEK', 'ODOO_CURRENCY_INACTIVE', /Odoo's currency SEK is not active/],
  ])('refuses %s permanently (%s) and writes no invoice', async (currency, code, message) => {
    const { erp, models } = worker();
    const sale = order(currency, { lines: [{ name: 'x', quantity: 1, unitAmount: 100 }], payments: [], credits: [] });
    const error = await reconcileBillable(erp, sale).catch((reason: unknown) => reason);
    expect(error).toMatchObject({ kind: 'permanent', code, message: expect.stringMatching(message) });
    expect((await books(sale.documents[0]?.ref as string)).invoices).toEqual([]);
    // Not cached as a failure: a retry (after someone activated the currency, say) asks Odoo again.
    await expect(reconcileBillable(erp, sale)).rejects.toMatchObject({ code });
    expect(models.filter((call) => call.startsWith('res.currency'))).toHaveLength(2);
  });

  it('adopts the credit note an earlier sync made with the reversal wizard (refund already on it): nothing new', async () => {
    const { erp } = worker();
    const memo = `pi_${randomUUID()}`;
    const sale = order('EUR', {
      lines: [{ name: 'Inspektion - VW Golf', quantity: 1, unitAmount: 14900 }],
      payments: [{ memo, amount: 14900, date: '2026-04-01' }],
      credits: [],
    });
    const ref = sale.documents[0]?.ref as string;
    await reconcileBillable(erp, sale);
    // What the sync did before credit notes were made directly: the reversal wizard, and the refund on its credit note.
    const invoice = (await books(ref)).invoices[0] as Move;
    const context = { context: { active_model: 'account.move', active_ids: [invoice.id] } };
    const wizard = await accountant.executeKw('account.move.reversal', 'create', [{ reason: `Buchung ${ref} storniert` }], context);
    const action = (await accountant.executeKw('account.move.reversal', 'refund_moves', [[wizard]], context)) as { res_id: number };
    const payContext = { context: { active_model: 'account.move', active_ids: [action.res_id] } };
    const register = await accountant.executeKw('account.payment.register', 'create', [{ communication: `refund:${memo}` }], payContext);
    await accountant.executeKw('account.payment.register', 'action_create_payments', [[register]], payContext);

    const credited = later(sale, {
      credits: [
        { ref: `credit:${ref}`, reason: `Buchung ${ref} storniert`, date: '2026-04-02', amount: 14900, refund: { memo: `refund:${memo}`, amount: 14900 } },
      ],
    });
    expect(await reconcileBillable(erp, credited)).toMatchObject({ changes: [], warnings: [] });
    const seen = await books(ref);
    expect(seen.creditNotes.map((note) => [note.id, note.invoice_origin, note.amount_residual])).toEqual([[action.res_id, false, 0]]);
    expect(seen.payments.map(([paymentMemo]) => paymentMemo)).toEqual([memo, `refund:${memo}`]);
  });
});
