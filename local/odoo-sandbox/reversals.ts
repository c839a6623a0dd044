/**
 * account.move.reversal, the "Credit Note" wizard. Created with `context={active_model:
 * 'account.move', active_ids: [...]}` (or `move_ids`), optional `reason`, `date`, `journal_id`.
 *
 * Odoo 17: `refund_moves` makes a DRAFT credit note (the caller posts it, nothing is reconciled);
 * `modify_moves` posts the credit note, reconciles it with the original and opens a new draft
 * copy. Odoo ≤ 16: `reverse_moves` obeys the wizard's `refund_method` (refund = draft, cancel =
 * posted and reconciled, modify). Here `refund_moves` / `reverse_moves` without a refund_method
 * follow `settings.reversal` — 'posted' by default, so a cancelled booking's credit note is
 * final in one call; 'draft' gives Odoo 17's exact behaviour.
 */
import type { Env, ModelHooks } from './env';
import { integrityError, userError } from './faults';
import { moveResidual, moveRounding, roundIn } from './ledger';
import { modelDef } from './compute';
import { postMoves } from './moves';
import { browse, createRecords, toIds } from './orm';
import type { Row } from './store';

type Mode = 'draft' | 'posted' | 'modify';

const REVERSED_TYPE: Record<string, string> = {
  out_invoice: 'out_refund',
  out_refund: 'out_invoice',
  out_receipt: 'out_refund',
  in_invoice: 'in_refund',
  in_refund: 'in_invoice',
  in_receipt: 'in_refund',
  entry: 'entry',
};

export const reversalHooks: ModelHooks = {
  prepareCreate(env, values) {
    const { active_model: activeModel, active_ids: activeIds } = env.context;
    let moveIds = values.move_ids as number[];
    if (moveIds.length === 0 && activeModel === 'account.move') moveIds = toIds(activeIds ?? []);
    const moves = browse(env, 'account.move', moveIds);
    if (moves.some((move) => move.state !== 'posted')) throw userError('You can only reverse posted moves.');
    const journalId = values.journal_id === false ? (moves[0]?.journal_id ?? false) : values.journal_id;
    if (journalId === false) {
      const def = modelDef('account.move.reversal');
      throw integrityError('a mandatory field is not set.', def, { name: 'journal_id', string: 'Journal' });
    }
    const journalType = env.store.get('account.journal', Number(journalId))?.type;
    if (moves.some((move) => env.store.get('account.journal', Number(move.journal_id))?.type !== journalType)) {
      throw userError('Journal should be the same type as the reversed entry.');
    }
    return { ...values, move_ids: moveIds, journal_id: journalId, date: values.date === false ? env.settings.today() : values.date };
  },
  methods: {
    refund_moves: { parameters: [], writes: true, run: (env, ids) => reverse(env, ids, undefined) },
    reverse_moves: { parameters: [], writes: true, run: (env, ids) => reverse(env, ids, undefined) },
    modify_moves: { parameters: [], writes: true, run: (env, ids) => reverse(env, ids, 'modify') },
  },
};

function modeOf(env: Env, wizard: Row, forced: Mode | undefined): Mode {
  if (forced) return forced;
  if (wizard.refund_method === 'refund') return 'draft';
  if (wizard.refund_method === 'cancel') return 'posted';
  if (wizard.refund_method === 'modify') return 'modify';
  return env.settings.reversal;
}

function reverse(env: Env, ids: number[], forced: Mode | undefined): Record<string, unknown> {
  const created: number[] = [];
  for (const wizard of browse(env, 'account.move.reversal', ids)) {
    const mode = modeOf(env, wizard, forced);
    const moves = browse(env, 'account.move', wizard.move_ids as number[]);
    const reversals = moves.map((move) => createReversal(env, wizard, move));
    if (mode !== 'draft') {
      postMoves(env, reversals);
      moves.forEach((move, index) => {
        const reversal = reversals[index] as Row;
        const settled = roundIn(Math.min(moveResidual(env.store, move), moveResidual(env.store, reversal)), moveRounding(env.store, move));
        if (settled > 0) env.store.reconcile(move.id, reversal.id, settled);
      });
    }
    const newMoves = mode === 'modify' ? moves.map((move) => copyAsDraft(env, move)) : reversals.map((row) => row.id);
    env.store.update('account.move.reversal', wizard.id, { _new_move_ids: newMoves });
    created.push(...newMoves);
  }
  return redirect(env, created);
}

function linesOf(env: Env, move: Row): unknown[] {
  return env.store.referencing('account.move.line', 'move_id', move.id).map((id) => {
    const line = env.store.get('account.move.line', id) as Row;
    const { name, quantity, price_unit: priceUnit, discount, display_type: displayType, sequence } = line;
    return [0, 0, { name, quantity, price_unit: priceUnit, discount, display_type: displayType, sequence }];
  });
}

function createReversal(env: Env, wizard: Row, move: Row): Row {
  const reason = typeof wizard.reason === 'string' && wizard.reason !== '' ? wizard.reason : undefined;
  const [id] = createRecords(env, 'account.move', [
    {
      move_type: REVERSED_TYPE[String(move.move_type)] ?? 'entry',
      partner_id: move.partner_id,
      ref: reason ? `Reversal of: ${String(move.name)}, ${reason}` : `Reversal of: ${String(move.name)}`,
      date: wizard.date,
      invoice_date: move.move_type === 'entry' ? false : wizard.date,
      invoice_date_due: wizard.date,
      journal_id: wizard.journal_id,
      currency_id: move.currency_id,
      reversed_entry_id: move.id,
      invoice_line_ids: linesOf(env, move),
    },
  ]);
  return env.store.get('account.move', id as number) as Row;
}

/** `modify_moves`' new draft: the original's document and lines, no number, ref or dates (copy=False). */
function copyAsDraft(env: Env, move: Row): number {
  const [id] = createRecords(env, 'account.move', [
    {
      move_type: move.move_type,
      partner_id: move.partner_id,
      journal_id: move.journal_id,
      currency_id: move.currency_id,
      invoice_origin: move.invoice_origin,
      narration: move.narration,
      invoice_line_ids: linesOf(env, move),
    },
  ]);
  return id as number;
}

/** The window action Odoo returns: the single new move, or a list of them. */
function redirect(env: Env, ids: number[]): Record<string, unknown> {
  const types = [...new Set(ids.map((id) => String(env.store.get('account.move', id)?.move_type)))];
  const base = { name: 'Reverse Moves', type: 'ir.actions.act_window', res_model: 'account.move' };
  if (ids.length === 1) return { ...base, view_mode: 'form', res_id: ids[0], context: { default_move_type: types[0] } };
  return { ...base, view_mode: 'tree,form', domain: [['id', 'in', ids]], ...(types.length === 1 && { context: { default_move_type: types[0] } }) };
}
