import { moneyOf, type Order, type Payment, type Refund } from '../domain/order';

/**
 * What the API shows of orders, payments and refunds — and what channel callbacks carry as `data`,
 * so a channel receives a resource exactly as its GET returns it.
 */

export function toOrderView(order: Order) {
  const money = moneyOf(order);
  return {
    id: order.id,
    source: order.source,
    externalId: order.externalId,
    status: order.status,
    paymentStatus: money.paymentStatus,
    currency: order.currency,
    totalAmount: order.totalAmount,
    paidAmount: money.paidAmount,
    refundedAmount: money.refundedAmount,
    customerId: order.customerId,
    customer: order.customer,
    items: order.items,
    ...(order.metadata ? { metadata: order.metadata } : {}),
    ...(order.attention ? { attention: order.attention } : {}),
    version: order.version,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

export function toRefundView(payment: Payment, refund: Refund) {
  return {
    id: refund.id,
    paymentId: payment.id,
    amount: refund.amount,
    status: refund.status,
    ...(refund.reason ? { reason: refund.reason } : {}),
    origin: refund.origin,
    ...(refund.failureReason ? { failureReason: refund.failureReason } : {}),
    ...(refund.claimLink ? { claimLink: refund.claimLink } : {}),
    createdAt: refund.createdAt,
  };
}

export function toPaymentView(order: Order, payment: Payment) {
  return {
    id: payment.id,
    orderId: order.id,
    provider: payment.provider,
    status: payment.status,
    amount: payment.amount,
    refundedAmount: payment.refundedAmount,
    currency: order.currency,
    ...(payment.providerRef ? { providerRef: payment.providerRef } : {}),
    ...(payment.failureReason ? { failureReason: payment.failureReason } : {}),
    ...(payment.providerStatus ? { providerStatus: payment.providerStatus } : {}),
    refunds: payment.refunds.map((refund) => toRefundView(payment, refund)),
    version: payment.version,
    createdAt: payment.createdAt,
    updatedAt: payment.updatedAt,
  };
}
