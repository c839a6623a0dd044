import * as z from 'zod';
import { type CurrencyCode, formatMinor, minorToDecimal } from '../../../shared/kernel/currency';
import type { CallbackEvent } from '../../../shared/platform/callbacks';
import { moneyOf, type Order, type Payment } from '../domain/order';
import { CAPTURED } from '../domain/status';

/**
 * What a shop that owns its orders (WooCommerce) must be told about a change, in the shop's terms:
 * the status its order takes, a refund it records, and a note saying what happened with the payment
 * reference. One update per change, fixed when the change is saved and delivered by the `callbacks`
 * worker through the shop's own API (the event's `data` follows `shopUpdateSchema`).
 */

/** The shop statuses the hub sets. */
export const SHOP_STATUSES = ['processing', 'completed', 'cancelled', 'refunded'] as const;
export type ShopStatus = (typeof SHOP_STATUSES)[number];

/** One update of a shop order; `id` of its event is the tag that makes it recognisable in the shop. */
export const shopUpdateSchema = z.object({
  /** The shop's order id (the hub order's `externalId`). */
  shopOrderId: z.string().min(1),
  orderId: z.string().min(1),
  status: z.enum(SHOP_STATUSES).optional(),
  /** A partial refund to record in the shop (a decimal string in the order's currency). */
  refund: z.object({ amount: z.string().regex(/^\d+(\.\d+)?$/), reason: z.string().max(200) }).optional(),
  note: z.string().min(1).max(1000),
});
export type ShopUpdate = z.infer<typeof shopUpdateSchema>;

/** The hub statuses the shop mirrors, with the shop's word for each. */
const MIRRORED: Partial<Record<Order['status'], ShopStatus>> = { paid: 'processing', delivered: 'completed', cancelled: 'cancelled', refunded: 'refunded' };

const paymentRef = (payment: Payment) => `payment ${payment.id}${payment.providerRef ? `, ${payment.provider} reference ${payment.providerRef}` : ''}`;

/** The payments a change moved to `to` (the references a note names). */
const movedTo = (before: Order | undefined, after: Order, statuses: readonly Payment['status'][]) =>
  after.payments.filter(
    (payment) => statuses.includes(payment.status) && before?.payments.find((candidate) => candidate.id === payment.id)?.status !== payment.status,
  );

/**
 * The shop's updates for one change (none when nothing the shop shows moved): paid → `processing`,
 * delivered → `completed`, cancelled → `cancelled`, refunded in full → `refunded`, each with a note;
 * money going back while the order stays otherwise → a refund in the shop with a note.
 */
export function shopUpdates(before: Order | undefined, after: Order): CallbackEvent[] {
  const currency = after.currency as CurrencyCode;
  const amount = (minor: number) => formatMinor(minor, currency);
  const base = { shopOrderId: after.externalId, orderId: after.id };
  const updates: Array<{ kind: string; update: ShopUpdate }> = [];
  const status = MIRRORED[after.status];
  if (status && before?.status !== after.status) {
    const money = moneyOf(after);
    const refs = (statuses: readonly Payment['status'][]) => {
      const moved = movedTo(before, after, statuses);
      const named = moved.length > 0 ? moved : after.payments.filter((payment) => statuses.includes(payment.status));
      return named.map(paymentRef).join('; ');
    };
    const note: Record<ShopStatus, string> = {
      processing: `Paid through Order Hub: ${amount(money.paidAmount)} (${refs(CAPTURED)}).`,
      completed: `Delivered (Order Hub order ${after.id}).`,
      cancelled: `Cancelled in Order Hub${money.refundedAmount > 0 ? `; ${amount(money.refundedAmount)} refunded` : ''} (order ${after.id}).`,
      refunded: `Refunded in full through Order Hub: ${amount(money.refundedAmount)} (${refs(['refunded', 'partially_refunded'])}).`,
    };
    updates.push({ kind: status, update: { ...base, status, note: note[status] } });
  } else if (before && after.status !== 'refunded' && after.status !== 'cancelled') {
    const back = moneyOf(after).refundedAmount - moneyOf(before).refundedAmount;
    if (back > 0) {
      const refs = movedTo(before, after, ['partially_refunded', 'refunded']).map(paymentRef).join('; ');
      updates.push({
        kind: 'refund',
        update: {
          ...base,
          refund: { amount: minorToDecimal(back, currency), reason: 'Refunded through Order Hub' },
          note: `Refunded ${amount(back)} through Order Hub${refs ? ` (${refs})` : ''}.`,
        },
      });
    }
  }
  return updates.map(({ kind, update }) => ({
    id: `shop_${after.id}_v${after.version}_${kind}`,
    type: `shop.${kind}`,
    createdAt: after.updatedAt,
    data: update,
  }));
}
