/**
 * The payment reconciliation: when a waiting payment is looked at (isCheckPoint), what asking
 * Stripe or BTCPay does to it (reconcilePayments over in-memory ports), the shared step that
 * applies a provider's word (applyProviderReport) and the domain operation under it
 * (recordProviderReport).
 */
import { describe, expect, it } from 'vitest';
import type { InvoiceView } from '../../../shared/platform/invoices';
import type { PaymentIntentView, PaymentResult } from '../../../shared/platform/payments';
import { applyProviderReport } from '../../../slices/orders/app/provider-reports';
import { waitingSince } from '../../../slices/orders/adapters/table-open-payments';
import {
  isCheckPoint,
  type OpenPayments,
  type ReconcileDeps,
  type ReconcilePolicy,
  reconcilePayments,
  type WaitingOrder,
} from '../../../slices/orders/app/reconcile-payments';
import type { Order, Payment } from '../../../slices/orders/domain/order';
import { type ProviderReport, recordProviderReport } from '../../../slices/orders/domain/payments';
import { anOrder, aPayment, currentOrder, currentPayment, fixedClock, INTENT_ID, NOW, ORDER_ID, orderStore, PAYMENT_ID } from '../../support/order-fixtures';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The defaults of PAYMENT_RECONCILE_*: every 5 minutes, first after 10, for 7 days. */
const POLICY: ReconcilePolicy = { everyMs: 5 * MINUTE, afterMs: 10 * MINUTE, horizonMs: 7 * DAY, limit: 500 };

/** An ISO time `ms` before NOW. */
const ago = (ms: number) => new Date(Date.parse(NOW) - ms).toISOString();

// ---- when

describe('isCheckPoint', () => {
  it.each([
    [0, false],
    [10 * MINUTE - 1, false],
    [10 * MINUTE, true],
    [15 * MINUTE - 1, true],
    [15 * MINUTE, false],
    [19 * MINUTE, false],
    [20 * MINUTE, true],
    [24 * MINUTE, true],
    [25 * MINUTE, false],
    [30 * MINUTE, false],
    [40 * MINUTE, true],
    [45 * MINUTE, false],
    [80 * MINUTE, true],
    [5_120 * MINUTE + 4 * MINUTE, true],
    [5_120 * MINUTE + 5 * MINUTE, false],
    [7 * DAY, false],
    [7 * DAY + 1, false],
    [30 * DAY, false],
    [-MINUTE, false],
  ])('a payment waiting %d ms: %s', (age, expected) => {
    expect(isCheckPoint(age, POLICY)).toBe(expected);
  });

  /** Runs the timer every `everyMs` from a change `offsetMs` before a run until past the horizon; the ages it checks at. */
  function simulate(policy: Pick<ReconcilePolicy, 'afterMs' | 'horizonMs' | 'everyMs'>, offsetMs: number): number[] {
    const checked: number[] = [];
    for (let age = offsetMs; age <= policy.horizonMs + 2 * policy.everyMs; age += policy.everyMs) if (isCheckPoint(age, policy)) checked.push(age);
    return checked;
  }

  it.each([0, 1, 2 * MINUTE + 30 * SECOND, 5 * MINUTE - 1])(
    'over 7 days a payment is checked once per check point (10 min, 20, 40, … 5 120 min): 10 times, whichever second it changed at (offset %d)',
    (offset) => {
      const checked = simulate(POLICY, offset);
      const points = [10, 20, 40, 80, 160, 320, 640, 1_280, 2_560, 5_120].map((minutes) => minutes * MINUTE);
      expect(checked).toHaveLength(points.length);
      // Each check is the first run at or after its point.
      checked.forEach((age, index) => {
        expect(age).toBeGreaterThanOrEqual(points[index] as number);
        expect(age).toBeLessThan((points[index] as number) + POLICY.everyMs);
      });
    },
  );

  it.each([
    [{ everyMs: 30 * SECOND, afterMs: 1 * SECOND, horizonMs: 7 * DAY }],
    [{ everyMs: MINUTE, afterMs: MINUTE, horizonMs: 30 * DAY }],
    [{ everyMs: HOUR, afterMs: 10 * MINUTE, horizonMs: 7 * DAY }],
    [{ everyMs: 5 * MINUTE, afterMs: 10 * MINUTE, horizonMs: 365 * DAY }],
  ])('checks O(log(horizon/after)) times, never more than the check points, for %j', (policy) => {
    const bound = Math.floor(Math.log2(policy.horizonMs / policy.afterMs)) + 1;
    for (const offset of [0, 7 * SECOND, policy.everyMs - 1]) {
      const checked = simulate(policy, offset);
      expect(checked.length).toBeGreaterThan(0);
      expect(checked.length).toBeLessThanOrEqual(bound);
    }
  });
});

// ---- what asking the providers does

/** OpenPayments over a fixed list of waiting orders, remembering what it was asked and how many were read. */
class ListedOpenPayments implements OpenPayments {
  readonly asked: Array<{ from: string; to: string }> = [];
  read = 0;
  constructor(readonly listed: WaitingOrder[]) {}
  async *waiting(range: { from: Date; to: Date }): AsyncIterable<WaitingOrder> {
    this.asked.push({ from: range.from.toISOString(), to: range.to.toISOString() });
    for (const order of this.listed) {
      this.read++;
      yield order;
    }
  }
}

/** A provider's answers by reference; every question is kept. `throws` makes a reference's look-up throw. */
class Answers<T> {
  readonly asked: string[] = [];
  readonly throws = new Set<string>();
  constructor(private readonly answers: Record<string, PaymentResult<T>> = {}) {}
  set(ref: string, answer: PaymentResult<T>): void {
    this.answers[ref] = answer;
  }
  async answer(ref: string): Promise<PaymentResult<T>> {
    this.asked.push(ref);
    if (this.throws.has(ref)) throw new Error(`socket hang up asking about ${ref}`);
    return this.answers[ref] ?? { ok: false, error: { code: 'invalid_request', message: `no such object ${ref}` } };
  }
}

const intent = (status: string, overrides: Partial<PaymentIntentView> = {}): PaymentResult<PaymentIntentView> => ({
  ok: true,
  value: { id: INTENT_ID, clientSecret: '', status, amount: 6_480, currency: 'eur', metadata: { orderId: ORDER_ID, paymentId: PAYMENT_ID }, ...overrides },
});

const invoice = (overrides: Partial<InvoiceView> = {}): PaymentResult<InvoiceView | undefined> => ({
  ok: true,
  value: {
    id: 'inv_1',
    storeId: 'store_1',
    status: 'Settled',
    additionalStatus: 'None',
    amount: 6_480,
    currency: 'EUR',
    checkoutLink: 'https://btcpay.test/i/inv_1',
    metadata: { orderId: ORDER_ID, paymentId: PAYMENT_ID },
    createdAt: ago(HOUR),
    expiresAt: ago(HOUR - 15 * MINUTE),
    ...overrides,
  },
});

const UNAVAILABLE = { ok: false as const, error: { code: 'unavailable' as const, message: 'Stripe could not be reached' } };

/** A pending Stripe payment that changed exactly 10 minutes ago: at its first check point. */
const waiting = (overrides: Partial<Payment> = {}) => aPayment({ status: 'pending', updatedAt: ago(10 * MINUTE), ...overrides });

function world(orders: Order[]) {
  const store = orderStore();
  for (const order of orders) store.seed(order);
  const intents = new Answers<PaymentIntentView>();
  const invoices = new Answers<InvoiceView | undefined>();
  const open = new ListedOpenPayments(orders.map((order) => ({ orderId: order.id, since: waitingSince(order) })));
  const warnings: Array<{ message: string; data?: Record<string, unknown> }> = [];
  const events: Array<{ name: string; properties?: Record<string, string> }> = [];
  const deps: ReconcileDeps = {
    orders: store,
    clock: fixedClock(),
    open,
    stripe: { retrievePaymentIntent: (id) => intents.answer(id) },
    invoices: { getInvoice: (id) => invoices.answer(id) },
    log: { info: () => {}, warn: (message, data) => void warnings.push({ message, data }), error: () => {} },
    telemetry: { event: (name, properties) => void events.push({ name, properties }) },
  };
  return { store, intents, invoices, open, warnings, events, deps };
}

describe('reconcilePayments', () => {
  it('asks for orders whose waiting payments changed between the horizon and the first check point', async () => {
    const { open, deps } = world([]);

    expect(await reconcilePayments(deps, { ...POLICY, limit: 7 })).toEqual({ checked: 0, applied: 0 });
    expect(open.asked).toEqual([{ from: ago(7 * DAY), to: ago(10 * MINUTE) }]);
  });

  it('a PaymentIntent that succeeded: the payment succeeds, the order is paid, the books follow (order.sync)', async () => {
    const { store, intents, events, deps } = world([anOrder({ payments: [waiting()] })]);
    intents.set(INTENT_ID, intent('succeeded'));

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 1, applied: 1 });

    expect(currentPayment(store)).toMatchObject({ status: 'succeeded', updatedAt: NOW });
    expect(currentOrder(store).status).toBe('paid');
    expect(store.jobs.map((job) => [job.queue, job.envelope.type, job.envelope.subject])).toEqual([['odoo-sync', 'order.sync', ORDER_ID]]);
    expect((await store.history(ORDER_ID)).map((row) => [row.machine, row.from, row.to, row.cause])).toEqual([
      ['payment', 'pending', 'succeeded', 'system:payment-reconciliation'],
      ['order', 'pending', 'paid', 'system:payment-reconciliation'],
    ]);
    expect(events).toEqual([{ name: 'PaymentReconciled', properties: { orderId: ORDER_ID, paymentId: PAYMENT_ID, provider: 'stripe' } }]);
  });

  it('a PaymentIntent processing: the payment is processing, the order still waits, no books', async () => {
    const { store, intents, deps } = world([anOrder({ payments: [waiting()] })]);
    intents.set(INTENT_ID, intent('processing'));

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 1, applied: 1 });
    expect(currentPayment(store).status).toBe('processing');
    expect(currentOrder(store).status).toBe('pending');
    expect(store.jobs).toEqual([]);
  });

  it('requires_payment_method after processing: the payment failed; while pending it is just a customer who has not paid yet', async () => {
    const processing = world([anOrder({ payments: [waiting({ status: 'processing' })] })]);
    processing.intents.set(INTENT_ID, intent('requires_payment_method'));
    expect(await reconcilePayments(processing.deps, POLICY)).toEqual({ checked: 1, applied: 1 });
    expect(currentPayment(processing.store)).toMatchObject({ status: 'failed', failureReason: 'the payment did not go through' });

    const pending = world([anOrder({ payments: [waiting()] })]);
    pending.intents.set(INTENT_ID, intent('requires_payment_method'));
    expect(await reconcilePayments(pending.deps, POLICY)).toEqual({ checked: 1, applied: 0 });
    expect(pending.store.changes).toEqual([]);
  });

  it('a canceled PaymentIntent cancels the payment', async () => {
    const { store, intents, deps } = world([anOrder({ payments: [waiting()] })]);
    intents.set(INTENT_ID, intent('canceled'));

    await reconcilePayments(deps, POLICY);
    expect(currentPayment(store).status).toBe('canceled');
  });

  it.each([
    ['amount', { amount: 6_479 }],
    ['currency', { currency: 'usd' }],
  ])('a PaymentIntent with another %s changes nothing', async (_what, overrides) => {
    const { store, intents, events, deps } = world([anOrder({ payments: [waiting()] })]);
    intents.set(INTENT_ID, intent('succeeded', overrides));

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 1, applied: 0 });
    expect(store.changes).toEqual([]);
    expect(events).toEqual([]);
  });

  it('a provider that cannot be reached changes nothing, and the next payments are still checked', async () => {
    const first = anOrder({ id: 'ord_a', payments: [waiting({ providerRef: 'pi_a' })] });
    const second = anOrder({ id: 'ord_b', payments: [waiting({ providerRef: 'pi_b' })] });
    const third = anOrder({ id: 'ord_c', payments: [waiting({ providerRef: 'pi_c' })] });
    const { store, intents, warnings, deps } = world([first, second, third]);
    intents.set('pi_a', UNAVAILABLE);
    intents.throws.add('pi_b');
    intents.set('pi_c', intent('succeeded', { id: 'pi_c' }));

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 3, applied: 1 });

    expect(intents.asked).toEqual(['pi_a', 'pi_b', 'pi_c']);
    expect(currentPayment(store, PAYMENT_ID, 'ord_a').status).toBe('pending');
    expect(currentPayment(store, PAYMENT_ID, 'ord_b').status).toBe('pending');
    expect(currentPayment(store, PAYMENT_ID, 'ord_c').status).toBe('succeeded');
    expect(warnings.map((warning) => [warning.message, warning.data?.orderId])).toEqual([
      ['payment reconciliation: provider unavailable', 'ord_a'],
      ['payment reconciliation failed', 'ord_b'],
    ]);
  });

  it('asks nothing about a payment that is not at a check point, settled, or unknown to its provider', async () => {
    const { intents, deps } = world([
      anOrder({
        payments: [
          waiting({ id: 'pay_young', providerRef: 'pi_young', updatedAt: ago(5 * MINUTE) }),
          waiting({ id: 'pay_between', providerRef: 'pi_between', updatedAt: ago(15 * MINUTE) }),
          waiting({ id: 'pay_beyond', providerRef: 'pi_beyond', updatedAt: ago(8 * DAY) }),
          waiting({ id: 'pay_done', providerRef: 'pi_done', status: 'succeeded' }),
          waiting({ id: 'pay_failed', providerRef: 'pi_failed', status: 'failed' }),
          waiting({ id: 'pay_no_ref', providerRef: undefined }),
          waiting({ id: 'pay_due', providerRef: 'pi_due', updatedAt: ago(20 * MINUTE) }),
        ],
      }),
    ]);

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 1, applied: 0 });
    expect(intents.asked).toEqual(['pi_due']);
  });

  it('a settled BTCPay invoice: the payment succeeds with BTCPay’s words, the order is paid', async () => {
    const { store, intents, invoices, deps } = world([anOrder({ payments: [waiting({ provider: 'btcpay', providerRef: 'inv_1' })] })]);
    invoices.set('inv_1', invoice());

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 1, applied: 1 });
    expect(currentPayment(store)).toMatchObject({ status: 'succeeded', providerStatus: 'Settled' });
    expect(currentOrder(store).status).toBe('paid');
    expect(store.jobs.map((job) => job.envelope.type)).toEqual(['order.sync']);
    expect(intents.asked).toEqual([]);
  });

  it('a BTCPay invoice of another amount, one BTCPay does not have, or BTCPay down: nothing changes', async () => {
    const orders = ['inv_other', 'inv_gone', 'inv_down'].map((ref) =>
      anOrder({ id: `ord_${ref}`, payments: [waiting({ provider: 'btcpay', providerRef: ref })] }),
    );
    const { store, invoices, warnings, deps } = world(orders);
    invoices.set('inv_other', invoice({ id: 'inv_other', amount: 100, metadata: { orderId: 'ord_inv_other', paymentId: PAYMENT_ID } }));
    invoices.set('inv_gone', { ok: true, value: undefined });
    invoices.set('inv_down', { ok: false, error: { code: 'unavailable', message: 'BTCPay did not answer in time' } });

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 3, applied: 0 });
    expect(store.changes).toEqual([]);
    expect(warnings.map((warning) => warning.data?.orderId)).toEqual(['ord_inv_down']);
  });

  it('leaves a provider that is not configured alone', async () => {
    const { store, deps } = world([
      anOrder({ id: 'ord_s', payments: [waiting()] }),
      anOrder({ id: 'ord_b', payments: [waiting({ provider: 'btcpay', providerRef: 'inv_1' })] }),
    ]);
    const { stripe: _stripe, invoices: _invoices, ...without } = deps;

    expect(await reconcilePayments(without, POLICY)).toEqual({ checked: 2, applied: 0 });
    expect(store.changes).toEqual([]);
  });

  it('counts only orders at a check point against the limit, so waiting orders listed first cannot crowd out the rest', async () => {
    // 25 minutes: between the check points at 20 and 40 minutes (every 5 minutes), so not due in this run.
    const notDue = Array.from({ length: 3 }, (_, index) =>
      anOrder({ id: `ord_quiet_${index}`, payments: [waiting({ id: `pay_quiet_${index}`, providerRef: `pi_quiet_${index}`, updatedAt: ago(25 * MINUTE) })] }),
    );
    const due = ['a', 'b', 'c'].map((name) => anOrder({ id: `ord_due_${name}`, payments: [waiting({ id: `pay_${name}`, providerRef: `pi_${name}` })] }));
    const { intents, open, deps } = world([...notDue, ...due]);
    for (const name of ['a', 'b', 'c']) intents.set(`pi_${name}`, intent('requires_payment_method'));

    expect(await reconcilePayments(deps, { ...POLICY, limit: 2 })).toEqual({ checked: 2, applied: 0 });
    expect(intents.asked).toEqual(['pi_a', 'pi_b']);
    // It stopped reading once the limit was reached.
    expect(open.read).toBe(6);
  });

  it('asks about a failed BTCPay payment the provider holds money for (paid late): accepted there, it succeeds', async () => {
    const late = waiting({
      provider: 'btcpay',
      providerRef: 'inv_1',
      status: 'failed',
      failureReason: 'paid after the invoice expired',
      providerStatus: 'Expired/PaidLate',
    });
    const { store, invoices, deps } = world([anOrder({ payments: [late] })]);
    invoices.set('inv_1', invoice({ status: 'Settled', additionalStatus: 'Marked' }));

    expect(await reconcilePayments(deps, POLICY)).toEqual({ checked: 1, applied: 1 });
    expect(currentPayment(store).status).toBe('succeeded');
  });

  it('skips an order that is gone by the time it is read', async () => {
    const { deps } = world([]);
    const open = new ListedOpenPayments([{ orderId: 'ord_deleted', since: [ago(10 * MINUTE)] }]);

    expect(await reconcilePayments({ ...deps, open }, POLICY)).toEqual({ checked: 0, applied: 0 });
  });
});

// ---- applying a provider's word

describe('applyProviderReport', () => {
  const target = { orderId: ORDER_ID, paymentId: PAYMENT_ID, provider: 'stripe' as const, providerRef: INTENT_ID };
  const settled: ProviderReport = { to: 'succeeded', providerStatus: 'succeeded' };

  function seeded(payment: Partial<Payment> = {}) {
    const orders = orderStore();
    orders.seed(anOrder({ payments: [aPayment({ status: 'pending', ...payment })] }));
    return { orders, clock: fixedClock() };
  }

  it('applies a report with an event id once: the repeat is a duplicate and writes nothing', async () => {
    const deps = seeded();

    expect(await applyProviderReport(deps, target, settled, { cause: 'stripe:evt_1', eventId: 'stripe:evt_1' })).toBe('applied');
    expect(await applyProviderReport(deps, target, { to: 'failed' }, { cause: 'stripe:evt_1', eventId: 'stripe:evt_1' })).toBe('duplicate');

    expect(deps.orders.changes).toHaveLength(1);
    expect(deps.orders.changes[0]?.eventId).toBe('stripe:evt_1');
    expect(currentPayment(deps.orders).status).toBe('succeeded');
  });

  it('a repeat without an event id changes nothing', async () => {
    const deps = seeded();

    expect(await applyProviderReport(deps, target, settled, { cause: 'system:payment-reconciliation' })).toBe('applied');
    expect(await applyProviderReport(deps, target, settled, { cause: 'system:payment-reconciliation' })).toBe('unchanged');
    expect(deps.orders.changes).toHaveLength(1);
  });

  it('keeps the provider’s reference a webhook brings before the request that opened the payment saved it', async () => {
    const deps = seeded({ providerRef: undefined });

    expect(await applyProviderReport(deps, target, { to: 'processing' }, { cause: 'stripe:evt_2' })).toBe('applied');
    expect(currentPayment(deps.orders)).toMatchObject({ providerRef: INTENT_ID, status: 'processing' });
  });

  it('ignores a report about another provider’s or another reference’s payment, a payment or order it does not know', async () => {
    const deps = seeded();
    const cause = { cause: 'stripe:evt_3' as const };

    expect(await applyProviderReport(deps, { ...target, provider: 'btcpay' }, settled, cause)).toBe('ignored');
    expect(await applyProviderReport(deps, { ...target, providerRef: 'pi_other' }, settled, cause)).toBe('ignored');
    expect(await applyProviderReport(deps, { ...target, paymentId: 'pay_other' }, settled, cause)).toBe('ignored');
    expect(await applyProviderReport(deps, { ...target, orderId: 'ord_other' }, settled, cause)).toBe('ignored');
    expect(await applyProviderReport(deps, target, settled, { ...cause, matches: () => false })).toBe('mismatch');
    expect(deps.orders.changes).toEqual([]);
  });
});

// ---- the domain operation

describe('recordProviderReport', () => {
  const at = new Date(NOW);
  const order = (payment: Partial<Payment> = {}, overrides: Partial<Order> = {}) =>
    anOrder({ payments: [aPayment({ provider: 'btcpay', providerRef: 'inv_1', status: 'pending', version: 3, ...payment })], ...overrides });
  const paymentOf = (result: ReturnType<typeof recordProviderReport>) => (result.ok ? result.order.payments[0] : undefined);

  it('moves the status and notes the words in one version step, with one history row', () => {
    const result = recordProviderReport(order(), PAYMENT_ID, { to: 'processing', providerStatus: 'Processing' }, 'btcpay:dlv_1', at);

    expect(paymentOf(result)).toMatchObject({ status: 'processing', providerStatus: 'Processing', version: 4, updatedAt: NOW });
    expect(result.ok && result.history).toEqual([
      { machine: 'payment', subject: PAYMENT_ID, from: 'pending', to: 'processing', at: NOW, cause: 'btcpay:dlv_1' },
    ]);
  });

  it('notes new words alone in one version step, without a history row', () => {
    const result = recordProviderReport(order(), PAYMENT_ID, { providerStatus: 'New/PaidPartial' }, 'btcpay:dlv_1', at);

    expect(paymentOf(result)).toMatchObject({ status: 'pending', providerStatus: 'New/PaidPartial', version: 4 });
    expect(result.ok && result.history).toEqual([]);
  });

  it('a report that says nothing new returns the same order', () => {
    const before = order({ status: 'processing', providerStatus: 'Processing' });
    const result = recordProviderReport(before, PAYMENT_ID, { to: 'processing', providerStatus: 'Processing' }, 'btcpay:dlv_2', at);

    expect(result).toEqual({ ok: true, order: before, history: [] });
    expect(result.ok && result.order).toBe(before);
  });

  it('asks for a person when the words change to ones that need one', () => {
    const attention = 'BTCPay invoice inv_1 expired after a partial payment: refund what came in';
    const report: ProviderReport = {
      to: 'failed',
      failureReason: 'the invoice expired after a partial payment',
      providerStatus: 'Expired/PaidPartial',
      attention,
    };

    const result = recordProviderReport(order({ providerStatus: 'New/PaidPartial' }), PAYMENT_ID, report, 'btcpay:dlv_3', at);

    expect(result.ok && result.order.attention).toEqual({ reason: attention, since: NOW });
    expect(paymentOf(result)).toMatchObject({ status: 'failed', version: 4 });
  });

  it('a repeat does not raise again what a person resolved, and an open attention keeps its reason', () => {
    const report: ProviderReport = { to: 'failed', providerStatus: 'Expired/PaidLate', attention: 'BTCPay invoice inv_1 was paid after it expired' };
    // A person resolved it: the words are noted, the attention gone.
    const resolved = order({ status: 'failed', failureReason: 'paid after the invoice expired', providerStatus: 'Expired/PaidLate' });

    const repeated = recordProviderReport(resolved, PAYMENT_ID, report, 'btcpay:dlv_4', at);
    expect(repeated.ok && repeated.order).toBe(resolved);
    expect(repeated.ok && repeated.order.attention).toBeUndefined();

    const earlier = { reason: 'payment pay_0 succeeded after the order was cancelled', since: '2026-11-23T08:00:00.000Z' };
    const flagged = recordProviderReport(order({}, { attention: earlier }), PAYMENT_ID, report, 'btcpay:dlv_5', at);
    expect(flagged.ok && flagged.order.attention).toEqual(earlier);
  });

  it('a settled payment keeps its status when a late report says otherwise, but notes the words', () => {
    const result = recordProviderReport(
      order({ status: 'succeeded', providerStatus: 'Settled' }),
      PAYMENT_ID,
      { to: 'failed', providerStatus: 'Invalid/Marked' },
      'btcpay:dlv_6',
      at,
    );

    expect(paymentOf(result)).toMatchObject({ status: 'succeeded', providerStatus: 'Invalid/Marked', version: 4 });
    expect(result.ok && result.history).toEqual([]);
  });

  it('refuses a payment it does not know', () => {
    expect(recordProviderReport(order(), 'pay_unknown', { providerStatus: 'New' }, 'btcpay:dlv_7', at)).toEqual({
      ok: false,
      error: { code: 'PAYMENT_NOT_FOUND' },
    });
  });
});
