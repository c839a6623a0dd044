import type { HistoryRecord } from '../../../shared/kernel/history';
import { mutate, type Stored, save, skip } from '../../../shared/platform/aggregate';
import type { Clock } from '../../../shared/platform/clock';
import type { JobHandler } from '../../../shared/platform/consume-job';
import type { Erp } from '../../../shared/platform/erp';
import { JobError, type JobRequest } from '../../../shared/platform/jobs';
import type { Logger } from '../../../shared/platform/log';
import { QUEUES } from '../../../shared/platform/queues';
import { type Billable, berlinDate, emptySyncReport, erpSyncHandler, reconcileBillable, type SyncReport } from '../../../shared/platform/reconcile-billable';
import type { Telemetry } from '../../../shared/platform/telemetry';
import type { Order } from '../domain/order';
import { CAPTURED, paymentMachine } from '../domain/status';
import type { OrderStore } from './ports';

/** The job type on `odoo-sync` that reconciles one order with the ERP. */
export const ORDER_SYNC_JOB = 'order.sync';

/** Reconcile the order with the ERP: one job per order version, so a later change syncs again and a repeat does not. */
export function orderSyncJob(order: Order, reason: string): JobRequest {
  return {
    queue: QUEUES.odooSync,
    type: ORDER_SYNC_JOB,
    subject: order.id,
    id: `odoo:${order.id}:v${order.version + 1}`,
    payload: { orderId: order.id, reason },
  };
}

/**
 * What the ERP should hold for an order, or undefined before any money came in: one invoice (ref =
 * the order id) with a line per item in the order's currency, each payment that brought money in
 * registered once (memo = the provider's reference), and a credit note per refund for its amount,
 * with the money paid out against it. `history` dates the invoice (when the first payment succeeded).
 */
export function billableFromOrder(order: Order, history: HistoryRecord[], now: Date): Billable | undefined {
  const captured = order.payments.filter((payment) => CAPTURED.includes(payment.status));
  if (captured.length === 0) return undefined;
  const succeededAt = (paymentId: string) =>
    history.find((row) => row.machine === paymentMachine.name && row.subject === paymentId && row.to === 'succeeded')?.at;
  const paidOn = (paymentId: string) => berlinDate(succeededAt(paymentId) ?? now);
  const first = captured[0] as (typeof captured)[number];
  return {
    source: `order:${order.id}`,
    customer: {
      ref: order.customerId,
      name: order.customer.name,
      email: order.customer.email,
      ...(order.customer.phone ? { phone: order.customer.phone } : {}),
    },
    currency: order.currency,
    documents: [
      {
        ref: order.id,
        date: paidOn(first.id),
        lines: order.items.map((item) => ({
          name: `${item.name} (${item.sku})`,
          quantity: item.quantity,
          unitAmount: item.unitAmount,
          ...(item.taxRatePercent !== undefined ? { taxRatePercent: item.taxRatePercent } : {}),
        })),
        payments: captured.map((payment) => ({ memo: payment.providerRef ?? payment.id, amount: payment.amount, date: paidOn(payment.id) })),
        credits: captured.flatMap((payment) =>
          payment.refunds
            .filter((refund) => refund.status === 'succeeded' || refund.status === 'pending')
            .map((refund) => ({
              ref: refund.id,
              reason: refund.reason ?? `Refund of order ${order.externalId} (${order.source})`,
              date: berlinDate(refund.updatedAt),
              amount: refund.amount,
              refund: { memo: `refund:${refund.providerRef ?? refund.id}`, amount: refund.amount },
            })),
        ),
      },
    ],
  };
}

export interface OrderSyncDeps {
  orders: OrderStore;
  erp: Erp;
  clock: Clock;
  log?: Logger;
  /** Receives the sync latency (`OdooSyncLatencyMs`). */
  telemetry?: Pick<Telemetry, 'metric'>;
}

/** Reconciles one order with the ERP; throws JobError (permanent when the order does not exist). */
export async function syncOrderToErp(deps: OrderSyncDeps, orderId: string): Promise<SyncReport> {
  const stored = await deps.orders.get(orderId);
  if (!stored) throw JobError.permanent('ORDER_NOT_FOUND', `order ${orderId} does not exist`);
  const worthBilling = stored.state.payments.some((payment) => CAPTURED.includes(payment.status));
  const billable = worthBilling ? billableFromOrder(stored.state, await deps.orders.history(orderId), deps.clock.now()) : undefined;
  if (!billable) return emptySyncReport(`order:${orderId}`);
  const report = await reconcileBillable(deps.erp, billable);
  await storeErpIds(deps, stored, report);
  return report;
}

const sameIds = (a: Order['erp'], b: NonNullable<Order['erp']>) => a?.partnerId === b.partnerId && a.invoiceId === b.invoiceId;

/** The ERP ids go back onto the order (only when they changed, so a repeated sync writes nothing). */
async function storeErpIds(deps: OrderSyncDeps, read: Stored<Order>, report: SyncReport): Promise<void> {
  const invoiceId = report.invoices[read.state.id];
  if (report.partnerId === undefined || invoiceId === undefined) return;
  const ids = { partnerId: report.partnerId, invoiceId };
  if (sameIds(read.state.erp, ids)) return;
  await mutate(deps.orders, read.state.id, ({ state }) => (sameIds(state.erp, ids) ? skip(undefined) : save({ ...state, erp: ids }, undefined)), {
    clock: deps.clock,
    first: read,
  });
}

/** The `order.sync` handler of the `odoo-sync` queue. */
export function orderSyncHandlers(deps: OrderSyncDeps): Record<string, JobHandler> {
  return erpSyncHandler({
    type: ORDER_SYNC_JOB,
    payloadKey: 'orderId',
    sync: (orderId) => syncOrderToErp(deps, orderId),
    log: deps.log,
    telemetry: deps.telemetry,
    now: () => deps.clock.now(),
  });
}
