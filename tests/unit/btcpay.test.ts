/**
 * BTCPay without a server: the amount conversion of the Greenfield adapter (toMinor/fromMinor),
 * what an invoice's status means for its payment (invoiceReport), and the PaymentProvider over the
 * invoice port (btcpayProvider) against a hand-written in-memory InvoiceGateway.
 */
import { describe, expect, it } from 'vitest';
import { fromMinor, toMinor } from '../../shared/adapters/btcpay/greenfield';
import type { CurrencyCode } from '../../shared/kernel/currency';
import type { InvoiceAdditionalStatus, InvoiceGateway, InvoiceRefund, InvoiceStatus, InvoiceView, InvoiceWebhook } from '../../shared/platform/invoices';
import type { PaymentFailure, PaymentResult } from '../../shared/platform/payments';
import { btcpayProvider } from '../../slices/orders/app/btcpay-provider';
import { handleBtcpayWebhook, invoiceReport, invoiceWords } from '../../slices/orders/app/handle-btcpay-event';
import { anOrder, aPayment, currentOrder, currentPayment, fixedClock, ORDER_ID, orderStore, PAYMENT_ID } from '../support/order-fixtures';

// ---- an in-memory invoice server with the port's rules

type Operation = Exclude<keyof InvoiceGateway, 'verifyWebhook'>;

interface PullPayment {
  id: string;
  invoiceId: string;
  name: string;
  description: string;
  amount: number;
  currency: string;
}

/**
 * An InvoiceGateway in memory: invoices keep their metadata and are listed by `orderId` newest
 * first, a refund of a name made before returns the first pull payment, only a New (or Expired)
 * invoice can be invalidated. `failNext` makes the next calls of one operation fail (nothing runs);
 * `calls` lists every call, failed ones included.
 */
class MemoryInvoices implements InvoiceGateway {
  readonly invoices: InvoiceView[] = [];
  readonly pullPayments: PullPayment[] = [];
  readonly calls: Operation[] = [];
  private readonly failures = new Map<Operation, PaymentFailure[]>();
  private sequence = 0;

  failNext(operation: Operation, ...failures: PaymentFailure[]): void {
    this.failures.set(operation, [...(this.failures.get(operation) ?? []), ...failures]);
  }

  /** Puts an invoice as if made earlier (by another request, or by hand in BTCPay). */
  seed(overrides: Partial<InvoiceView> = {}): InvoiceView {
    const id = overrides.id ?? this.nextId('inv');
    const invoice: InvoiceView = {
      id,
      storeId: 'store_1',
      status: 'New',
      additionalStatus: 'None',
      amount: 6_480,
      currency: 'EUR',
      checkoutLink: `https://btcpay.test/i/${id}`,
      metadata: { orderId: ORDER_ID, paymentId: PAYMENT_ID },
      createdAt: '2026-11-24T07:00:00.000Z',
      expiresAt: '2026-11-24T07:15:00.000Z',
      ...overrides,
    };
    this.invoices.unshift(invoice);
    return invoice;
  }

  /** How often an operation was called. */
  count(operation: Operation): number {
    return this.calls.filter((call) => call === operation).length;
  }

  async createInvoice(input: Parameters<InvoiceGateway['createInvoice']>[0]): Promise<PaymentResult<InvoiceView>> {
    return this.run('createInvoice', () =>
      this.seed({ amount: input.amount, currency: input.currency, metadata: { orderId: input.orderId, paymentId: input.paymentId } }),
    );
  }

  async getInvoice(invoiceId: string): Promise<PaymentResult<InvoiceView | undefined>> {
    return this.run('getInvoice', () => this.invoices.find((invoice) => invoice.id === invoiceId));
  }

  async findInvoices(orderId: string): Promise<PaymentResult<InvoiceView[]>> {
    return this.run('findInvoices', () => this.invoices.filter((invoice) => invoice.metadata.orderId === orderId));
  }

  async refundInvoice(input: Parameters<InvoiceGateway['refundInvoice']>[0]): Promise<PaymentResult<InvoiceRefund>> {
    return this.run('refundInvoice', () => {
      const link = (pullPayment: PullPayment) => ({ id: pullPayment.id, link: `https://btcpay.test/pull-payments/${pullPayment.id}` });
      const earlier = this.pullPayments.find((pullPayment) => pullPayment.name === input.name);
      if (earlier) return link(earlier);
      const made: PullPayment = { id: this.nextId('pp'), ...input };
      this.pullPayments.push(made);
      return link(made);
    });
  }

  async invalidate(invoiceId: string): Promise<PaymentResult<void>> {
    const failed = this.failed('invalidate');
    if (failed) return failed;
    const invoice = this.invoices.find((candidate) => candidate.id === invoiceId);
    if (!invoice) return { ok: false, error: { code: 'invalid_request', message: 'BTCPay answered 404: The invoice was not found' } };
    if (invoice.status !== 'New' && invoice.status !== 'Expired') {
      return {
        ok: false,
        error: { code: 'invalid_request', message: 'BTCPay answered 422: Status can only be marked to invalid or settled within certain conditions.' },
      };
    }
    invoice.status = 'Invalid';
    invoice.additionalStatus = 'Marked';
    return { ok: true, value: undefined };
  }

  verifyWebhook(): InvoiceWebhook | undefined {
    return undefined;
  }

  private nextId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}_${this.sequence}`;
  }

  private failed(operation: Operation): { ok: false; error: PaymentFailure } | undefined {
    this.calls.push(operation);
    const failure = this.failures.get(operation)?.shift();
    return failure ? { ok: false, error: failure } : undefined;
  }

  private async run<T>(operation: Operation, execute: () => T): Promise<PaymentResult<T>> {
    return this.failed(operation) ?? { ok: true, value: execute() };
  }
}

const UNAVAILABLE: PaymentFailure = { code: 'unavailable', message: 'BTCPay could not be reached' };
const REFUSED: PaymentFailure = { code: 'invalid_request', message: 'BTCPay answered 422: Amount: The amount should be 0 or more.' };

const aPaymentToOpen = (overrides: Partial<{ id: string; orderId: string; amount: number; currency: string; description: string }> = {}) => ({
  id: PAYMENT_ID,
  orderId: ORDER_ID,
  amount: 6_480,
  currency: 'EUR',
  description: 'Order POS-1001',
  ...overrides,
});

const aRefundRequest = (providerRef: string, overrides: Partial<{ refundId: string; amount: number }> = {}) => ({
  orderId: ORDER_ID,
  paymentId: PAYMENT_ID,
  refundId: 'rfd_1',
  providerRef,
  amount: 1_000,
  ...overrides,
});

// ---- amounts

describe('toMinor', () => {
  it.each([
    ['12.50', 'EUR', 1_250],
    ['12.5', 'EUR', 1_250],
    ['12', 'EUR', 1_200],
    ['0.05', 'EUR', 5],
    ['0', 'EUR', 0],
    ['12.500000', 'EUR', 1_250],
    [' 64.80 ', 'EUR', 6_480],
    ['999999999999.99', 'USD', 99_999_999_999_999],
    ['12.50', 'eur', 1_250],
    ['1500', 'JPY', 1_500],
    ['1500.0', 'JPY', 1_500],
    ['1.05', 'KWD', 1_050],
    ['1.055', 'KWD', 1_055],
    ['0.001', 'KWD', 1],
    // ISK: BTCPay prices it without decimals, Stripe's minor unit has two.
    ['500', 'ISK', 50_000],
  ])('%s %s is %d minor units, exactly', (text, currency, minor) => {
    expect(toMinor(text, currency)).toBe(minor);
  });

  it.each([
    ['12.505', 'EUR'],
    ['0.001', 'EUR'],
    ['1500.5', 'JPY'],
    ['1.0551', 'KWD'],
  ])('%s %s has finer digits than the currency: undefined, never rounded', (text, currency) => {
    expect(toMinor(text, currency)).toBeUndefined();
  });

  it.each([
    ['12.50', 'BTC'],
    ['12.50', 'SATS'],
    ['12.50', 'XYZ'],
    ['12.50', ''],
  ])('%s in %s, a currency orders are not priced in: undefined', (text, currency) => {
    expect(toMinor(text, currency)).toBeUndefined();
  });

  it.each(['-1.00', '1e3', '12,50', '', '.5', '1.', 'NaN', '1234567890123.00'])('%j is not an amount: undefined', (text) => {
    expect(toMinor(text, 'EUR')).toBeUndefined();
  });
});

describe('fromMinor', () => {
  it.each([
    [1_250, 'EUR', '12.50'],
    [6_480, 'EUR', '64.80'],
    [5, 'EUR', '0.05'],
    [0, 'EUR', '0.00'],
    [99_999_999, 'USD', '999999.99'],
    [1_500, 'JPY', '1500'],
    [0, 'JPY', '0'],
    [1_050, 'KWD', '1.050'],
    [10, 'KWD', '0.010'],
    [50_000, 'ISK', '500.00'],
  ] as Array<[number, CurrencyCode, string]>)('%d %s is %s', (minor, currency, text) => {
    expect(fromMinor(minor, currency)).toBe(text);
  });

  it('round-trips every amount of a range without floating point drift', () => {
    for (const currency of ['EUR', 'JPY', 'KWD'] as const) {
      for (let minor = 0; minor <= 2_000; minor += 7) expect(toMinor(fromMinor(minor, currency), currency)).toBe(minor);
      // 0.1 + 0.2 territory: amounts a float would print with a tail.
      for (const minor of [10, 20, 30, 110, 330, 1_015, 99_999_999]) expect(toMinor(fromMinor(minor, currency), currency)).toBe(minor);
    }
  });
});

// ---- what an invoice means for its payment

describe('invoiceReport', () => {
  const report = (status: InvoiceStatus, additionalStatus: InvoiceAdditionalStatus = 'None') => invoiceReport({ id: 'inv_1', status, additionalStatus });

  it.each([
    // A fresh invoice changes nothing on the pending payment (no version, no callback).
    ['New', 'None', {}],
    ['New', 'PaidPartial', { providerStatus: 'New/PaidPartial' }],
    ['Processing', 'None', { to: 'processing', providerStatus: 'Processing' }],
    ['Processing', 'PaidOver', { to: 'processing', providerStatus: 'Processing/PaidOver' }],
    ['Settled', 'None', { to: 'succeeded', providerStatus: 'Settled' }],
    ['Settled', 'Marked', { to: 'succeeded', providerStatus: 'Settled/Marked' }],
    ['Expired', 'None', { to: 'failed', failureReason: 'the invoice expired unpaid', providerStatus: 'Expired' }],
    ['Invalid', 'None', { to: 'failed', failureReason: 'the payment was not confirmed in time', providerStatus: 'Invalid' }],
    ['Invalid', 'Invalid', { to: 'failed', failureReason: 'the payment was not confirmed in time', providerStatus: 'Invalid/Invalid' }],
    ['Invalid', 'Marked', { to: 'failed', failureReason: 'the invoice was marked invalid in BTCPay', providerStatus: 'Invalid/Marked' }],
  ] as Array<[InvoiceStatus, InvoiceAdditionalStatus, object]>)('%s/%s: %j, nobody needs to look', (status, additionalStatus, expected) => {
    expect(report(status, additionalStatus)).toEqual(expected);
  });

  it('Settled/PaidOver: succeeded, and a person refunds the difference', () => {
    expect(report('Settled', 'PaidOver')).toEqual({
      to: 'succeeded',
      providerStatus: 'Settled/PaidOver',
      attention: 'BTCPay invoice inv_1 was overpaid: refund the difference to the customer',
    });
  });

  it('Expired/PaidPartial: failed, and a person refunds what came in', () => {
    expect(report('Expired', 'PaidPartial')).toEqual({
      to: 'failed',
      failureReason: 'the invoice expired after a partial payment',
      providerStatus: 'Expired/PaidPartial',
      attention: 'BTCPay invoice inv_1 expired after a partial payment: refund what came in',
    });
  });

  it.each(['PaidLate', 'PaidOver'] as const)('Expired/%s: failed (not cancelled), and a person accepts or refunds the late money', (additionalStatus) => {
    expect(report('Expired', additionalStatus)).toEqual({
      to: 'failed',
      failureReason: 'paid after the invoice expired',
      providerStatus: `Expired/${additionalStatus}`,
      attention: 'BTCPay invoice inv_1 was paid after it expired: mark it Settled in BTCPay to accept the payment, or refund it',
    });
  });

  it('never cancels a payment: an invoice BTCPay gave up on can still be settled by hand', () => {
    const statuses = ['New', 'Processing', 'Settled', 'Expired', 'Invalid'] as const;
    const extras = ['None', 'PaidLate', 'PaidPartial', 'Marked', 'Invalid', 'PaidOver'] as const;
    for (const status of statuses) for (const extra of extras) expect(report(status, extra).to).not.toBe('canceled');
  });

  it('words the status as BTCPay does: Status, or Status/AdditionalStatus', () => {
    expect(invoiceWords({ status: 'Settled', additionalStatus: 'None' })).toBe('Settled');
    expect(invoiceWords({ status: 'Expired', additionalStatus: 'PaidLate' })).toBe('Expired/PaidLate');
  });
});

// ---- the provider over the port

describe('btcpayProvider', () => {
  it('opens a payment as an invoice in minor units with our ids in its metadata, and hands out the checkout link', async () => {
    const invoices = new MemoryInvoices();

    const opened = await btcpayProvider(invoices).open(aPaymentToOpen({ currency: 'JPY', amount: 1_500 }));

    expect(opened).toEqual({ ok: true, value: { providerRef: 'inv_1', checkoutLink: 'https://btcpay.test/i/inv_1' } });
    expect(invoices.invoices).toHaveLength(1);
    expect(invoices.invoices[0]).toMatchObject({ amount: 1_500, currency: 'JPY', metadata: { orderId: ORDER_ID, paymentId: PAYMENT_ID } });
    expect(invoices.calls).toEqual(['findInvoices', 'createInvoice']);
  });

  it('a retried open finds the invoice the first attempt made (its answer was lost) instead of making a second', async () => {
    const invoices = new MemoryInvoices();
    const provider = btcpayProvider(invoices);
    const first = await provider.open(aPaymentToOpen());

    const retried = await provider.open(aPaymentToOpen());

    expect(retried).toEqual(first);
    expect(invoices.count('createInvoice')).toBe(1);
    expect(invoices.invoices).toHaveLength(1);
  });

  it('finds an earlier invoice of the same payment among the order’s invoices, never another payment’s', async () => {
    const invoices = new MemoryInvoices();
    invoices.seed({ id: 'inv_other', metadata: { orderId: ORDER_ID, paymentId: 'pay_other' } });
    const mine = invoices.seed({ id: 'inv_mine', checkoutLink: 'https://btcpay.test/i/inv_mine' });
    invoices.seed({ id: 'inv_elsewhere', metadata: { orderId: 'ord_2', paymentId: PAYMENT_ID } });
    const provider = btcpayProvider(invoices);

    expect(await provider.open(aPaymentToOpen())).toEqual({ ok: true, value: { providerRef: mine.id, checkoutLink: mine.checkoutLink } });
    expect(invoices.count('createInvoice')).toBe(0);

    const second = await provider.open(aPaymentToOpen({ id: 'pay_2' }));
    expect(second.ok && second.value.providerRef).not.toMatch(/^inv_(other|mine|elsewhere)$/);
    expect(invoices.count('createInvoice')).toBe(1);
  });

  it('makes no invoice when the look-up fails (it could not tell whether one exists), and passes the failure on', async () => {
    const invoices = new MemoryInvoices();
    invoices.failNext('findInvoices', UNAVAILABLE);

    expect(await btcpayProvider(invoices).open(aPaymentToOpen())).toEqual({ ok: false, error: UNAVAILABLE });
    expect(invoices.count('createInvoice')).toBe(0);
  });

  it('passes a refused or failed invoice creation on', async () => {
    const invoices = new MemoryInvoices();
    invoices.failNext('createInvoice', REFUSED, UNAVAILABLE);
    const provider = btcpayProvider(invoices);

    expect(await provider.open(aPaymentToOpen())).toEqual({ ok: false, error: REFUSED });
    expect(await provider.open(aPaymentToOpen())).toEqual({ ok: false, error: UNAVAILABLE });
    expect(invoices.invoices).toEqual([]);
  });

  it('reopens a payment with its invoice’s checkout link; an invoice BTCPay does not have is refused', async () => {
    const invoices = new MemoryInvoices();
    const invoice = invoices.seed({ checkoutLink: 'https://btcpay.test/i/seeded' });
    const provider = btcpayProvider(invoices);

    expect(await provider.reopen(invoice.id)).toEqual({ ok: true, value: { providerRef: invoice.id, checkoutLink: 'https://btcpay.test/i/seeded' } });
    const missing = await provider.reopen('inv_gone');
    expect(missing).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(!missing.ok && missing.error.message).toContain('inv_gone');
    invoices.failNext('getInvoice', UNAVAILABLE);
    expect(await provider.reopen(invoice.id)).toEqual({ ok: false, error: UNAVAILABLE });
  });

  it('refunds as a pull payment named after our refund, in the invoice’s currency: pending until claimed, with the claim link', async () => {
    const invoices = new MemoryInvoices();
    const invoice = invoices.seed({ status: 'Settled', currency: 'KWD', amount: 20_000 });

    const refunded = await btcpayProvider(invoices).refund(aRefundRequest(invoice.id, { amount: 5_050 }));

    expect(refunded).toEqual({ ok: true, value: { providerRef: 'pp_2', status: 'pending', claimLink: 'https://btcpay.test/pull-payments/pp_2' } });
    expect(invoices.pullPayments).toEqual([
      { id: 'pp_2', invoiceId: invoice.id, name: 'Refund rfd_1', description: `Order ${ORDER_ID}, payment ${PAYMENT_ID}`, amount: 5_050, currency: 'KWD' },
    ]);
  });

  it('a retried refund returns the pull payment the first made: one pull payment per refund id', async () => {
    const invoices = new MemoryInvoices();
    const invoice = invoices.seed({ status: 'Settled' });
    const provider = btcpayProvider(invoices);

    const first = await provider.refund(aRefundRequest(invoice.id));
    const retried = await provider.refund(aRefundRequest(invoice.id));
    const another = await provider.refund(aRefundRequest(invoice.id, { refundId: 'rfd_2' }));

    expect(retried).toEqual(first);
    expect(another.ok && first.ok && another.value.providerRef).not.toBe(first.ok && first.value.providerRef);
    expect(invoices.pullPayments.map((pullPayment) => pullPayment.name)).toEqual(['Refund rfd_1', 'Refund rfd_2']);
  });

  it('refuses to refund an invoice BTCPay does not have, and passes failures of the read and the refund on', async () => {
    const invoices = new MemoryInvoices();
    const invoice = invoices.seed({ status: 'Settled' });
    const provider = btcpayProvider(invoices);

    expect(await provider.refund(aRefundRequest('inv_gone'))).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(invoices.count('refundInvoice')).toBe(0);

    invoices.failNext('getInvoice', UNAVAILABLE);
    expect(await provider.refund(aRefundRequest(invoice.id))).toEqual({ ok: false, error: UNAVAILABLE });
    expect(invoices.count('refundInvoice')).toBe(0);

    invoices.failNext('refundInvoice', REFUSED);
    expect(await provider.refund(aRefundRequest(invoice.id))).toEqual({ ok: false, error: REFUSED });
    expect(invoices.pullPayments).toEqual([]);
  });

  it('cancels by invalidating the invoice, so it can no longer be paid; BTCPay’s refusal is passed on', async () => {
    const invoices = new MemoryInvoices();
    const open = invoices.seed();
    const settled = invoices.seed({ status: 'Settled' });
    const provider = btcpayProvider(invoices);

    expect(await provider.cancel({ paymentId: PAYMENT_ID, providerRef: open.id })).toEqual({ ok: true, value: undefined });
    expect(open.status).toBe('Invalid');
    expect(await provider.cancel({ paymentId: PAYMENT_ID, providerRef: settled.id })).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(settled.status).toBe('Settled');
    invoices.failNext('invalidate', UNAVAILABLE);
    expect(await provider.cancel({ paymentId: PAYMENT_ID, providerRef: open.id })).toEqual({ ok: false, error: UNAVAILABLE });
  });
});

// ---- a webhook is a trigger to read the invoice back

describe('handleBtcpayWebhook', () => {
  const webhook = (overrides: Partial<InvoiceWebhook> = {}): InvoiceWebhook => ({
    deliveryId: 'dlv_2',
    eventKey: 'dlv_1',
    type: 'InvoiceSettled',
    invoiceId: 'inv_1',
    ...overrides,
  });

  function world() {
    const orders = orderStore();
    orders.seed(anOrder({ payments: [aPayment({ provider: 'btcpay', status: 'pending', providerRef: 'inv_1' })] }));
    const invoices = new MemoryInvoices();
    invoices.seed({ id: 'inv_1', status: 'Settled' });
    const telemetry: string[] = [];
    return { orders, invoices, telemetry, deps: { orders, clock: fixedClock(), invoices, telemetry: { event: (name: string) => void telemetry.push(name) } } };
  }

  it('applies the invoice as BTCPay has it, under the first delivery’s id, once', async () => {
    const { orders, deps } = world();

    expect(await handleBtcpayWebhook(deps, webhook())).toBe('applied');
    expect(await handleBtcpayWebhook(deps, webhook({ deliveryId: 'dlv_3' }))).toBe('duplicate');

    expect(currentPayment(orders)).toMatchObject({ status: 'succeeded', providerStatus: 'Settled' });
    expect(currentOrder(orders).status).toBe('paid');
    expect(await orders.hasEvent(ORDER_ID, 'btcpay:dlv_1')).toBe(true);
    expect((await orders.history(ORDER_ID)).every((row) => row.cause === 'btcpay:dlv_1')).toBe(true);
  });

  it('throws when BTCPay cannot be asked (the webhook is answered 5xx and delivered again), and ignores what is not about an invoice', async () => {
    const { orders, invoices, deps } = world();
    invoices.failNext('getInvoice', UNAVAILABLE);

    await expect(handleBtcpayWebhook(deps, webhook())).rejects.toThrow(/could not be read back/);
    expect(await handleBtcpayWebhook(deps, webhook({ type: 'PayoutCreated' }))).toBe('ignored');
    expect(await handleBtcpayWebhook(deps, webhook({ invoiceId: undefined }))).toBe('ignored');
    expect(await handleBtcpayWebhook(deps, webhook({ invoiceId: 'inv_unknown' }))).toBe('ignored');
    invoices.failNext('getInvoice', REFUSED);
    expect(await handleBtcpayWebhook(deps, webhook())).toBe('ignored');
    expect(orders.changes).toEqual([]);
  });

  it('changes nothing for an invoice made by hand with our ids but another amount, and tells telemetry', async () => {
    const { orders, invoices, telemetry, deps } = world();
    invoices.seed({ id: 'inv_1', status: 'Settled', amount: 1 });

    expect(await handleBtcpayWebhook(deps, webhook())).toBe('mismatch');
    expect(orders.changes).toEqual([]);
    expect(telemetry).toEqual(['BTCPayInvoiceMismatch']);
  });
});
