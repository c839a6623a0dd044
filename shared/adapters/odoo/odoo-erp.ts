import * as z from 'zod';
import type { CreditNoteDraft, Erp, ErpDocumentState, ErpInvoice, ErpPartner, ErpPayment, InvoiceDraft, PartnerDraft, PaymentDraft } from '../../platform/erp';
import { isUnknownField, OdooError } from './odoo-errors';
import type { OdooCall, OdooTransport } from './odoo-transport';

/** Choices an Odoo database needs made for it (ids differ per database). */
export interface OdooErpOptions {
  /** Journal payments are registered in (e.g. a "Stripe" bank journal); Odoo's default bank journal when absent. */
  paymentJournalId?: number;
  /**
   * Taxes of every invoice and credit note line (`[]` = explicitly none). Absent, Odoo applies its
   * defaults, which in a German chart are usually 19 % on top of the price: configure the
   * price-included VAT tax here.
   */
  lineTaxIds?: number[];
}

// Odoo sends `false` for an empty field, and a many2one as [id, display name].
const text = z.union([z.string(), z.literal(false)]).transform((value) => (value === false ? undefined : value));
const many2one = z.union([z.tuple([z.number().int(), z.string()]), z.literal(false)]).transform((value) => (value === false ? undefined : value[0]));
const id = z.number().int().positive();
/** The id of one new record: XML-RPC answers a single record's values with its id, JSON-2 with the recordset's ids. */
const createdId = z.union([id, z.tuple([id]).transform(([only]) => only)]);
/** A many2one that is always set (a move's or a payment's currency). */
const requiredMany2one = z.tuple([id, z.string()]).transform((value) => value[0]);

const partnerSchema = z.object({ id, ref: text, email: text });

/** A currency as Odoo keeps it: amounts in it have `decimals` decimal places. */
interface OdooCurrency {
  id: number;
  code: string;
  decimals: number;
  active: boolean;
}
const currencySchema = z
  .object({ id, name: z.string(), decimal_places: z.number().int().min(0).max(6), active: z.boolean() })
  .transform((currency): OdooCurrency => ({ id: currency.id, code: currency.name, decimals: currency.decimal_places, active: currency.active }));
const CURRENCY_FIELDS = ['name', 'decimal_places', 'active'];
/** Inactive currencies are hidden from searches unless the domain asks about `active`. */
const ANY_ACTIVE = ['active', 'in', [true, false]];

/** Minor units (integers) to Odoo's amounts in major units, and back, with the currency's decimals. */
const toMajor = (amount: number, currency: OdooCurrency) => amount / 10 ** currency.decimals;
const toMinor = (amount: number, currency: OdooCurrency) => Math.round(amount * 10 ** currency.decimals);

const MOVE_FIELDS = [
  'name',
  'move_type',
  'ref',
  'invoice_origin',
  'state',
  'payment_state',
  'currency_id',
  'amount_total',
  'amount_residual',
  'partner_id',
  'reversed_entry_id',
];
const STATES: Record<string, ErpDocumentState> = { draft: 'draft', posted: 'posted', cancel: 'cancelled' };
const moveSchema = z.object({
  id,
  name: text,
  move_type: z.string(),
  ref: text,
  invoice_origin: text,
  state: z.enum(['draft', 'posted', 'cancel']),
  payment_state: text,
  currency_id: requiredMany2one,
  amount_total: z.number(),
  amount_residual: z.number(),
  partner_id: many2one,
  reversed_entry_id: many2one,
});
type OdooMove = z.output<typeof moveSchema>;

/** Payment states that mean "this payment does not count" (Odoo 17: cancel; 18: canceled, rejected). */
const DEAD_PAYMENT_STATES = new Set(['cancel', 'canceled', 'cancelled', 'rejected']);

/** Window actions carry the record they open; wizards return one for a single new record. */
const openedRecord = z.object({ res_id: id });

const byId = <T extends { id: number }>(records: T[]) => [...records].sort((a, b) => a.id - b.id);

/**
 * The ERP port over Odoo's external API (Odoo 17 field and method names; 16 and 18 differences are
 * detected on first use and remembered), over either transport (`OdooTransport`: XML-RPC or JSON-2,
 * the same calls with named arguments on both). Customers are `res.partner`, invoices and credit
 * notes `account.move` (`out_invoice` / `out_refund`), payments go through the
 * `account.payment.register` wizard, as a user clicking in Odoo would.
 *
 * Currencies: every document is kept in the sale's currency (`currency_id`), and amounts cross the
 * port in minor units, converted with the `decimal_places` Odoo keeps for the currency (`res.currency`,
 * looked up by ISO code once per currency and cached for the life of the adapter). A currency Odoo does
 * not know, or has not activated, fails the sync permanently (ODOO_CURRENCY_UNKNOWN / ODOO_CURRENCY_INACTIVE).
 *
 * Credit notes are `out_refund` moves created directly (not through the reversal wizard, which can only
 * reverse a whole invoice once): `reversed_entry_id` names the invoice, one line credits the amount, our
 * credit's ref is the credit note's `invoice_origin` (its source document) and `ref` reads as the
 * wizard's text ("Reversal of: INV/2026/00001, <reason>"), so accountants see what they always saw.
 */
export class OdooErp implements Erp {
  /** Odoo 18 renamed account.payment's `ref` to `memo`; switched on the first "Invalid field". */
  #paymentMemoField: 'memo' | 'ref' = 'memo';
  /** Active currencies by ISO code (a pending look-up is shared; a failed one is forgotten). */
  readonly #currencies = new Map<string, Promise<OdooCurrency>>();
  /** Every currency seen, active or not, by id: enough to read amounts of documents kept in it. */
  readonly #currenciesById = new Map<number, OdooCurrency>();

  constructor(
    private readonly odoo: OdooTransport,
    private readonly options: OdooErpOptions = {},
  ) {}

  async findPartners(key: { ref: string; email: string }): Promise<ErpPartner[]> {
    // `=ilike` is case-insensitive equality, but `_` and `%` are still wildcards: escape them.
    const email = key.email.trim().replace(/[\\%_]/g, (char) => `\\${char}`);
    const domain = ['|', ['ref', '=', key.ref], ['email', '=ilike', email]];
    const partners = await this.#call(z.array(partnerSchema), {
      model: 'res.partner',
      method: 'search_read',
      params: { domain, fields: ['ref', 'email'], order: 'id asc', limit: 50 },
    });
    return byId(partners).map((partner) => ({
      id: partner.id,
      ...(partner.ref ? { ref: partner.ref } : {}),
      ...(partner.email ? { email: partner.email } : {}),
    }));
  }

  async createPartner(draft: PartnerDraft): Promise<number> {
    const values = { name: draft.name, email: draft.email, ref: draft.ref, customer_rank: 1, ...(draft.phone ? { phone: draft.phone } : {}) };
    return this.#create('res.partner', values);
  }

  async discardPartner(partnerId: number): Promise<void> {
    await this.odoo.call({ model: 'res.partner', method: 'unlink', ids: [partnerId] });
  }

  async findInvoices(refs: string[]): Promise<ErpInvoice[]> {
    if (refs.length === 0) return [];
    return this.#searchMoves([
      ['move_type', '=', 'out_invoice'],
      ['ref', 'in', refs],
    ]);
  }

  async findCreditNotes(invoiceIds: number[]): Promise<ErpInvoice[]> {
    if (invoiceIds.length === 0) return [];
    return this.#searchMoves([
      ['move_type', '=', 'out_refund'],
      ['reversed_entry_id', 'in', invoiceIds],
    ]);
  }

  async createInvoice(draft: InvoiceDraft): Promise<number> {
    const currency = await this.#currency(draft.currency);
    const values = {
      move_type: 'out_invoice',
      partner_id: draft.partnerId,
      ref: draft.ref,
      currency_id: currency.id,
      ...(draft.date ? { invoice_date: draft.date } : {}),
      // (0, 0, values): create this line with the move.
      invoice_line_ids: draft.lines.map((line) => [0, 0, this.#line(line.name, line.quantity, line.unitAmount, currency)]),
    };
    return this.#create('account.move', values);
  }

  async postInvoice(moveId: number): Promise<void> {
    try {
      await this.odoo.call({ model: 'account.move', method: 'action_post', ids: [moveId] });
    } catch (error) {
      // Someone (a concurrent run, an accountant) posted it first: the goal is met.
      if (error instanceof OdooError && error.code === 'ODOO_USER_ERROR' && (await this.readInvoice(moveId)).state === 'posted') return;
      throw error;
    }
  }

  async discardInvoice(moveId: number): Promise<void> {
    if ((await this.readInvoice(moveId)).state === 'draft') {
      await this.odoo.call({ model: 'account.move', method: 'unlink', ids: [moveId] });
      return;
    }
    // Posted entries cannot be deleted (Odoo keeps the number sequence whole): reset and cancel.
    await this.odoo.call({ model: 'account.move', method: 'button_draft', ids: [moveId] });
    await this.odoo.call({ model: 'account.move', method: 'button_cancel', ids: [moveId] });
  }

  async readInvoice(moveId: number): Promise<ErpInvoice> {
    const moves = await this.#call(z.array(moveSchema).length(1), { model: 'account.move', method: 'read', ids: [moveId], params: { fields: MOVE_FIELDS } });
    return (await this.#toInvoices(moves))[0] as ErpInvoice;
  }

  async findPayments(memos: string[]): Promise<ErpPayment[]> {
    if (memos.length === 0) return [];
    const field = this.#paymentMemoField;
    const schema = z.array(z.object({ id, memo: text.optional(), ref: text.optional(), amount: z.number(), currency_id: requiredMany2one, state: z.string() }));
    let payments: z.output<typeof schema>;
    try {
      payments = await this.#call(schema, {
        model: 'account.payment',
        method: 'search_read',
        params: { domain: [[field, 'in', memos]], fields: [field, 'amount', 'currency_id', 'state'], order: 'id asc' },
      });
    } catch (error) {
      if (field !== 'memo' || !isUnknownField(error, 'memo')) throw error;
      this.#paymentMemoField = 'ref';
      return this.findPayments(memos);
    }
    const live = byId(payments).filter((payment) => !DEAD_PAYMENT_STATES.has(payment.state));
    const currencies = await this.#currenciesOf(live.map((payment) => payment.currency_id));
    return live.map((payment) => {
      const currency = currencies.get(payment.currency_id) as OdooCurrency;
      return { id: payment.id, memo: payment[field] ?? '', currency: currency.code, amount: toMinor(payment.amount, currency), state: payment.state };
    });
  }

  /** Through the "Register Payment" wizard, in the document's currency (the port's `currency`). */
  async registerPayment(draft: PaymentDraft): Promise<number | undefined> {
    const currency = await this.#currency(draft.currency);
    const context = { active_model: 'account.move', active_ids: [draft.invoiceId] };
    const values = {
      amount: toMajor(draft.amount, currency),
      currency_id: currency.id,
      payment_date: draft.date,
      communication: draft.memo,
      ...(this.options.paymentJournalId ? { journal_id: this.options.paymentJournalId } : {}),
    };
    const wizard = await this.#create('account.payment.register', values, context);
    const action = await this.odoo.call({ model: 'account.payment.register', method: 'action_create_payments', ids: [wizard], context });
    const opened = openedRecord.safeParse(action);
    return opened.success ? opened.data.res_id : undefined;
  }

  async cancelPayment(paymentId: number): Promise<void> {
    // Back to draft first: that undoes its reconciliation with the invoice; then cancel.
    await this.odoo.call({ model: 'account.payment', method: 'action_draft', ids: [paymentId] });
    await this.odoo.call({ model: 'account.payment', method: 'action_cancel', ids: [paymentId] });
  }

  /**
   * A customer credit note created directly as a draft `out_refund`: one line for the credited amount,
   * reversing the invoice, our credit's ref as its source document.
   */
  async createCreditNote(draft: CreditNoteDraft): Promise<number> {
    const currency = await this.#currency(draft.currency);
    const invoiceName = draft.invoiceName ?? (await this.#moveName(draft.invoiceId));
    const values = {
      move_type: 'out_refund',
      partner_id: draft.partnerId,
      // What Odoo's reversal wizard writes, so a credit note reads the same however it was made.
      ref: `Reversal of: ${invoiceName}, ${draft.reason}`,
      invoice_origin: draft.ref,
      reversed_entry_id: draft.invoiceId,
      currency_id: currency.id,
      ...(draft.date ? { invoice_date: draft.date } : {}),
      invoice_line_ids: [[0, 0, this.#line(draft.reason, 1, draft.amount, currency)]],
    };
    return this.#create('account.move', values);
  }

  /** A move's number (an invoice this run posted, whose number it has not read). */
  async #moveName(moveId: number): Promise<string> {
    const [move] = await this.#call(z.array(z.object({ id, name: text })).length(1), {
      model: 'account.move',
      method: 'read',
      ids: [moveId],
      params: { fields: ['name'] },
    });
    return move?.name ?? String(moveId);
  }

  /**
   * An invoice line: the gross unit price in the currency's major units. Taxes are the configured
   * price-included ones (`lineTaxIds`) or Odoo's defaults; a line's `taxRatePercent` is not mapped to an
   * Odoo tax yet (that needs a rate-to-tax table per database), so mixed rates need `lineTaxIds` unset
   * and Odoo's product defaults, or a human.
   */
  #line(name: string, quantity: number, unitAmount: number, currency: OdooCurrency): Record<string, unknown> {
    const taxes = this.options.lineTaxIds ? { tax_ids: [[6, 0, this.options.lineTaxIds]] } : {};
    return { name, quantity, price_unit: toMajor(unitAmount, currency), ...taxes };
  }

  /** The active currency with this ISO code; looked up once, then cached. */
  #currency(code: string): Promise<OdooCurrency> {
    let pending = this.#currencies.get(code);
    if (!pending) {
      pending = this.#lookUpCurrency(code);
      this.#currencies.set(code, pending);
      // A currency activated after a failed sync is found by the retry, not refused from a cache.
      pending.catch(() => {
        if (this.#currencies.get(code) === pending) this.#currencies.delete(code);
      });
    }
    return pending;
  }

  async #lookUpCurrency(code: string): Promise<OdooCurrency> {
    const [currency] = await this.#call(z.array(currencySchema), {
      model: 'res.currency',
      method: 'search_read',
      params: { domain: [['name', '=', code], ANY_ACTIVE], fields: CURRENCY_FIELDS, order: 'id asc', limit: 1 },
    });
    if (!currency) {
      throw new OdooError('permanent', 'ODOO_CURRENCY_UNKNOWN', `Odoo has no currency ${code} (res.currency); add it in Odoo or bill in another currency`);
    }
    this.#currenciesById.set(currency.id, currency);
    if (!currency.active) {
      throw new OdooError(
        'permanent',
        'ODOO_CURRENCY_INACTIVE',
        `Odoo's currency ${code} is not active; activate it in Odoo (Accounting > Configuration > Currencies)`,
      );
    }
    return currency;
  }

  /** The currencies of records read from Odoo (active or not), by id; those not seen yet in one look-up. */
  async #currenciesOf(ids: number[]): Promise<Map<number, OdooCurrency>> {
    const missing = [...new Set(ids)].filter((currencyId) => !this.#currenciesById.has(currencyId));
    if (missing.length > 0) {
      const found = await this.#call(z.array(currencySchema), {
        model: 'res.currency',
        method: 'search_read',
        params: { domain: [['id', 'in', missing], ANY_ACTIVE], fields: CURRENCY_FIELDS },
      });
      for (const currency of found) {
        this.#currenciesById.set(currency.id, currency);
        if (currency.active && !this.#currencies.has(currency.code)) this.#currencies.set(currency.code, Promise.resolve(currency));
      }
    }
    const known = new Map<number, OdooCurrency>();
    for (const currencyId of ids) {
      const currency = this.#currenciesById.get(currencyId);
      if (!currency) throw new OdooError('permanent', 'ODOO_BAD_RESPONSE', `Odoo did not answer for currency ${currencyId} (res.currency)`);
      known.set(currencyId, currency);
    }
    return known;
  }

  /** Moves as the port's documents: amounts in minor units of their currency, our ref where we put it. */
  async #toInvoices(moves: OdooMove[]): Promise<ErpInvoice[]> {
    const currencies = await this.#currenciesOf(moves.map((move) => move.currency_id));
    return moves.map((move) => {
      const currency = currencies.get(move.currency_id) as OdooCurrency;
      // Our ref: an invoice's reference; a credit note's source document (its `ref` is the wizard's text).
      const ref = move.move_type === 'out_refund' ? move.invoice_origin : move.ref;
      return {
        id: move.id,
        name: move.name ?? '',
        ...(ref !== undefined ? { ref } : {}),
        state: STATES[move.state] as ErpDocumentState,
        paymentState: move.payment_state ?? 'not_paid',
        currency: currency.code,
        amountTotal: toMinor(move.amount_total, currency),
        amountResidual: toMinor(move.amount_residual, currency),
        ...(move.partner_id !== undefined ? { partnerId: move.partner_id } : {}),
        ...(move.reversed_entry_id !== undefined ? { reversedInvoiceId: move.reversed_entry_id } : {}),
      };
    });
  }

  async #searchMoves(domain: unknown[]): Promise<ErpInvoice[]> {
    const moves = await this.#call(z.array(moveSchema), {
      model: 'account.move',
      method: 'search_read',
      params: { domain, fields: MOVE_FIELDS, order: 'id asc' },
    });
    return this.#toInvoices(byId(moves));
  }

  /** One record created from `values` (`create` takes one record's values or a list). */
  #create(model: string, values: Record<string, unknown>, context?: Record<string, unknown>): Promise<number> {
    return this.#call(createdId, { model, method: 'create', params: { vals_list: values }, ...(context ? { context } : {}) });
  }

  /** A call with the answer checked: a shape we do not expect will not heal by retrying. */
  async #call<T extends z.ZodType>(schema: T, call: OdooCall): Promise<z.output<T>> {
    const { model, method } = call;
    const result = await this.odoo.call(call);
    const parsed = schema.safeParse(result);
    if (parsed.success) return parsed.data;
    const where = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(result)'}: ${issue.message}`)
      .slice(0, 3)
      .join('; ');
    throw new OdooError('permanent', 'ODOO_BAD_RESPONSE', `Odoo answered ${model}.${method} in an unexpected shape (${where})`);
  }
}
