import { ERP_ERROR_CODES, type Erp, type ErpInvoice, type InvoiceLine } from './erp';
import { JobError } from './jobs';

/**
 * ERP sync as a reconciliation: a job only names a booking or an order; its handler reads the current
 * state, reduces it to a `Billable` (who bought, which documents, which money came in, what was undone)
 * and `reconcileBillable` makes the ERP match it. Every step looks before it writes, so a repeat, a
 * stale job or a retry after a crash changes nothing that is already right. Nothing here knows a
 * booking or an order: each slice brings its own `billableFrom…`.
 */

/** What the ERP should hold for one sale. */
export interface Billable {
  /** What it is, for logs and reports (`booking:<id>`; later `order:<id>`). */
  source: string;
  customer: { ref: string; name: string; email: string; phone?: string };
  /** One customer invoice per separately paid set of items. */
  documents: BillableDocument[];
}

/** One invoice's worth of a sale: its lines, the money received for it, and whether it was undone. */
export interface BillableDocument {
  /** Our id the invoice carries (booking id, finding id, ...): how a later run finds it. */
  ref: string;
  /** Invoice date (`YYYY-MM-DD`). */
  date: string;
  lines: InvoiceLine[];
  /** Money received for this document; each registered once, found again by its memo. */
  payments: Array<{ memo: string; amountCents: number; date: string }>;
  /**
   * Set when the sale was undone after payment: a credit note must reverse the invoice, and when the
   * money went back (`refundMemo`), that refund is registered against the credit note.
   */
  reversal?: { reason: string; date: string; refundMemo?: string; refundCents?: number };
}

/** What one run did. */
export interface SyncReport {
  source: string;
  partnerId?: number;
  /** Invoice id per document ref, for the documents the ERP holds. */
  invoices: Record<string, number>;
  /** What this run changed in the ERP, in order; empty when the ERP already matched. */
  changes: string[];
  /** What a human should look at; left alone (e.g. an invoice someone cancelled in the ERP). */
  warnings: string[];
}

/** The calendar day of an instant in Germany, where the books are kept. */
export function berlinDate(instant: Date | string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date(instant));
}

const isLive = (invoice: ErpInvoice) => invoice.state !== 'cancelled';
const sumCents = (lines: InvoiceLine[]) => lines.reduce((sum, line) => sum + line.amountCents, 0);
const euros = (cents: number) => (cents / 100).toFixed(2);

/** An invoice as this run knows it after ensuring it; `fresh` when this run created it. */
interface HeldInvoice {
  id: number;
  residualCents: number;
  fresh: boolean;
}

/**
 * Makes the ERP hold what `billable` says: the customer, one posted invoice per document, each
 * payment registered once, a posted credit note for each undone document. Looks up before creating;
 * after creating, looks again, because another worker may have raced us: the oldest record wins and
 * the loser removes its own. Returns what it changed.
 */
export async function reconcileBillable(erp: Erp, billable: Billable): Promise<SyncReport> {
  const report: SyncReport = { source: billable.source, invoices: {}, changes: [], warnings: [] };
  if (billable.documents.length === 0) return report;
  // Invoices first: when they all exist (every repeat run), the customer is not needed at all.
  const existing = await erp.findInvoices(billable.documents.map((document) => document.ref));
  const toCreate = billable.documents.some((document) => !existing.some((candidate) => candidate.ref === document.ref));
  const partnerId = toCreate ? await ensurePartner(erp, billable.customer, report) : undefined;
  report.partnerId = partnerId ?? existing.find(isLive)?.partnerId;

  const held = new Map<BillableDocument, HeldInvoice>();
  for (const document of billable.documents) {
    const candidates = existing.filter((candidate) => candidate.ref === document.ref);
    const invoice = await ensureInvoice(erp, document, () => partnerId as number, candidates, report);
    if (!invoice) continue;
    held.set(document, invoice);
    report.invoices[document.ref] = invoice.id;
  }
  await ensurePayments(erp, held, report);
  await ensureCreditNotes(erp, held, report);
  return report;
}

async function ensurePartner(erp: Erp, customer: Billable['customer'], report: SyncReport): Promise<number> {
  const key = { ref: customer.ref, email: customer.email };
  const found = pickPartner(await erp.findPartners(key), key);
  if (found !== undefined) return found;
  const id = await erp.createPartner(customer);
  // A concurrent run may have created the same customer since our look-up: the oldest one wins.
  const winner = (await erp.findPartners(key)).find((partner) => partner.ref === customer.ref);
  if (winner && winner.id !== id) {
    // A duplicate customer is untidy, not wrong: if Odoo will not delete ours, say so and go on.
    await erp.discardPartner(id).catch(() => report.warnings.push(`partner ${id} duplicates ${winner.id} (${customer.ref}); merge them in the ERP`));
    return winner.id;
  }
  report.changes.push(`partner ${id} created for ${customer.ref}`);
  return id;
}

/** Ours by reference first; else someone with the same e-mail (e.g. created by an accountant); oldest first. */
function pickPartner(partners: Array<{ id: number; ref?: string; email?: string }>, key: { ref: string; email: string }): number | undefined {
  const email = key.email.trim().toLowerCase();
  return (partners.find((partner) => partner.ref === key.ref) ?? partners.find((partner) => partner.email?.trim().toLowerCase() === email))?.id;
}

async function ensureInvoice(
  erp: Erp,
  document: BillableDocument,
  /** Only asked when the invoice must be created (then the partner was ensured). */
  partnerId: () => number,
  candidates: ErpInvoice[],
  report: SyncReport,
): Promise<HeldInvoice | undefined> {
  const expected = sumCents(document.lines);
  const live = candidates.filter(isLive);
  if (candidates.length > 0 && live.length === 0) {
    // Someone cancelled our invoice in the ERP on purpose; creating it again would fight them.
    report.warnings.push(`invoice ${candidates[0]?.id} for ${document.ref} is cancelled in the ERP; not recreated`);
    return undefined;
  }
  const found = live[0];
  if (found) {
    if (found.amountTotalCents !== expected) {
      report.warnings.push(`invoice ${found.id} for ${document.ref} totals ${euros(found.amountTotalCents)}, expected ${euros(expected)}`);
    }
    if (found.state === 'posted') return { id: found.id, residualCents: found.amountResidualCents, fresh: false };
    // A draft left by a run that died before posting (or one posting right now: posting is idempotent).
    await erp.postInvoice(found.id);
    report.changes.push(`invoice ${found.id} for ${document.ref} posted`);
    return { id: found.id, residualCents: found.amountTotalCents, fresh: false };
  }

  const id = await erp.createInvoice({ ref: document.ref, partnerId: partnerId(), date: document.date, lines: document.lines });
  // Drafts are cheap to undo, so the race check goes between create and post.
  const winner = (await erp.findInvoices([document.ref])).find(isLive);
  if (winner && winner.id !== id) {
    await undoOrEscalate(() => erp.discardInvoice(id), `invoices ${winner.id} and ${id} both bill ${document.ref}; cancel ${id} in the ERP`);
    if (winner.state === 'draft') {
      throw JobError.transient(ERP_ERROR_CODES.concurrentSync, `another run is creating invoice ${winner.id} for ${document.ref}`);
    }
    return { id: winner.id, residualCents: winner.amountResidualCents, fresh: false };
  }
  await erp.postInvoice(id);
  report.changes.push(`invoice ${id} for ${document.ref} created and posted (${euros(expected)})`);
  return { id, residualCents: expected, fresh: true };
}

async function ensurePayments(erp: Erp, held: Map<BillableDocument, HeldInvoice>, report: SyncReport): Promise<void> {
  // Nothing open means nothing to register: our payment is there, or someone settled it another way.
  const open = [...held].filter(([document, invoice]) => document.payments.length > 0 && invoice.residualCents > 0);
  if (open.length === 0) return;
  // An invoice this run created has no payment yet, unless a concurrent run paid it: the checks
  // after registering catch that, so the look-up is only for invoices found.
  const lookup = open.filter(([, invoice]) => !invoice.fresh).flatMap(([document]) => document.payments.map((payment) => payment.memo));
  const known = new Set(lookup.length > 0 ? (await erp.findPayments(lookup)).map((payment) => payment.memo) : []);

  const registered = new Map<string, number | undefined>();
  for (const [document, invoice] of open) {
    for (const payment of document.payments) {
      if (known.has(payment.memo)) continue;
      if (payment.amountCents > invoice.residualCents) {
        report.warnings.push(
          `payment ${payment.memo} (${euros(payment.amountCents)}) exceeds what is open on invoice ${invoice.id} (${euros(invoice.residualCents)})`,
        );
      }
      let id: number | undefined;
      try {
        id = await erp.registerPayment({ invoiceId: invoice.id, amountCents: payment.amountCents, date: payment.date, memo: payment.memo });
      } catch (error) {
        // A concurrent run may have paid the invoice since our look-up, and the ERP refuses to pay it twice.
        if ((await erp.findPayments([payment.memo])).length > 0) continue;
        throw error;
      }
      registered.set(payment.memo, id);
      report.changes.push(`payment ${payment.memo} registered on invoice ${invoice.id}`);
    }
  }
  if (registered.size === 0) return;

  // A concurrent run may have registered the same payment since our look-up: the oldest one stays.
  const after = await erp.findPayments([...registered.keys()]);
  for (const [memo, id] of registered) {
    const live = after.filter((payment) => payment.memo === memo);
    if (live.length <= 1 || live[0]?.id === id) continue;
    const duplicate = `payments ${live.map((p) => p.id).join(', ')} all carry memo ${memo}; cancel all but ${live[0]?.id} in the ERP`;
    if (id === undefined) throw JobError.permanent(ERP_ERROR_CODES.duplicate, duplicate);
    await undoOrEscalate(() => erp.cancelPayment(id), duplicate);
    report.changes.push(`payment ${id} cancelled: ${memo} was registered twice`);
  }
}

async function ensureCreditNotes(erp: Erp, held: Map<BillableDocument, HeldInvoice>, report: SyncReport): Promise<void> {
  const undone = [...held].filter(([document]) => document.reversal);
  if (undone.length === 0) return;
  const notes = await erp.findCreditNotes(undone.map(([, invoice]) => invoice.id));
  for (const [document, invoice] of undone) {
    const reversal = document.reversal as NonNullable<BillableDocument['reversal']>;
    const mine = notes.filter((note) => note.reversedInvoiceId === invoice.id);
    if (mine.length > 0 && !mine.some(isLive)) {
      report.warnings.push(`credit note ${mine[0]?.id} for ${document.ref} is cancelled in the ERP; not recreated`);
      continue;
    }
    let note = mine.find(isLive);
    if (!note) {
      const id = await erp.createCreditNote({ invoiceId: invoice.id, reason: reversal.reason, date: reversal.date });
      const live = (await erp.findCreditNotes([invoice.id])).filter(isLive);
      const winner = live[0];
      if (!winner) throw JobError.transient(ERP_ERROR_CODES.concurrentSync, `the credit note for invoice ${invoice.id} is not there after creating it`);
      if (id !== undefined && winner.id !== id) {
        // Lost a race: remove ours and let the winner's run finish its own.
        await undoOrEscalate(
          () => erp.discardInvoice(id),
          `credit notes ${winner.id} and ${id} both reverse invoice ${invoice.id} (${document.ref}); cancel ${id} in the ERP`,
        );
        if (winner.state === 'draft') {
          throw JobError.transient(ERP_ERROR_CODES.concurrentSync, `another run is creating credit note ${winner.id} for ${document.ref}`);
        }
        continue;
      }
      report.changes.push(`credit note ${winner.id} for ${document.ref} created`);
      note = winner;
    }
    if (note.state === 'draft') {
      await erp.postInvoice(note.id);
      report.changes.push(`credit note ${note.id} for ${document.ref} posted`);
    }
    await ensureRefundPayment(erp, note.id, reversal, report);
  }
}

/** The money that went back to the customer, registered against the credit note once (found by memo). */
async function ensureRefundPayment(erp: Erp, creditNoteId: number, reversal: NonNullable<BillableDocument['reversal']>, report: SyncReport): Promise<void> {
  if (!reversal.refundMemo || !reversal.refundCents) return;
  const note = await erp.readInvoice(creditNoteId);
  if (!note || note.amountResidualCents <= 0) return;
  if ((await erp.findPayments([reversal.refundMemo])).length > 0) return;
  try {
    await erp.registerPayment({
      invoiceId: creditNoteId,
      amountCents: Math.min(reversal.refundCents, note.amountResidualCents),
      date: reversal.date,
      memo: reversal.refundMemo,
    });
  } catch (error) {
    // A concurrent run may have registered it since the look-up.
    if ((await erp.findPayments([reversal.refundMemo])).length > 0) return;
    throw error;
  }
  report.changes.push(`refund ${reversal.refundMemo} registered on credit note ${creditNoteId}`);
}

/** Undoes what a lost race left; if the ERP refuses, the duplicate needs a human (dead letter). */
async function undoOrEscalate(undo: () => Promise<void>, duplicate: string): Promise<void> {
  try {
    await undo();
  } catch (error) {
    if (error instanceof JobError && error.kind === 'transient') throw error;
    throw JobError.permanent(ERP_ERROR_CODES.duplicate, duplicate, error);
  }
}

/**
 * Runs tasks one at a time per key. Two jobs about one subject (a payment and a finding a moment
 * later, or a redelivery) would otherwise race between look-up and create; across processes the
 * post-create checks in `reconcileBillable` converge instead.
 */
export function perKeySerializer() {
  const tails = new Map<string, Promise<unknown>>();
  return async function serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
