/**
 * slices/orders/adapters/table-open-payments.ts against Azurite, with the orders written as the
 * slice writes them (TableAggregateStore with the orders codec): the open-payment columns of an
 * order's state row are what the reconciliation's range query finds, and an update that leaves no
 * payment waiting removes them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteTables, startAzurite } from '../../local/azurite';
import { TableAggregateStore } from '../../shared/adapters/table-storage/aggregate-store';
import { OutboxCommitter, TableOutboxStore } from '../../shared/adapters/table-storage/outbox';
import { safeKey, TableStore } from '../../shared/adapters/table-storage/tables';
import { OutboxRelay } from '../../shared/platform/outbox';
import { OPEN_PAYMENT_COLUMNS, TableOpenPayments, waitingSince } from '../../slices/orders/adapters/table-open-payments';
import type { Order, Payment } from '../../slices/orders/domain/order';
import { ORDERS_TABLE, orderCodec } from '../../slices/orders/slice';
import { anOrder, aPayment } from '../support/order-fixtures';

let azurite: AzuriteTables;
const T0 = Date.parse('2030-03-01T12:00:00.000Z');
/** An ISO time `minutes` after T0. */
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const range = (from: number, to: number) => ({ from: new Date(at(from)), to: new Date(at(to)) });

beforeAll(async () => {
  azurite = await startAzurite({ port: 0 });
});

afterAll(async () => {
  await azurite?.stop();
});

/** A table of its own for each test (the query scans the table), with the store and the adapter over it. */
async function freshOrders() {
  const tables = new TableStore({ connectionString: azurite.connectionString, prefix: `op${randomBytes(5).toString('hex')}` });
  await tables.ensureTables([ORDERS_TABLE]);
  const client = tables.client(ORDERS_TABLE);
  const silent = { info: () => {}, warn: () => {}, error: () => {} };
  const relay = new OutboxRelay(new TableOutboxStore([client]), { send: async () => {} }, silent);
  const store = new TableAggregateStore<Order>(client, new OutboxCommitter(relay), orderCodec);
  const open = new TableOpenPayments(client, orderCodec.rowKey);
  /** Stores an order as creating it would. */
  const put = async (order: Order) => {
    expect(await store.create({ state: order, history: [], jobs: [] })).toBe('created');
    return order;
  };
  /** Replaces an order's payments, as a later change would. */
  const update = async (id: string, payments: Payment[]) => {
    const current = await store.get(id);
    if (!current) throw new Error(`order ${id} is not stored`);
    expect(await store.update(current, { state: { ...current.state, payments }, history: [], jobs: [] })).toBe('saved');
  };
  /** The state row as stored. */
  const row = (id: string) => client.getEntity<Record<string, unknown>>(safeKey(id), orderCodec.rowKey);
  /** The ids the query streams for a range (at most `limit`, as a caller stops reading). */
  const found = async (window: { from: Date; to: Date }, limit = 100) => {
    const ids: string[] = [];
    for await (const waiting of open.waiting(window)) {
      ids.push(waiting.orderId);
      if (ids.length >= limit) break;
    }
    return ids;
  };
  return { store, open, put, update, row, found };
}

/** An order whose one payment waits for the provider, last changed at `minutes`. */
const waitingOrder = (id: string, minutes: number, payment: Partial<Payment> = {}) =>
  anOrder({ id, payments: [aPayment({ status: 'pending', providerRef: `pi_${id}`, updatedAt: at(minutes), ...payment })] });

describe('TableOpenPayments', () => {
  it('finds an order whose waiting payment changed within the range, bounds included, and not outside it', async () => {
    const { found, put, row } = await freshOrders();
    await put(waitingOrder('ord_1', 0));

    expect((await row('ord_1'))[OPEN_PAYMENT_COLUMNS.times]).toBe(at(0));
    expect(await found(range(-10, 10), 10)).toEqual(['ord_1']);
    expect(await found(range(0, 0), 10)).toEqual(['ord_1']);
    expect(await found(range(-20, -1), 10)).toEqual([]);
    expect(await found(range(1, 20), 10)).toEqual([]);
  });

  it('finds processing payments too, and an order by any of its waiting payments', async () => {
    const { found, put } = await freshOrders();
    await put(waitingOrder('ord_processing', 0, { status: 'processing' }));
    await put(
      anOrder({
        id: 'ord_two',
        payments: [
          aPayment({ id: 'pay_old', status: 'pending', providerRef: 'pi_old', updatedAt: at(-60) }),
          aPayment({ id: 'pay_new', status: 'pending', providerRef: 'pi_new', updatedAt: at(30) }),
          aPayment({ id: 'pay_done', status: 'succeeded', providerRef: 'pi_done', updatedAt: at(90) }),
        ],
      }),
    );

    // The range is matched against the span of an order's waiting payments (a superset: the caller
    // checks each payment's own check point), so ord_two, waiting since -60 and 30, is in it too.
    expect((await found(range(-5, 5), 10)).sort()).toEqual(['ord_processing', 'ord_two']);
    expect(await found(range(25, 35), 10)).toEqual(['ord_two']);
    // The older waiting payment is not hidden by the newer one.
    expect(await found(range(-65, -55), 10)).toEqual(['ord_two']);
    expect((await found(range(-50, 20), 10)).sort()).toEqual(['ord_processing', 'ord_two']);
    expect(await found(range(100, 120), 10)).toEqual([]);
  });

  it('never finds an order with nothing waiting: settled or failed payments, or one the provider does not have yet', async () => {
    const { found, put, row } = await freshOrders();
    await put(waitingOrder('ord_paid', 0, { status: 'succeeded' }));
    await put(waitingOrder('ord_failed', 0, { status: 'failed', failureReason: 'the invoice expired unpaid' }));
    await put(waitingOrder('ord_no_ref', 0, { providerRef: undefined }));
    await put(anOrder({ id: 'ord_no_payment' }));

    expect(await found(range(-60, 60), 10)).toEqual([]);
    expect(Object.keys(await row('ord_paid'))).not.toContain(OPEN_PAYMENT_COLUMNS.times);
  });

  it('finds a failed BTCPay payment the provider holds money for (paid late, partly or over)', async () => {
    const { found, put } = await freshOrders();
    await put(waitingOrder('ord_late', 0, { provider: 'btcpay', status: 'failed', providerStatus: 'Expired/PaidLate' }));
    await put(waitingOrder('ord_expired', 0, { provider: 'btcpay', status: 'failed', providerStatus: 'Expired' }));
    expect(await found(range(-5, 5))).toEqual(['ord_late']);
  });

  it('an update that settles the payment removes the column, and one that keeps it waiting moves it', async () => {
    const { found, put, update, row } = await freshOrders();
    const settled = await put(waitingOrder('ord_settled', 0));
    const moved = await put(waitingOrder('ord_moved', 0));

    await update(settled.id, [{ ...(settled.payments[0] as Payment), status: 'succeeded', updatedAt: at(1) }]);
    await update(moved.id, [{ ...(moved.payments[0] as Payment), status: 'processing', updatedAt: at(40) }]);

    expect(Object.keys(await row('ord_settled'))).not.toContain(OPEN_PAYMENT_COLUMNS.times);
    expect(await found(range(-10, 10), 10)).toEqual([]);
    expect(await found(range(35, 45), 10)).toEqual(['ord_moved']);
  });

  it('streams every waiting order once; a caller reads as many as it wants', async () => {
    const { found, put } = await freshOrders();
    const ids = ['ord_a', 'ord_b', 'ord_c', 'ord_d', 'ord_e'];
    for (const [index, id] of ids.entries()) await put(waitingOrder(id, index));

    const three = await found(range(-1, 10), 3);
    expect(three).toHaveLength(3);
    expect(new Set(three).size).toBe(3);
    for (const id of three) expect(ids).toContain(id);
    expect((await found(range(-1, 10), 10)).sort()).toEqual(ids);
    expect(await found(range(-1, 10), 1)).toHaveLength(1);
  });

  it('reads the order id from its column, not the (escaped) partition key', async () => {
    const { found, put } = await freshOrders();
    await put(waitingOrder('ord/with#odd?chars', 0));

    expect(await found(range(-1, 1), 10)).toEqual(['ord/with#odd?chars']);
  });
});

describe('waitingSince', () => {
  it('is when each payment that waits for its provider last changed, oldest first', () => {
    expect(waitingSince(anOrder())).toEqual([]);
    expect(waitingSince(waitingOrder('ord_1', 5))).toEqual([at(5)]);
    expect(
      waitingSince(
        anOrder({
          payments: [
            aPayment({ id: 'p2', status: 'pending', updatedAt: at(7) }),
            aPayment({ id: 'p1', status: 'processing', updatedAt: at(3) }),
            aPayment({ id: 'p3', status: 'pending', providerRef: undefined, updatedAt: at(9) }),
            aPayment({ id: 'p4', status: 'canceled', updatedAt: at(11) }),
          ],
        }),
      ),
    ).toEqual([at(3), at(7)]);
  });
});
