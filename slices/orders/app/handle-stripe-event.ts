import { causes } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { PaymentEvent } from '../../../shared/platform/payments';
import type { Telemetry } from '../../../shared/platform/telemetry';
import type { Order } from '../domain/order';
import { attachProviderRef, findPayment, type OrderResult, recordPaymentStatus, recordProviderRefunds, settleRefund } from '../domain/payments';
import type { OrdersContext } from './ports';
import { orderSyncJob } from './sync-to-erp';

export interface OrderStripeEventDeps extends OrdersContext {
  telemetry?: Pick<Telemetry, 'event'>;
}

export type OrderEventOutcome = 'applied' | 'duplicate' | 'unchanged' | 'ignored';

const STATUS_OF: Record<string, 'processing' | 'succeeded' | 'failed' | 'canceled' | undefined> = {
  'payment_intent.processing': 'processing',
  'payment_intent.succeeded': 'succeeded',
  'payment_intent.payment_failed': 'failed',
  'payment_intent.canceled': 'canceled',
};

/** Events about one refund object. */
const REFUND_EVENTS = ['refund.updated', 'refund.failed', 'charge.refund.updated'];

const refundStatusOf = (status: string): 'succeeded' | 'pending' | 'failed' =>
  status === 'succeeded' ? 'succeeded' : status === 'failed' || status === 'canceled' ? 'failed' : 'pending';

/**
 * Applies a verified Stripe event to the order payment it names (`metadata.orderId` and
 * `paymentId`). The event id is stored with the change in the order's partition, so concurrent
 * deliveries apply once; the payment machine keeps settled states from moving back when events
 * arrive out of order; the order follows its payments (paid, refunded) with the event as cause.
 * A refund made at Stripe (`charge.refunded`) is recorded for what exceeds the refunds we know.
 */
export async function handleOrderStripeEvent(deps: OrderStripeEventDeps, event: PaymentEvent): Promise<OrderEventOutcome> {
  const intent = event.paymentIntent;
  const orderId = intent?.metadata.orderId;
  const paymentId = intent?.metadata.paymentId;
  if (!intent || !orderId || !paymentId) return 'ignored';
  const cause = causes.stripe(event.id);
  const outcome = await mutate<Order, boolean>(
    deps.orders,
    orderId,
    ({ state }) => {
      const payment = findPayment(state, paymentId);
      if (!payment || (payment.providerRef && payment.providerRef !== intent.id)) return skip(false);
      const now = deps.clock.now();
      // The webhook can overtake the request that opened the payment: keep the reference either way.
      const referenced = attachProviderRef(state, paymentId, intent.id, now);
      const base = referenced.ok ? referenced.order : state;
      const status = STATUS_OF[event.type];
      let result: OrderResult | undefined;
      if (status) {
        const reason = intent.lastError?.declineCode ?? intent.lastError?.code ?? intent.lastError?.message;
        result = recordPaymentStatus(base, paymentId, status, cause, now, reason);
      } else if (event.type === 'charge.refunded' && event.amountRefunded !== undefined) {
        result = recordProviderRefunds(base, paymentId, event.amountRefunded, `rfd_${event.id}`, cause, now);
      } else if (event.refund && intent.metadata.refundId && REFUND_EVENTS.includes(event.type)) {
        // One of our refunds, finished (or given up) by the provider after it first answered.
        result = settleRefund(
          base,
          paymentId,
          intent.metadata.refundId,
          { status: refundStatusOf(event.refund.status), providerRef: event.refund.id },
          cause,
          now,
        );
      }
      const next = result?.ok ? result.order : base;
      if (next === state) return skip(false);
      // Money came in or went back: the books follow.
      const moneyMoved = status === 'succeeded' || event.type === 'charge.refunded' || event.refund !== undefined;
      const jobs = result?.ok && result.order !== base && moneyMoved ? [orderSyncJob(state, event.type)] : [];
      return save(next, true, { history: result?.ok ? result.history : [], jobs });
    },
    { clock: deps.clock, eventId: `stripe:${event.id}` },
  );
  if (outcome.kind === 'not-found') return 'ignored';
  if (outcome.kind === 'duplicate-event') return 'duplicate';
  if (outcome.saved && event.type === 'payment_intent.payment_failed') {
    deps.telemetry?.event('PaymentFailed', { orderId, paymentId, code: intent.lastError?.declineCode ?? intent.lastError?.code ?? 'unknown' });
  }
  return outcome.result ? 'applied' : 'unchanged';
}
