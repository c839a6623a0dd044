import { z } from 'zod';
import type { CreditNoteDraft, Erp, ErpDocumentState, ErpInvoice, ErpPartner, ErpPayment, InvoiceDraft, PartnerDraft, PaymentDraft } from '../../platform/erp';
import { isMissingMethod, isUnknownField, type OdooClient, OdooError } from './odoo-client';

/** Choices an Odoo database needs made for it (ids differ per database). */
export interface OdooErpOptions {
  /** Journal payments are registered in (e.g. a "Stripe" bank journal); Odoo's default bank journal when absent. */
  paymentJournalId?: number;
  /**
   * Taxes of every invoice line (`[]` = explicitly none). Absent, Odoo applies its defaults, which in a
   * German chart are usually 19 % on top of the price: configure the price-included VAT tax here.
   */
  lineTaxIds?: number[];
}

// Odoo sends `false` for an empty field, and a many2one as [id, display name].
const text = z.union([z.string(), z.literal(false)]).transform((value) => (value === false ? undefined : value));
const many2one = z.union([z.tuple([z.number().int(), z.string()]), z.literal(false)]).transform((value) => (value === false ? undefined : value[0]));
const id = z.number().int().positive();
const cents = z.number().transform((euros) => Math.round(euros * 100));

const partnerSchema = z.object({ id, ref: text, email: text });

const MOVE_FIELDS = ['name', 'ref', 'state', 'payment_state', 'amount_total', 'amount_residual', 'partner_id', 'reversed_entry_id'];
const STATES: Record<string, ErpDocumentState> = { draft: 'draft', posted: 'posted', cancel: 'cancelled' };
const moveSchema = z
  .object({
    id,
    name: text,
    ref: text,
    state: z.enum(['draft', 'posted', 'cancel']),
    payment_state: text,
    amount_total: cents,
    amount_residual: cents,
    partner_id: many2one,
    reversed_entry_id: many2one,
  })
  .transform(
    (move): ErpInvoice => ({
      id: move.id,
      name: move.name ?? '',
      ...(move.ref !== undefined ? { ref: move.ref } : {}),
      state: STATES[move.state] as ErpDocumentState,
      paymentState: move.payment_state ?? 'not_paid',
      amountTotalCents: move.amount_total,
      amountResidualCents: move.amount_residual,
      ...(move.partner_id !== undefined ? { partnerId: move.partner_id } : {}),
      ...(move.reversed_entry_id !== undefined ? { reversedInvoiceId: move.reversed_entry_id } : {}),
    }),
  );

/** Payment states that mean "this payment does not count" (Odoo 17: cancel; 18: canceled, rejected). */
const DEAD_PAYMENT_STATES = new Set(['cancel', 'canceled', 'cancelled', 'rejected']);

/** Window actions carry the record they open; wizards return one for a single new record. */
const openedRecord = z.object({ res_id: id });

const byId = <T extends { id: number }>(records: T[]) => [...records].sort((a, b) => a.id - b.id);

/**
 * The ERP port over Odoo's external API (Odoo 17 field and method names; 16 and 18 differences are
 * detected on first use and remembered). Customers are `res.partner`, invoices and credit notes
 * `account.move` (`out_invoice` / `out_refund`), payments go through the `account.payment.register`
 * wizard and credit notes through `account.move.reversal`, as a user clicking in Odoo would.
 */
export class OdooErp implements Erp {
  /** Odoo 18 renamed account.payment's `ref` to `memo`; switched on the first "Invalid field". */
  #paymentMemoField: 'memo' | 'ref' = 'memo';
  /** Odoo 17 split `reverse_moves` into `refund_moves` / `modify_moves`; older ones only have the former. */
  #reversalMethod: 'refund_moves' | 'reverse_moves' = 'refund_moves';

  constructor(
    private readonly client: OdooClient,
    private readonly options: OdooErpOptions = {},
  ) {}

  async findPartners(key: { ref: string; email: string }): Promise<ErpPartner[]> {
    // `=ilike` is case-insensitive equality, but `_` and `%` are still wildcards: escape them.
    const email = key.email.trim().replace(/[\\%_]/g, (char) => `\\${char}`);
    const domain = ['|', ['ref', '=', key.ref], ['email', '=ilike', email]];
    const partners = await this.#call(z.array(partnerSchema), 'res.partner', 'search_read', [domain], { fields: ['ref', 'email'], order: 'id asc', limit: 50 });
    return byId(partners).map((partner) => ({
      id: partner.id,
      ...(partner.ref ? { ref: partner.ref } : {}),
      ...(partner.email ? { email: partner.email } : {}),
    }));
  }

  async createPartner(draft: PartnerDraft): Promise<number> {
    const values = { name: draft.name, email: draft.email, ref: draft.ref, customer_rank: 1, ...(draft.phone ? { phone: draft.phone } : {}) };
    return this.#call(id, 'res.partner', 'create', [values]);
  }

  async discardPartner(partnerId: number): Promise<void> {
    await this.client.executeKw('res.partner', 'unlink', [[partnerId]]);
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
    const taxes = this.options.lineTaxIds ? { tax_ids: [[6, 0, this.options.lineTaxIds]] } : {};
    const values = {
      move_type: 'out_invoice',
      partner_id: draft.partnerId,
      ref: draft.ref,
      ...(draft.date ? { invoice_date: draft.date } : {}),
      // (0, 0, values): create this line with the move.
      invoice_line_ids: draft.lines.map((line) => [0, 0, { name: line.name, quantity: 1, price_unit: line.amountCents / 100, ...taxes }]),
    };
    return this.#call(id, 'account.move', 'create', [values]);
  }

  async postInvoice(moveId: number): Promise<void> {
    try {
      await this.client.executeKw('account.move', 'action_post', [[moveId]]);
    } catch (error) {
      // Someone (a concurrent run, an accountant) posted it first: the goal is met.
      if (error instanceof OdooError && error.code === 'ODOO_USER_ERROR' && (await this.readInvoice(moveId)).state === 'posted') return;
      throw error;
    }
  }

  async discardInvoice(moveId: number): Promise<void> {
    if ((await this.readInvoice(moveId)).state === 'draft') {
      await this.client.executeKw('account.move', 'unlink', [[moveId]]);
      return;
    }
    // Posted entries cannot be deleted (Odoo keeps the number sequence whole): reset and cancel.
    await this.client.executeKw('account.move', 'button_draft', [[moveId]]);
    await this.client.executeKw('account.move', 'button_cancel', [[moveId]]);
  }

  async readInvoice(moveId: number): Promise<ErpInvoice> {
    const [move] = await this.#call(z.array(moveSchema).length(1), 'account.move', 'read', [[moveId]], { fields: MOVE_FIELDS });
    return move as ErpInvoice;
  }

  async findPayments(memos: string[]): Promise<ErpPayment[]> {
    if (memos.length === 0) return [];
    const field = this.#paymentMemoField;
    const schema = z.array(z.object({ id, memo: text.optional(), ref: text.optional(), amount: cents, state: z.string() }));
    let payments: z.output<typeof schema>;
    try {
      payments = await this.#call(schema, 'account.payment', 'search_read', [[[field, 'in', memos]]], { fields: [field, 'amount', 'state'], order: 'id asc' });
    } catch (error) {
      if (field !== 'memo' || !isUnknownField(error, 'memo')) throw error;
      this.#paymentMemoField = 'ref';
      return this.findPayments(memos);
    }
    return byId(payments)
      .filter((payment) => !DEAD_PAYMENT_STATES.has(payment.state))
      .map((payment) => ({ id: payment.id, memo: payment[field] ?? '', amountCents: payment.amount, state: payment.state }));
  }

  async registerPayment(draft: PaymentDraft): Promise<number | undefined> {
    const context = { active_model: 'account.move', active_ids: [draft.invoiceId] };
    const values = {
      amount: draft.amountCents / 100,
      payment_date: draft.date,
      communication: draft.memo,
      ...(this.options.paymentJournalId ? { journal_id: this.options.paymentJournalId } : {}),
    };
    const wizard = await this.#call(id, 'account.payment.register', 'create', [values], { context });
    const action = await this.client.executeKw('account.payment.register', 'action_create_payments', [[wizard]], { context });
    const opened = openedRecord.safeParse(action);
    return opened.success ? opened.data.res_id : undefined;
  }

  async cancelPayment(paymentId: number): Promise<void> {
    // Back to draft first: that undoes its reconciliation with the invoice; then cancel.
    await this.client.executeKw('account.payment', 'action_draft', [[paymentId]]);
    await this.client.executeKw('account.payment', 'action_cancel', [[paymentId]]);
  }

  async createCreditNote(draft: CreditNoteDraft): Promise<number | undefined> {
    const context = { active_model: 'account.move', active_ids: [draft.invoiceId] };
    const values = { move_ids: [[6, 0, [draft.invoiceId]]], reason: draft.reason, ...(draft.date ? { date: draft.date } : {}) };
    const wizard = await this.#call(id, 'account.move.reversal', 'create', [values], { context });
    let action: unknown;
    try {
      action = await this.client.executeKw('account.move.reversal', this.#reversalMethod, [[wizard]], { context });
    } catch (error) {
      if (this.#reversalMethod !== 'refund_moves' || !isMissingMethod(error, 'refund_moves')) throw error;
      this.#reversalMethod = 'reverse_moves';
      action = await this.client.executeKw('account.move.reversal', 'reverse_moves', [[wizard]], { context });
    }
    const opened = openedRecord.safeParse(action);
    return opened.success ? opened.data.res_id : undefined;
  }

  async #searchMoves(domain: unknown[]): Promise<ErpInvoice[]> {
    const moves = await this.#call(z.array(moveSchema), 'account.move', 'search_read', [domain], { fields: MOVE_FIELDS, order: 'id asc' });
    return byId(moves);
  }

  /** execute_kw with the answer checked: a shape we do not expect will not heal by retrying. */
  async #call<T extends z.ZodType>(schema: T, model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<z.output<T>> {
    const result = await this.client.executeKw(model, method, args, kwargs);
    const parsed = schema.safeParse(result);
    if (parsed.success) return parsed.data;
    const where = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(result)'}: ${issue.message}`)
      .slice(0, 3)
      .join('; ');
    throw new OdooError('permanent', 'ODOO_BAD_RESPONSE', `Odoo answered ${model}.${method} in an unexpected shape (${where})`);
  }
}
