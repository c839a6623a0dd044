/**
 * Amounts and payment states of moves, following Odoo 17's account.move computes
 * (`_compute_amount`, `_compute_payment_state`). No taxes: amount_tax is always 0. Every amount is
 * rounded in its document's currency (`res.currency.rounding`), half away from zero as Odoo's
 * `float_round`; there are no exchange rates, so a document is settled in its own currency only.
 */
import type { Settings } from './env';
import type { Row, Store } from './store';

/** How amounts in one currency are rounded: to a multiple of `rounding`, shown with `decimals` places. */
export interface Rounding {
  rounding: number;
  decimals: number;
}

/** The company currency's rounding (EUR), for rows that name no currency. */
export const COMPANY_ROUNDING: Rounding = { rounding: 0.01, decimals: 2 };

/** The rounding of a res.currency id (the company's when unset or unknown). */
export function roundingOf(store: Store, currencyId: unknown): Rounding {
  const currency = typeof currencyId === 'number' ? store.get('res.currency', currencyId) : undefined;
  if (!currency) return COMPANY_ROUNDING;
  return { rounding: Number(currency.rounding), decimals: Number(currency.decimal_places) };
}

/** The rounding of a move's currency. */
export const moveRounding = (store: Store, move: Row): Rounding => roundingOf(store, move.currency_id);

/** Odoo's float_round with the currency's rounding, half away from zero; no binary noise left behind. */
export function roundIn(value: number, { rounding, decimals }: Rounding): number {
  const steps = Math.round(Math.abs(value) / rounding + 1e-9);
  return Number((Math.sign(value) * steps * rounding).toFixed(decimals)) || 0;
}

/** Odoo's float_is_zero with the currency's rounding. */
export const isZeroIn = (value: number, { rounding }: Rounding): boolean => Math.abs(value) < rounding / 2;

const SALE_TYPES = new Set(['out_invoice', 'out_refund', 'out_receipt']);
const INVOICE_TYPES = new Set([...SALE_TYPES, 'in_invoice', 'in_refund', 'in_receipt']);

export const isInvoice = (moveType: unknown): boolean => INVOICE_TYPES.has(String(moveType));
export const isSaleDocument = (moveType: unknown): boolean => SALE_TYPES.has(String(moveType));

/** price_subtotal of one line in its move's currency; sections and notes carry no amount. */
export function lineSubtotal(store: Store, line: Row): number {
  if (line.display_type !== 'product') return 0;
  const quantity = Number(line.quantity ?? 0);
  const price = Number(line.price_unit ?? 0);
  const discount = Number(line.discount ?? 0);
  const move = typeof line.move_id === 'number' ? store.get('account.move', line.move_id) : undefined;
  return roundIn(quantity * price * (1 - discount / 100), move ? moveRounding(store, move) : COMPANY_ROUNDING);
}

/** amount_total of a move: its lines, or for a payment's entry the amount it settles. */
export function moveTotal(store: Store, move: Row): number {
  const rounding = moveRounding(store, move);
  if (typeof move.payment_id === 'number') {
    const payment = store.get('account.payment', move.payment_id);
    return roundIn(Number(payment?.amount ?? 0) + Number(payment?._writeoff ?? 0), rounding);
  }
  const lines = store.referencing('account.move.line', 'move_id', move.id).map((id) => store.get('account.move.line', id));
  return roundIn(
    lines.reduce((sum, line) => sum + (line ? lineSubtotal(store, line) : 0), 0),
    rounding,
  );
}

/** amount_residual: what reconciliations have not settled yet. */
export function moveResidual(store: Store, move: Row): number {
  const settled = store.reconciledWith(move.id).reduce((sum, { amount }) => sum + amount, 0);
  return roundIn(moveTotal(store, move) - settled, moveRounding(store, move));
}

/** Whether nothing is left open on a move, in its currency. */
export const isSettled = (store: Store, move: Row): boolean => isZeroIn(moveResidual(store, move), moveRounding(store, move));

/** payment_state as Odoo 17 computes it from the reconciliations of a posted invoice. */
export function paymentState(store: Store, settings: Settings, move: Row): string {
  if (move.state !== 'posted' || !isInvoice(move.move_type)) return 'not_paid';
  const counterparts = store.reconciledWith(move.id).map(({ moveId }) => store.get('account.move', moveId));
  if (!isSettled(store, move)) return counterparts.length > 0 ? 'partial' : 'not_paid';
  if (counterparts.some((counterpart) => typeof counterpart?.payment_id === 'number')) return settings.paidState;
  // Settled by other documents only: 'reversed' when they are its credit notes.
  const types = new Set(counterparts.map((counterpart) => String(counterpart?.move_type)));
  const only = (...allowed: string[]): boolean => types.size > 0 && [...types].every((type) => allowed.includes(type));
  const outReverse = ['out_invoice', 'out_receipt'].includes(String(move.move_type)) && types.has('out_refund') && only('out_refund', 'entry');
  const inReverse = ['in_invoice', 'in_receipt'].includes(String(move.move_type)) && types.has('in_refund') && only('in_refund', 'entry');
  const miscReverse = ['entry', 'out_refund', 'in_refund'].includes(String(move.move_type)) && only('entry');
  return outReverse || inReverse || miscReverse ? 'reversed' : 'paid';
}
