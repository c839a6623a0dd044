import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { Order, Payment } from '../domain/order';
import { attachProviderRef, findPayment, type ProviderReport, recordProviderReport } from '../domain/payments';
import type { OrdersContext } from './ports';
import { orderSyncJob } from './sync-to-erp';

/** What became of a provider's word on a payment (a webhook, or the reconciliation asking). */
export type ReportOutcome = 'applied' | 'duplicate' | 'unchanged' | 'ignored' | 'mismatch';

/**
 * Applies what a provider says of one of its objects (a BTCPay invoice, a Stripe PaymentIntent) to
 * the order payment it names: the reference is kept (a webhook can overtake the request that opened
 * the payment), the report goes through the payment machine, the books follow when money came in.
 * `matches` refuses an object whose amount or currency is not the payment's (made by hand with our
 * ids). With `eventId` the change is stored with that marker, so a repeated delivery applies once.
 */
export async function applyProviderReport(
  deps: OrdersContext,
  target: { orderId: string; paymentId: string; provider: Payment['provider']; providerRef: string },
  report: ProviderReport,
  context: { cause: Cause; eventId?: string; matches?: (order: Order, payment: Payment) => boolean },
): Promise<ReportOutcome> {
  const outcome = await mutate<Order, ReportOutcome>(
    deps.orders,
    target.orderId,
    ({ state }) => {
      const payment = findPayment(state, target.paymentId);
      if (!payment || payment.provider !== target.provider || (payment.providerRef && payment.providerRef !== target.providerRef)) return skip('ignored');
      if (context.matches && !context.matches(state, payment)) return skip('mismatch');
      const now = deps.clock.now();
      const referenced = attachProviderRef(state, target.paymentId, target.providerRef, now);
      const base = referenced.ok ? referenced.order : state;
      const result = recordProviderReport(base, target.paymentId, report, context.cause, now);
      const next = result.ok ? result.order : base;
      if (next === state) return skip('unchanged');
      const settled = payment.status !== 'succeeded' && findPayment(next, target.paymentId)?.status === 'succeeded';
      // Money came in: the books follow.
      const jobs = settled ? [orderSyncJob(state, `${target.provider} ${target.providerRef} succeeded`)] : [];
      return save(next, 'applied', { history: result.ok ? result.history : [], jobs });
    },
    { clock: deps.clock, ...(context.eventId ? { eventId: context.eventId } : {}) },
  );
  if (outcome.kind === 'not-found') return 'ignored';
  if (outcome.kind === 'duplicate-event') return 'duplicate';
  return outcome.result;
}
