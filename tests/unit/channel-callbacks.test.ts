/**
 * slices/orders/app/channel-callbacks.ts: which callback events an order change produces
 * (channelEvents), and the order-store decorator that queues them with the committed change
 * (withChannelCallbacks over the in-memory store).
 */
import { describe, expect, it } from 'vitest';
import { CALLBACK_JOB, type CallbackEvent } from '../../shared/platform/callbacks';
import { type OutgoingJob, toOutgoing } from '../../shared/platform/jobs';
import { QUEUES } from '../../shared/platform/queues';
import { channelEvents, withChannelCallbacks } from '../../slices/orders/app/channel-callbacks';
import { createOrder } from '../../slices/orders/app/create-order';
import { createPayment } from '../../slices/orders/app/payments';
import { toOrderView, toPaymentView } from '../../slices/orders/app/representation';
import type { Order } from '../../slices/orders/domain/order';
import { aPayment, anOrder, anOrderRequest, CAUSE, fixedClock, NOW, orderStore, ordersWorld } from '../support/order-fixtures';

const LATER = '2026-11-24T09:30:00.000Z';

describe('channelEvents', () => {
  it('tells about a new order with one order.pending event carrying the order as its GET shows it', () => {
    const order = anOrder({ version: 1, createdAt: NOW, updatedAt: NOW });
    expect(channelEvents(undefined, order)).toEqual([{ id: `cb_${order.id}_order_v1`, type: 'order.pending', createdAt: NOW, data: toOrderView(order) }]);
  });

  it('tells about a new order with a payment with both events', () => {
    const order = anOrder({ version: 1, payments: [aPayment({ status: 'pending', version: 1 })] });
    expect(channelEvents(undefined, order).map((event) => event.type)).toEqual(['order.pending', 'payment.pending']);
  });

  it('tells about a status change as order.<status>, with the version after the change', () => {
    const before = anOrder({ version: 3 });
    for (const status of ['confirmed', 'cancelled', 'shipped'] as const) {
      const after = anOrder({ status, version: 4, updatedAt: LATER });
      const events = channelEvents(before, after);
      expect(events).toEqual([{ id: `cb_${after.id}_order_v4`, type: `order.${status}`, createdAt: LATER, data: toOrderView(after) }]);
      expect((events[0]!.data as { version: number }).version).toBe(4);
    }
  });

  it('says nothing about the order when its status did not move', () => {
    const before = anOrder({ version: 3 });
    const after = anOrder({ version: 4, metadata: { note: 'changed' }, updatedAt: LATER });
    expect(channelEvents(before, after)).toEqual([]);
  });

  it('tells about a payment whose version changed as payment.<status> with the payment view', () => {
    const pending = aPayment({ status: 'pending', version: 1 });
    const succeeded = aPayment({ status: 'succeeded', version: 2, updatedAt: LATER });
    const before = anOrder({ version: 4, payments: [pending] });
    const after = anOrder({ version: 5, status: 'paid', payments: [succeeded], updatedAt: LATER });
    const events = channelEvents(before, after);
    expect(events.map((event) => event.type)).toEqual(['order.paid', 'payment.succeeded']);
    expect(events[1]).toEqual({ id: `cb_${succeeded.id}_v2`, type: 'payment.succeeded', createdAt: LATER, data: toPaymentView(after, succeeded) });
    expect(events[1]?.data).toMatchObject({ id: succeeded.id, orderId: after.id, status: 'succeeded', version: 2, currency: 'EUR' });
  });

  it('tells about a payment added to an order', () => {
    const added = aPayment({ id: 'pay_2', status: 'pending', version: 1, providerRef: undefined });
    const before = anOrder({ version: 4, payments: [aPayment({ status: 'failed' })] });
    const after = anOrder({ version: 5, payments: [aPayment({ status: 'failed' }), added] });
    expect(channelEvents(before, after)).toEqual([
      { id: 'cb_pay_2_v1', type: 'payment.pending', createdAt: added.updatedAt, data: toPaymentView(after, added) },
    ]);
  });

  it('says nothing about payments whose version did not change', () => {
    const first = aPayment({ id: 'pay_1', status: 'failed', version: 2 });
    const second = aPayment({ id: 'pay_2', status: 'succeeded', version: 3 });
    const before = anOrder({ version: 6, status: 'paid', payments: [first, second] });
    const after = anOrder({ version: 7, status: 'paid', payments: [first, second], metadata: { note: 'x' } });
    expect(channelEvents(before, after)).toEqual([]);
    // Only the one that moved.
    const refunded = aPayment({ id: 'pay_2', status: 'partially_refunded', version: 4, refunds: [] });
    expect(channelEvents(before, { ...after, payments: [first, refunded] }).map((event) => event.id)).toEqual(['cb_pay_2_v4']);
  });

  it('gives the same event ids for the same change, and distinct ids across changes', () => {
    const v1 = anOrder({ version: 1, payments: [] });
    const v2 = anOrder({ version: 2, payments: [aPayment({ status: 'pending', version: 1 })] });
    const v3 = anOrder({ version: 3, status: 'paid', payments: [aPayment({ status: 'succeeded', version: 2 })] });
    const v4 = anOrder({ version: 4, status: 'refunded', payments: [aPayment({ status: 'refunded', version: 3 })] });
    const changes: Array<[Order | undefined, Order]> = [
      [undefined, v1],
      [v1, v2],
      [v2, v3],
      [v3, v4],
    ];
    const ids = (change: [Order | undefined, Order]) => channelEvents(...change).map((event) => event.id);
    for (const change of changes) expect(ids(change)).toEqual(ids(change));
    expect(ids([v2, v3])).toEqual(ids([structuredClone(v2), structuredClone(v3)]));
    const all = changes.flatMap(ids);
    expect(all).toHaveLength(6);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('withChannelCallbacks', () => {
  function decorated(channels: string[] = ['pos']) {
    const store = orderStore();
    const clock = fixedClock(NOW, 'gen');
    const orders = withChannelCallbacks(store, { hasEndpoint: (channel) => channels.includes(channel), clock });
    return { store, clock, orders };
  }
  const callbackJobs = (jobs: OutgoingJob[]) => jobs.filter((job) => job.queue === QUEUES.callbacks);
  const eventOf = (job: OutgoingJob) => (job.envelope.payload as { channel: string; event: CallbackEvent }).event;

  it('adds an order.pending callback to the change that creates an order of a channel with an endpoint', async () => {
    const { store, orders } = decorated();
    const order = anOrder({ version: 1, createdAt: NOW, updatedAt: NOW });
    expect(await orders.create({ state: order, history: [], jobs: [] })).toBe('created');
    expect(store.changes).toHaveLength(1);
    const [job] = store.changes[0]?.jobs ?? [];
    expect(job?.queue).toBe(QUEUES.callbacks);
    expect(job?.envelope).toMatchObject({
      id: `cb_${order.id}_order_v1`,
      type: CALLBACK_JOB,
      subject: order.id,
      attempt: 1,
      createdAt: NOW,
      payload: { channel: 'pos', event: { id: `cb_${order.id}_order_v1`, type: 'order.pending', data: toOrderView(order) } },
    });
  });

  it('adds nothing for a channel without endpoint, and keeps the change own jobs', async () => {
    const { store, orders } = decorated(['woocommerce']);
    const own = toOutgoing([{ queue: QUEUES.odooSync, type: 'odoo.sync-order', subject: 'ord_1', payload: {}, id: 'sync:ord_1' }], {
      now: new Date(NOW),
      newId: () => 'x',
    });
    await orders.create({ state: anOrder({ version: 1 }), history: [], jobs: own });
    expect(store.changes[0]?.jobs).toEqual(own);
    const current = await orders.get('ord_1');
    if (!current) throw new Error('not stored');
    expect(await orders.update(current, { state: { ...current.state, status: 'confirmed' }, history: [], jobs: [] })).toBe('saved');
    expect(store.changes[1]?.jobs).toEqual([]);
    expect(callbackJobs(store.jobs)).toEqual([]);
  });

  it('on an update, carries the version the store will give the order, and the job ids match the stored order', async () => {
    const { store, orders } = decorated();
    store.seed(anOrder({ version: 3, payments: [aPayment({ status: 'pending', version: 1 })] }));
    const current = await orders.get('ord_1');
    if (!current) throw new Error('not seeded');
    // The use case hands over the state with the version it read; the store moves it on.
    const next = { ...current.state, status: 'paid' as const, payments: [aPayment({ status: 'succeeded', version: 2 })], updatedAt: LATER };
    expect(await orders.update(current, { state: next, history: [], jobs: [] })).toBe('saved');
    const stored = store.current('ord_1');
    expect(stored?.version).toBe(4);
    const jobs = callbackJobs(store.changes[0]?.jobs ?? []);
    expect(jobs.map((job) => job.envelope.id)).toEqual(['cb_ord_1_order_v4', 'cb_pay_1_v2']);
    const [orderEvent, paymentEvent] = jobs.map(eventOf);
    expect(orderEvent).toEqual({ id: 'cb_ord_1_order_v4', type: 'order.paid', createdAt: LATER, data: toOrderView(stored as Order) });
    expect((orderEvent!.data as { version: number }).version).toBe(4);
    expect(paymentEvent?.data).toEqual(toPaymentView(stored as Order, (stored as Order).payments[0]!));
  });

  it('adds nothing to a change that moves neither the status nor a payment', async () => {
    const { store, orders } = decorated();
    store.seed(anOrder({ version: 3 }));
    const current = await orders.get('ord_1');
    if (!current) throw new Error('not seeded');
    await orders.update(current, { state: { ...current.state, metadata: { note: 'x' } }, history: [], jobs: [] });
    expect(store.changes[0]?.jobs).toEqual([]);
  });

  it('writes nothing on a conflict (the callbacks ride in the change that is not committed)', async () => {
    const { store, orders } = decorated();
    store.seed(anOrder({ version: 3 }));
    const stale = await orders.get('ord_1');
    if (!stale) throw new Error('not seeded');
    await orders.update(stale, { state: { ...stale.state, status: 'confirmed' }, history: [], jobs: [] });
    expect(await orders.update(stale, { state: { ...stale.state, status: 'cancelled' }, history: [], jobs: [] })).toBe('conflict');
    expect(callbackJobs(store.jobs).map((job) => job.envelope.id)).toEqual(['cb_ord_1_order_v4']);
  });

  it('carries the operation id of the change own jobs, or a fresh one', async () => {
    const { store, orders } = decorated();
    const own = toOutgoing([{ queue: QUEUES.odooSync, type: 'odoo.sync-order', subject: 'ord_1', payload: {}, correlation: { operationId: 'op-42' } }], {
      now: new Date(NOW),
      newId: () => 'x',
    });
    await orders.create({ state: anOrder({ version: 1 }), history: [], jobs: own });
    const [callback] = callbackJobs(store.jobs);
    expect(callback?.envelope.correlation).toEqual({ operationId: 'op-42' });
    const { store: other, orders: plain } = decorated();
    await plain.create({ state: anOrder({ version: 1 }), history: [], jobs: [] });
    expect(callbackJobs(other.jobs)[0]?.envelope.correlation.operationId).toMatch(/^gen-/);
  });

  it('passes reads through', async () => {
    const { store, orders } = decorated();
    store.seed(anOrder({ version: 2 }));
    expect((await orders.get('ord_1'))?.state.version).toBe(2);
    expect(await orders.get('ord_2')).toBeUndefined();
    expect(await orders.hasEvent('ord_1', 'stripe:evt_1')).toBe(false);
    expect(await orders.history('ord_1')).toEqual([]);
  });

  it('queues the callbacks of a real use-case run: order created, payment opened', async () => {
    const world = ordersWorld();
    const orders = withChannelCallbacks(world.orders, { hasEndpoint: (channel) => channel === 'pos', clock: world.clock });
    const created = await createOrder({ ...world.create, orders }, anOrderRequest(), { cause: CAUSE });
    if (!created.ok) throw new Error('not created');
    const paid = await createPayment({ ...world.payments, orders }, { orderId: created.order.id, provider: 'stripe' }, { cause: CAUSE });
    if (!paid.ok) throw new Error('no payment');
    // Each committed change carries the events of that change, showing the order as it was stored by it.
    const types: string[] = [];
    for (const change of world.orders.changes) {
      for (const event of callbackJobs(change.jobs).map(eventOf)) {
        types.push(event.type);
        if (event.type.startsWith('order.')) expect(event.data).toEqual(toOrderView(change.state));
        else {
          const payment = change.state.payments.find((candidate) => candidate.id === (event.data as { id: string }).id);
          expect(event.data).toEqual(toPaymentView(change.state, payment!));
        }
      }
    }
    expect(types).toEqual(expect.arrayContaining(['order.pending', 'payment.pending']));
    const ids = callbackJobs(world.orders.jobs).map((job) => job.envelope.id);
    expect(new Set(ids).size).toBe(ids.length);
    // No other channel would have been told.
    const woo = ordersWorld();
    const quiet = withChannelCallbacks(woo.orders, { hasEndpoint: (channel) => channel === 'woocommerce', clock: woo.clock });
    await createOrder({ ...woo.create, orders: quiet }, anOrderRequest(), { cause: CAUSE });
    expect(callbackJobs(woo.orders.jobs)).toEqual([]);
  });
});
