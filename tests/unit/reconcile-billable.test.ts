/**
 * reconcileBillable with an in-memory ERP: any currency in minor units, quantities, several payments,
 * one credit note per credit (partial ones too) with its refund, adoption of a credit note Odoo's
 * reversal wizard made before credit notes carried our ref, and the checks of a malformed sale.
 */
import { describe, expect, it } from 'vitest';
import { JobError } from '../../shared/platform/jobs';
import { type Billable, type BillableDocument, reconcileBillable } from '../../shared/platform/reconcile-billable';
import { MemoryErp, type Move } from '../support/memory-erp';

const CUSTOMER = { ref: 'cust:aiko', name: 'Aiko Tanaka', email: 'aiko@example.jp' };

function order(currency: string, document: Partial<BillableDocument> = {}): Billable {
  return {
    source: 'order:ord_1',
    customer: CUSTOMER,
    currency,
    documents: [
      {
        ref: 'ord_1',
        date: '2026-04-01',
        lines: [
          { name: 'Sencha 100 g', quantity: 3, unitAmount: 1200, taxRatePercent: 8 },
          { name: 'Shipping', quantity: 1, unitAmount: 500 },
        ],
        payments: [{ memo: 'pi_ord_1', amount: 4100, date: '2026-04-01' }],
        credits: [],
        ...document,
      },
    ],
  };
}

const credit = (ref: string, amount: number, refund?: number) => ({
  ref,
  reason: `Refund ${ref}`,
  date: '2026-04-05',
  amount,
  ...(refund !== undefined ? { refund: { memo: `refund:${ref}`, amount: refund } } : {}),
});

describe('reconcileBillable: currencies and quantities', () => {
  it('bills a JPY order in yen: one invoice with quantities and unit prices, the payment in JPY', async () => {
    const erp = new MemoryErp();
    const report = await reconcileBillable(erp, order('JPY'));
    const { invoices, payments, creditNotes } = erp.live();
    expect(invoices).toEqual([expect.objectContaining({ ref: 'ord_1', currency: 'JPY', state: 'posted', amountTotal: 4100, amountResidual: 0 })]);
    expect(invoices[0]?.lines).toEqual([
      { name: 'Sencha 100 g', quantity: 3, unitAmount: 1200, taxRatePercent: 8 },
      { name: 'Shipping', quantity: 1, unitAmount: 500 },
    ]);
    expect(payments).toEqual([expect.objectContaining({ memo: 'pi_ord_1', currency: 'JPY', amount: 4100 })]);
    expect(creditNotes).toEqual([]);
    expect(report.changes).toEqual([
      `partner 1 created for ${CUSTOMER.ref}`,
      'invoice 2 for ord_1 created and posted (4100 JPY)',
      'payment pi_ord_1 registered on invoice 2',
    ]);
  });

  it('registers several payments of one invoice once each (a deposit and the rest), in KWD', async () => {
    const erp = new MemoryErp();
    const billable = order('KWD', {
      lines: [{ name: 'Dates 1 kg', quantity: 2, unitAmount: 2125 }],
      payments: [
        { memo: 'pi_deposit', amount: 1000, date: '2026-04-01' },
        { memo: 'pi_rest', amount: 3250, date: '2026-04-03' },
      ],
    });
    await reconcileBillable(erp, billable);
    expect(erp.live().invoices[0]).toMatchObject({ currency: 'KWD', amountTotal: 4250, amountResidual: 0, paymentState: 'paid' });
    expect(erp.live().payments.map((payment) => [payment.memo, payment.amount, payment.currency])).toEqual([
      ['pi_deposit', 1000, 'KWD'],
      ['pi_rest', 3250, 'KWD'],
    ]);
    erp.calls = [];
    expect((await reconcileBillable(erp, billable)).changes).toEqual([]);
    expect(erp.calls).toEqual(['findInvoices']);
  });

  it('registers a payment that arrived later, looking up only what is open', async () => {
    const erp = new MemoryErp();
    const deposit = order('EUR', { payments: [{ memo: 'pi_deposit', amount: 1000, date: '2026-04-01' }] });
    await reconcileBillable(erp, deposit);
    expect(erp.live().invoices[0]).toMatchObject({ amountResidual: 3100, paymentState: 'partial' });
    erp.calls = [];
    const both = order('EUR', { payments: [...(deposit.documents[0]?.payments ?? []), { memo: 'pi_rest', amount: 3100, date: '2026-04-02' }] });
    const report = await reconcileBillable(erp, both);
    expect(report.changes).toEqual(['payment pi_rest registered on invoice 2']);
    expect(erp.calls).toEqual(['findInvoices', 'findPayments', 'registerPayment', 'findPayments']);
    expect(erp.live().payments.map((payment) => payment.memo)).toEqual(['pi_deposit', 'pi_rest']);
  });

  it('rounds a fractional quantity to the minor unit the way the ERP totals it', async () => {
    const erp = new MemoryErp();
    const billable = order('EUR', {
      lines: [{ name: 'Labour (hours)', quantity: 1.5, unitAmount: 3333 }],
      payments: [{ memo: 'pi', amount: 5000, date: '2026-04-01' }],
    });
    const report = await reconcileBillable(erp, billable);
    expect(report.warnings).toEqual([]);
    expect(erp.live().invoices[0]).toMatchObject({ amountTotal: 5000, amountResidual: 0 });
  });

  it('warns in the currency’s own digits when an invoice found does not total what the sale says', async () => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('JPY'));
    (erp.moves[0] as Move).amountTotal = 4200;
    expect((await reconcileBillable(erp, order('JPY'))).warnings).toEqual(['invoice 2 for ord_1 totals 4200, expected 4100']);

    const kwd = new MemoryErp();
    await reconcileBillable(kwd, order('KWD'));
    (kwd.moves[0] as Move).amountTotal = 4200;
    expect((await reconcileBillable(kwd, order('KWD'))).warnings).toEqual(['invoice 2 for ord_1 totals 4.200, expected 4.100']);
  });

  it('leaves an invoice kept in another currency alone: no payment, no credit note, a warning', async () => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('JPY', { payments: [] }));
    const report = await reconcileBillable(erp, order('USD', { credits: [credit('re_1', 500, 500)] }));
    expect(report.warnings).toEqual(['invoice 2 for ord_1 is in JPY, expected USD; left alone']);
    expect(report.changes).toEqual([]);
    expect(erp.live().payments).toEqual([]);
    expect(erp.live().creditNotes).toEqual([]);
  });

  it('passes the ERP’s refusal of an inactive currency through before writing any invoice', async () => {
    const erp = new MemoryErp();
    const error = await reconcileBillable(erp, order('SEK')).catch((reason: unknown) => reason);
    expect(error).toMatchObject({ kind: 'permanent', code: 'MEMORY_CURRENCY_INACTIVE' });
    expect(erp.moves).toEqual([]);
  });
});

describe('reconcileBillable: credits', () => {
  it('makes one credit note per credit (a partial one, then a second), each with its refund, and repeats nothing', async () => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('KWD'));

    const firstCredit = order('KWD', { credits: [credit('re_1', 1250, 1250)] });
    const first = await reconcileBillable(erp, firstCredit);
    expect(first.changes).toEqual([
      'credit note 4 for ord_1 created (re_1, 1.250 KWD)',
      'credit note 4 for ord_1 posted',
      'refund refund:re_1 registered on credit note 4',
    ]);

    const bothCredits = order('KWD', { credits: [credit('re_1', 1250, 1250), credit('re_2', 300, 300)] });
    await reconcileBillable(erp, bothCredits);
    const { invoices, creditNotes, payments } = erp.live();
    expect(invoices).toEqual([expect.objectContaining({ amountTotal: 4100, amountResidual: 0 })]);
    expect(creditNotes.map((note) => [note.ref, note.reversedInvoiceId, note.currency, note.state, note.amountTotal, note.amountResidual])).toEqual([
      ['re_1', invoices[0]?.id, 'KWD', 'posted', 1250, 0],
      ['re_2', invoices[0]?.id, 'KWD', 'posted', 300, 0],
    ]);
    expect(creditNotes[0]?.lines).toEqual([{ name: 'Refund re_1', quantity: 1, unitAmount: 1250 }]);
    expect(payments.map((payment) => [payment.memo, payment.amount, payment.currency])).toEqual([
      ['pi_ord_1', 4100, 'KWD'],
      ['refund:re_1', 1250, 'KWD'],
      ['refund:re_2', 300, 'KWD'],
    ]);

    erp.calls = [];
    const again = await reconcileBillable(erp, bothCredits);
    expect(again).toMatchObject({ changes: [], warnings: [] });
    // The invoices, then their credit notes: both refunded in full, so no payment look-up.
    expect(erp.calls).toEqual(['findInvoices', 'findCreditNotes']);
  });

  it('creates the invoice, its payment, credit notes and refunds in one run for a sale first synced after its refunds', async () => {
    const erp = new MemoryErp();
    const report = await reconcileBillable(erp, order('JPY', { credits: [credit('re_1', 1000, 1000), credit('re_2', 600)] }));
    expect(report.warnings).toEqual([]);
    expect(erp.live().creditNotes.map((note) => [note.ref, note.amountResidual])).toEqual([
      ['re_1', 0],
      ['re_2', 600],
    ]);
    expect(erp.live().payments.map((payment) => payment.memo)).toEqual(['pi_ord_1', 'refund:re_1']);
    // Fresh credit notes have no refund yet: registered without a look-up, checked once after.
    expect(erp.calls.filter((call) => call === 'findPayments')).toHaveLength(2);
  });

  it('registers a refund that came after its credit note, and never more than the credit note leaves open', async () => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('EUR', { credits: [credit('re_1', 800)] }));
    expect(erp.live().creditNotes[0]).toMatchObject({ amountResidual: 800 });
    const report = await reconcileBillable(erp, order('EUR', { credits: [credit('re_1', 800, 900)] }));
    expect(report.changes).toEqual(['refund refund:re_1 registered on credit note 4']);
    expect(erp.live().payments.at(-1)).toMatchObject({ memo: 'refund:re_1', amount: 800, invoiceId: 4 });
    expect(erp.live().creditNotes[0]).toMatchObject({ amountResidual: 0 });
  });

  it('adopts the one credit note Odoo’s reversal wizard made for a full credit instead of making a second', async () => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('EUR'));
    const wizard = erp.addWizardCreditNote(2);
    const report = await reconcileBillable(erp, order('EUR', { credits: [credit('credit:ord_1', 4100, 4100)] }));
    expect(erp.live().creditNotes.map((note) => note.id)).toEqual([wizard.id]);
    expect(report.changes).toEqual([`refund refund:credit:ord_1 registered on credit note ${wizard.id}`]);
    expect(erp.live().creditNotes[0]).toMatchObject({ amountResidual: 0 });
  });

  it.each([
    ['a partial credit', [credit('re_1', 1000)], 0],
    ['two wizard credit notes (which one would it be?)', [credit('credit:ord_1', 4100)], 1],
  ])('does not adopt a wizard credit note for %s: makes its own', async (_, credits, extraWizardNotes) => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('EUR'));
    erp.addWizardCreditNote(2);
    for (let i = 0; i < extraWizardNotes; i++) erp.addWizardCreditNote(2);
    await reconcileBillable(erp, order('EUR', { credits }));
    const ours = erp.live().creditNotes.filter((note) => note.ref !== undefined);
    expect(ours.map((note) => [note.ref, note.amountTotal])).toEqual([[credits[0]?.ref, credits[0]?.amount]]);
  });

  it('leaves a credit note someone cancelled in the ERP alone, and says so', async () => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('EUR', { credits: [credit('re_1', 500)] }));
    const note = erp.live().creditNotes[0] as Move;
    note.state = 'cancelled';
    const report = await reconcileBillable(erp, order('EUR', { credits: [credit('re_1', 500, 500)] }));
    expect(report.warnings).toEqual([`credit note ${note.id} for re_1 (ord_1) is cancelled in the ERP; not recreated`]);
    expect(report.changes).toEqual([]);
    expect(erp.moves.filter((move) => move.kind === 'credit-note')).toHaveLength(1);
  });

  it('keeps one credit note per credit when two workers credit the same invoice at once', async () => {
    const erp = new MemoryErp();
    await reconcileBillable(erp, order('JPY'));
    const racing = new MemoryErp(true);
    Object.assign(racing, { partners: erp.partners, moves: erp.moves, payments: erp.payments, nextId: 100 });
    const credited = order('JPY', { credits: [credit('re_1', 1000, 1000), credit('re_2', 500, 500)] });
    const outcomes = await Promise.allSettled([reconcileBillable(racing, credited), reconcileBillable(racing, credited)]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ kind: 'transient', code: 'ERP_CONCURRENT_SYNC' });
    }
    await reconcileBillable(racing, credited); // the retry
    expect(racing.live().creditNotes.map((note) => [note.ref, note.state, note.amountResidual])).toEqual([
      ['re_1', 'posted', 0],
      ['re_2', 'posted', 0],
    ]);
    expect(racing.live().payments.map((payment) => payment.memo)).toEqual(['pi_ord_1', 'refund:re_1', 'refund:re_2']);
  });
});

describe('reconcileBillable: a malformed sale', () => {
  it.each([
    ['a currency that is no ISO code', { ...order('EUR'), currency: 'euro' }, /currency "euro" is not an ISO 4217 code/],
    ['an amount in major units', order('EUR', { lines: [{ name: 'x', quantity: 1, unitAmount: 14.9 }] }), /unit amount 14.9 is not in minor units/],
    ['a quantity of 0', order('EUR', { lines: [{ name: 'x', quantity: 0, unitAmount: 100 }] }), /quantity 0/],
    ['a negative refund', order('EUR', { credits: [credit('re_1', 100, -100)] }), /refund refund:re_1 of re_1: amount -100/],
    ['two credits with one ref', order('EUR', { credits: [credit('re_1', 100), credit('re_1', 200)] }), /credit re_1 is not unique/],
    ['no lines', order('EUR', { lines: [] }), /document ord_1 has no lines/],
  ])('fails permanently for %s, before touching the ERP', async (_, billable, message) => {
    const erp = new MemoryErp();
    const error = await reconcileBillable(erp, billable as Billable).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({ kind: 'permanent', code: 'ERP_INVALID_BILLABLE', message: expect.stringMatching(message) });
    expect(erp.calls).toEqual([]);
  });
});
