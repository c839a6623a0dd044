import { odata, type TableClient } from '@azure/data-tables';
import { tableCall } from '../../../shared/adapters/table-storage/tables';
import type { OpenPayments, WaitingOrder } from '../app/reconcile-payments';
import type { Order } from '../domain/order';
import { awaitsProvider } from '../domain/payments';

/** Columns of the order row naming its payments that wait for their provider (absent when none waits). */
export const OPEN_PAYMENT_COLUMNS = {
  /** When the longest-waiting one last changed (ISO). */
  oldest: 'openPaymentsOldest',
  /** When the most recently changed one did (ISO). */
  newest: 'openPaymentsNewest',
  /** When each did, comma-separated, oldest first. */
  times: 'openPaymentTimes',
} as const;

/** The `updatedAt` of an order's payments that wait for their provider, oldest first (ISO timestamps sort as text). */
export function waitingSince(order: Order): string[] {
  return order.payments
    .filter(awaitsProvider)
    .map((payment) => payment.updatedAt)
    .sort();
}

/** The order row's open-payment columns (none when no payment waits). */
export function openPaymentColumns(order: Order): Record<string, string> {
  const since = waitingSince(order);
  if (since.length === 0) return {};
  return {
    [OPEN_PAYMENT_COLUMNS.oldest]: since[0] as string,
    [OPEN_PAYMENT_COLUMNS.newest]: since.at(-1) as string,
    [OPEN_PAYMENT_COLUMNS.times]: since.join(','),
  };
}

interface Row {
  orderId?: string;
  openPaymentTimes?: string;
}

/**
 * Orders with waiting payments, found by the columns the orders codec writes on the state row: a
 * filtered scan (the timer runs rarely and reads three small columns), streamed, so the caller
 * decides how many it acts on.
 */
export class TableOpenPayments implements OpenPayments {
  constructor(
    private readonly client: TableClient,
    private readonly rowKey: string,
  ) {}

  async *waiting(range: { from: Date; to: Date }): AsyncIterable<WaitingOrder> {
    const rows = this.client.listEntities<Row>({
      queryOptions: {
        // The column names are literal: odata`` would quote them as strings.
        filter: odata`RowKey eq ${this.rowKey} and openPaymentsOldest le ${range.to.toISOString()} and openPaymentsNewest ge ${range.from.toISOString()}`,
        select: ['orderId', OPEN_PAYMENT_COLUMNS.times],
      },
    });
    const pages = rows.byPage({ maxPageSize: 500 });
    for (;;) {
      const page = await tableCall('find orders with open payments', () => pages.next());
      if (page.done) return;
      for (const row of page.value) if (row.orderId) yield { orderId: row.orderId, since: (row.openPaymentTimes ?? '').split(',').filter(Boolean) };
    }
  }
}
