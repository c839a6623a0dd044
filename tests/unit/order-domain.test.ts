import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedFrom } from '../../shared/kernel/state-machine';
import { type CreateOrderContext, createOrder, moneyOf, ORDER_LIMITS, type Order, orderSchema, type Payment } from '../../slices/orders/domain/order';
import {
  openAmount,
  openPayment,
  recordPaymentStatus,
  recordProviderRefunds,
  refundable,
  requestableFrom,
  requestTransition,
  reserveRefund,
  settleRefund,
} from '../../slices/orders/domain/payments';
import { ORDER_STATUSES, type OrderStatus, orderMachine } from '../../slices/orders/domain/status';
import { aPaidOrder, aPayment, aRefund, anOrder, anOrderRequest, CAUSE, NOW, ORDER_ID, PAYMENT_ID } from '../support/order-fixtures';

const now = new Date(NOW);
const LATER = '2026-11-24T09:00:00.000Z';

const context = (overrides: Partial<CreateOrderContext> = {}): CreateOrderContext => ({
  id: ORDER_ID,
  now,
  customerId: 'cust:abc',
  cause: CAUSE,
  channels: ['pos', 'woocommerce'],
  currencies: ['EUR', 'JPY', 'KWD'],
  ...overrides,
});

/** The payment of an order result; fails the test when it is not there. */
function paymentOf(order: Order, id: string = PAYMENT_ID): Payment {
  const payment = order.payments.find((candidate) => candidate.id === id);
  if (!payment) throw new Error(`no payment ${id}`);
  return payment;
}

/** Unwraps an ok domain result; fails the test with the error otherwise. */
function okOf<T extends { ok: boolean }>(result: T): Extract<T, { ok: true }> {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result as Extract<T, { ok: true }>;
}

// ---- creation

describe('createOrder (domain)', () => {
  it('computes the lines and the total from the items and starts pending, with its first history entry', () => {
    const result = okOf(createOrder(anOrderRequest({ metadata: { cart: 'c-17' } }), context()));

    expect(result.order).toMatchObject({
      id: ORDER_ID,
      source: 'pos',
      externalId: 'POS-1001',
      status: 'pending',
      currency: 'EUR',
      customerId: 'cust:abc',
      totalAmount: 6_480,
      metadata: { cart: 'c-17' },
      payments: [],
      createdAt: NOW,
      updatedAt: NOW,
      version: 1,
    });
    expect(result.order.items.map((item) => item.lineAmount)).toEqual([3_990, 2_490]);
    expect(result.history).toEqual({ from: null, to: 'pending', at: NOW, cause: CAUSE });
    expect(() => orderSchema.parse(result.order)).not.toThrow();
  });

  it('takes a client total that agrees with the items', () => {
    expect(createOrder(anOrderRequest({ totalAmount: 6_480 }), context()).ok).toBe(true);
  });

  it('refuses a client total that disagrees, naming the sum of the items', () => {
    expect(createOrder(anOrderRequest({ totalAmount: 6_000 }), context())).toEqual({
      ok: false,
      problems: [{ path: 'totalAmount', message: 'Does not match the items: they sum to 6480' }],
    });
  });

  it('refuses a channel the hub does not take orders from, naming the ones it does', () => {
    const result = createOrder(anOrderRequest({ source: 'amazon' }), context());

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ path: 'source' });
    // The channels the hub takes, never the value sent.
    expect(result.problems[0]?.message).not.toContain('amazon');
    expect(result.problems[0]?.message).toContain('pos, woocommerce');
  });

  it('says CHANNELS is empty when no channel is configured', () => {
    const result = createOrder(anOrderRequest(), context({ channels: [] }));

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]?.message).toContain('set CHANNELS');
  });

  it('refuses a currency the hub does not accept', () => {
    const result = createOrder(anOrderRequest({ currency: 'USD' }), context());

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([{ path: 'currency', message: 'USD is not accepted here; accepted: EUR, JPY, KWD' }]);
  });

  it('checks every unit amount for the currency (KWD must end in 0)', () => {
    const request = anOrderRequest({
      currency: 'KWD',
      items: [
        { sku: 'A', name: 'a', quantity: 1, unitAmount: 1_005 },
        { sku: 'B', name: 'b', quantity: 3, unitAmount: 1_000 },
      ],
    });

    const result = createOrder(request, context());

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => problem.path)).toEqual(['items.0.unitAmount']);
    expect(result.problems[0]?.message).toMatch(/KWD amounts must end in 0/);
  });

  it('refuses a line whose quantity × unit amount passes the maximum, on its quantity', () => {
    const request = anOrderRequest({
      items: [
        { sku: 'A', name: 'a', quantity: 1, unitAmount: 100 },
        { sku: 'B', name: 'b', quantity: 2, unitAmount: 60_000_000 },
      ],
    });

    const result = createOrder(request, context());

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([{ path: 'items.1.quantity', message: 'quantity × unitAmount must be at most 99999999 (EUR minor units)' }]);
  });

  it('refuses a total that passes the maximum when every line is fine', () => {
    const request = anOrderRequest({
      items: [
        { sku: 'A', name: 'a', quantity: 1, unitAmount: 60_000_000 },
        { sku: 'B', name: 'b', quantity: 1, unitAmount: 60_000_000 },
      ],
    });

    const result = createOrder(request, context());

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems).toEqual([{ path: 'items', message: "the order's total must be at most 99999999 (EUR minor units)" }]);
  });

  it('reports every problem at once', () => {
    const request = anOrderRequest({
      source: 'amazon',
      currency: 'BHD',
      items: [
        { sku: 'A', name: 'a', quantity: 1, unitAmount: 1_001 },
        { sku: 'B', name: 'b', quantity: 1, unitAmount: 2_000 },
        { sku: 'C', name: 'c', quantity: 10, unitAmount: 20_000_000 },
      ],
      totalAmount: 1,
    });

    const result = createOrder(request, context());

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => problem.path)).toEqual(['source', 'currency', 'items.0.unitAmount', 'items.2.quantity', 'totalAmount']);
  });
});

// ---- the order machine

/** The order machine's edges, written out independently of `orderMachine`. */
const EDGES: Record<OrderStatus, OrderStatus[]> = {
  pending: ['confirmed', 'paid', 'cancelled'],
  confirmed: ['paid', 'cancelled'],
  paid: ['processing', 'cancelled', 'refunded'],
  processing: ['shipped', 'cancelled', 'refunded'],
  shipped: ['delivered', 'refunded'],
  delivered: ['refunded'],
  cancelled: [],
  refunded: [],
};
const DERIVED: OrderStatus[] = ['paid', 'refunded'];
const REQUESTABLE = (from: OrderStatus) => EDGES[from].filter((to) => !DERIVED.includes(to));

describe('the order machine', () => {
  it('has exactly the documented edges', () => {
    for (const from of ORDER_STATUSES) expect([...allowedFrom(orderMachine, from)].sort()).toEqual([...EDGES[from]].sort());
    expect(orderMachine.name).toBe('order');
  });

  it('lets a channel ask only for statuses the payments do not drive', () => {
    expect(requestableFrom('pending')).toEqual(['confirmed', 'cancelled']);
    expect(requestableFrom('paid')).toEqual(['processing', 'cancelled']);
    expect(requestableFrom('delivered')).toEqual([]);
  });

  const pairs = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.map((to) => [from, to] as [OrderStatus, OrderStatus]));

  it.each(pairs)('requestTransition %s → %s', (from, to) => {
    const order = anOrder({ status: from });

    const result = requestTransition(order, to, CAUSE, now, 'the customer asked');

    if (DERIVED.includes(to)) {
      expect(result).toEqual({ ok: false, error: { code: 'DERIVED_STATUS', to, allowed: REQUESTABLE(from) } });
    } else if (from === to) {
      expect(result).toEqual({ ok: true, order, history: [] });
    } else if (REQUESTABLE(from).includes(to)) {
      expect(result).toEqual({
        ok: true,
        order: { ...order, status: to, updatedAt: NOW },
        history: [{ machine: 'order', subject: ORDER_ID, from, to, at: NOW, cause: CAUSE, reason: 'the customer asked' }],
      });
    } else {
      expect(result).toEqual({ ok: false, error: { code: 'FORBIDDEN_TRANSITION', from, to, allowed: REQUESTABLE(from) } });
    }
  });

  it('keeps no reason when none was given', () => {
    const result = okOf(requestTransition(anOrder(), 'confirmed', CAUSE, now));
    expect(result.history[0]).not.toHaveProperty('reason');
  });
});

// ---- money

describe('moneyOf', () => {
  const order = (payments: Payment[]) => anOrder({ totalAmount: 6_480, payments });

  it('is not_paid without money in (open, failed and cancelled payments count nothing)', () => {
    expect(moneyOf(order([]))).toEqual({ paidAmount: 0, refundedAmount: 0, paymentStatus: 'not_paid' });
    expect(
      moneyOf(order([aPayment({ id: 'p1', status: 'pending' }), aPayment({ id: 'p2', status: 'failed' }), aPayment({ id: 'p3', status: 'canceled' })])),
    ).toEqual({ paidAmount: 0, refundedAmount: 0, paymentStatus: 'not_paid' });
  });

  it('is partially_paid while succeeded payments do not cover the total', () => {
    expect(moneyOf(order([aPayment({ amount: 3_000 })]))).toEqual({ paidAmount: 3_000, refundedAmount: 0, paymentStatus: 'partially_paid' });
  });

  it('is paid once succeeded payments cover the total (or more)', () => {
    expect(moneyOf(order([aPayment({ id: 'p1', amount: 3_000 }), aPayment({ id: 'p2', amount: 3_480 })])).paymentStatus).toBe('paid');
    expect(moneyOf(order([aPayment({ amount: 7_000 })]))).toEqual({ paidAmount: 7_000, refundedAmount: 0, paymentStatus: 'paid' });
  });

  it('is partially_refunded when some of the money went back', () => {
    const payment = aPayment({ status: 'partially_refunded', refunds: [aRefund({ amount: 1_000 })] });
    expect(moneyOf(order([payment]))).toEqual({ paidAmount: 6_480, refundedAmount: 1_000, paymentStatus: 'partially_refunded' });
  });

  it('is refunded when everything paid went back', () => {
    const payment = aPayment({ status: 'refunded', refunds: [aRefund({ amount: 6_480 })] });
    expect(moneyOf(order([payment]))).toEqual({ paidAmount: 6_480, refundedAmount: 6_480, paymentStatus: 'refunded' });
  });
});

// ---- payments

describe('openPayment', () => {
  it('opens a pending payment for what is still open by default, with its history row', () => {
    const order = anOrder({ payments: [aPayment({ id: 'pay_0', status: 'pending', amount: 1_480, providerRef: undefined })] });

    const result = okOf(openPayment(order, { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now));

    expect(result.payment).toEqual({
      id: PAYMENT_ID,
      provider: 'stripe',
      status: 'pending',
      amount: 5_000,
      refundedAmount: 0,
      refunds: [],
      version: 1,
      createdAt: NOW,
      updatedAt: NOW,
    });
    expect(result.order.payments.map((payment) => payment.id)).toEqual(['pay_0', PAYMENT_ID]);
    expect(result.order.updatedAt).toBe(NOW);
    expect(result.history).toEqual([{ machine: 'payment', subject: PAYMENT_ID, from: null, to: 'pending', at: NOW, cause: CAUSE }]);
    expect(() => orderSchema.parse(result.order)).not.toThrow();
  });

  it('does not count failed or cancelled payments as holding a share of the total', () => {
    const order = anOrder({ payments: [aPayment({ id: 'p1', status: 'failed', amount: 6_480 }), aPayment({ id: 'p2', status: 'canceled', amount: 6_480 })] });
    expect(openAmount(order)).toBe(6_480);
    expect(okOf(openPayment(order, { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now)).payment.amount).toBe(6_480);
  });

  it('takes an explicit amount over what is open (a customer paying more)', () => {
    const order = anOrder({ payments: [aPayment({ id: 'pay_0', status: 'pending', amount: 6_000 })] });
    expect(okOf(openPayment(order, { id: PAYMENT_ID, provider: 'stripe', amount: 2_000 }, CAUSE, now)).payment.amount).toBe(2_000);
  });

  it.each(['paid', 'processing', 'shipped', 'delivered', 'cancelled', 'refunded'] as OrderStatus[])('refuses an order in %s (NOT_PAYABLE)', (status) => {
    expect(openPayment(anOrder({ status }), { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now)).toEqual({ ok: false, error: { code: 'NOT_PAYABLE', status } });
  });

  it('takes a confirmed order', () => {
    expect(openPayment(anOrder({ status: 'confirmed' }), { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now).ok).toBe(true);
  });

  it('answers NOTHING_OPEN when active payments hold the whole total and no amount is given', () => {
    const order = anOrder({ payments: [aPayment({ id: 'pay_0', status: 'processing' })] });
    expect(openAmount(order)).toBe(0);
    expect(openPayment(order, { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now)).toEqual({ ok: false, error: { code: 'NOTHING_OPEN' } });
  });

  it('refuses an explicit 0', () => {
    expect(openPayment(anOrder(), { id: PAYMENT_ID, provider: 'stripe', amount: 0 }, CAUSE, now)).toEqual({
      ok: false,
      error: { code: 'INVALID_AMOUNT', message: 'must be more than 0' },
    });
  });

  it('refuses an amount below the minimum charge or not chargeable in the currency', () => {
    expect(openPayment(anOrder(), { id: PAYMENT_ID, provider: 'stripe', amount: 49 }, CAUSE, now)).toEqual({
      ok: false,
      error: { code: 'INVALID_AMOUNT', message: 'a EUR payment must be at least 0.50 EUR' },
    });
    const kwd = anOrder({ currency: 'KWD', totalAmount: 6_480 });
    const refused = openPayment(kwd, { id: PAYMENT_ID, provider: 'stripe', amount: 1_005 }, CAUSE, now);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toMatchObject({ code: 'INVALID_AMOUNT', message: expect.stringMatching(/KWD amounts must end in 0/) });
  });

  it('refuses the default open amount when it is below the minimum charge', () => {
    const order = anOrder({ payments: [aPayment({ id: 'pay_0', status: 'succeeded', amount: 6_450 })] });
    const result = openPayment(order, { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now);
    expect(result).toEqual({ ok: false, error: { code: 'INVALID_AMOUNT', message: 'a EUR payment must be at least 0.50 EUR' } });
  });

  it(`takes at most ${ORDER_LIMITS.payments} payments per order`, () => {
    const failed = Array.from({ length: ORDER_LIMITS.payments }, (_, index) => aPayment({ id: `p${index}`, status: 'failed' }));
    expect(openPayment(anOrder({ payments: failed.slice(1) }), { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now).ok).toBe(true);
    expect(openPayment(anOrder({ payments: failed }), { id: PAYMENT_ID, provider: 'stripe' }, CAUSE, now)).toEqual({
      ok: false,
      error: { code: 'TOO_MANY', what: 'payments', limit: 20 },
    });
  });
});

describe('recordPaymentStatus', () => {
  const pending = () => anOrder({ payments: [aPayment({ status: 'pending' })] });

  it('moves the order to paid when the succeeded payment covers the total, with rows for both machines', () => {
    const result = okOf(recordPaymentStatus(pending(), PAYMENT_ID, 'succeeded', 'stripe:evt_1', now));

    expect(result.order.status).toBe('paid');
    expect(paymentOf(result.order)).toMatchObject({ status: 'succeeded', version: 2, updatedAt: NOW });
    expect(result.history).toEqual([
      { machine: 'payment', subject: PAYMENT_ID, from: 'pending', to: 'succeeded', at: NOW, cause: 'stripe:evt_1' },
      { machine: 'order', subject: ORDER_ID, from: 'pending', to: 'paid', at: NOW, cause: 'stripe:evt_1' },
    ]);
    expect(moneyOf(result.order).paymentStatus).toBe('paid');
  });

  it('keeps the order waiting while succeeded payments cover only part of the total, then moves it to paid', () => {
    const order = anOrder({
      status: 'confirmed',
      payments: [aPayment({ id: 'p1', status: 'pending', amount: 3_000 }), aPayment({ id: 'p2', status: 'pending', amount: 3_480 })],
    });

    const first = okOf(recordPaymentStatus(order, 'p1', 'succeeded', CAUSE, now));
    expect(first.order.status).toBe('confirmed');
    expect(first.history.map((row) => row.machine)).toEqual(['payment']);

    const second = okOf(recordPaymentStatus(first.order, 'p2', 'succeeded', CAUSE, now));
    expect(second.order.status).toBe('paid');
    expect(second.history.at(-1)).toMatchObject({ machine: 'order', from: 'confirmed', to: 'paid' });
  });

  it('records a failure with its reason, and lets a failed payment still succeed (the reason goes)', () => {
    const failed = okOf(recordPaymentStatus(pending(), PAYMENT_ID, 'failed', CAUSE, now, 'insufficient_funds'));
    expect(paymentOf(failed.order)).toMatchObject({ status: 'failed', failureReason: 'insufficient_funds' });
    expect(failed.order.status).toBe('pending');

    const succeeded = okOf(recordPaymentStatus(failed.order, PAYMENT_ID, 'succeeded', CAUSE, now));
    expect(paymentOf(succeeded.order).status).toBe('succeeded');
    expect(paymentOf(succeeded.order)).not.toHaveProperty('failureReason');
    expect(succeeded.order.status).toBe('paid');
  });

  it('names a failure without a reason', () => {
    expect(paymentOf(okOf(recordPaymentStatus(pending(), PAYMENT_ID, 'failed', CAUSE, now)).order).failureReason).toBe('payment failed');
  });

  it.each([
    ['succeeded', 'failed'],
    ['succeeded', 'processing'],
    ['succeeded', 'canceled'],
    ['partially_refunded', 'succeeded'],
    ['refunded', 'failed'],
    ['canceled', 'succeeded'],
    ['canceled', 'processing'],
  ] as const)('never moves a settled %s payment back (%s arrives late)', (from, to) => {
    const order = anOrder({ status: 'pending', payments: [aPayment({ status: from })] });

    const result = recordPaymentStatus(order, PAYMENT_ID, to, CAUSE, now);

    expect(result).toEqual({ ok: true, order, history: [] });
  });

  it('changes nothing on a repeat of the current status', () => {
    const order = anOrder({ payments: [aPayment({ status: 'processing' })] });
    expect(recordPaymentStatus(order, PAYMENT_ID, 'processing', CAUSE, now)).toEqual({ ok: true, order, history: [] });
  });

  it('answers PAYMENT_NOT_FOUND for a payment the order does not have', () => {
    expect(recordPaymentStatus(pending(), 'pay_other', 'succeeded', CAUSE, now)).toEqual({ ok: false, error: { code: 'PAYMENT_NOT_FOUND' } });
  });

  it('flags money arriving for a cancelled order for a person, and keeps the order cancelled', () => {
    const order = anOrder({ status: 'cancelled', payments: [aPayment({ status: 'processing' })] });

    const result = okOf(recordPaymentStatus(order, PAYMENT_ID, 'succeeded', CAUSE, now));

    expect(result.order.status).toBe('cancelled');
    expect(result.order.attention).toEqual({ reason: `payment ${PAYMENT_ID} succeeded after the order was cancelled`, since: NOW });
    expect(result.history.map((row) => row.machine)).toEqual(['payment']);
  });

  it('does not flag a failure for a cancelled order', () => {
    const order = anOrder({ status: 'cancelled', payments: [aPayment({ status: 'processing' })] });
    expect(okOf(recordPaymentStatus(order, PAYMENT_ID, 'failed', CAUSE, now)).order.attention).toBeUndefined();
  });
});

// ---- refunds

describe('reserveRefund and settleRefund', () => {
  const paid = (payment: Partial<Payment> = {}) => aPaidOrder({}, payment);

  it('reserves the whole refundable amount by default, before the provider is asked (no history yet)', () => {
    const result = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', reason: 'damaged' }, now));

    expect(result.refund).toEqual({ id: 'rfd_1', amount: 6_480, status: 'reserved', origin: 'api', reason: 'damaged', createdAt: NOW, updatedAt: NOW });
    expect(result.history).toEqual([]);
    expect(paymentOf(result.order)).toMatchObject({ status: 'succeeded', refundedAmount: 0, version: 2 });
    expect(refundable(paymentOf(result.order))).toBe(0);
  });

  it('never reserves more than is refundable, counting the refunds already reserved', () => {
    const first = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', amount: 4_000 }, now));

    expect(reserveRefund(first.order, PAYMENT_ID, { id: 'rfd_2', amount: 2_481 }, now)).toEqual({
      ok: false,
      error: { code: 'EXCEEDS_REFUNDABLE', refundable: 2_480 },
    });
    const second = okOf(reserveRefund(first.order, PAYMENT_ID, { id: 'rfd_2', amount: 2_480 }, now));
    expect(reserveRefund(second.order, PAYMENT_ID, { id: 'rfd_3' }, now)).toEqual({ ok: false, error: { code: 'EXCEEDS_REFUNDABLE', refundable: 0 } });
  });

  it('refuses 0, an amount over the payment, and an amount not chargeable in the currency', () => {
    expect(reserveRefund(paid(), PAYMENT_ID, { id: 'r', amount: 0 }, now)).toEqual({ ok: false, error: { code: 'EXCEEDS_REFUNDABLE', refundable: 6_480 } });
    expect(reserveRefund(paid(), PAYMENT_ID, { id: 'r', amount: 6_481 }, now)).toEqual({ ok: false, error: { code: 'EXCEEDS_REFUNDABLE', refundable: 6_480 } });
    const kwd = aPaidOrder({ currency: 'KWD' });
    const result = reserveRefund(kwd, PAYMENT_ID, { id: 'r', amount: 1_005 }, now);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('INVALID_AMOUNT');
  });

  it.each(['pending', 'processing', 'failed', 'canceled'] as const)('refuses to refund a %s payment', (status) => {
    const order = anOrder({ payments: [aPayment({ status })] });
    expect(reserveRefund(order, PAYMENT_ID, { id: 'r' }, now)).toEqual({ ok: false, error: { code: 'NOT_REFUNDABLE', status } });
  });

  it('answers PAYMENT_NOT_FOUND for an unknown payment', () => {
    expect(reserveRefund(paid(), 'pay_other', { id: 'r' }, now)).toEqual({ ok: false, error: { code: 'PAYMENT_NOT_FOUND' } });
    expect(settleRefund(paid(), PAYMENT_ID, 'rfd_unknown', { status: 'succeeded' }, CAUSE, now)).toEqual({ ok: false, error: { code: 'PAYMENT_NOT_FOUND' } });
  });

  it(`takes at most ${ORDER_LIMITS.refundsPerPayment} refunds per payment`, () => {
    const refunds = Array.from({ length: ORDER_LIMITS.refundsPerPayment }, (_, index) => aRefund({ id: `r${index}`, amount: 10 }));
    const order = aPaidOrder({}, { status: 'partially_refunded', refunds });
    expect(reserveRefund(order, PAYMENT_ID, { id: 'one-more', amount: 10 }, now)).toEqual({
      ok: false,
      error: { code: 'TOO_MANY', what: 'refunds', limit: ORDER_LIMITS.refundsPerPayment },
    });
  });

  it('answers a retried id with the same refund, changing nothing', () => {
    const first = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', amount: 1_000 }, now));

    const again = okOf(reserveRefund(first.order, PAYMENT_ID, { id: 'rfd_1', amount: 1_000 }, new Date(LATER)));

    expect(again.order).toBe(first.order);
    expect(again.refund).toEqual(first.refund);
    expect(paymentOf(again.order).refunds).toHaveLength(1);

    const settled = okOf(settleRefund(first.order, PAYMENT_ID, 'rfd_1', { status: 'succeeded', providerRef: 're_1' }, CAUSE, now));
    const afterSettled = okOf(reserveRefund(settled.order, PAYMENT_ID, { id: 'rfd_1', amount: 1_000 }, now));
    expect(afterSettled.order).toBe(settled.order);
    expect(afterSettled.refund).toMatchObject({ id: 'rfd_1', status: 'succeeded', providerRef: 're_1' });
  });

  it('settles a partial refund: partially_refunded, then refunded with the rest, and the order follows', () => {
    const reserved = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', amount: 1_480 }, now));
    const partial = okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'succeeded', providerRef: 're_1' }, CAUSE, now));

    expect(partial.refund).toMatchObject({ status: 'succeeded', providerRef: 're_1', updatedAt: NOW });
    expect(paymentOf(partial.order)).toMatchObject({ status: 'partially_refunded', refundedAmount: 1_480 });
    expect(partial.order.status).toBe('paid');
    expect(moneyOf(partial.order).paymentStatus).toBe('partially_refunded');
    expect(partial.history).toEqual([{ machine: 'payment', subject: PAYMENT_ID, from: 'succeeded', to: 'partially_refunded', at: NOW, cause: CAUSE }]);

    const rest = okOf(reserveRefund(partial.order, PAYMENT_ID, { id: 'rfd_2' }, now));
    expect(rest.refund.amount).toBe(5_000);
    const full = okOf(settleRefund(rest.order, PAYMENT_ID, 'rfd_2', { status: 'succeeded' }, CAUSE, now));

    expect(paymentOf(full.order)).toMatchObject({ status: 'refunded', refundedAmount: 6_480 });
    expect(full.order.status).toBe('refunded');
    expect(moneyOf(full.order).paymentStatus).toBe('refunded');
    expect(full.history).toEqual([
      { machine: 'payment', subject: PAYMENT_ID, from: 'partially_refunded', to: 'refunded', at: NOW, cause: CAUSE },
      { machine: 'order', subject: ORDER_ID, from: 'paid', to: 'refunded', at: NOW, cause: CAUSE },
    ]);
  });

  it.each(['processing', 'shipped', 'delivered'] as const)('moves a %s order to refunded once everything paid went back', (status) => {
    const reserved = okOf(reserveRefund(aPaidOrder({ status }), PAYMENT_ID, { id: 'rfd_1' }, now));
    expect(okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'succeeded' }, CAUSE, now)).order.status).toBe('refunded');
  });

  it('keeps a cancelled order cancelled when its money goes back', () => {
    const reserved = okOf(reserveRefund(aPaidOrder({ status: 'cancelled' }), PAYMENT_ID, { id: 'rfd_1' }, now));
    const settled = okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'succeeded' }, CAUSE, now));
    expect(settled.order.status).toBe('cancelled');
    expect(paymentOf(settled.order).status).toBe('refunded');
  });

  it('holds a pending refund out of what is refundable, and counts it as gone back only once it succeeded', () => {
    const reserved = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', amount: 1_000 }, now));
    const pendingRefund = okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'pending', providerRef: 're_1' }, CAUSE, now));
    expect(paymentOf(pendingRefund.order)).toMatchObject({ status: 'succeeded', refundedAmount: 0 });
    expect(refundable(paymentOf(pendingRefund.order))).toBe(5_480);
    expect(pendingRefund.history).toEqual([]);

    const done = okOf(settleRefund(pendingRefund.order, PAYMENT_ID, 'rfd_1', { status: 'succeeded' }, CAUSE, now));
    expect(paymentOf(done.order)).toMatchObject({ status: 'partially_refunded', refundedAmount: 1_000 });
    expect(refundable(paymentOf(done.order))).toBe(5_480);
    expect(done.history).toEqual([expect.objectContaining({ machine: 'payment', from: 'succeeded', to: 'partially_refunded' })]);
  });

  it('releases a pending refund the provider gives up, without moving the payment back', () => {
    const reserved = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', amount: 6_480 }, now));
    const pendingRefund = okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'pending' }, CAUSE, now));
    const failed = okOf(settleRefund(pendingRefund.order, PAYMENT_ID, 'rfd_1', { status: 'failed' }, CAUSE, now));
    expect(paymentOf(failed.order)).toMatchObject({ status: 'succeeded', refundedAmount: 0 });
    expect(failed.order.status).toBe('paid');
    expect(refundable(paymentOf(failed.order))).toBe(6_480);
  });

  it('releases the reservation when the provider refuses, and reserves the same id anew on a retry', () => {
    const reserved = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', amount: 6_000 }, now));
    expect(refundable(paymentOf(reserved.order))).toBe(480);

    const failed = okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'failed', failureReason: 'charge disputed' }, CAUSE, now));

    expect(failed.refund).toMatchObject({ status: 'failed', failureReason: 'charge disputed' });
    expect(paymentOf(failed.order)).toMatchObject({ status: 'succeeded', refundedAmount: 0 });
    expect(refundable(paymentOf(failed.order))).toBe(6_480);
    expect(failed.history).toEqual([]);
    expect(failed.order.status).toBe('paid');

    const retried = okOf(reserveRefund(failed.order, PAYMENT_ID, { id: 'rfd_1', amount: 6_000 }, new Date(LATER)));
    expect(retried.refund).toMatchObject({ id: 'rfd_1', status: 'reserved', amount: 6_000, createdAt: NOW, updatedAt: LATER });
    expect(retried.refund).not.toHaveProperty('failureReason');
    expect(paymentOf(retried.order).refunds).toHaveLength(1);
  });

  it('names a failure without a reason', () => {
    const reserved = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1' }, now));
    expect(okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'failed' }, CAUSE, now)).refund.failureReason).toBe('refund failed');
  });

  it('keeps a succeeded refund succeeded when a late answer arrives', () => {
    const reserved = okOf(reserveRefund(paid(), PAYMENT_ID, { id: 'rfd_1', amount: 1_000 }, now));
    const settled = okOf(settleRefund(reserved.order, PAYMENT_ID, 'rfd_1', { status: 'succeeded' }, CAUSE, now));

    for (const status of ['failed', 'pending', 'succeeded'] as const) {
      const late = okOf(settleRefund(settled.order, PAYMENT_ID, 'rfd_1', { status }, CAUSE, now));
      expect(late.order).toBe(settled.order);
      expect(late.history).toEqual([]);
    }
  });
});

describe('recordProviderRefunds', () => {
  it('records only what exceeds the refunds the hub knows of, as a refund of the provider', () => {
    const order = aPaidOrder({}, { status: 'partially_refunded', refunds: [aRefund({ id: 'rfd_api', amount: 1_000 })] });

    const result = okOf(recordProviderRefunds(order, PAYMENT_ID, 2_500, 'rfd_evt_1', 'stripe:evt_1', now));

    const payment = paymentOf(result.order);
    expect(payment.refunds.at(-1)).toEqual({ id: 'rfd_evt_1', amount: 1_500, status: 'succeeded', origin: 'provider', createdAt: NOW, updatedAt: NOW });
    expect(payment).toMatchObject({ status: 'partially_refunded', refundedAmount: 2_500 });
  });

  it('counts a reserved refund as known (the webhook overtook the answer)', () => {
    const reserved = okOf(reserveRefund(aPaidOrder(), PAYMENT_ID, { id: 'rfd_api', amount: 1_000 }, now));
    const result = okOf(recordProviderRefunds(reserved.order, PAYMENT_ID, 1_000, 'rfd_evt_1', CAUSE, now));
    expect(result.order).toBe(reserved.order);
  });

  it('does not count a failed refund as known', () => {
    const order = aPaidOrder({}, { refunds: [aRefund({ id: 'rfd_api', amount: 1_000, status: 'failed' })] });
    const result = okOf(recordProviderRefunds(order, PAYMENT_ID, 1_000, 'rfd_evt_1', CAUSE, now));
    expect(paymentOf(result.order).refundedAmount).toBe(1_000);
  });

  it('records a refund of the provider once per id, and a report already known changes nothing', () => {
    const first = okOf(recordProviderRefunds(aPaidOrder(), PAYMENT_ID, 6_480, 'rfd_evt_1', 'stripe:evt_1', now));
    expect(paymentOf(first.order)).toMatchObject({ status: 'refunded', refundedAmount: 6_480 });
    expect(first.order.status).toBe('refunded');
    expect(first.history.map((row) => `${row.machine} ${row.from}→${row.to}`)).toEqual(['payment succeeded→refunded', 'order paid→refunded']);

    expect(recordProviderRefunds(first.order, PAYMENT_ID, 6_480, 'rfd_evt_1', CAUSE, now)).toEqual({ ok: true, order: first.order, history: [] });
    expect(recordProviderRefunds(first.order, PAYMENT_ID, 6_480, 'rfd_evt_2', CAUSE, now)).toEqual({ ok: true, order: first.order, history: [] });
  });

  it('never records more than the payment', () => {
    const result = okOf(recordProviderRefunds(aPaidOrder(), PAYMENT_ID, 9_999, 'rfd_evt_1', CAUSE, now));
    expect(paymentOf(result.order).refundedAmount).toBe(6_480);
  });

  it('records nothing for a payment that brought no money in', () => {
    const order = anOrder({ payments: [aPayment({ status: 'pending' })] });
    expect(recordProviderRefunds(order, PAYMENT_ID, 1_000, 'rfd_evt_1', CAUSE, now)).toEqual({ ok: true, order, history: [] });
  });
});

// ---- a property: refunds never pass what was paid

type Op = { kind: 'reserve'; refund: number; amount?: number } | { kind: 'answer'; refund: number; status: 'succeeded' | 'pending' | 'failed' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('reserve' as const),
    refund: fc.integer({ min: 0, max: 5 }),
    amount: fc.option(fc.integer({ min: 1, max: 7_000 }), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('answer' as const),
    refund: fc.integer({ min: 0, max: 5 }),
    status: fc.constantFrom('succeeded' as const, 'pending' as const, 'failed' as const),
  }),
);

describe('refunds (property)', () => {
  it('keep Σ succeeded refunds, and those under way, within what was paid, whatever the interleaving', () => {
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 10_000 }), fc.array(opArbitrary, { maxLength: 40 }), (paidAmount, ops) => {
        let order = aPaidOrder({ totalAmount: paidAmount }, { amount: paidAmount });
        for (const op of ops) {
          const id = `rfd_${op.refund}`;
          if (op.kind === 'reserve') {
            const result = reserveRefund(order, PAYMENT_ID, { id, amount: op.amount }, now);
            if (result.ok) order = result.order;
            continue;
          }
          // The provider answers a reservation (reserved → any) or finishes a pending refund (pending → succeeded/failed).
          const refund = paymentOf(order).refunds.find((candidate) => candidate.id === id);
          if (!refund || (refund.status !== 'reserved' && refund.status !== 'pending')) continue;
          if (refund.status === 'pending' && op.status === 'pending') continue;
          const result = settleRefund(order, PAYMENT_ID, id, { status: op.status }, CAUSE, now);
          expect(result.ok).toBe(true);
          if (result.ok) order = result.order;
        }
        const payment = paymentOf(order);
        const sum = (statuses: string[]) =>
          payment.refunds.filter((refund) => statuses.includes(refund.status)).reduce((total, refund) => total + refund.amount, 0);
        expect(sum(['succeeded', 'pending'])).toBeLessThanOrEqual(paidAmount);
        expect(sum(['succeeded', 'pending', 'reserved'])).toBeLessThanOrEqual(paidAmount);
        expect(payment.refundedAmount).toBe(sum(['succeeded']));
        expect(refundable(payment)).toBe(paidAmount - sum(['succeeded', 'pending', 'reserved']));
        expect(new Set(payment.refunds.map((refund) => refund.id)).size).toBe(payment.refunds.length);
        expect(() => orderSchema.parse(order)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
