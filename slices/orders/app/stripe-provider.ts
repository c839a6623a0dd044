import type { PaymentGateway } from '../../../shared/platform/payments';
import type { PaymentProvider } from './ports';

/**
 * Orders paid through Stripe: a PaymentIntent per payment (metadata `orderId` and `paymentId`, which
 * route its webhooks back here), refunds against it. Idempotency keys derive from our ids, so a
 * retried call gets the intent or refund the first one made.
 */
export function stripeProvider(gateway: PaymentGateway): PaymentProvider {
  return {
    async open(payment) {
      const intent = await gateway.createPaymentIntent({
        amount: payment.amount,
        currency: payment.currency,
        metadata: { orderId: payment.orderId, paymentId: payment.id },
        description: payment.description,
        idempotencyKey: `order-payment:${payment.id}`,
      });
      return intent.ok ? { ok: true, value: { providerRef: intent.value.id, clientSecret: intent.value.clientSecret } } : intent;
    },
    async reopen(providerRef) {
      const intent = await gateway.retrievePaymentIntent(providerRef);
      return intent.ok ? { ok: true, value: { providerRef, clientSecret: intent.value.clientSecret } } : intent;
    },
    async refund(input) {
      const refund = await gateway.refund({
        paymentIntentId: input.providerRef,
        amount: input.amount,
        // The refund's own events (`refund.updated`, `refund.failed`) route back by these.
        metadata: { orderId: input.orderId, paymentId: input.paymentId, refundId: input.refundId },
        idempotencyKey: `order-refund:${input.refundId}`,
      });
      if (!refund.ok) return refund;
      const status =
        refund.value.status === 'succeeded' ? 'succeeded' : refund.value.status === 'failed' || refund.value.status === 'canceled' ? 'failed' : 'pending';
      return { ok: true, value: { providerRef: refund.value.id, status } };
    },
    async cancel(input) {
      const cancelled = await gateway.cancelPaymentIntent(input.providerRef, `order-payment:${input.paymentId}:cancel`);
      return cancelled.ok ? { ok: true, value: undefined } : cancelled;
    },
  };
}
