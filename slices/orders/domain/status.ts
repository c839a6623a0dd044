import * as z from 'zod';
import { defineMachine } from '../../../shared/kernel/state-machine';

/** Where an order is in its life, as the channel sees it. */
export const ORDER_STATUSES = ['pending', 'confirmed', 'paid', 'processing', 'shipped', 'delivered', 'cancelled', 'refunded'] as const;
export const orderStatusSchema = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof orderStatusSchema>;

/**
 * The order machine. `paid` and `refunded` follow the payments (the order moves there by itself when
 * succeeded payments cover its total, or everything paid went back); the rest a channel asks for.
 * A paid order can still be cancelled (its payments are refunded first); a shipped one only refunded.
 */
export const orderMachine = defineMachine<OrderStatus>('order', {
  pending: ['confirmed', 'paid', 'cancelled'],
  confirmed: ['paid', 'cancelled'],
  paid: ['processing', 'cancelled', 'refunded'],
  processing: ['shipped', 'cancelled', 'refunded'],
  shipped: ['delivered', 'refunded'],
  delivered: ['refunded'],
  cancelled: [],
  refunded: [],
});

/** Statuses that follow the payments and cannot be asked for. */
export const DERIVED_ORDER_STATUSES: readonly OrderStatus[] = ['paid', 'refunded'];

/** The order's money, derived from its payments and kept apart from its status. */
export const PAYMENT_SUMMARIES = ['not_paid', 'partially_paid', 'paid', 'partially_refunded', 'refunded'] as const;
export type PaymentSummary = (typeof PAYMENT_SUMMARIES)[number];

/** Where a payment is in its life. */
export const PAYMENT_STATUSES = ['pending', 'processing', 'succeeded', 'failed', 'canceled', 'partially_refunded', 'refunded'] as const;
export const paymentStatusSchema = z.enum(PAYMENT_STATUSES);
export type PaymentStatus = z.infer<typeof paymentStatusSchema>;

/**
 * The payment machine. A failed attempt is not final: the customer may retry the same payment
 * (another card), so `failed` can still succeed; `succeeded` only moves on by refunds.
 */
export const paymentMachine = defineMachine<PaymentStatus>('payment', {
  pending: ['processing', 'succeeded', 'failed', 'canceled'],
  processing: ['succeeded', 'failed', 'canceled'],
  failed: ['processing', 'succeeded', 'canceled'],
  succeeded: ['partially_refunded', 'refunded'],
  partially_refunded: ['refunded'],
  refunded: [],
  canceled: [],
});

/** Payment statuses in which money came in (refunded or not). */
export const CAPTURED: readonly PaymentStatus[] = ['succeeded', 'partially_refunded', 'refunded'];

/** Payment statuses that still hold a share of the order's total (not failed, not cancelled). */
export const ACTIVE: readonly PaymentStatus[] = ['pending', 'processing', ...CAPTURED];

/** Where a refund is: reserved before the provider is asked, then what the provider said. */
export const REFUND_STATUSES = ['reserved', 'pending', 'succeeded', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];
