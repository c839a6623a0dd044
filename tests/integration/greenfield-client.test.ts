/**
 * shared/adapters/btcpay/greenfield.ts against the BTCPay sandbox (local/btcpay-sandbox.ts) on a
 * free port: invoices in minor units, look-ups by our ids, refunds as pull payments found again by
 * name, invalidation, how failures read (never with the key), and BTCPay-Sig over the raw bytes
 * the sandbox really sends. A tiny node:http server receives the webhooks and, where a test needs
 * an answer the sandbox never gives, plays a misbehaving BTCPay.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BTCPaySandbox, type InvoiceJson, type PullPaymentJson, signatureHeader } from '../../local/btcpay-sandbox';
import { GreenfieldClient, type GreenfieldSettings } from '../../shared/adapters/btcpay/greenfield';
import type { InvoiceView } from '../../shared/platform/invoices';
import type { PaymentResult } from '../../shared/platform/payments';

const STORE = 'GreenfieldTest7xK2mQ7vB4nP8rW3tY6uZ1aC5dE7fG9';
const API_KEY = 'greenfield-test-key-4f0b6c2e9a7d';
const SECRET = 'greenfield-test-webhook-secret';

// ---- a webhook receiver that can also play a BTCPay answering oddly

interface Received {
  method: string;
  url: string;
  raw: Buffer;
  headers: IncomingHttpHeaders;
}

class Receiver {
  readonly received: Received[] = [];
  /** What every request is answered with. */
  reply: { status: number; body: string; contentType?: string } = { status: 200, body: '' };

  private constructor(private readonly server: Server) {
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ method: request.method ?? '', url: request.url ?? '', raw: Buffer.concat(chunks), headers: request.headers });
        response.writeHead(this.reply.status, { 'content-type': this.reply.contentType ?? 'application/json' }).end(this.reply.body);
      });
    });
  }

  static async start(): Promise<Receiver> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new Receiver(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The webhooks received about an invoice, with their parsed bodies. */
  webhooks(invoiceId: string): Array<Received & { body: Record<string, any> }> {
    return this.received
      .map((received) => ({ ...received, body: JSON.parse(received.raw.toString('utf8')) as Record<string, any> }))
      .filter(({ body }) => body.invoiceId === invoiceId);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// ---- set-up

let sandbox: BTCPaySandbox;
let receiver: Receiver;
let client: GreenfieldClient;

const settings = (overrides: Partial<GreenfieldSettings> = {}): GreenfieldSettings => ({
  url: sandbox.url,
  apiKey: API_KEY,
  storeId: STORE,
  webhookSecret: SECRET,
  expirationMinutes: 30,
  ...overrides,
});

beforeAll(async () => {
  receiver = await Receiver.start();
  sandbox = await BTCPaySandbox.start({ port: 0, storeId: STORE, apiKey: API_KEY, webhookSecret: SECRET, webhookUrl: `${receiver.url}/webhooks/btcpay` });
  client = new GreenfieldClient(settings());
});

afterAll(async () => {
  await sandbox?.stop();
  await receiver?.stop();
});

beforeEach(async () => {
  await sandbox.idle();
  sandbox.reset();
  receiver.received.length = 0;
  receiver.reply = { status: 200, body: '' };
});

let counter = 0;
const freshOrderId = () => `ord_gf_${++counter}_${Math.random().toString(36).slice(2, 8)}`;

const anInvoice = (overrides: Partial<Parameters<GreenfieldClient['createInvoice']>[0]> = {}) => ({
  amount: 1_250,
  currency: 'EUR',
  orderId: freshOrderId(),
  paymentId: 'pay_1',
  description: 'Order POS-1001',
  ...overrides,
});

/** The value of a result that must have succeeded. */
function succeeded<T>(result: PaymentResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

async function created(overrides: Partial<Parameters<GreenfieldClient['createInvoice']>[0]> = {}): Promise<InvoiceView> {
  return succeeded(await client.createInvoice(anInvoice(overrides)));
}

/** The invoice as the sandbox keeps it (no key, not a Greenfield call). */
async function sandboxInvoice(id: string): Promise<InvoiceJson> {
  const response = await fetch(`${sandbox.url}/sandbox/invoices/${id}`);
  return ((await response.json()) as { invoice: InvoiceJson }).invoice;
}

/** A sandbox control: the customer pays in full (confirmed at once, so the invoice settles). */
async function pay(id: string): Promise<void> {
  const response = await fetch(`${sandbox.url}/sandbox/invoices/${id}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(response.status).toBe(200);
}

/** The store's pull payments, read through Greenfield with the key. */
async function pullPayments(): Promise<PullPaymentJson[]> {
  const response = await fetch(`${sandbox.url}/api/v1/stores/${STORE}/pull-payments`, { headers: { authorization: `token ${API_KEY}` } });
  return (await response.json()) as PullPaymentJson[];
}

const callsTo = (method: string, pattern: RegExp) => sandbox.calls().filter((call) => call.method === method && pattern.test(call.path));

// ---- invoices

describe('createInvoice', () => {
  it('makes an invoice of the amount in minor units as a decimal string, with our ids and the checkout expiry', async () => {
    const input = anInvoice({ amount: 6_480, paymentId: 'pay_7', description: 'Order POS-1001 (2 items)' });

    const invoice = succeeded(await client.createInvoice(input));

    expect(invoice).toMatchObject({
      storeId: STORE,
      status: 'New',
      additionalStatus: 'None',
      amount: 6_480,
      currency: 'EUR',
      checkoutLink: `${sandbox.url}/i/${invoice.id}`,
      metadata: { orderId: input.orderId, paymentId: 'pay_7' },
    });
    expect(Object.keys(invoice.metadata).sort()).toEqual(['orderId', 'paymentId']);
    expect(Date.parse(invoice.expiresAt) - Date.parse(invoice.createdAt)).toBe(30 * 60_000);

    const stored = await sandboxInvoice(invoice.id);
    expect(stored.amount).toBe('64.80');
    expect(stored.metadata).toEqual({ orderId: input.orderId, paymentId: 'pay_7', itemDesc: 'Order POS-1001 (2 items)' });
    expect(stored.checkout.expirationMinutes).toBe(30);
    expect(callsTo('POST', /\/invoices$/)).toHaveLength(1);
  });

  it.each([
    [5, 'EUR', '0.05'],
    [1_500, 'JPY', '1500'],
    [1_050, 'KWD', '1.050'],
    [99_999_999, 'USD', '999999.99'],
  ])('%d %s is sent as %s and read back exactly', async (amount, currency, text) => {
    const invoice = await created({ amount, currency });

    expect(invoice).toMatchObject({ amount, currency });
    expect((await sandboxInvoice(invoice.id)).amount).toBe(text);
  });

  it('leaves the expiry to the store (15 minutes) when none is configured', async () => {
    const plain = new GreenfieldClient(settings({ expirationMinutes: undefined }));

    const invoice = succeeded(await plain.createInvoice(anInvoice()));

    expect(Date.parse(invoice.expiresAt) - Date.parse(invoice.createdAt)).toBe(15 * 60_000);
  });

  it.each(['eur', 'BTC', 'XYZ'])('refuses the currency %s before asking BTCPay', async (currency) => {
    expect(await client.createInvoice(anInvoice({ currency }))).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(sandbox.calls()).toEqual([]);
  });
});

describe('getInvoice and findInvoices', () => {
  it('reads an invoice back as it stands, and undefined for one the store does not have', async () => {
    const invoice = await created();
    await pay(invoice.id);

    expect(await client.getInvoice(invoice.id)).toEqual({ ok: true, value: { ...invoice, status: 'Settled' } });
    expect(await client.getInvoice('NoSuchInvoice1111111')).toEqual({ ok: true, value: undefined });
  });

  it('finds the invoices made with an orderId, newest first, and none for an order without any', async () => {
    const orderId = freshOrderId();
    const first = await created({ orderId, paymentId: 'pay_1' });
    const second = await created({ orderId, paymentId: 'pay_2' });
    await created({ paymentId: 'pay_1' });

    const found = succeeded(await client.findInvoices(orderId));

    expect(found.map((invoice) => invoice.id)).toEqual([second.id, first.id]);
    expect(found.map((invoice) => invoice.metadata)).toEqual([
      { orderId, paymentId: 'pay_2' },
      { orderId, paymentId: 'pay_1' },
    ]);
    expect(await client.findInvoices(freshOrderId())).toEqual({ ok: true, value: [] });
  });

  it('escapes the ids it puts into paths and queries', async () => {
    const orderId = `ord/${freshOrderId()}&status=Settled`;
    const invoice = await created({ orderId });

    expect(succeeded(await client.findInvoices(orderId)).map((found) => found.id)).toEqual([invoice.id]);
    expect(await client.getInvoice('../../health')).toEqual({ ok: true, value: undefined });
  });
});

// ---- refunds and invalidation

describe('refundInvoice', () => {
  it('refunds a custom amount in the invoice currency as a pull payment named as asked; the same name again returns it and makes none', async () => {
    const invoice = await created({ amount: 6_480 });
    await pay(invoice.id);
    const request = { invoiceId: invoice.id, amount: 1_000, currency: 'EUR', name: 'Refund rfd_1', description: 'Order ord_1, payment pay_1' };

    const refund = succeeded(await client.refundInvoice(request));

    expect(refund.link).toBe(`${sandbox.url}/pull-payments/${refund.id}`);
    expect(await pullPayments()).toEqual([
      expect.objectContaining({ id: refund.id, name: 'Refund rfd_1', description: 'Order ord_1, payment pay_1', amount: '10.00', currency: 'EUR' }),
    ]);

    const again = succeeded(await client.refundInvoice({ ...request, amount: 2_000 }));

    expect(again).toEqual(refund);
    expect((await pullPayments()).map((pullPayment) => pullPayment.id)).toEqual([refund.id]);
    expect(callsTo('POST', /\/refund$/)).toHaveLength(1);
  });

  it('makes a second pull payment for another name, and refunds zero-decimal currencies in whole units', async () => {
    const invoice = await created({ amount: 5_000, currency: 'JPY' });
    await pay(invoice.id);

    const first = succeeded(await client.refundInvoice({ invoiceId: invoice.id, amount: 500, currency: 'JPY', name: 'Refund rfd_a', description: 'a' }));
    const second = succeeded(await client.refundInvoice({ invoiceId: invoice.id, amount: 1_500, currency: 'JPY', name: 'Refund rfd_b', description: 'b' }));

    expect(second.id).not.toBe(first.id);
    const made = await pullPayments();
    expect(made.map((pullPayment) => [pullPayment.name, pullPayment.amount, pullPayment.currency])).toEqual([
      ['Refund rfd_b', '1500', 'JPY'],
      ['Refund rfd_a', '500', 'JPY'],
    ]);
  });

  it('passes BTCPay’s refusal of an invoice nobody paid on as invalid_request', async () => {
    const invoice = await created();

    const refused = await client.refundInvoice({ invoiceId: invoice.id, amount: 100, currency: 'EUR', name: 'Refund rfd_x', description: 'x' });

    expect(refused).toEqual({ ok: false, error: { code: 'invalid_request', message: 'BTCPay answered 400: Cannot refund this invoice' } });
    expect(await pullPayments()).toEqual([]);
  });

  it('makes no pull payment when it cannot look for an earlier one', async () => {
    const invoice = await created();
    await pay(invoice.id);
    sandbox.failNext(1, 'http500');

    expect(await client.refundInvoice({ invoiceId: invoice.id, amount: 100, currency: 'EUR', name: 'Refund rfd_y', description: 'y' })).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    expect(callsTo('POST', /\/refund$/)).toEqual([]);
  });
});

describe('invalidate', () => {
  it('marks a New invoice Invalid', async () => {
    const invoice = await created();

    expect(await client.invalidate(invoice.id)).toEqual({ ok: true, value: undefined });
    expect(succeeded(await client.getInvoice(invoice.id))).toMatchObject({ status: 'Invalid', additionalStatus: 'Marked' });
  });

  it('passes BTCPay’s refusal for a settled invoice, and for one it does not have, as invalid_request', async () => {
    const invoice = await created();
    await pay(invoice.id);

    const settled = await client.invalidate(invoice.id);
    expect(settled).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(!settled.ok && settled.error.message).toBe(
      'BTCPay answered 422: Status: Status can only be marked to invalid or settled within certain conditions.',
    );
    expect(succeeded(await client.getInvoice(invoice.id))?.status).toBe('Settled');

    expect(await client.invalidate('NoSuchInvoice1111111')).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });
});

// ---- failures

describe('failures', () => {
  it('a key BTCPay refuses is unavailable, and the message never carries the key', async () => {
    const wrongKey = 'wrong-key-9c1e55aa07b3';
    const stranger = new GreenfieldClient(settings({ apiKey: wrongKey }));

    for (const result of [await stranger.createInvoice(anInvoice()), await stranger.getInvoice('any'), await stranger.findInvoices('ord_1')]) {
      expect(result).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      const message = !result.ok ? result.error.message : '';
      expect(message).toMatch(/^BTCPay answered 401/);
      expect(message).not.toContain(wrongKey);
      expect(message).not.toContain(API_KEY);
    }
    expect(sandbox.calls().map((call) => call.status)).toEqual([401, 401, 401]);
  });

  it.each([
    ['http500', 'BTCPay answered 500'],
    ['unavailable', 'BTCPay answered 503'],
  ] as const)('a %s fault is unavailable (%s), and the next call works again', async (kind, message) => {
    const invoice = await created();
    sandbox.failNext(1, kind);

    expect(await client.getInvoice(invoice.id)).toEqual({ ok: false, error: { code: 'unavailable', message } });
    expect(succeeded(await client.getInvoice(invoice.id))?.id).toBe(invoice.id);
  });

  it('a BTCPay that never answers is unavailable once the timeout passes', async () => {
    const impatient = new GreenfieldClient(settings({ timeoutMs: 200 }));
    sandbox.failNext(1, 'timeout');

    expect(await impatient.findInvoices('ord_1')).toEqual({ ok: false, error: { code: 'unavailable', message: 'BTCPay did not answer in time' } });
    expect(sandbox.calls()).toEqual([expect.objectContaining({ fault: 'timeout', status: null })]);
  });

  it('a BTCPay nobody listens at is unavailable', async () => {
    const gone = await BTCPaySandbox.start({ port: 0 });
    const url = gone.url;
    await gone.stop();

    expect(await new GreenfieldClient(settings({ url })).getInvoice('any')).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'BTCPay could not be reached' },
    });
  });

  it('an answer that is not JSON, or not in Greenfield’s shape, is unavailable', async () => {
    const odd = new GreenfieldClient(settings({ url: receiver.url }));

    receiver.reply = { status: 200, body: '<html>login</html>', contentType: 'text/html' };
    expect(await odd.getInvoice('inv_1')).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'BTCPay answered GET /invoices/inv_1 with something other than JSON' },
    });
    receiver.reply = { status: 200, body: JSON.stringify({ id: 'inv_1', status: 'Paid' }) };
    expect(await odd.getInvoice('inv_1')).toEqual({
      ok: false,
      error: { code: 'unavailable', message: "BTCPay's answer to GET /invoices/inv_1 is not what Greenfield documents" },
    });
    receiver.reply = { status: 429, body: JSON.stringify({ code: 'rate-limited', message: 'Too many requests' }) };
    expect(await odd.findInvoices('ord_1')).toEqual({ ok: false, error: { code: 'unavailable', message: 'BTCPay answered 429: Too many requests' } });
    expect(receiver.received.every((request) => request.headers.authorization === `token ${API_KEY}`)).toBe(true);
  });
});

// ---- webhooks

describe('verifyWebhook', () => {
  /** The first webhook the sandbox sent about a new invoice, as received. */
  async function aDelivery(): Promise<{ raw: Buffer; signature: string; body: Record<string, any>; invoice: InvoiceView }> {
    const invoice = await created();
    await sandbox.idle();
    const [delivery] = receiver.webhooks(invoice.id);
    if (!delivery) throw new Error('the sandbox sent no webhook');
    return { raw: delivery.raw, signature: String(delivery.headers['btcpay-sig']), body: delivery.body, invoice };
  }

  it('verifies BTCPay-Sig over the raw, indented body and reads the delivery', async () => {
    const { raw, signature, body, invoice } = await aDelivery();
    expect(raw.toString('utf8')).toContain('\n  "deliveryId"');

    expect(client.verifyWebhook(raw, signature)).toEqual({
      deliveryId: body.deliveryId,
      eventKey: body.deliveryId,
      type: 'InvoiceCreated',
      storeId: STORE,
      invoiceId: invoice.id,
    });
    expect(client.verifyWebhook(raw, ` ${signature.replace('sha256=', 'SHA256=').toUpperCase()} `)?.deliveryId).toBe(body.deliveryId);
  });

  it('a redelivery keeps the first delivery’s id as the event’s key', async () => {
    const { body, invoice } = await aDelivery();
    const redelivered = sandbox.redeliver(body.deliveryId);
    await sandbox.idle();
    const second = receiver.webhooks(invoice.id).find((delivery) => delivery.body.deliveryId === redelivered);
    if (!second) throw new Error('the redelivery did not arrive');

    expect(client.verifyWebhook(second.raw, String(second.headers['btcpay-sig']))).toMatchObject({
      deliveryId: redelivered,
      eventKey: body.deliveryId,
      type: 'InvoiceCreated',
    });
  });

  it('refuses another secret, a tampered body, and re-serialised JSON', async () => {
    const { raw, signature } = await aDelivery();

    expect(new GreenfieldClient(settings({ webhookSecret: 'another-secret' })).verifyWebhook(raw, signature)).toBeUndefined();
    expect(client.verifyWebhook(Buffer.from(raw.toString('utf8').replace('"InvoiceCreated"', '"InvoiceSettled"')), signature)).toBeUndefined();
    expect(client.verifyWebhook(Buffer.concat([raw, Buffer.from(' ')]), signature)).toBeUndefined();
    expect(client.verifyWebhook(Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8')))), signature)).toBeUndefined();
  });

  it.each([
    ['no header', () => undefined],
    ['an empty header', () => ''],
    ['no scheme', (hex: string) => hex],
    ['another scheme', (hex: string) => `sha512=${hex}`],
    ['a short digest', (hex: string) => `sha256=${hex.slice(0, -1)}`],
    ['not hex', () => `sha256=${'z'.repeat(64)}`],
    ['two signatures', (hex: string) => `sha256=${hex},sha256=${hex}`],
  ])('refuses %s', async (_what, header) => {
    const { raw, signature } = await aDelivery();

    expect(client.verifyWebhook(raw, header(signature.slice('sha256='.length)))).toBeUndefined();
  });

  it('refuses a correctly signed body that is not JSON, or not a webhook', () => {
    for (const text of ['not json', '', '{"deliveryId":', '[]', JSON.stringify({ type: 'InvoiceSettled', invoiceId: 'inv_1' })]) {
      const raw = Buffer.from(text);
      expect(client.verifyWebhook(raw, signatureHeader(raw, SECRET))).toBeUndefined();
    }
  });

  it('reads a signed webhook about no invoice without inventing one', () => {
    const raw = Buffer.from(JSON.stringify({ deliveryId: 'dlv_1', originalDeliveryId: null, type: 'PayoutCreated', storeId: STORE }, null, 2));

    expect(client.verifyWebhook(raw, signatureHeader(raw, SECRET))).toEqual({ deliveryId: 'dlv_1', eventKey: 'dlv_1', type: 'PayoutCreated', storeId: STORE });
  });
});
