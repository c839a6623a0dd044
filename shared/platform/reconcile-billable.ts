import * as z from 'zod';
import type { JobHandler } from './consume-job';
import { ERP_ERROR_CODES, type Erp, type ErpInvoice } from './erp';
import { JobError } from './jobs';
import type { Logger } from './log';
import type { SyncMilestone, Telemetry } from './telemetry';

/**
 * ERP sync as a reconciliation: a job only names a booking or an order; its handler reads the current
 * state, reduces it to a `Billable` (who bought, which documents, which money came in, what was credited
 * back) and `reconcileBillable` makes the ERP match it. Every step looks before it writes, so a repeat, a
 * stale job or a retry after a crash changes nothing that is already right. Nothing here knows a
 * booking or an order: each slice brings its own `billableFrom…`.
 *
 * Amounts are integers in the minor unit of `Billable.currency` (ISO 4217: JPY 0 decimals, EUR 2,
 * KWD 3); the ERP adapter converts them with the decimal places the ERP keeps for that currency.
 */

/** What the ERP should hold for one sale. */
export interface Billable {
  source: string; // 'booking:<id>' | 'order:<id>' (logs, reports)
  customer: { ref: string; name: string; email: string; phone?: string };
  /** ISO 4217 code of every amount below, e.g. 'EUR', 'JPY', 'KWD'. */
  currency: string;
  documents: BillableDocument[];
}
export interface BillableDocument {
  ref: string; // our id the invoice carries
  date: string; // YYYY-MM-DD
  lines: InvoiceLine[];
  payments: Array<{ memo: string; amount: number; date: string }>; // amounts in minor units
  /** Money credited back, one credit note each (found again by its ref), with the refund paid out against it. */
  credits: Array<{ ref: string; reason: string; date: string; amount: number; refund?: { memo: string; amount: number } }>;
}
export interface InvoiceLine {
  name: string;
  quantity: number;
  /** gross unit price in minor units */
  unitAmount: number;
  taxRatePercent?: number;
}

/** What one run did. */
export interface SyncReport {
  source: string;
  partnerId?: number;
  /** Invoice id per document ref, for the documents the ERP holds. */
  invoices: Record<string, number>;
  /** What this run changed in the ERP, in order; empty when the ERP already matched. */
  changes: string[];
  /** What this run put on the books (each kind once): where the sync latency is measured to. */
  milestones: SyncMilestone[];
  /** What a human should look at; left alone (e.g. an invoice someone cancelled in the ERP). */
  warnings: string[];
}

/** The calendar day of an instant in Germany, where the books are kept. */
export function berlinDate(instant: Date | string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date(instant));
}

/** A report with nothing done, for a subject that owes the books nothing. */
export const emptySyncReport = (source: string): SyncReport => ({ source, invoices: {}, changes: [], milestones: [], warnings: [] });

/** Notes what a run put on the books, once per kind. */
function reached(report: SyncReport, milestone: SyncMilestone): void {
  if (!report.milestones.includes(milestone)) report.milestones.push(milestone);
}

const isLive = (invoice: ErpInvoice) => invoice.state !== 'cancelled';
/** A line's amount as the ERP rounds it: quantity × unit price, to the minor unit. */
const lineAmount = (line: InvoiceLine) => Math.round(line.quantity * line.unitAmount);
const documentTotal = (document: BillableDocument) => document.lines.reduce((sum, line) => sum + lineAmount(line), 0);

/** ISO 4217 decimals, for messages only (the adapter converts with the ERP's own decimals). */
function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}
/** An amount in minor units for people: `149.00`, `1500` (JPY), `1.250` (KWD). */
const major = (amount: number, currency: string) => {
  const digits = minorDigits(currency);
  return (amount / 10 ** digits).toFixed(digits);
};

/** An invoice as this run knows it after ensuring it; `fresh` when this run created it. */
interface HeldInvoice {
  id: number;
  /** Its number when known (an invoice this run created is numbered by posting, unread). */
  name?: string;
  partnerId?: number;
  currency: string;
  total: number;
  residual: number;
  fresh: boolean;
}

/** Money to register against one document: payments on an invoice, or a refund on a credit note. */
interface PaymentTarget {
  id: number;
  kind: 'invoice' | 'credit note';
  currency: string;
  /** What is open on the document before this run registers anything. */
  residual: number;
  /** Created by this run: nothing can be registered on it yet (but a racing run, which the checks after catch). */
  fresh: boolean;
  payments: Array<{ memo: string; amount: number; date: string }>;
  /** Refunds never exceed what the credit note leaves open; received payments are registered as they came in. */
  capped: boolean;
}

/**
 * Makes the ERP hold what `billable` says: the customer, one posted invoice per document in the sale's
 * currency, each payment registered once, one posted credit note per credit with its refund paid out
 * against it. Looks up before creating; after creating, looks again, because another worker may have
 * raced us: the oldest record wins and the loser removes its own. Returns what it changed.
 */
export async function reconcileBillable(erp: Erp, billable: Billable): Promise<SyncReport> {
  checkBillable(billable);
  const report: SyncReport = { source: billable.source, invoices: {}, changes: [], milestones: [], warnings: [] };
  if (billable.documents.length === 0) return report;
  let partner: Promise<number> | undefined;
  /** The customer, ensured once per run and only when a document needs it. */
  const ensureCustomer = () => (partner ??= ensurePartner(erp, billable.customer, report));

  // Invoices first: when they all exist (every repeat run), the customer is not needed at all.
  const existing = await erp.findInvoices(billable.documents.map((document) => document.ref));
  const toCreate = billable.documents.some((document) => !existing.some((candidate) => candidate.ref === document.ref));
  const partnerId = toCreate ? await ensureCustomer() : undefined;
  report.partnerId = partnerId ?? existing.find(isLive)?.partnerId;

  const held = new Map<BillableDocument, HeldInvoice>();
  for (const document of billable.documents) {
    const candidates = existing.filter((candidate) => candidate.ref === document.ref);
    const invoice = await ensureInvoice(erp, billable.currency, document, ensureCustomer, candidates, report);
    if (!invoice) continue;
    report.invoices[document.ref] = invoice.id;
    held.set(document, invoice);
  }
  await ensurePayments(
    erp,
    [...held].map(([document, invoice]) => ({
      id: invoice.id,
      kind: 'invoice',
      currency: invoice.currency,
      residual: invoice.residual,
      fresh: invoice.fresh,
      payments: document.payments,
      capped: false,
    })),
    report,
  );
  const refunds = await ensureCreditNotes(erp, held, ensureCustomer, report);
  await ensurePayments(erp, refunds, report);
  return report;
}

/** A malformed sale is a bug in its slice: fail permanently instead of writing half of it. */
function checkBillable(billable: Billable): void {
  const problems: string[] = [];
  const positiveInteger = (value: number) => Number.isSafeInteger(value) && value > 0;
  if (!/^[A-Z]{3}$/.test(billable.currency)) problems.push(`currency ${JSON.stringify(billable.currency)} is not an ISO 4217 code`);
  const refs = new Set<string>();
  const unique = (ref: string, what: string) => {
    if (ref.trim() === '') problems.push(`${what} has an empty ref`);
    else if (refs.has(ref)) problems.push(`${what} ${ref} is not unique`);
    refs.add(ref);
  };
  for (const document of billable.documents) {
    unique(document.ref, 'document');
    if (document.lines.length === 0) problems.push(`document ${document.ref} has no lines`);
    for (const line of document.lines) {
      if (!(Number.isFinite(line.quantity) && line.quantity > 0)) problems.push(`line ${line.name} of ${document.ref}: quantity ${line.quantity}`);
      if (!Number.isSafeInteger(line.unitAmount)) problems.push(`line ${line.name} of ${document.ref}: unit amount ${line.unitAmount} is not in minor units`);
    }
    for (const payment of document.payments) {
      if (!positiveInteger(payment.amount)) problems.push(`payment ${payment.memo} of ${document.ref}: amount ${payment.amount}`);
    }
    for (const credit of document.credits) {
      unique(credit.ref, 'credit');
      if (!positiveInteger(credit.amount)) problems.push(`credit ${credit.ref} of ${document.ref}: amount ${credit.amount}`);
      if (credit.refund && !positiveInteger(credit.refund.amount))
        problems.push(`refund ${credit.refund.memo} of ${credit.ref}: amount ${credit.refund.amount}`);
    }
  }
  if (problems.length > 0) throw JobError.permanent(ERP_ERROR_CODES.invalidBillable, `${billable.source}: ${problems.join('; ')}`);
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
  currency: string,
  document: BillableDocument,
  /** Only asked when the invoice must be created (then the partner was ensured already). */
  partnerId: () => Promise<number>,
  candidates: ErpInvoice[],
  report: SyncReport,
): Promise<HeldInvoice | undefined> {
  const expected = documentTotal(document);
  const live = candidates.filter(isLive);
  if (candidates.length > 0 && live.length === 0) {
    // Someone cancelled our invoice in the ERP on purpose; creating it again would fight them.
    report.warnings.push(`invoice ${candidates[0]?.id} for ${document.ref} is cancelled in the ERP; not recreated`);
    return undefined;
  }
  const found = live[0];
  if (found) {
    if (found.currency !== currency) {
      // Amounts in another currency cannot be compared, paid or credited: a human must look.
      report.warnings.push(`invoice ${found.id} for ${document.ref} is in ${found.currency}, expected ${currency}; left alone`);
      return undefined;
    }
    if (found.amountTotal !== expected) {
      report.warnings.push(`invoice ${found.id} for ${document.ref} totals ${major(found.amountTotal, currency)}, expected ${major(expected, currency)}`);
    }
    const held = { id: found.id, partnerId: found.partnerId, currency, total: found.amountTotal, fresh: false };
    if (found.state === 'posted') return { ...held, name: found.name, residual: found.amountResidual };
    // A draft left by a run that died before posting (or one posting right now: posting is idempotent).
    await erp.postInvoice(found.id);
    report.changes.push(`invoice ${found.id} for ${document.ref} posted`);
    reached(report, 'invoice_posted');
    return { ...held, residual: found.amountTotal };
  }

  const partner = await partnerId();
  const lines = document.lines.map(({ name, quantity, unitAmount, taxRatePercent }) => ({
    name,
    quantity,
    unitAmount,
    ...(taxRatePercent !== undefined ? { taxRatePercent } : {}),
  }));
  const id = await erp.createInvoice({ ref: document.ref, partnerId: partner, currency, date: document.date, lines });
  // Drafts are cheap to undo, so the race check goes between create and post.
  const winner = (await erp.findInvoices([document.ref])).find(isLive);
  if (winner && winner.id !== id) {
    await undoOrEscalate(() => erp.discardInvoice(id), `invoices ${winner.id} and ${id} both bill ${document.ref}; cancel ${id} in the ERP`);
    if (winner.state === 'draft') {
      throw JobError.transient(ERP_ERROR_CODES.concurrentSync, `another run is creating invoice ${winner.id} for ${document.ref}`);
    }
    return {
      id: winner.id,
      name: winner.name,
      partnerId: winner.partnerId,
      currency: winner.currency,
      total: winner.amountTotal,
      residual: winner.amountResidual,
      fresh: false,
    };
  }
  await erp.postInvoice(id);
  report.changes.push(`invoice ${id} for ${document.ref} created and posted (${major(expected, currency)} ${currency})`);
  reached(report, 'invoice_posted');
  return { id, partnerId: partner, currency, total: expected, residual: expected, fresh: true };
}

/**
 * Registers each payment once against its document (found again by memo), in the document's currency.
 * The same for money received on invoices and refunds paid out on credit notes.
 */
async function ensurePayments(erp: Erp, targets: PaymentTarget[], report: SyncReport): Promise<void> {
  // Nothing open means nothing to register: our payment is there, or someone settled it another way.
  const open = targets.filter((target) => target.payments.length > 0 && target.residual > 0);
  if (open.length === 0) return;
  // A document this run created has no payment yet, unless a concurrent run paid it: the checks
  // after registering catch that, so the look-up is only for documents found.
  const lookup = open.filter((target) => !target.fresh).flatMap((target) => target.payments.map((payment) => payment.memo));
  const known = new Set(lookup.length > 0 ? (await erp.findPayments(lookup)).map((payment) => payment.memo) : []);

  const registered = new Map<string, number | undefined>();
  for (const target of open) {
    let residual = target.residual;
    const what = (memo: string) => (target.kind === 'invoice' ? `payment ${memo}` : `refund ${memo}`);
    for (const payment of target.payments) {
      if (known.has(payment.memo)) continue;
      if (residual <= 0) {
        report.warnings.push(`${what(payment.memo)} not registered: nothing is open on ${target.kind} ${target.id}`);
        continue;
      }
      let amount = payment.amount;
      if (amount > residual) {
        if (target.capped) amount = residual;
        else {
          report.warnings.push(
            `payment ${payment.memo} (${major(amount, target.currency)}) exceeds what is open on invoice ${target.id} (${major(residual, target.currency)})`,
          );
        }
      }
      let id: number | undefined;
      try {
        id = await erp.registerPayment({ invoiceId: target.id, currency: target.currency, amount, date: payment.date, memo: payment.memo });
      } catch (error) {
        // A concurrent run may have registered it since our look-up, and the ERP refuses to pay twice.
        if ((await erp.findPayments([payment.memo])).length > 0) continue;
        throw error;
      }
      residual -= amount;
      registered.set(payment.memo, id);
      report.changes.push(`${what(payment.memo)} registered on ${target.kind} ${target.id}`);
      reached(report, target.kind === 'invoice' ? 'payment_registered' : 'refund_registered');
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

/**
 * One posted credit note per credit, found by its ref among the credit notes of the invoice. A credit
 * note made in the ERP before credit notes carried our ref (Odoo's reversal wizard reversed a whole
 * invoice) is adopted by a credit of the whole invoice total, so old sales do not get a second one.
 * Returns the refunds to register against the credit notes.
 */
async function ensureCreditNotes(
  erp: Erp,
  held: Map<BillableDocument, HeldInvoice>,
  partnerId: () => Promise<number>,
  report: SyncReport,
): Promise<PaymentTarget[]> {
  const credited = [...held].filter(([document]) => document.credits.length > 0);
  if (credited.length === 0) return [];
  const notes = await erp.findCreditNotes(credited.map(([, invoice]) => invoice.id));
  const refunds: PaymentTarget[] = [];
  for (const [document, invoice] of credited) {
    const ofInvoice = notes.filter((note) => note.reversedInvoiceId === invoice.id);
    const ours = new Set(document.credits.map((credit) => credit.ref));
    const foreign = ofInvoice.filter((note) => isLive(note) && (note.ref === undefined || !ours.has(note.ref)));
    let adoptable = foreign.length === 1 ? foreign[0] : undefined;

    for (const credit of document.credits) {
      const mine = ofInvoice.filter((note) => note.ref === credit.ref);
      if (mine.length > 0 && !mine.some(isLive)) {
        report.warnings.push(`credit note ${mine[0]?.id} for ${credit.ref} (${document.ref}) is cancelled in the ERP; not recreated`);
        continue;
      }
      let note = mine.find(isLive);
      let fresh = false;
      if (!note && adoptable && credit.amount === invoice.total) {
        note = adoptable;
        adoptable = undefined;
      }
      if (!note) {
        const id = await erp.createCreditNote({
          invoiceId: invoice.id,
          ...(invoice.name && invoice.name !== '/' ? { invoiceName: invoice.name } : {}),
          partnerId: invoice.partnerId ?? (await partnerId()),
          ref: credit.ref,
          reason: credit.reason,
          currency: invoice.currency,
          amount: credit.amount,
          date: credit.date,
        });
        // Drafts are cheap to undo, so the race check goes between create and post.
        const winner = (await erp.findCreditNotes([invoice.id])).find((candidate) => isLive(candidate) && candidate.ref === credit.ref);
        if (!winner) throw JobError.transient(ERP_ERROR_CODES.concurrentSync, `credit note ${id} for ${credit.ref} is not there after creating it`);
        if (winner.id !== id) {
          // Lost a race: remove ours and let the winner's run finish its own.
          await undoOrEscalate(
            () => erp.discardInvoice(id),
            `credit notes ${winner.id} and ${id} both reverse invoice ${invoice.id} (${document.ref}); cancel ${id} in the ERP`,
          );
          if (winner.state === 'draft') {
            throw JobError.transient(ERP_ERROR_CODES.concurrentSync, `another run is creating credit note ${winner.id} for ${credit.ref}`);
          }
          continue;
        }
        report.changes.push(`credit note ${id} for ${document.ref} created (${credit.ref}, ${major(credit.amount, invoice.currency)} ${invoice.currency})`);
        note = winner;
        fresh = true;
      }
      // Nothing is settled on a draft yet: all of it is open once posted.
      const residual = note.state === 'draft' ? note.amountTotal : note.amountResidual;
      if (note.state === 'draft') {
        await erp.postInvoice(note.id);
        report.changes.push(`credit note ${note.id} for ${document.ref} posted`);
        reached(report, 'credit_note_posted');
      }
      if (credit.refund) {
        refunds.push({
          id: note.id,
          kind: 'credit note',
          currency: note.currency,
          residual,
          fresh,
          payments: [{ ...credit.refund, date: credit.date }],
          capped: true,
        });
      }
    }
  }
  return refunds;
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

/**
 * The `odoo-sync` handler of one job type: the job names a subject (a booking, an order) whose
 * payload may repeat it under `payloadKey`; `sync` reconciles that subject. Jobs about one subject
 * run one at a time in this worker. Errors propagate as JobErrors: the consumer retries or dead-letters.
 */
export function erpSyncHandler(options: {
  type: string;
  payloadKey: string;
  sync: (subject: string) => Promise<SyncReport>;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Receives `OdooSyncLatencyMs` for each milestone a run reached. */
  telemetry?: Pick<Telemetry, 'metric'>;
  now?: () => Date;
}): Record<string, JobHandler> {
  const now = options.now ?? (() => new Date());
  const serialize = perKeySerializer();
  const payloadSchema = z.object({ [options.payloadKey]: z.string().min(1).optional(), reason: z.string().optional() });
  return {
    [options.type]: async (job) => {
      const payload = payloadSchema.safeParse(job.payload ?? {});
      const named = payload.success ? (payload.data[options.payloadKey] as string | undefined) : undefined;
      if (!payload.success || (named !== undefined && named !== job.subject)) {
        throw JobError.permanent('INVALID_PAYLOAD', `${options.type} ${job.id}: payload must name the subject ${job.subject}`);
      }
      const report = await serialize(job.subject, () => options.sync(job.subject));
      // From the change that queued this job (createdAt survives retries and replays) to the books.
      const latencyMs = now().getTime() - Date.parse(job.createdAt);
      if (Number.isFinite(latencyMs)) {
        for (const milestone of report.milestones) {
          options.telemetry?.metric('OdooSyncLatencyMs', Math.max(0, latencyMs), { jobType: options.type, milestone, attempt: String(job.attempt) });
        }
      }
      const data = { jobId: job.id, subject: report.source, partnerId: report.partnerId, changes: report.changes };
      if (report.warnings.length > 0) options.log?.warn('odoo sync needs a look', { ...data, warnings: report.warnings });
      else options.log?.info(report.changes.length > 0 ? 'odoo sync changed the ERP' : 'odoo sync: ERP already matched', data);
    },
  };
}
