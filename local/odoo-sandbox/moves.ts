/**
 * account.move rules from Odoo 17's account module: journal per document type, the draft ->
 * posted step with its checks and per-year sequence (`INV/2026/00001`, credit notes
 * `RINV/2026/00001`), what a posted entry no longer lets you change, and who may be deleted.
 */
import type { Env, ModelHooks } from './env';
import { userError } from './faults';
import { isInvoice, isSaleDocument, moveTotal } from './ledger';
import { browse } from './orm';
import type { Row } from './store';

const PURCHASE_TYPES = new Set(['in_invoice', 'in_refund', 'in_receipt']);
/** What a posted entry no longer lets a client change (amounts, parties, dates, the document type). */
const LOCKED_WHEN_POSTED = [
  'partner_id',
  'invoice_line_ids',
  'line_ids',
  'move_type',
  'journal_id',
  'currency_id',
  'invoice_date',
  'date',
  'reversed_entry_id',
];

function journalType(moveType: unknown): string {
  if (isSaleDocument(moveType)) return 'sale';
  if (PURCHASE_TYPES.has(String(moveType))) return 'purchase';
  return 'general';
}

export const moveHooks: ModelHooks = {
  prepareCreate(env, values) {
    const wanted = journalType(values.move_type);
    if (values.journal_id === false) {
      const journal = env.store.all('account.journal').find((candidate) => candidate.type === wanted && candidate.active !== false);
      if (!journal) throw userError(`No journal could be found in company ${COMPANY} for any of those types: ${wanted}`);
      values.journal_id = journal.id;
    } else if (wanted !== 'general' && env.store.get('account.journal', Number(values.journal_id))?.type !== wanted) {
      throw userError(
        "The chosen journal has a type that is not compatible with your invoice type. Sales operations should go to 'sale' journals, and purchase operations should go to 'purchase' ones.",
      );
    }
    return {
      ...values,
      name: '/',
      state: 'draft',
      currency_id: values.currency_id === false ? 1 : values.currency_id,
      date: values.date === false ? (values.invoice_date === false ? env.settings.today() : values.invoice_date) : values.date,
    };
  },
  checkWrite(_env, rows, values) {
    const locked = LOCKED_WHEN_POSTED.filter((name) => name in values);
    if (locked.length === 0) return;
    const posted = rows.find((row) => row.state !== 'draft');
    if (posted) {
      throw userError(
        `You cannot do this modification on a posted journal entry, you can just change some non legal fields. You must revert the journal entry to cancel it.\n${String(posted.name)}: ${locked.join(', ')}`,
      );
    }
  },
  checkUnlink(_env, rows) {
    if (rows.some((row) => row.state === 'posted' || (row.name !== '/' && row.name !== false) || typeof row.payment_id === 'number')) {
      throw userError('You cannot delete an entry which has been posted once.');
    }
  },
  methods: {
    action_post: {
      parameters: [],
      writes: true,
      run(env, ids) {
        postMoves(env, browse(env, 'account.move', ids));
        return false;
      },
    },
    // Both return None, which XML-RPC cannot answer (fault 1 after the change is committed).
    button_draft: {
      parameters: [],
      writes: true,
      run(env, ids) {
        resetToDraft(env, browse(env, 'account.move', ids));
        return null;
      },
    },
    button_cancel: {
      parameters: [],
      writes: true,
      run(env, ids) {
        cancelMoves(env, browse(env, 'account.move', ids));
        return null;
      },
    },
  },
};

/** Odoo's `button_draft`: posted or cancelled -> draft, its reconciliations undone; the number stays. */
export function resetToDraft(env: Env, moves: Row[]): void {
  if (moves.some((move) => move.state !== 'posted' && move.state !== 'cancel')) throw userError('Only posted/cancelled journal entries can be reset to draft.');
  for (const move of moves) {
    env.store.unreconcile(move.id);
    env.store.update('account.move', move.id, { state: 'draft' });
  }
}

/** Odoo's `button_cancel`: posted moves are reset to draft first; only drafts can be cancelled. */
export function cancelMoves(env: Env, moves: Row[]): void {
  resetToDraft(
    env,
    moves.filter((move) => move.state === 'posted'),
  );
  const current = moves.map((move) => env.store.get('account.move', move.id) as Row);
  if (current.some((move) => move.state !== 'draft')) throw userError('Only draft journal entries can be cancelled.');
  for (const move of current) env.store.update('account.move', move.id, { state: 'cancel' });
}

export const COMPANY = 'My Company';

/** Odoo's `_post`: every check for every move first, then numbers and states (one transaction). */
export function postMoves(env: Env, moves: Row[]): void {
  for (const move of moves) {
    if (isInvoice(move.move_type) && move.partner_id === false) {
      throw userError(
        isSaleDocument(move.move_type)
          ? "The field 'Customer' is required, please complete it to validate the Customer Invoice."
          : "The field 'Vendor' is required, please complete it to validate the Vendor Bill.",
      );
    }
    if (PURCHASE_TYPES.has(String(move.move_type)) && move.invoice_date === false)
      throw userError('The Bill/Refund date is required to validate this document.');
  }
  for (const move of moves) {
    if (move.state === 'posted' || move.state === 'cancel') throw userError(`The entry ${String(move.name)} (id ${move.id}) must be in draft.`);
    const lines = env.store.referencing('account.move.line', 'move_id', move.id).map((id) => env.store.get('account.move.line', id));
    if (!lines.some((line) => line?.display_type === 'product')) throw userError('You need to add a line before posting.');
    if (isInvoice(move.move_type) && moveTotal(env.store, move) < 0) {
      throw userError(
        'You cannot validate an invoice with a negative total amount. You should create a credit note instead. Use the action menu to transform it into a credit note or refund.',
      );
    }
  }
  for (const move of moves) {
    const invoiceDate = isSaleDocument(move.move_type) && move.invoice_date === false ? env.settings.today() : move.invoice_date;
    const date = isInvoice(move.move_type) ? invoiceDate : move.date;
    // A move posted before (reset to draft since) keeps its number.
    const name = move.name && move.name !== '/' ? String(move.name) : nextName(env, move, String(date));
    env.store.update('account.move', move.id, {
      state: 'posted',
      name,
      invoice_date: invoiceDate,
      invoice_date_due: move.invoice_date_due === false ? invoiceDate : move.invoice_date_due,
      date,
      payment_reference: move.move_type === 'out_invoice' && move.payment_reference === false ? name : move.payment_reference,
    });
    if (isSaleDocument(move.move_type) && typeof move.partner_id === 'number') {
      const partner = env.store.get('res.partner', move.partner_id);
      if (partner) env.store.update('res.partner', partner.id, { customer_rank: Number(partner.customer_rank ?? 0) + 1 });
    }
  }
}

/**
 * The next number in the move's journal: `<code>/<year>/<5 digits>`, `R` in front for credit
 * notes (sale journals keep a refund sequence), `P` for payments (Odoo 17's payment sequence).
 */
export function nextName(env: Env, move: Record<string, unknown>, date: string): string {
  const journal = env.store.get('account.journal', Number(move.journal_id));
  const refund = move.move_type === 'out_refund' || move.move_type === 'in_refund';
  const prefix = `${typeof move.payment_id === 'number' ? 'P' : refund ? 'R' : ''}${String(journal?.code ?? 'MISC')}/${date.slice(0, 4)}`;
  return `${prefix}/${String(env.store.nextNumber(prefix)).padStart(5, '0')}`;
}
