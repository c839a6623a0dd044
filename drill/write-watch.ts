/**
 * What one request wrote anywhere: rows inserted or replaced in the hub's tables (Table Storage
 * stamps each with a Timestamp), objects created at the Stripe sandbox, records in Odoo, trips at
 * the Driver-App, e-mails, jobs sent and dead letters. A refused request must leave all of it as it was.
 */
import { odata } from '@azure/data-tables';
import { DEAD_LETTER_AUDIT_TABLE } from '../shared/adapters/table-storage/audit';
import { CALLBACK_DELIVERIES_TABLE } from '../shared/adapters/table-storage/callback-log';
import { IDEMPOTENCY_TABLE } from '../shared/adapters/table-storage/idempotency';
import { QUEUE_NAMES } from '../shared/platform/queues';
import { BOOKINGS_TABLE } from '../slices/bookings/slice';
import { ORDER_INDEX_TABLE } from '../slices/orders/adapters/table-order-index';
import { CUSTOMERS_TABLE, ORDERS_TABLE } from '../slices/orders/slice';
import type { DrillContext } from './context';

/** Tables a refusal must not touch. Idempotency records are looked at separately: an operation's own answers are kept by design. */
const TABLES = [BOOKINGS_TABLE, ORDERS_TABLE, CUSTOMERS_TABLE, ORDER_INDEX_TABLE, DEAD_LETTER_AUDIT_TABLE, CALLBACK_DELIVERIES_TABLE];
const ODOO_MODELS = ['res.partner', 'account.move', 'account.payment'];

export interface WriteMark {
  since: Date;
  newestIntent?: string;
  newestRefund?: string;
  newestCustomer?: string;
  counts: Record<string, number>;
}

export class WriteWatch {
  constructor(private readonly ctx: DrillContext) {}

  /** The moment before a request (the system at rest): later writes carry a later Timestamp or raise a count. */
  async mark(): Promise<WriteMark> {
    const since = new Date(Date.now() + 1);
    const { stripe } = this.ctx;
    const [intents, refunds, customers] = await Promise.all([
      stripe.paymentIntents.list({ limit: 1 }),
      stripe.refunds.list({ limit: 1 }),
      stripe.customers.list({ limit: 1 }),
    ]);
    while (Date.now() <= since.getTime()) await new Promise((resolve) => setTimeout(resolve, 1));
    return {
      since,
      newestIntent: intents.data[0]?.id,
      newestRefund: refunds.data[0]?.id,
      newestCustomer: customers.data[0]?.id,
      counts: this.counts(),
    };
  }

  /** Everything written since the mark, as `what: how many` (empty when nothing was). */
  async writesSince(mark: WriteMark, options: { idempotency: boolean }): Promise<string[]> {
    const tables = options.idempotency ? [...TABLES, IDEMPOTENCY_TABLE] : TABLES;
    const { stripe } = this.ctx;
    const rows = await Promise.all(tables.map((table) => this.rowsSince(table, mark.since)));
    const [intents, refunds, customers] = await Promise.all([
      after((params) => stripe.paymentIntents.list(params), mark.newestIntent),
      after((params) => stripe.refunds.list(params), mark.newestRefund),
      after((params) => stripe.customers.list(params), mark.newestCustomer),
    ]);
    const found: Record<string, number> = {
      ...Object.fromEntries(tables.map((table, i) => [`${table} rows`, rows[i] as number])),
      'Stripe PaymentIntents': intents,
      'Stripe refunds': refunds,
      'Stripe customers': customers,
    };
    const now = this.counts();
    for (const [what, count] of Object.entries(now)) found[what] = count - (mark.counts[what] ?? 0);
    return Object.entries(found)
      .filter(([, count]) => count !== 0)
      .map(([what, count]) => `${what}: ${count}`);
  }

  private counts(): Record<string, number> {
    const { odoo, driver, smtp, jobs, broker } = this.ctx;
    return {
      ...Object.fromEntries(ODOO_MODELS.map((model) => [`Odoo ${model}`, odoo.records(model).length])),
      'Driver-App trips': driver.trips().length,
      'e-mails': smtp.inbox().length,
      'jobs sent': jobs.sent.length,
      'dead letters': QUEUE_NAMES.reduce((sum, queue) => sum + broker.stats(queue).deadLetter, 0),
    };
  }

  private async rowsSince(table: string, since: Date): Promise<number> {
    let count = 0;
    const rows = this.ctx.runtime.composition.services.tables
      .client(table)
      .listEntities({ queryOptions: { select: ['RowKey'], filter: odata`Timestamp ge ${since}` } });
    for await (const _ of rows) count += 1;
    return count;
  }
}

/** The sandbox lists newest first: what came after `newest` is what is new. */
async function after(list: (params: { limit: number; ending_before?: string }) => AsyncIterable<unknown>, newest: string | undefined): Promise<number> {
  let count = 0;
  for await (const _ of list({ limit: 100, ...(newest ? { ending_before: newest } : {}) })) count += 1;
  return count;
}
