import { setImmediate } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createPayment, refundPayment } from '../../../../slices/orders/app/payments';
import { paymentKey } from '../../../../slices/orders/app/ports';
import { refundable } from '../../../../slices/orders/domain/payments';
import {
  aPaidOrder,
  aPayment,
  anOrder,
  CAUSE,
  currentOrder,
  currentPayment,
  INTENT_ID,
  NOW,
  ORDER_ID,
  PAYMENT_ID,
  ordersWorld,
  seedOrder,
} from '../../../support/order-fixtures';

describe('createPayment', () => {
  it('holds the open amount on the order, opens it at the provider under the payment id, and keeps the reference', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder());

    const outcome = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE, token: 'tok-1' });

    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.payment).toMatchObject({ id: 'pay_tok-1', status: 'pending', amount: 6_480, providerRef: 'pi_pay_tok-1' });
    expect(outcome.opened).toEqual({ providerRef: 'pi_pay_tok-1', clientSecret: 'pi_pay_tok-1_secret' });
    expect(currentPayment(world.orders, 'pay_tok-1')).toMatchObject({ status: 'pending', providerRef: 'pi_pay_tok-1', version: 2 });
    expect(outcome.order.version).toBe(5);
    expect(world.provider.executed('open')).toEqual([{ operation: 'open', key: 'pay_tok-1', providerRef: 'pi_pay_tok-1', amount: 6_480 }]);
    expect(await world.index.find(paymentKey('pay_tok-1'))).toBe(ORDER_ID);
    expect(await world.orders.history(ORDER_ID, { machine: 'payment' })).toEqual([
      { machine: 'payment', subject: 'pay_tok-1', from: null, to: 'pending', at: NOW, cause: CAUSE },
    ]);
  });

  it('takes an explicit amount', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder());

    const outcome = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe', amount: 1_000 }, { cause: CAUSE, token: 'tok-1' });

    expect(outcome).toMatchObject({ ok: true, payment: { amount: 1_000 } });
    expect(world.provider.executed('open')[0]?.amount).toBe(1_000);
  });

  it('leaves the payment pending without a reference when the provider cannot be reached; a retry with the same token opens it once', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder());
    world.provider.down = true;

    const failed = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE, token: 'tok-1' });

    expect(failed).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable' } } });
    const held = currentPayment(world.orders, 'pay_tok-1');
    expect(held.status).toBe('pending');
    expect(held.providerRef).toBeUndefined();
    expect(world.provider.operations).toEqual([]);

    world.provider.down = false;
    const retried = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE, token: 'tok-1' });
    const again = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE, token: 'tok-1' });

    expect(retried).toMatchObject({ ok: true, payment: { id: 'pay_tok-1', providerRef: 'pi_pay_tok-1' } });
    expect(again).toMatchObject({ ok: true, payment: { id: 'pay_tok-1' }, opened: { providerRef: 'pi_pay_tok-1', clientSecret: 'pi_pay_tok-1_secret' } });
    expect(world.provider.executed('open')).toHaveLength(1);
    expect(world.provider.calls.map((call) => call.operation)).toEqual(['open', 'open', 'reopen']);
    expect(currentOrder(world.orders).payments.map((payment) => payment.id)).toEqual(['pay_tok-1']);
  });

  it('keeps the payment pending without a reference when the provider refuses it', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder());
    world.provider.next('open', 'invalid_request');

    const outcome = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE, token: 'tok-1' });

    expect(outcome).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'invalid_request' } } });
    expect(currentPayment(world.orders, 'pay_tok-1').providerRef).toBeUndefined();
  });

  it('refuses a provider the hub is not configured with, touching nothing', async () => {
    const world = ordersWorld({ withStripe: false });
    seedOrder(world, anOrder());
    const indexed = world.index.rows.size;

    const outcome = await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE, token: 'tok-1' });

    expect(outcome).toEqual({ ok: false, error: { code: 'PROVIDER_NOT_CONFIGURED', provider: 'stripe' } });
    expect(world.orders.changes).toEqual([]);
    expect(world.index.rows.size).toBe(indexed);
  });

  it('answers ORDER_NOT_FOUND for an unknown order and passes the domain refusal of an order that is paid', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());

    expect(await createPayment(world.payments, { orderId: 'ord_unknown', provider: 'stripe' }, { cause: CAUSE })).toEqual({
      ok: false,
      error: { code: 'ORDER_NOT_FOUND' },
    });
    expect(await createPayment(world.payments, { orderId: ORDER_ID, provider: 'stripe' }, { cause: CAUSE })).toEqual({
      ok: false,
      error: { code: 'NOT_PAYABLE', status: 'paid' },
    });
    expect(world.provider.calls).toEqual([]);
    expect(world.orders.changes).toEqual([]);
  });
});

describe('refundPayment', () => {
  it('refunds a whole payment: reserved, refunded at the provider once under the refund id, recorded, and the order follows', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());

    const outcome = await refundPayment(world.payments, PAYMENT_ID, { reason: 'damaged' }, { cause: CAUSE, token: 'tok-r' });

    expect(outcome).toMatchObject({
      ok: true,
      refund: { id: 'rfd_tok-r', amount: 6_480, status: 'succeeded', providerRef: 're_1', reason: 'damaged', origin: 'api' },
      payment: { status: 'refunded', refundedAmount: 6_480 },
      order: { status: 'refunded' },
    });
    expect(world.provider.executed('refund')).toEqual([{ operation: 'refund', key: 'rfd_tok-r', providerRef: INTENT_ID, amount: 6_480 }]);
    expect(currentOrder(world.orders).status).toBe('refunded');
    expect((await world.orders.history(ORDER_ID)).map((row) => `${row.machine} ${row.from}→${row.to} ${row.cause}`)).toEqual([
      'payment succeeded→refunded api:pos',
      'order paid→refunded api:pos',
    ]);
    // Two saves: the reservation, then the provider's answer.
    expect(world.orders.changes.map((change) => change.state.payments[0]?.refunds[0]?.status)).toEqual(['reserved', 'succeeded']);
  });

  it('never lets ten concurrent refunds pass what was paid', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.during = () => setImmediate();

    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, index) => refundPayment(world.payments, PAYMENT_ID, { amount: 2_000 }, { cause: CAUSE, token: `tok-${index}` })),
    );

    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(3);
    const refused = outcomes.filter((outcome) => !outcome.ok);
    expect(refused).toHaveLength(7);
    for (const outcome of refused) expect(outcome).toMatchObject({ ok: false, error: { code: 'EXCEEDS_REFUNDABLE' } });
    expect(world.provider.refundedAt(INTENT_ID)).toBe(6_000);
    expect(world.provider.executed('refund')).toHaveLength(3);
    const payment = currentPayment(world.orders);
    expect(payment).toMatchObject({ status: 'partially_refunded', refundedAmount: 6_000 });
    expect(payment.refunds.map((refund) => refund.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(refundable(payment)).toBe(480);
  });

  it('lets exactly one of ten concurrent full refunds through', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.during = () => setImmediate();

    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, index) => refundPayment(world.payments, PAYMENT_ID, {}, { cause: CAUSE, token: `tok-${index}` })),
    );

    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
    expect(world.provider.refundedAt(INTENT_ID)).toBe(6_480);
    expect(currentPayment(world.orders)).toMatchObject({ status: 'refunded', refundedAmount: 6_480 });
  });

  it('releases the reservation when the provider cannot be reached; a retry with the same token refunds once', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.down = true;

    const failed = await refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });

    expect(failed).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable' } } });
    expect(currentPayment(world.orders).refunds).toEqual([expect.objectContaining({ id: 'rfd_tok-r', status: 'failed' })]);
    expect(refundable(currentPayment(world.orders))).toBe(6_480);
    expect(world.provider.operations).toEqual([]);

    world.provider.down = false;
    const retried = await refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });

    expect(retried).toMatchObject({ ok: true, refund: { id: 'rfd_tok-r', status: 'succeeded', amount: 1_000 }, payment: { status: 'partially_refunded' } });
    expect(world.provider.executed('refund')).toHaveLength(1);
    expect(currentPayment(world.orders).refunds).toHaveLength(1);
  });

  it('answers a retry of a refund that went through with the same refund, without asking the provider again', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());

    const first = await refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });
    const again = await refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });

    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.refund).toEqual(first.refund);
    expect(world.provider.calls.filter((call) => call.operation === 'refund')).toHaveLength(1);
    expect(currentPayment(world.orders)).toMatchObject({ refundedAmount: 1_000 });
    expect(world.orders.changes).toHaveLength(2);
  });

  it('asks the provider again (same key, replayed) when a retry finds its refund still reserved', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    let second: ReturnType<typeof refundPayment> | undefined;
    world.provider.during = async (operation) => {
      // The first request is at the provider: the same request arrives again.
      if (operation === 'refund' && !second) second = refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });
    };

    const first = await refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });
    const again = await second;

    expect(first).toMatchObject({ ok: true, refund: { status: 'succeeded' } });
    expect(again).toMatchObject({ ok: true, refund: { id: 'rfd_tok-r', status: 'succeeded' } });
    expect(world.provider.executed('refund')).toHaveLength(1);
    expect(world.provider.calls.filter((call) => call.operation === 'refund').map((call) => call.replayed)).toEqual([false, true]);
    expect(currentPayment(world.orders)).toMatchObject({ refundedAmount: 1_000, status: 'partially_refunded' });
  });

  it('records a refund the provider has yet to finish as pending: held, not yet gone back', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.refundAnswer = 'pending';

    const outcome = await refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });

    expect(outcome).toMatchObject({
      ok: true,
      refund: { status: 'pending', providerRef: 're_1' },
      payment: { status: 'succeeded', refundedAmount: 0 },
    });
    expect(refundable(currentPayment(world.orders))).toBe(5_480);
  });

  it('releases a refund the provider executed but failed, and answers REFUND_FAILED', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.refundAnswer = 'failed';

    const outcome = await refundPayment(world.payments, PAYMENT_ID, { amount: 1_000 }, { cause: CAUSE, token: 'tok-r' });

    expect(outcome).toMatchObject({
      ok: false,
      error: { code: 'REFUND_FAILED', refund: { status: 'failed' }, payment: { status: 'succeeded', refundedAmount: 0 } },
    });
    expect(refundable(currentPayment(world.orders))).toBe(6_480);
  });

  it('reserves nothing for a refund no provider could carry out', async () => {
    const world = ordersWorld({ withStripe: false });
    seedOrder(world, aPaidOrder());

    expect(await refundPayment(world.payments, PAYMENT_ID, {}, { cause: CAUSE, token: 'tok-r' })).toMatchObject({
      ok: false,
      error: { code: 'PROVIDER_NOT_CONFIGURED' },
    });
    expect(currentPayment(world.orders).refunds).toEqual([]);
    expect(world.orders.changes).toEqual([]);
  });

  it('releases the reservation when the provider refuses, answering PAYMENT_PROVIDER', async () => {
    const world = ordersWorld();
    seedOrder(world, aPaidOrder());
    world.provider.next('refund', 'invalid_request');

    const outcome = await refundPayment(world.payments, PAYMENT_ID, {}, { cause: CAUSE, token: 'tok-r' });

    expect(outcome).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'invalid_request' } } });
    expect(currentPayment(world.orders).refunds).toEqual([expect.objectContaining({ status: 'failed', failureReason: expect.stringContaining('refused') })]);
    expect(refundable(currentPayment(world.orders))).toBe(6_480);
  });

  it('answers PAYMENT_NOT_FOUND for a payment no order holds, and the domain refusal for one not refundable', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ payments: [aPayment({ status: 'pending' })] }));

    expect(await refundPayment(world.payments, 'pay_unknown', {}, { cause: CAUSE })).toEqual({ ok: false, error: { code: 'PAYMENT_NOT_FOUND' } });
    expect(await refundPayment(world.payments, PAYMENT_ID, {}, { cause: CAUSE })).toEqual({ ok: false, error: { code: 'NOT_REFUNDABLE', status: 'pending' } });
    expect(world.provider.calls).toEqual([]);
    expect(world.orders.changes).toEqual([]);
  });
});
