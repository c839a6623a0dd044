import { describe, expect, it } from 'vitest';
import type { PaymentEvent } from '../../../../shared/platform/payments';
import { handleOrderStripeEvent, type OrderEventOutcome } from '../../../../slices/orders/app/handle-stripe-event';
import { createPayment } from '../../../../slices/orders/app/payments';
import { moneyOf } from '../../../../slices/orders/domain/order';
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
  type OrdersWorld,
  orderEvent,
  ordersWorld,
  PAYMENT_ID,
  seedOrder,
} from '../../../support/order-fixtures';

const succeeded = (id = 'evt_succeeded') => orderEvent(id, 'payment_intent.succeeded');
const failed = (id = 'evt_failed') =>
  orderEvent(id, 'payment_intent.payment_failed', { lastError: { code: 'card_declined', declineCode: 'insufficient_funds', message: 'Insufficient funds.' } });
const refunded = (id: string, amountRefunded: number) => orderEvent(id, 'charge.refunded', { amountRefunded });

async function deliver(world: OrdersWorld, events: PaymentEvent[]): Promise<OrderEventOutcome[]> {
  const outcomes: OrderEventOutcome[] = [];
  for (const event of events) outcomes.push(await handleOrderStripeEvent(world.events, event));
  return outcomes;
}

function pendingWorld() {
  const world = ordersWorld();
  seedOrder(world, anOrder({ payments: [aPayment({ status: 'pending' })] }));
  return world;
}

describe('handleOrderStripeEvent', () => {
  it('moves the payment to succeeded and the order to paid, with history rows for both machines caused by the event', async () => {
    const world = pendingWorld();

    expect(await handleOrderStripeEvent(world.events, succeeded('evt_1'))).toBe('applied');

    expect(currentOrder(world.orders)).toMatchObject({ status: 'paid', version: 4, updatedAt: NOW });
    expect(currentPayment(world.orders)).toMatchObject({ status: 'succeeded', version: 2 });
    expect(moneyOf(currentOrder(world.orders))).toEqual({ paidAmount: 6_480, refundedAmount: 0, paymentStatus: 'paid' });
    expect(await world.orders.history(ORDER_ID)).toEqual([
      { machine: 'payment', subject: PAYMENT_ID, from: 'pending', to: 'succeeded', at: NOW, cause: 'stripe:evt_1' },
      { machine: 'order', subject: ORDER_ID, from: 'pending', to: 'paid', at: NOW, cause: 'stripe:evt_1' },
    ]);
    expect(await world.orders.hasEvent(ORDER_ID, 'stripe:evt_1')).toBe(true);
  });

  it('applies an event delivered twice once: the second is a duplicate', async () => {
    const world = pendingWorld();

    expect(await deliver(world, [succeeded('evt_1'), succeeded('evt_1')])).toEqual(['applied', 'duplicate']);

    expect(world.orders.changes).toHaveLength(1);
    expect(await world.orders.history(ORDER_ID)).toHaveLength(2);
  });

  it('applies one event delivered twice at once only once', async () => {
    const world = pendingWorld();

    const outcomes = await Promise.all([handleOrderStripeEvent(world.events, succeeded('evt_1')), handleOrderStripeEvent(world.events, succeeded('evt_1'))]);

    expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== 'applied')).toEqual([expect.stringMatching(/^(duplicate|unchanged)$/)]);
    expect(world.orders.changes).toHaveLength(1);
  });

  it('finishes a refund the provider first answered as pending when its refund event says succeeded (or releases it on failure)', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder({}, { refunds: [aRefund({ id: 'rfd_1', amount: 1_000, status: 'pending', providerRef: 're_1' })] }));
    const refundEvent = (id: string, type: string, status: string) => ({
      ...orderEvent(id, type, { metadata: { orderId: ORDER_ID, paymentId: PAYMENT_ID, refundId: 'rfd_1' } }),
      refund: { id: 're_1', status, amount: 1_000 },
    });

    expect(await handleOrderStripeEvent(world.events, refundEvent('evt_r1', 'refund.updated', 'succeeded'))).toBe('applied');
    expect(currentPayment(world.orders)).toMatchObject({
      status: 'partially_refunded',
      refundedAmount: 1_000,
      refunds: [{ id: 'rfd_1', status: 'succeeded' }],
    });
    expect(world.orders.changes.at(-1)?.jobs.map((job) => job.envelope.type)).toEqual(['order.sync']);
    // A later event about a refund already done changes nothing.
    expect(await handleOrderStripeEvent(world.events, refundEvent('evt_r2', 'refund.failed', 'failed'))).toBe('unchanged');

    const other = ordersWorld();
    seedOrder(other, aPaidOrder({}, { refunds: [aRefund({ id: 'rfd_1', amount: 1_000, status: 'pending', providerRef: 're_1' })] }));
    expect(await handleOrderStripeEvent(other.events, refundEvent('evt_r3', 'refund.failed', 'failed'))).toBe('applied');
    expect(currentPayment(other.orders)).toMatchObject({ status: 'succeeded', refundedAmount: 0, refunds: [{ status: 'failed' }] });
  });

  it('keeps a paid order paid when payment_failed arrives after succeeded', async () => {
    const world = pendingWorld();

    expect(await deliver(world, [succeeded('evt_1'), failed('evt_2')])).toEqual(['applied', 'unchanged']);

    expect(currentOrder(world.orders).status).toBe('paid');
    expect(currentPayment(world.orders).status).toBe('succeeded');
    expect(currentPayment(world.orders).failureReason).toBeUndefined();
    expect(world.orders.changes).toHaveLength(1);
    expect(world.telemetry).toEqual([]);
  });

  it('records a failure with its decline code, reports it, and pays the order when the retry succeeds', async () => {
    const world = pendingWorld();

    expect(await handleOrderStripeEvent(world.events, failed('evt_1'))).toBe('applied');

    expect(currentPayment(world.orders)).toMatchObject({ status: 'failed', failureReason: 'insufficient_funds' });
    expect(currentOrder(world.orders).status).toBe('pending');
    expect(world.telemetry).toEqual([{ name: 'PaymentFailed', properties: { orderId: ORDER_ID, paymentId: PAYMENT_ID, code: 'insufficient_funds' } }]);

    expect(await handleOrderStripeEvent(world.events, succeeded('evt_2'))).toBe('applied');
    expect(currentOrder(world.orders).status).toBe('paid');
  });

  it('records a refund made at Stripe once, for what exceeds the refunds the hub knows', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder({}, { status: 'partially_refunded', refunds: [aRefund({ id: 'rfd_api', amount: 1_000 })] }));

    expect(await deliver(world, [refunded('evt_r1', 2_500), refunded('evt_r1', 2_500), refunded('evt_r2', 2_500)])).toEqual([
      'applied',
      'duplicate',
      'unchanged',
    ]);

    expect(currentPayment(world.orders)).toMatchObject({ status: 'partially_refunded', refundedAmount: 2_500 });
    expect(currentPayment(world.orders).refunds).toEqual([
      expect.objectContaining({ id: 'rfd_api', amount: 1_000 }),
      { id: 'rfd_evt_r1', amount: 1_500, status: 'succeeded', origin: 'provider', createdAt: NOW, updatedAt: NOW },
    ]);
    expect(currentOrder(world.orders).status).toBe('paid');

    expect(await handleOrderStripeEvent(world.events, refunded('evt_r3', 6_480))).toBe('applied');
    expect(currentPayment(world.orders)).toMatchObject({ status: 'refunded', refundedAmount: 6_480 });
    expect(currentOrder(world.orders).status).toBe('refunded');
    expect((await world.orders.history(ORDER_ID)).map((row) => `${row.machine} ${row.from}→${row.to} ${row.cause}`)).toEqual([
      'payment partially_refunded→refunded stripe:evt_r3',
      'order paid→refunded stripe:evt_r3',
    ]);
  });

  it('leaves the order alone for an event about another PaymentIntent', async () => {
    const world = pendingWorld();

    expect(await handleOrderStripeEvent(world.events, orderEvent('evt_other', 'payment_intent.succeeded', { intentId: 'pi_other' }))).toBe('unchanged');

    expect(currentOrder(world.orders).status).toBe('pending');
    expect(currentPayment(world.orders)).toMatchObject({ status: 'pending', providerRef: INTENT_ID });
    expect(world.orders.changes).toEqual([]);
  });

  it('keeps the reference when the webhook overtakes the request that opened the payment', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ payments: [aPayment({ status: 'pending', providerRef: undefined })] }));

    expect(await handleOrderStripeEvent(world.events, orderEvent('evt_1', 'payment_intent.processing', { intentId: 'pi_new' }))).toBe('applied');

    expect(currentPayment(world.orders)).toMatchObject({ status: 'processing', providerRef: 'pi_new' });
  });

  it('pays an order whose payment was opened through createPayment', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder());
    const opened = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE, token: 'tok-1' });
    expect(opened.ok).toBe(true);

    const event = orderEvent('evt_1', 'payment_intent.succeeded', { intentId: 'pi_pay_tok-1', metadata: { orderId: ORDER_ID, paymentId: 'pay_tok-1' } });

    expect(await handleOrderStripeEvent(world.events, event)).toBe('applied');
    expect(currentOrder(world.orders).status).toBe('paid');
  });

  it.each([
    ['no orderId', { paymentId: PAYMENT_ID }],
    ['no paymentId', { orderId: ORDER_ID }],
    ['another slice’s metadata', { bookingId: 'bk-1' }],
    ['an order the hub does not know', { orderId: 'ord_unknown', paymentId: PAYMENT_ID }],
  ])('ignores an event with %s', async (_, metadata) => {
    const world = pendingWorld();

    expect(await handleOrderStripeEvent(world.events, orderEvent('evt_x', 'payment_intent.succeeded', { metadata }))).toBe('ignored');

    expect(world.orders.changes).toEqual([]);
    expect(currentOrder(world.orders).status).toBe('pending');
  });

  it('ignores an event without a PaymentIntent', async () => {
    const world = pendingWorld();
    expect(await handleOrderStripeEvent(world.events, { id: 'evt_x', type: 'customer.created', created: 1 })).toBe('ignored');
  });

  it('leaves the order alone for a payment it does not have', async () => {
    const world = pendingWorld();
    const event = orderEvent('evt_x', 'payment_intent.succeeded', { metadata: { orderId: ORDER_ID, paymentId: 'pay_unknown' } });

    expect(await handleOrderStripeEvent(world.events, event)).toBe('unchanged');
    expect(world.orders.changes).toEqual([]);
  });
});
