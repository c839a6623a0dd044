import { causes } from '../../../shared/kernel/history';
import type { InvoiceGateway } from '../../../shared/platform/invoices';
import type { Logger } from '../../../shared/platform/log';
import type { PaymentGateway } from '../../../shared/platform/payments';
import type { Telemetry } from '../../../shared/platform/telemetry';
import type { Payment } from '../domain/order';
import { awaitsProvider, type ProviderReport } from '../domain/payments';
import { applyInvoice } from './handle-btcpay-event';
import type { OrdersContext } from './ports';
import { applyProviderReport, type ReportOutcome } from './provider-reports';

/** An order with payments the hub waits on the provider for, and when each of them last changed. */
export interface WaitingOrder {
  orderId: string;
  since: string[];
}

/** Orders that have payments still waiting for their provider (see `awaitsProvider`). */
export interface OpenPayments {
  /** Orders with a waiting payment that last changed within the range (ISO times compare as text), streamed. */
  waiting(range: { from: Date; to: Date }): AsyncIterable<WaitingOrder>;
}

/** When the reconciliation looks at a waiting payment. */
export interface ReconcilePolicy {
  /** A payment is first checked this long after its last change, then after twice, four times as long… */
  afterMs: number;
  /** …until it has waited this long; then it is left (a customer who never paid). */
  horizonMs: number;
  /** How often the timer runs: a check point falls into exactly one run. */
  everyMs: number;
  /** Orders asked about per run, at most (a run reads only those at a check point). */
  limit: number;
}

/**
 * Whether a payment that has waited `ageMs` reaches one of its check points (after, 2×after,
 * 4×after, … up to the horizon) in the run that covers (age − every, age]. Stateless: nothing is
 * written for a check that finds nothing, and a payment is asked about O(log(horizon/after)) times.
 */
export function isCheckPoint(ageMs: number, policy: Pick<ReconcilePolicy, 'afterMs' | 'horizonMs' | 'everyMs'>): boolean {
  if (ageMs < policy.afterMs || ageMs > policy.horizonMs) return false;
  for (let point = policy.afterMs; point <= ageMs; point *= 2) if (point > ageMs - policy.everyMs) return true;
  return false;
}

export interface ReconcileDeps extends OrdersContext {
  open: OpenPayments;
  /** Stripe, when configured. */
  stripe?: Pick<PaymentGateway, 'retrievePaymentIntent'>;
  /** BTCPay, when configured. */
  invoices?: Pick<InvoiceGateway, 'getInvoice'>;
  log: Logger;
  telemetry?: Pick<Telemetry, 'event'>;
}

/** A PaymentIntent's status as a report; a payment that was processing and needs a new method again failed. */
function intentReport(status: string, payment: Payment): ProviderReport | undefined {
  if (status === 'succeeded') return { to: 'succeeded' };
  if (status === 'processing') return { to: 'processing' };
  if (status === 'canceled') return { to: 'canceled' };
  if (status === 'requires_payment_method' && payment.status === 'processing') return { to: 'failed', failureReason: 'the payment did not go through' };
  return undefined;
}

/**
 * Asks the provider about payments that have waited too long for a webhook (BTCPay keeps its
 * retries in memory for about an hour; any webhook can be lost) and applies what it says through
 * the same use cases as the webhooks. A provider that cannot be reached is asked again at the
 * next check point; one payment's failure never stops the others.
 */
export async function reconcilePayments(deps: ReconcileDeps, policy: ReconcilePolicy): Promise<{ checked: number; applied: number }> {
  const now = deps.clock.now().getTime();
  const due = (updatedAt: string) => isCheckPoint(now - Date.parse(updatedAt), policy);
  const cause = causes.system('payment-reconciliation');
  let orders = 0;
  let checked = 0;
  let applied = 0;
  for await (const waiting of deps.open.waiting({ from: new Date(now - policy.horizonMs), to: new Date(now - policy.afterMs) })) {
    // Only orders with a payment at a check point count against the limit, so the same first orders cannot crowd out the rest.
    if (!waiting.since.some(due)) continue;
    if (++orders > policy.limit) break;
    const stored = await deps.orders.get(waiting.orderId);
    const orderId = waiting.orderId;
    for (const payment of stored?.state.payments ?? []) {
      if (!awaitsProvider(payment) || !payment.providerRef || !due(payment.updatedAt)) continue;
      checked++;
      let outcome: ReportOutcome | 'unavailable' = 'ignored';
      try {
        outcome = await reconcileOne(deps, orderId, payment, payment.providerRef, cause);
      } catch (error) {
        deps.log.warn('payment reconciliation failed', { orderId, paymentId: payment.id, error });
      }
      if (outcome === 'applied') {
        applied++;
        deps.telemetry?.event('PaymentReconciled', { orderId, paymentId: payment.id, provider: payment.provider });
      } else if (outcome === 'unavailable') {
        deps.log.warn('payment reconciliation: provider unavailable', { orderId, paymentId: payment.id, provider: payment.provider });
      }
    }
  }
  if (applied > 0) deps.log.info('payments reconciled', { checked, applied });
  return { checked, applied };
}

async function reconcileOne(
  deps: ReconcileDeps,
  orderId: string,
  payment: Payment,
  providerRef: string,
  cause: ReturnType<typeof causes.system>,
): Promise<ReportOutcome | 'unavailable'> {
  if (payment.provider === 'btcpay') {
    if (!deps.invoices) return 'ignored';
    const invoice = await deps.invoices.getInvoice(providerRef);
    if (!invoice.ok) return 'unavailable';
    return invoice.value ? applyInvoice(deps, invoice.value, { cause }) : 'ignored';
  }
  if (!deps.stripe) return 'ignored';
  const intent = await deps.stripe.retrievePaymentIntent(providerRef);
  if (!intent.ok) return 'unavailable';
  const report = intentReport(intent.value.status, payment);
  if (!report) return 'unchanged';
  return applyProviderReport(deps, { orderId, paymentId: payment.id, provider: 'stripe', providerRef }, report, {
    cause,
    matches: (order, current) => intent.value.amount === current.amount && intent.value.currency.toUpperCase() === order.currency,
  });
}
