/**
 * Amounts and payment states of moves, following Odoo 17's account.move computes
 * (`_compute_amount`, `_compute_payment_state`). No taxes: amount_tax is always 0.
 */
import type { Settings } from './env';
import type { Row, Store } from './store';

/** Currency rounding of EUR (0.01), half away from zero as Odoo's float_round. */
export const round2 = (value: number): number => (Math.sign(value) * Math.round(Math.abs(value) * 100 + 1e-9)) / 100;
export const isZero = (value: number): boolean => Math.abs(value) < 0.005;

const SALE_TYPES = new Set(['out_invoice', 'out_refund', 'out_receipt']);
const INVOICE_TYPES = new Set([...SALE_TYPES, 'in_invoice', 'in_refund', 'in_receipt']);

export const isInvoice = (moveType: unknown): boolean => INVOICE_TYPES.has(String(moveType));
export const isSaleDocument = (moveType: unknown): boolean => SALE_TYPES.has(String(moveType));

/** price_subtotal of one line; sections and notes carry no amount. */
export function lineSubtotal(line: Row): number {
  if (line.display_type !== 'product') return 0;
  const quantity = Number(line.quantity ?? 0);
  const price = Number(line.price_unit ?? 0);
  const discount = Number(line.discount ?? 0);
  return round2(quantity * price * (1 - discount / 100));
}

/** amount_total of a move: its lines, or for a payment's entry the amount it settles. */
export function moveTotal(store: Store, move: Row): number {
  if (typeof move.payment_id === 'number') {
    const payment = store.get('account.payment', move.payment_id);
    return round2(Number(payment?.amount ?? 0) + Number(payment?._writeoff ?? 0));
  }
  const lines = store.referencing('account.move.line', 'move_id', move.id).map((id) => store.get('account.move.line', id));
  return round2(lines.reduce((sum, line) => sum + (line ? lineSubtotal(line) : 0), 0));
}

/** amount_residual: what reconciliations have not settled yet. */
export function moveResidual(store: Store, move: Row): number {
  const settled = store.reconciledWith(move.id).reduce((sum, { amount }) => sum + amount, 0);
  return round2(moveTotal(store, move) - settled);
}

/** payment_state as Odoo 17 computes it from the reconciliations of a posted invoice. */
export function paymentState(store: Store, settings: Settings, move: Row): string {
  if (move.state !== 'posted' || !isInvoice(move.move_type)) return 'not_paid';
  const counterparts = store.reconciledWith(move.id).map(({ moveId }) => store.get('account.move', moveId));
  if (!isZero(moveResidual(store, move))) return counterparts.length > 0 ? 'partial' : 'not_paid';
  if (counterparts.some((counterpart) => typeof counterpart?.payment_id === 'number')) return settings.paidState;
  // Settled by other documents only: 'reversed' when they are its credit notes.
  const types = new Set(counterparts.map((counterpart) => String(counterpart?.move_type)));
  const only = (...allowed: string[]): boolean => types.size > 0 && [...types].every((type) => allowed.includes(type));
  const outReverse = ['out_invoice', 'out_receipt'].includes(String(move.move_type)) && types.has('out_refund') && only('out_refund', 'entry');
  const inReverse = ['in_invoice', 'in_receipt'].includes(String(move.move_type)) && types.has('in_refund') && only('in_refund', 'entry');
  const miscReverse = ['entry', 'out_refund', 'in_refund'].includes(String(move.move_type)) && only('entry');
  return outReverse || inReverse || miscReverse ? 'reversed' : 'paid';
}
