import { describe, expect, it } from 'vitest';
import type { Change, SaveResult, Stored } from '../../../../shared/platform/aggregate';
import { handleOrderStripeEvent } from '../../../../slices/orders/app/handle-stripe-event';
import type { PaymentDeps } from '../../../../slices/orders/app/payments';
import { cancelOrder, transitionOrder } from '../../../../slices/orders/app/transitions';
import type { Order } from '../../../../slices/orders/domain/order';
import { orderMachine } from '../../../../slices/orders/domain/status';
import { MemoryAggregateStore } from '../../../support/memory-store';
import {
  aPaidOrder,
  aPayment,
  aRefund,
  anOrder,
  CAUSE,
  currentOrder,
  currentPayment,
  INTENT_ID,
  NOW,
  ORDER_ID,
  orderEvent,
  PAYMENT_ID,
  ordersWorld,
  seedOrder,
} from '../../../support/order-fixtures';

/** An order store where another writer saves once between our read and our save. */
class RacingStore extends MemoryAggregateStore<Order> {
  private race: (() => Promise<void>) | undefined;

  constructor() {
    super(orderMachine.name);
  }

  /** The next save first lets `change` of the order be saved by someone else. */
  competeOnce(change: (order: Order) => Order): void {
    this.race = async () => {
      const stored = await this.get(ORDER_ID);
      if (!stored) throw new Error('no order to race on');
      expect(await super.update(stored, { state: change(stored.state), history: [], jobs: [] })).toBe('saved');
    };
  }

  override async update(current: Stored<Order>, change: Change<Order>): Promise<SaveResult> {
    const race = this.race;
    this.race = undefined;
    if (race) await race();
    return super.update(current, change);
  }
}

function racing(order: Order) {
  const world = ordersWorld();
  const orders = new RacingStore();
  orders.seed(order);
  const deps: PaymentDeps = { ...world.payments, orders };
  return { world, orders, deps };
}

describe('transitionOrder', () => {
  it('moves the order as asked, with a history row naming the cause and the reason', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder());

    const outcome = await transitionOrder(world.payments, ORDER_ID, 'confirmed', { cause: CAUSE, reason: 'stock checked', ifMatch: [3] });

    expect(outcome).toMatchObject({ ok: true, order: { status: 'confirmed', version: 4, updatedAt: NOW } });
    expect(currentOrder(world.orders)).toMatchObject({ status: 'confirmed', version: 4 });
    expect(await world.orders.history(ORDER_ID)).toEqual([
      { machine: 'order', subject: ORDER_ID, from: 'pending', to: 'confirmed', at: NOW, cause: CAUSE, reason: 'stock checked' },
    ]);
  });

  it('answers STALE for an If-Match the order has left, saving nothing', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder());

    const outcome = await transitionOrder(world.payments, ORDER_ID, 'confirmed', { cause: CAUSE, ifMatch: [1, 2] });

    expect(outcome).toEqual({ ok: false, error: { code: 'STALE', version: 3 } });
    expect(world.orders.changes).toEqual([]);
    expect(currentOrder(world.orders).status).toBe('pending');
  });

  it('retries against the fresh order when another change lands first (no If-Match), keeping that change', async () => {
    const { orders, deps } = racing(anOrder());
    orders.competeOnce((order) => ({ ...order, metadata: { note: 'from the other writer' } }));

    const outcome = await transitionOrder(deps, ORDER_ID, 'confirmed', { cause: CAUSE });

    expect(outcome).toMatchObject({ ok: true, order: { status: 'confirmed', version: 5 } });
    expect(currentOrder(orders)).toMatchObject({ status: 'confirmed', metadata: { note: 'from the other writer' }, version: 5 });
    expect(orders.reads.get(ORDER_ID)).toBe(3);
    expect(await orders.history(ORDER_ID)).toHaveLength(1);
  });

  it('answers STALE when another change lands first under If-Match', async () => {
    const { orders, deps } = racing(anOrder());
    orders.competeOnce((order) => ({ ...order, metadata: { note: 'from the other writer' } }));

    const outcome = await transitionOrder(deps, ORDER_ID, 'confirmed', { cause: CAUSE, ifMatch: [3] });

    expect(outcome).toEqual({ ok: false, error: { code: 'STALE', version: 4 } });
    expect(currentOrder(orders)).toMatchObject({ status: 'pending', version: 4 });
    expect(orders.changes).toHaveLength(1);
  });

  it('refuses what the machine does not allow, naming where the order may go, and statuses the payments drive', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ status: 'shipped' }));

    expect(await transitionOrder(world.payments, ORDER_ID, 'processing', { cause: CAUSE })).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN_TRANSITION', from: 'shipped', to: 'processing', allowed: ['delivered'] },
    });
    expect(await transitionOrder(world.payments, ORDER_ID, 'refunded', { cause: CAUSE })).toEqual({
      ok: false,
      error: { code: 'DERIVED_STATUS', to: 'refunded', allowed: ['delivered'] },
    });
    expect(await transitionOrder(world.payments, ORDER_ID, 'cancelled', { cause: CAUSE })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN_TRANSITION', from: 'shipped', to: 'cancelled' },
    });
    expect(world.orders.changes).toEqual([]);
    expect(world.provider.calls).toEqual([]);
  });

  it('changes nothing when the order is already there', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ status: 'confirmed' }));

    expect(await transitionOrder(world.payments, ORDER_ID, 'confirmed', { cause: CAUSE })).toMatchObject({
      ok: true,
      order: { status: 'confirmed', version: 3 },
    });
    expect(world.orders.changes).toEqual([]);
  });

  it('answers ORDER_NOT_FOUND for an unknown order', async () => {
    const world = ordersWorld();
    expect(await transitionOrder(world.payments, 'ord_unknown', 'confirmed', { cause: CAUSE })).toEqual({ ok: false, error: { code: 'ORDER_NOT_FOUND' } });
    expect(await cancelOrder(world.payments, 'ord_unknown', { cause: CAUSE })).toEqual({ ok: false, error: { code: 'ORDER_NOT_FOUND' } });
  });
});

describe('cancelOrder', () => {
  it('cancels a paid order first, then refunds what was paid under an id derived from the payment', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());

    const outcome = await transitionOrder(world.payments, ORDER_ID, 'cancelled', { cause: CAUSE, reason: 'out of stock' });

    expect(outcome).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(currentOrder(world.orders).status).toBe('cancelled');
    expect(currentPayment(world.orders)).toMatchObject({
      status: 'refunded',
      refundedAmount: 6_480,
      refunds: [{ id: `rfd_cancel_${PAYMENT_ID}`, amount: 6_480, status: 'succeeded', reason: 'out of stock' }],
    });
    expect(world.provider.executed('refund')).toEqual([{ operation: 'refund', key: `rfd_cancel_${PAYMENT_ID}`, providerRef: INTENT_ID, amount: 6_480 }]);
    expect((await world.orders.history(ORDER_ID)).map((row) => `${row.machine} ${row.from}→${row.to}`)).toEqual([
      'order paid→cancelled',
      'payment succeeded→refunded',
    ]);
  });

  it('cancels a pending order with its open payment, at the provider too', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ payments: [aPayment({ status: 'pending' })] }));

    const outcome = await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE });

    expect(outcome).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(currentPayment(world.orders).status).toBe('canceled');
    expect(world.provider.executed('cancel')).toEqual([{ operation: 'cancel', key: PAYMENT_ID, providerRef: INTENT_ID }]);
    expect(world.provider.executed('refund')).toEqual([]);
    expect((await world.orders.history(ORDER_ID)).map((row) => `${row.machine} ${row.from}→${row.to}`)).toEqual([
      'order pending→cancelled',
      'payment pending→canceled',
    ]);
    // The order first; its payment once the provider confirmed the cancellation.
    expect(world.orders.changes).toHaveLength(2);
  });

  it('cancels a payment the provider never took without asking it', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ payments: [aPayment({ status: 'failed', providerRef: undefined })] }));

    expect(await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE })).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(currentPayment(world.orders).status).toBe('canceled');
    expect(world.provider.calls).toEqual([]);
  });

  it('refunds once when the order is cancelled twice', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());

    const first = await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE });
    const second = await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE });

    expect(first).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(second).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(world.provider.executed('refund')).toHaveLength(1);
    expect(world.provider.calls.filter((call) => call.operation === 'refund')).toHaveLength(1);
    expect(currentPayment(world.orders).refunds).toHaveLength(1);
    expect(await world.orders.history(ORDER_ID, { machine: 'order' })).toHaveLength(1);
  });

  it('answers PAYMENT_PROVIDER when the provider is down, the order already cancelled; a second call finishes the refund', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.down = true;

    const first = await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE });

    expect(first).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable' } } });
    expect(currentOrder(world.orders).status).toBe('cancelled');
    expect(currentPayment(world.orders)).toMatchObject({ status: 'succeeded', refundedAmount: 0, refunds: [{ status: 'failed' }] });

    world.provider.down = false;
    const second = await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE });

    expect(second).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(currentPayment(world.orders)).toMatchObject({
      status: 'refunded',
      refundedAmount: 6_480,
      refunds: [{ id: `rfd_cancel_${PAYMENT_ID}`, status: 'succeeded' }],
    });
    expect(world.provider.executed('refund')).toHaveLength(1);
  });

  it('finishes the refunds when the same cancellation is retried with its original If-Match', async () => {
    const world = ordersWorld();
    const order = seedOrder(world, aPaidOrder());
    world.provider.down = true;
    expect(await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE, ifMatch: [order.version] })).toMatchObject({
      ok: false,
      error: { code: 'PAYMENT_PROVIDER' },
    });

    world.provider.down = false;
    expect(await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE, ifMatch: [order.version] })).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(currentPayment(world.orders)).toMatchObject({ status: 'refunded', refundedAmount: 6_480 });
  });

  it('answers REFUND_FAILED and flags the cancelled order when the provider refuses the refund', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.refundAnswer = 'failed';

    const outcome = await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE });

    expect(outcome).toMatchObject({ ok: false, error: { code: 'REFUND_FAILED', refund: { status: 'failed' } } });
    expect(currentOrder(world.orders)).toMatchObject({ status: 'cancelled', attention: { reason: expect.stringContaining('REFUND_FAILED') } });
    expect(currentPayment(world.orders)).toMatchObject({ status: 'succeeded', refundedAmount: 0 });
  });

  it('leaves a payment open when the provider will not cancel it (it went through), so its success flags the order', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ payments: [aPayment({ status: 'pending' })] }));
    world.provider.next('cancel', 'invalid_request');

    expect(await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE })).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(currentPayment(world.orders).status).toBe('pending');
    expect(await handleOrderStripeEvent(world.events, orderEvent('evt_late', 'payment_intent.succeeded'))).toBe('applied');
    expect(currentOrder(world.orders)).toMatchObject({
      status: 'cancelled',
      attention: { reason: expect.stringContaining('succeeded after the order was cancelled') },
    });
    expect(currentPayment(world.orders).status).toBe('succeeded');
  });

  it('cancels nothing when the money of a payment could not go back (its refunds are at their limit)', async () => {
    const world = ordersWorld();
    const refunds = Array.from({ length: 20 }, (_, index) => aRefund({ id: `rfd_${index}`, amount: 10 }));
    const order = seedOrder(world, aPaidOrder({}, { status: 'partially_refunded', refundedAmount: 200, refunds }));

    expect(await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE })).toMatchObject({ ok: false, error: { code: 'TOO_MANY', what: 'refunds' } });
    expect(currentOrder(world.orders)).toEqual(order);
    expect(world.orders.changes).toEqual([]);
    expect(world.provider.calls).toEqual([]);
  });

  it('refunds only what is left of a partly refunded payment', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder({ status: 'processing' }, { status: 'partially_refunded', refunds: [aRefund({ id: 'rfd_earlier', amount: 1_480 })] }));

    expect(await cancelOrder(world.payments, ORDER_ID, { cause: CAUSE })).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(world.provider.executed('refund').map((entry) => entry.amount)).toEqual([5_000]);
    expect(currentPayment(world.orders)).toMatchObject({ status: 'refunded', refundedAmount: 6_480 });
  });
});
