/**
 * account.payment.register, the "Register Payment" wizard of Odoo 17: created with
 * `context={active_model: 'account.move', active_ids: [...]}` (its `default_get` checks the moves
 * then), `action_create_payments` creates posted payments — each with its journal entry in the
 * bank journal, `PBNK1/2026/00001` — and reconciles them with the moves. Payments are in the moves'
 * currency (the wizard's default); the sandbox has no exchange rates, so another currency is refused.
 */
import type { Env, ModelHooks } from './env';
import { userError } from './faults';
import { isSettled, moveResidual, moveRounding, type Rounding, roundIn, roundingOf } from './ledger';
import { cancelMoves, nextName, resetToDraft } from './moves';
import { browse, toIds } from './orm';
import type { Row } from './store';

const LIQUIDITY = new Set(['bank', 'cash']);
/** Where the sandbox knowingly differs from Odoo, which would convert at the day's rate. */
const NO_RATES = 'The Odoo sandbox has no currency exchange rates.';

export const paymentRegisterHooks: ModelHooks = {
  prepareCreate(env, values, sent) {
    const moves = activeMoves(env);
    for (const move of moves) if (move.state !== 'posted') throw userError('You can only register payment for posted journal entries.');
    const open = moves.filter((move) => !isSettled(env.store, move));
    if (open.length === 0) throw userError("You can't register a payment because there is nothing left to pay on the selected journal items.");
    if (new Set(open.map(direction)).size > 1) throw userError("You can't register payments for both inbound and outbound moves at the same time.");
    const currencies = [...new Set(open.map((move) => Number(move.currency_id)))];
    if (currencies.length > 1) throw userError(`${NO_RATES} Register the payments of moves in different currencies one currency at a time.`);
    const currencyId = values.currency_id === false ? currencies[0] : Number(values.currency_id);
    if (currencyId !== currencies[0]) {
      const name = (id: unknown) => String(env.store.get('res.currency', Number(id))?.name);
      throw userError(`${NO_RATES} Register the payment in the currency of the journal items (${name(currencies[0])}), not in ${name(currencyId)}.`);
    }
    const journal = values.journal_id === false ? env.store.all('account.journal').find((candidate) => LIQUIDITY.has(String(candidate.type))) : undefined;
    const residual = open.reduce((sum, move) => sum + moveResidual(env.store, move), 0);
    return {
      ...values,
      _move_ids: open.map((move) => move.id),
      amount: 'amount' in sent ? values.amount : roundIn(residual, roundingOf(env.store, currencyId)),
      communication: 'communication' in sent ? values.communication : batchCommunication(open),
      payment_date: values.payment_date === false ? env.settings.today() : values.payment_date,
      journal_id: journal ? journal.id : values.journal_id,
      currency_id: currencyId,
    };
  },
  methods: {
    action_create_payments: {
      parameters: [],
      writes: true,
      run(env, ids) {
        const payments = browse(env, 'account.payment.register', ids).flatMap((wizard) => createPayments(env, wizard));
        if (env.context.dont_redirect_to_payments) return true;
        return {
          name: 'Payments',
          type: 'ir.actions.act_window',
          res_model: 'account.payment',
          context: { create: false },
          ...(payments.length === 1 ? { view_mode: 'form', res_id: payments[0] } : { view_mode: 'tree,form', domain: [['id', 'in', payments]] }),
        };
      },
    },
  },
};

/**
 * account.payment as in Odoo 17, where a payment's state is its journal entry's: `action_draft`
 * resets the entry (undoing its reconciliations, so the invoice is open again), `action_cancel`
 * cancels it. Both return None.
 */
export const paymentHooks: ModelHooks = {
  methods: {
    action_draft: {
      parameters: [],
      writes: true,
      run(env, ids) {
        const payments = browse(env, 'account.payment', ids);
        resetToDraft(env, entriesOf(env, payments));
        for (const payment of payments) env.store.update('account.payment', payment.id, { state: 'draft' });
        return null;
      },
    },
    action_cancel: {
      parameters: [],
      writes: true,
      run(env, ids) {
        const payments = browse(env, 'account.payment', ids);
        cancelMoves(env, entriesOf(env, payments));
        for (const payment of payments) env.store.update('account.payment', payment.id, { state: 'cancel' });
        return null;
      },
    },
  },
};

const entriesOf = (env: Env, payments: Row[]): Row[] =>
  browse(
    env,
    'account.move',
    payments.flatMap((payment) => (typeof payment.move_id === 'number' ? [payment.move_id] : [])),
  );

/** The moves of `active_ids` (or the moves of the lines, with active_model account.move.line). */
function activeMoves(env: Env): Row[] {
  const { active_model: activeModel, active_ids: activeIds, active_id: activeId } = env.context;
  const ids = toIds(activeIds ?? (activeId === undefined ? [] : [activeId]));
  if (activeModel === 'account.move') return browse(env, 'account.move', ids);
  if (activeModel === 'account.move.line') {
    const moveIds = browse(env, 'account.move.line', ids).map((line) => Number(line.move_id));
    return browse(env, 'account.move', [...new Set(moveIds)]);
  }
  throw userError('The register payment wizard should only be called on account.move or account.move.line records.');
}

const direction = (move: Row): 'inbound' | 'outbound' => (move.move_type === 'out_refund' || move.move_type === 'in_invoice' ? 'outbound' : 'inbound');

/** Odoo's `_get_batch_communication`: the moves' payment references (or refs, or numbers). */
const batchCommunication = (moves: Row[]): string =>
  [...new Set(moves.map((move) => String(move.payment_reference || move.ref || move.name)))].sort().join(' ');

/** One payment for the wizard's amount (one move, or grouped), else one per move for its residual. */
function createPayments(env: Env, wizard: Row): number[] {
  const journal = env.store.get('account.journal', Number(wizard.journal_id));
  if (!journal || !LIQUIDITY.has(String(journal.type))) throw userError('A payment must always belongs to a bank or cash journal.');
  const moves = ((wizard._move_ids as number[] | undefined) ?? [])
    .map((id) => env.store.get('account.move', id))
    .filter((move): move is Row => move !== undefined && !isSettled(env.store, move));
  if (moves.length === 0) throw userError("You can't register a payment because there is nothing left to pay on the selected journal items.");
  const rounding = moveRounding(env.store, moves[0] as Row);
  if (moves.length === 1 || wizard.group_payment === true) {
    const amount = roundIn(Number(wizard.amount), rounding);
    if (amount <= 0) throw userError('The amount of a payment must be strictly positive.');
    const open = roundIn(
      moves.reduce((sum, move) => sum + moveResidual(env.store, move), 0),
      rounding,
    );
    // "Mark as fully paid": the difference goes to a write-off line of the payment's entry.
    const writeoff = wizard.payment_difference_handling === 'reconcile' && amount < open ? roundIn(open - amount, rounding) : 0;
    return [createPayment(env, wizard, moves, amount, writeoff, String(wizard.communication || batchCommunication(moves)), rounding)];
  }
  return moves.map((move) => createPayment(env, wizard, [move], moveResidual(env.store, move), 0, batchCommunication([move]), rounding));
}

function createPayment(env: Env, wizard: Row, moves: Row[], amount: number, writeoff: number, memo: string, rounding: Rounding): number {
  const first = moves[0] as Row;
  const date = String(wizard.payment_date);
  const common = { partner_id: first.partner_id, date, journal_id: wizard.journal_id, currency_id: wizard.currency_id };
  const payment = env.store.insert('account.payment', {
    ...common,
    name: false,
    amount,
    _writeoff: writeoff,
    payment_type: direction(first),
    partner_type: String(first.move_type).startsWith('in_') ? 'supplier' : 'customer',
    ref: memo,
    memo,
    state: 'posted',
    move_id: false,
  });
  const entry = env.store.insert('account.move', {
    ...common,
    move_type: 'entry',
    state: 'posted',
    ref: memo,
    invoice_date: false,
    invoice_date_due: false,
    payment_reference: false,
    narration: false,
    invoice_origin: false,
    reversed_entry_id: false,
    payment_id: payment.id,
    name: '/',
  });
  const name = nextName(env, { journal_id: wizard.journal_id, payment_id: payment.id }, date);
  env.store.update('account.move', entry.id, { name });
  env.store.update('account.payment', payment.id, { name, move_id: entry.id });
  let available = roundIn(amount + writeoff, rounding);
  for (const move of moves) {
    const settled = Math.min(available, moveResidual(env.store, move));
    if (settled <= 0) break;
    env.store.reconcile(move.id, entry.id, settled);
    available = roundIn(available - settled, rounding);
  }
  return payment.id;
}
