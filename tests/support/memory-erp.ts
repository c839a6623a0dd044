/**
 * An in-memory ERP that behaves as the Odoo adapter promises: ids ascending, drafts until posted,
 * residuals per document in its own currency (no exchange rates), credit notes carrying our ref,
 * cancelled payments never returned. For the use-case tests of the ERP sync.
 */
import type { CreditNoteDraft, Erp, ErpInvoice, ErpLine, ErpPartner, ErpPayment, InvoiceDraft, PartnerDraft, PaymentDraft } from '../../shared/platform/erp';
import { JobError } from '../../shared/platform/jobs';

export interface Move extends ErpInvoice {
  kind: 'invoice' | 'credit-note';
  lines: ErpLine[];
}

export interface Payment extends ErpPayment {
  invoiceId: number;
}

export class MemoryErp implements Erp {
  partners: Array<ErpPartner & { name: string }> = [];
  moves: Move[] = [];
  payments: Payment[] = [];
  calls: string[] = [];
  /** ISO code -> active, as the ERP knows its currencies. */
  currencies = new Map<string, boolean>([
    ['EUR', true],
    ['USD', true],
    ['JPY', true],
    ['KWD', true],
    ['SEK', false],
  ]);
  private nextId = 1;

  /** Yield to other tasks on every call, so concurrent runs interleave as they would over a network. */
  constructor(private readonly interleave = false) {}

  private async call(name: string) {
    this.calls.push(name);
    if (this.interleave) await new Promise((resolve) => setImmediate(resolve));
  }

  private currency(code: string): string {
    const active = this.currencies.get(code);
    if (active === undefined) throw JobError.permanent('MEMORY_CURRENCY_UNKNOWN', `no currency ${code}`);
    if (!active) throw JobError.permanent('MEMORY_CURRENCY_INACTIVE', `currency ${code} is not active`);
    return code;
  }

  async findPartners(key: { ref: string; email: string }) {
    await this.call('findPartners');
    return this.partners.filter((p) => p.ref === key.ref || p.email?.toLowerCase() === key.email.toLowerCase()).map((p) => ({ ...p }));
  }
  async createPartner(draft: PartnerDraft) {
    await this.call('createPartner');
    const id = this.nextId++;
    this.partners.push({ id, ref: draft.ref, email: draft.email, name: draft.name });
    return id;
  }
  async discardPartner(id: number) {
    await this.call('discardPartner');
    this.partners = this.partners.filter((p) => p.id !== id);
  }
  async findInvoices(refs: string[]) {
    await this.call('findInvoices');
    return this.moves.filter((m) => m.kind === 'invoice' && m.ref !== undefined && refs.includes(m.ref)).map((m) => ({ ...m }));
  }
  async findCreditNotes(invoiceIds: number[]) {
    await this.call('findCreditNotes');
    return this.moves.filter((m) => m.kind === 'credit-note' && invoiceIds.includes(m.reversedInvoiceId ?? -1)).map((m) => ({ ...m }));
  }
  async createInvoice(draft: InvoiceDraft) {
    await this.call('createInvoice');
    const currency = this.currency(draft.currency);
    const total = draft.lines.reduce((sum, line) => sum + Math.round(line.quantity * line.unitAmount), 0);
    const id = this.nextId++;
    this.moves.push({
      id,
      kind: 'invoice',
      name: '/',
      ref: draft.ref,
      state: 'draft',
      paymentState: 'not_paid',
      currency,
      amountTotal: total,
      amountResidual: total,
      partnerId: draft.partnerId,
      lines: draft.lines,
    });
    return id;
  }
  async postInvoice(id: number) {
    await this.call('postInvoice');
    const move = this.move(id);
    if (move.state === 'cancelled') throw JobError.permanent('ODOO_USER_ERROR', 'cancelled');
    if (move.state === 'draft') Object.assign(move, { state: 'posted', name: `${move.kind === 'invoice' ? 'INV' : 'RINV'}/${id}` });
  }
  async discardInvoice(id: number) {
    await this.call('discardInvoice');
    if (this.move(id).state !== 'draft') throw JobError.permanent('ODOO_USER_ERROR', 'only drafts can be deleted');
    this.moves = this.moves.filter((m) => m.id !== id);
  }
  async readInvoice(id: number) {
    await this.call('readInvoice');
    return { ...this.move(id) };
  }
  async findPayments(memos: string[]) {
    await this.call('findPayments');
    return this.payments.filter((p) => memos.includes(p.memo) && p.state !== 'cancel').map((p) => ({ ...p }));
  }
  async registerPayment(draft: PaymentDraft) {
    await this.call('registerPayment');
    const document = this.move(draft.invoiceId);
    if (document.state !== 'posted') throw JobError.permanent('ODOO_USER_ERROR', 'only posted entries can be paid');
    if (draft.currency !== document.currency)
      throw JobError.permanent('ODOO_USER_ERROR', `no exchange rates: ${draft.currency} on a ${document.currency} document`);
    if (!Number.isInteger(draft.amount) || draft.amount <= 0) throw JobError.permanent('ODOO_USER_ERROR', `amount ${draft.amount}`);
    const id = this.nextId++;
    this.payments.push({ id, memo: draft.memo, currency: draft.currency, amount: draft.amount, state: 'posted', invoiceId: document.id });
    this.settle(document);
    return id;
  }
  async cancelPayment(id: number) {
    await this.call('cancelPayment');
    const payment = this.payments.find((p) => p.id === id) as Payment;
    payment.state = 'cancel';
    this.settle(this.move(payment.invoiceId));
  }
  /** Residual = total minus live payments (an overpayment leaves 0 due, as in Odoo). */
  private settle(document: Move) {
    const paid = this.payments.filter((p) => p.invoiceId === document.id && p.state !== 'cancel').reduce((sum, p) => sum + p.amount, 0);
    document.amountResidual = Math.max(0, document.amountTotal - paid);
    document.paymentState = document.amountResidual === 0 ? 'paid' : paid > 0 ? 'partial' : 'not_paid';
  }
  async createCreditNote(draft: CreditNoteDraft) {
    await this.call('createCreditNote');
    const invoice = this.move(draft.invoiceId);
    const currency = this.currency(draft.currency);
    if (invoice.kind !== 'invoice') throw JobError.permanent('ODOO_USER_ERROR', `move ${invoice.id} is not an invoice`);
    const id = this.nextId++;
    this.moves.push({
      id,
      kind: 'credit-note',
      name: '/',
      ref: draft.ref,
      state: 'draft',
      paymentState: 'not_paid',
      currency,
      amountTotal: draft.amount,
      amountResidual: draft.amount,
      partnerId: draft.partnerId,
      reversedInvoiceId: invoice.id,
      lines: [{ name: draft.reason, quantity: 1, unitAmount: draft.amount }],
    });
    return id;
  }
  /** A credit note as Odoo's reversal wizard made them before credit notes carried our ref: the whole invoice, posted. */
  addWizardCreditNote(invoiceId: number): Move {
    const invoice = this.move(invoiceId);
    const note: Move = {
      ...invoice,
      id: this.nextId++,
      kind: 'credit-note',
      name: `RINV/${invoiceId}`,
      state: 'posted',
      paymentState: 'not_paid',
      amountResidual: invoice.amountTotal,
      reversedInvoiceId: invoice.id,
    };
    delete note.ref;
    this.moves.push(note);
    return note;
  }
  private move(id: number): Move {
    const move = this.moves.find((m) => m.id === id);
    if (!move) throw JobError.permanent('ODOO_USER_ERROR', `Record does not exist (account.move(${id}))`);
    return move;
  }

  live = () => ({
    partners: this.partners.length,
    invoices: this.moves.filter((m) => m.kind === 'invoice' && m.state !== 'cancelled'),
    creditNotes: this.moves.filter((m) => m.kind === 'credit-note' && m.state !== 'cancelled'),
    payments: this.payments.filter((p) => p.state !== 'cancel'),
  });
}
