/**
 * The accounting system (ERP) as the sync use case needs it, in accounting words rather than a
 * vendor's: customers, customer invoices, payments and credit notes. Odoo implements it today
 * (`shared/adapters/odoo/odoo-erp.ts`); nothing here names a model or an RPC method.
 *
 * Amounts are integers in the minor unit of their currency (JPY has none, EUR 2 decimals, KWD 3), each
 * next to its ISO 4217 code; the adapter converts with the decimal places the ERP itself keeps for that
 * currency. Dates are `YYYY-MM-DD`, ids the ERP's own numbers. Every record we create carries our id
 * (`ref` on partners, invoices and credit notes, `memo` on payments), so a later run finds it instead
 * of creating it twice: correctness never depends on ids stored on our side.
 *
 * Failures: implementations throw `JobError` (from `./jobs`) — `transient` when retrying may help
 * (ERP unreachable, timed out, 5xx, a concurrent update), `permanent` when it will not (rejected
 * credentials, missing access rights, a currency the ERP does not know or has switched off, a validation
 * error the ERP raised, an answer we cannot read). Codes are stable (`ERP_ERROR_CODES` lists the ones the
 * use case itself raises; adapters add their own, e.g. `ODOO_USER_ERROR`, `ODOO_CURRENCY_UNKNOWN`).
 */

/** Codes the sync use case raises itself (adapters raise their vendor-prefixed codes). */
export const ERP_ERROR_CODES = {
  /** Another worker is creating the same record right now; the retry will find it finished. */
  concurrentSync: 'ERP_CONCURRENT_SYNC',
  /** A race left two of something and this run could not remove its own: a human must look. */
  duplicate: 'ERP_DUPLICATE',
  /** The sale handed to the sync is malformed (a bug in a slice's `billableFrom…`): retrying cannot help. */
  invalidBillable: 'ERP_INVALID_BILLABLE',
} as const;

/** A customer (Odoo: `res.partner`). */
export interface ErpPartner {
  id: number;
  /** Our reference, when the partner carries one. */
  ref?: string;
  email?: string;
}

/** What a new customer is created with. */
export interface PartnerDraft {
  /** Our stable reference for the customer (see `customerRef` in the use case). */
  ref: string;
  name: string;
  email: string;
  phone?: string;
}

/** Where an invoice or credit note is in its life. */
export type ErpDocumentState = 'draft' | 'posted' | 'cancelled';

/** A customer invoice or credit note (Odoo: `account.move` `out_invoice` / `out_refund`). */
export interface ErpInvoice {
  id: number;
  /** The ERP's number (`INV/2026/00001`); `/` or empty while a draft. */
  name: string;
  /**
   * Our id: on an invoice the booking, finding or order it bills; on a credit note the ref of our credit.
   * Absent on documents made in the ERP by hand (e.g. a credit note from Odoo's reversal wizard).
   */
  ref?: string;
  state: ErpDocumentState;
  /** The ERP's payment state, as it says it (`not_paid`, `partial`, `in_payment`, `paid`, `reversed`, ...). */
  paymentState: string;
  /** ISO 4217 code of the document's amounts. */
  currency: string;
  /** In minor units of `currency`. */
  amountTotal: number;
  /** What is still open, in minor units; 0 once payments (or a credit note) cover the document. */
  amountResidual: number;
  partnerId?: number;
  /** On a credit note: the invoice it reverses. */
  reversedInvoiceId?: number;
}

/** One line of a new invoice. */
export interface ErpLine {
  name: string;
  quantity: number;
  /** Gross unit price (taxes included) in minor units of the document's currency. */
  unitAmount: number;
  /** The VAT rate the price includes, when the sale says it (the adapter may not map it to a tax yet). */
  taxRatePercent?: number;
}

/** What a new customer invoice is created with (as a draft: posting is a separate step). */
export interface InvoiceDraft {
  ref: string;
  partnerId: number;
  /** ISO 4217 code of the lines' amounts; the invoice is kept in this currency. */
  currency: string;
  /** The invoice date; the ERP's today when absent. */
  date?: string;
  lines: ErpLine[];
}

/** A payment received or paid out (Odoo: `account.payment`), found by its memo. */
export interface ErpPayment {
  id: number;
  /** The memo we registered it with: our payment provider's id (a Stripe PaymentIntent or refund id). */
  memo: string;
  /** ISO 4217 code of `amount`. */
  currency: string;
  /** In minor units of `currency`. */
  amount: number;
  /** The ERP's payment state (`posted`, `in_process`, `paid`, ...); cancelled payments are never returned. */
  state: string;
}

/** A payment to register against an invoice (money in) or a credit note (money back out). */
export interface PaymentDraft {
  invoiceId: number;
  /** ISO 4217 code: the document's own currency. */
  currency: string;
  /** In minor units of `currency`. */
  amount: number;
  date: string;
  memo: string;
}

/**
 * A customer credit note to create for an invoice (as a draft: post it with `postInvoice`): one line
 * for `amount` labelled `reason`, reversing the invoice, carrying our `ref`.
 */
export interface CreditNoteDraft {
  invoiceId: number;
  /** The invoice's number when known (the ERP may quote it in the credit note's text); looked up when absent. */
  invoiceName?: string;
  /** The invoice's customer. */
  partnerId: number;
  /** Our id for this credit: how a later run finds the credit note again. */
  ref: string;
  reason: string;
  /** ISO 4217 code: the invoice's currency. */
  currency: string;
  /** The credited amount (taxes included) in minor units of `currency`. */
  amount: number;
  /** The credit note's date; the ERP's today when absent. */
  date?: string;
}

/**
 * The ERP port. Look-ups take lists so one call answers for every document of a sale; they return
 * records in ascending id order (oldest first), which the use case relies on to pick a winner when a
 * race left two of something.
 */
export interface Erp {
  /** Customers carrying `ref`, or whose e-mail equals `email` (case-insensitive), in one look-up. */
  findPartners(key: { ref: string; email: string }): Promise<ErpPartner[]>;
  createPartner(draft: PartnerDraft): Promise<number>;
  /** Removes a customer this run just created and lost a race for (it has no documents yet). */
  discardPartner(id: number): Promise<void>;

  /** Customer invoices (not credit notes) whose ref is one of `refs`, in any state, cancelled included. */
  findInvoices(refs: string[]): Promise<ErpInvoice[]>;
  /** Credit notes reversing any of these invoices, in any state, ours (with a ref) and others. */
  findCreditNotes(invoiceIds: number[]): Promise<ErpInvoice[]>;
  /** Creates a draft invoice and returns its id. */
  createInvoice(draft: InvoiceDraft): Promise<number>;
  /** Posts (validates) a draft invoice or credit note; one that is already posted is left as it is. */
  postInvoice(id: number): Promise<void>;
  /** Removes a document this run just created and lost a race for: deleted while a draft, else cancelled. */
  discardInvoice(id: number): Promise<void>;
  readInvoice(id: number): Promise<ErpInvoice>;

  /** Live (not cancelled) payments whose memo is one of `memos`. */
  findPayments(memos: string[]): Promise<ErpPayment[]>;
  /** Registers a payment against an invoice or credit note; returns the payment's id when the ERP says it. */
  registerPayment(draft: PaymentDraft): Promise<number | undefined>;
  /** Cancels a payment this run just registered and lost a race for. */
  cancelPayment(id: number): Promise<void>;

  /** Creates a draft credit note reversing an invoice and returns its id. */
  createCreditNote(draft: CreditNoteDraft): Promise<number>;
}
