/**
 * Orders paid with Bitcoin through BTCPay Server, end to end over HTTP: the hub, the BTCPay sandbox
 * (Greenfield subset, signed webhooks) and the channel sandbox that receives the callbacks.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../local/btcpay-sandbox';
import type { ChannelSandbox, ReceivedCallback } from '../../local/channel-sandbox';
import type { LocalRuntime } from '../../local/runtime';
import { startBookingRuntime } from '../support/bookings';
import { createOrder, createPayment, getOrder, hub, orderBody } from '../support/orders';
import { waitFor } from '../support/wait';

interface PaymentView {
  id: string;
  status: string;
  providerRef: string;
  providerStatus?: string;
  failureReason?: string;
  checkoutLink?: string;
  version: number;
}

describe('BTCPay payments', () => {
  let runtime: LocalRuntime;
  let channel: ChannelSandbox;
  let sandboxUrl: string;

  beforeAll(async () => {
    // The reconciliation looks at payments after 1 s; every run covers 30 s of check points.
    runtime = await startBookingRuntime({ PAYMENT_RECONCILE_AFTER: '1s', PAYMENT_RECONCILE_EVERY: '30s' });
    if (!runtime.channel || !runtime.btcpay) throw new Error('the runtime runs no channel or BTCPay sandbox');
    channel = runtime.channel;
    sandboxUrl = runtime.btcpay.url;
  });

  beforeEach(() => {
    channel.clear();
    runtime.btcpay?.setDelivering(true);
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  /** A sandbox control (plays the customer or the chain); resolves once its webhooks were delivered. */
  const sandbox = async (path: string, body?: unknown) => {
    const response = await fetch(`${sandboxUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    await runtime.btcpay?.idle();
    return response.json();
  };
  const payment = async (id: string) => (await hub(runtime, 'GET', `/v1/payments/${id}`)).body as PaymentView;
  const paymentHistory = async (id: string) =>
    ((await hub(runtime, 'GET', `/v1/payments/${id}/history`)).body as { items: Array<{ from: string | null; to: string; cause: string }> }).items;
  const openBtcpayPayment = async (body = orderBody()) => {
    const order = await createOrder(runtime, body);
    const opened = (await createPayment(runtime, order.id, undefined, 'btcpay')) as PaymentView;
    return { order, opened };
  };
  const callbacksOf = (orderId: string) =>
    (channel.received('pos') as Array<ReceivedCallback & { type: string; body: { data: { id: string; orderId?: string; version: number } } }>).filter(
      (callback) => callback.body.data.id === orderId || callback.body.data.orderId === orderId,
    );

  it('an order paid in the sandbox: the invoice settles, the payment succeeds, the order is paid, and the channel hears of both, signed', async () => {
    const { order, opened } = await openBtcpayPayment();
    expect(opened).toMatchObject({ status: 'pending', amount: order.totalAmount, currency: 'EUR' });
    expect(opened.checkoutLink).toBe(`${sandboxUrl}/i/${opened.providerRef}`);

    // Seen on the chain first (processing), confirmed a moment later (settled).
    await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`, { confirmed: false });
    await waitFor(async () => (await payment(opened.id)).status === 'processing', { message: 'the payment never became processing' });
    await sandbox(`/sandbox/invoices/${opened.providerRef}/confirm`);
    await waitFor(async () => (await payment(opened.id)).status === 'succeeded', { message: 'the payment never succeeded' });
    expect((await getOrder(runtime, order.id)).body).toMatchObject({ status: 'paid', paymentStatus: 'paid' });
    expect((await payment(opened.id)).providerStatus).toBe('Settled');
    // Each change was caused by a BTCPay delivery, by its id.
    const history = await paymentHistory(opened.id);
    expect(history.map((row) => row.to)).toEqual(['pending', 'processing', 'succeeded']);
    expect(history.slice(1).every((row) => row.cause.startsWith('btcpay:'))).toBe(true);

    await waitFor(() => callbacksOf(order.id).some((callback) => callback.type === 'order.paid'), { message: 'no order.paid callback' });
    const types = callbacksOf(order.id).map((callback) => callback.type);
    expect(types).toEqual(expect.arrayContaining(['payment.succeeded', 'order.paid']));
    expect(callbacksOf(order.id).every((callback) => callback.signatureValid)).toBe(true);
    // Exactly one callback per change: no version is called back twice.
    const keys = callbacksOf(order.id).map((callback) => `${callback.type.split('.')[0]}:${callback.body.data.id}:v${callback.body.data.version}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('a partial payment keeps the payment pending; when the invoice expires it fails and the order asks for a person', async () => {
    const { order, opened } = await openBtcpayPayment();
    const half = ((order.totalAmount as number) / 200).toFixed(2);
    await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`, { amount: half });
    await waitFor(async () => (await payment(opened.id)).providerStatus === 'New/PaidPartial', { message: 'the partial payment was not noted' });
    expect((await payment(opened.id)).status).toBe('pending');

    await sandbox(`/sandbox/invoices/${opened.providerRef}/expire`);
    await waitFor(async () => (await payment(opened.id)).status === 'failed', { message: 'the expired invoice did not fail the payment' });
    expect(await payment(opened.id)).toMatchObject({ providerStatus: 'Expired/PaidPartial', failureReason: 'the invoice expired after a partial payment' });
    const read = (await getOrder(runtime, order.id)).body;
    expect(read).toMatchObject({ status: 'pending', paymentStatus: 'not_paid' });
    expect(read.attention.reason).toContain('partial payment');
  });

  it('paid after expiry: the payment stays failed and asks for a person; marked Settled in BTCPay, it succeeds', async () => {
    const { order, opened } = await openBtcpayPayment();
    await sandbox(`/sandbox/invoices/${opened.providerRef}/expire`);
    await waitFor(async () => (await payment(opened.id)).status === 'failed', { message: 'expiry did not fail the payment' });
    expect((await payment(opened.id)).failureReason).toBe('the invoice expired unpaid');

    await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`);
    await waitFor(async () => (await payment(opened.id)).providerStatus === 'Expired/PaidLate', { message: 'the late payment was not noted' });
    expect((await payment(opened.id)).status).toBe('failed');
    expect((await getOrder(runtime, order.id)).body.attention.reason).toContain('paid after it expired');

    // The merchant accepts the money as Greenfield's mark-status endpoint does.
    const store = runtime.config.btcpay?.storeId as string;
    const marked = await fetch(`${sandboxUrl}/api/v1/stores/${store}/invoices/${opened.providerRef}/status`, {
      method: 'POST',
      headers: { authorization: `token ${runtime.config.btcpay?.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'Settled' }),
    });
    expect(marked.status).toBe(200);
    await runtime.btcpay?.idle();
    await waitFor(async () => (await payment(opened.id)).status === 'succeeded', { message: 'marking it settled did not settle the payment' });
    expect((await getOrder(runtime, order.id)).body.status).toBe('paid');
  });

  it('overpaid: the payment succeeds and the order asks for a person to refund the difference', async () => {
    const { order, opened } = await openBtcpayPayment();
    const more = (((order.totalAmount as number) * 1.5) / 100).toFixed(2);
    await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`, { amount: more });
    await waitFor(async () => (await payment(opened.id)).status === 'succeeded', { message: 'the overpaid invoice did not settle' });
    expect((await payment(opened.id)).providerStatus).toBe('Settled/PaidOver');
    const read = (await getOrder(runtime, order.id)).body;
    expect(read.status).toBe('paid');
    expect(read.attention.reason).toContain('overpaid');
  });

  it('invalid: a payment never confirmed before monitoring ends fails the payment, out of processing', async () => {
    const { order, opened } = await openBtcpayPayment();
    await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`, { confirmed: false });
    await waitFor(async () => (await payment(opened.id)).status === 'processing', { message: 'the payment never became processing' });
    await sandbox(`/sandbox/invoices/${opened.providerRef}/end-monitoring`);
    await waitFor(async () => (await payment(opened.id)).status === 'failed', { message: 'the invalid invoice did not fail the payment' });
    expect(await payment(opened.id)).toMatchObject({ providerStatus: 'Invalid', failureReason: 'the payment was not confirmed in time' });
    expect((await getOrder(runtime, order.id)).body.status).toBe('pending');
  });

  describe('the webhook endpoint', () => {
    const secret = () => runtime.config.btcpay?.webhookSecret as string;
    const webhookBody = (invoiceId: string, type: string, deliveryId = randomUUID()) =>
      JSON.stringify(
        {
          manuallyMarked: false,
          overPaid: false,
          deliveryId,
          webhookId: runtime.btcpay?.webhookId,
          originalDeliveryId: deliveryId,
          isRedelivery: false,
          type,
          timestamp: Math.floor(Date.now() / 1000),
          storeId: runtime.config.btcpay?.storeId,
          invoiceId,
          metadata: {},
        },
        null,
        2,
      );
    const post = (body: string, signature: string | undefined) =>
      fetch(`${runtime.url}/v1/webhooks/btcpay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(signature ? { 'btcpay-sig': signature } : {}) },
        body,
      });

    it('refuses forged, tampered and missing signatures with 401 and changes nothing', async () => {
      const { opened } = await openBtcpayPayment();
      const body = webhookBody(opened.providerRef, 'InvoiceSettled');
      const before = await payment(opened.id);
      for (const signature of [undefined, 'sha256=00', signatureHeader(body, 'not the secret'), signatureHeader(`${body} `, secret())]) {
        const response = await post(body, signature);
        expect(response.status).toBe(401);
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        expect(response.headers.get('www-authenticate')).toBe('BTCPay-Sig realm="btcpay-webhook"');
      }
      expect(await payment(opened.id)).toEqual(before);
    });

    it('a validly signed body claiming Settled for an invoice that is not settled changes nothing', async () => {
      const { opened } = await openBtcpayPayment();
      const before = await payment(opened.id);
      const body = webhookBody(opened.providerRef, 'InvoiceSettled');
      const response = await post(body, signatureHeader(body, secret()));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true, outcome: 'unchanged' });
      expect(await payment(opened.id)).toEqual(before);
    });

    it('the same delivery five times at once is applied once', async () => {
      const { opened } = await openBtcpayPayment();
      runtime.btcpay?.setDelivering(false);
      await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`);
      const body = webhookBody(opened.providerRef, 'InvoiceSettled');
      const answers = await Promise.all(Array.from({ length: 5 }, () => post(body, signatureHeader(body, secret()))));
      const outcomes = await Promise.all(answers.map(async (answer) => ((await answer.json()) as { outcome: string }).outcome));
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(1);
      expect((await paymentHistory(opened.id)).map((row) => row.to)).toEqual(['pending', 'succeeded']);
    });

    it('acknowledges events about no invoice of ours, and invoices BTCPay does not know', async () => {
      const ping = webhookBody('', 'InvoiceCreated');
      expect(await (await post(ping, signatureHeader(ping, secret()))).json()).toMatchObject({ outcome: 'ignored' });
      const unknown = webhookBody('NoSuchInvoice123', 'InvoiceSettled');
      expect(await (await post(unknown, signatureHeader(unknown, secret()))).json()).toMatchObject({ outcome: 'ignored' });
    });
  });

  it('webhooks lost entirely: the reconciliation timer finds the settled invoice and settles the payment', async () => {
    const { order, opened } = await openBtcpayPayment();
    runtime.btcpay?.setDelivering(false);
    await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`);
    expect((await payment(opened.id)).status).toBe('pending');
    // Past the first check point (1 s after the payment's last change).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await runtime.host.runTimer('payments-reconcile');
    expect((await payment(opened.id)).status).toBe('succeeded');
    expect((await getOrder(runtime, order.id)).body.status).toBe('paid');
    expect((await paymentHistory(opened.id)).at(-1)?.cause).toBe('system:payment-reconciliation');
  });

  it('cancelling an order marks its unpaid invoice Invalid, so it can no longer be paid', async () => {
    const { order, opened } = await openBtcpayPayment();
    const cancelled = await hub(runtime, 'POST', `/v1/orders/${order.id}/transitions`, { body: { to: 'cancelled', reason: 'customer changed their mind' } });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await runtime.btcpay?.idle();
    expect((await payment(opened.id)).status).toBe('canceled');
    const { invoice } = await fetch(`${sandboxUrl}/sandbox/invoices/${opened.providerRef}`).then(
      (response) => response.json() as Promise<{ invoice: { status: string } }>,
    );
    expect(invoice.status).toBe('Invalid');
  });

  it('a refund is a pull payment the customer claims: pending, with its claim link', async () => {
    const { opened } = await openBtcpayPayment();
    await sandbox(`/sandbox/invoices/${opened.providerRef}/pay`);
    await waitFor(async () => (await payment(opened.id)).status === 'succeeded', { message: 'the payment never succeeded' });
    const refund = await hub(runtime, 'POST', `/v1/payments/${opened.id}/refunds`, {
      body: { amount: 500, reason: 'one wiper returned' },
      idempotencyKey: randomUUID(),
    });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body).toMatchObject({ amount: 500, status: 'pending' });
    expect(refund.body.claimLink).toMatch(new RegExp(`^${sandboxUrl}/pull-payments/`));
  });
});
