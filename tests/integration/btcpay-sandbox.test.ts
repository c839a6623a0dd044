/**
 * Conformance suite for local/btcpay-sandbox.ts: the Greenfield invoice API, the customer-side
 * controls, the event sequences BTCPay emits per scenario, signed webhooks with BTCPay's
 * redeliveries, and the fault switches. Raw HTTP throughout (no client library), and a tiny
 * node:http receiver standing in for the app's webhook endpoint; signatures are checked here with
 * an independent HMAC computation.
 */
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BTCPAY_RETRY_DELAYS_MS,
  BTCPaySandbox,
  type BTCPaySandboxOptions,
  DEFAULT_BTCPAY_API_KEY,
  DEFAULT_BTCPAY_SANDBOX_PORT,
  DEFAULT_BTCPAY_STORE_ID,
  type InvoiceJson,
} from '../../local/btcpay-sandbox';

const SECRET = 'whsec-btcpay-test-secret';
const API_KEY = 'test-api-key-full';
const VIEW_KEY = 'test-api-key-view-only';
const STORE = 'TestStore9xK2mQ7vB4nP8rW3tY6uZ1aC5dE7fG9hJ2k';
/** BTCPay's schedule scaled down 5 000 times: 2 ms, 12 ms, then 120 ms six times. */
const RETRY_DELAYS_MS = BTCPAY_RETRY_DELAYS_MS.map((ms) => ms / 5000);

// --- webhook receiver -------------------------------------------------------------------------

interface Received {
  rawBody: string;
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
}

/** The app's webhook endpoint: records every attempt, answers queued statuses, then 200. */
class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly statuses: number[] = [];

  private constructor(private readonly server: Server) {
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        this.received.push({ rawBody, headers: request.headers, body: JSON.parse(rawBody) });
        response.writeHead(this.statuses.shift() ?? 200).end();
      });
    });
  }

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new WebhookReceiver(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/btcpay`;
  }

  /** The next `times` attempts get `status`. */
  answer(status: number, times = 1): void {
    for (let i = 0; i < times; i++) this.statuses.push(status);
  }

  reset(): void {
    this.received.length = 0;
    this.statuses.length = 0;
  }

  about(invoiceId: string): Received[] {
    return this.received.filter(({ body }) => body.invoiceId === invoiceId);
  }

  /** The event types delivered for an invoice, in arrival order. */
  typesFor(invoiceId: string): string[] {
    return this.about(invoiceId).map(({ body }) => body.type);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The app's check, written independently of the sandbox: HMAC-SHA256 of the raw body, lower-case hex. */
function verifies(rawBody: string, header: string | string[] | undefined, secret = SECRET): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(Buffer.from(rawBody, 'utf8')).digest('hex')}`;
  return header === expected;
}

// --- set-up -------------------------------------------------------------------------------------

let sandbox: BTCPaySandbox;
let receiver: WebhookReceiver;
const extraSandboxes: BTCPaySandbox[] = [];

const options = (overrides: BTCPaySandboxOptions = {}): BTCPaySandboxOptions => ({
  port: 0,
  storeId: STORE,
  apiKey: API_KEY,
  apiKeys: { [VIEW_KEY]: [`btcpay.store.canviewinvoices:${STORE}`] },
  webhookSecret: SECRET,
  webhookUrl: receiver.url,
  retry: { delaysMs: RETRY_DELAYS_MS },
  ...overrides,
});

async function another(overrides: BTCPaySandboxOptions = {}): Promise<BTCPaySandbox> {
  const started = await BTCPaySandbox.start(options(overrides));
  extraSandboxes.push(started);
  return started;
}

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  sandbox = await BTCPaySandbox.start(options());
});

afterAll(async () => {
  await Promise.all([sandbox?.stop(), ...extraSandboxes.map((s) => s.stop())]);
  await receiver?.stop();
});

beforeEach(async () => {
  // Every test sees only its own deliveries, with delivery on and no fault left over.
  await sandbox.idle();
  await Promise.all(extraSandboxes.map((s) => s.idle()));
  sandbox.setDelivering(true);
  sandbox.setWebhookUrl(receiver.url);
  sandbox.clearFaults();
  receiver.reset();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A raw call; Greenfield calls carry the full key unless `headers` say otherwise. */
async function call(target: BTCPaySandbox, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(`${target.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      Authorization: `token ${API_KEY}`,
      ...(init.body !== undefined && { 'Content-Type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, text, json };
}

const invoicesPath = (target = sandbox): string => `/api/v1/stores/${target.storeId}/invoices`;

async function createInvoice(body: Record<string, unknown> = {}, target = sandbox): Promise<InvoiceJson> {
  const answer = await call(target, invoicesPath(target), { body: { amount: '12.50', currency: 'EUR', ...body } });
  expect(answer.status).toBe(200);
  return answer.json as InvoiceJson;
}

async function control(path: string, body?: unknown, target = sandbox): Promise<Answer> {
  return call(target, path, { method: 'POST', body: body ?? {}, headers: { Authorization: '' } });
}

const pay = (invoiceId: string, body: Record<string, unknown> = {}, target = sandbox) => control(`/sandbox/invoices/${invoiceId}/pay`, body, target);

const unique = (): string => `ord-${Math.random().toString(36).slice(2, 10)}`;

// --- Greenfield: invoices -----------------------------------------------------------------------

describe('invoices', () => {
  it('creates an invoice in Greenfield shape and gets it back by both routes', async () => {
    const orderId = unique();
    const before = Math.floor(Date.now() / 1000);
    const created = await createInvoice({
      amount: '12.50',
      currency: 'eur',
      metadata: { orderId, paymentId: 'pay_1', note: 'ä & <b>' },
      checkout: { expirationMinutes: 30, monitoringMinutes: 60, redirectURL: 'https://shop.example/return' },
    });
    const after = Math.ceil(Date.now() / 1000);

    expect(created).toMatchObject({
      storeId: STORE,
      amount: '12.50',
      paidAmount: '0',
      currency: 'EUR',
      type: 'Standard',
      status: 'New',
      additionalStatus: 'None',
      availableStatusesForManualMarking: ['Settled', 'Invalid'],
      archived: false,
      metadata: { orderId, paymentId: 'pay_1', note: 'ä & <b>' },
      checkout: { expirationMinutes: 30, monitoringMinutes: 60, redirectURL: 'https://shop.example/return', paymentMethods: ['BTC-CHAIN'] },
    });
    expect(created.id).toMatch(/^[1-9A-HJ-NP-Za-km-z]{20,24}$/); // Base58 of 16 bytes
    expect(created.checkoutLink).toBe(`${sandbox.url}/i/${created.id}`);
    expect(created.createdTime).toBeGreaterThanOrEqual(before);
    expect(created.createdTime).toBeLessThanOrEqual(after);
    expect(created.expirationTime - created.createdTime).toBe(30 * 60);
    expect(created.monitoringExpiration - created.expirationTime).toBe(60 * 60);

    const got = await call(sandbox, `${invoicesPath()}/${created.id}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(created);
    const storeless = await call(sandbox, `/api/v1/invoices/${created.id}`);
    expect(storeless.json).toEqual(created);

    const page = await fetch(created.checkoutLink);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('12.50 EUR');
  });

  it('keeps amounts exactly, rounded to the currency only where BTCPay rounds', async () => {
    const amounts = await Promise.all(
      [
        [10.5, 'EUR'],
        ['20.00', 'EUR'],
        ['10.005', 'EUR'], // half away from zero
        ['0.001', 'USD'], // would lose over 1 %: BTCPay keeps more places
        ['1500.4', 'JPY'],
        ['1234567890123456.78', 'USD'], // beyond a double's precision
      ].map(async ([amount, currency]) => (await createInvoice({ amount, currency })).amount),
    );
    expect(amounts).toEqual(['10.5', '20.00', '10.01', '0.001', '1500', '1234567890123456.78']);
  });

  it('uses the store defaults: USD, 15 minutes to pay, monitored for a day', async () => {
    const answer = await call(sandbox, invoicesPath(), { body: { amount: '5' } });
    expect(answer.json).toMatchObject({ currency: 'USD', checkout: { expirationMinutes: 15, monitoringMinutes: 1440, speedPolicy: 'MediumSpeed' } });
  });

  it('lists newest first, by orderId (repeatable) and status (repeatable, case-insensitive), with skip and take', async () => {
    const [a, b, c] = [unique(), unique(), unique()];
    const first = await createInvoice({ metadata: { orderId: a } });
    const second = await createInvoice({ metadata: { orderId: b } });
    const third = await createInvoice({ metadata: { orderId: a } });
    await createInvoice({ metadata: { orderId: c } });
    await pay(second.id);

    const ids = async (query: string) => ((await call(sandbox, `${invoicesPath()}?${query}`)).json as InvoiceJson[]).map((invoice) => invoice.id);
    expect(await ids(`orderId=${a}`)).toEqual([third.id, first.id]);
    expect(await ids(`orderId=${a}&orderId=${b}`)).toEqual([third.id, second.id, first.id]);
    expect(await ids(`orderId=${a}&orderId=${b}&status=settled`)).toEqual([second.id]);
    expect(await ids(`orderId=${a}&orderId=${b}&status=New&status=Processing`)).toEqual([third.id, first.id]);
    expect(await ids(`orderId=${a}&orderId=${b}&skip=1&take=1`)).toEqual([second.id]);
    // BTCPay drops status names it does not know; with none left there is no status filter.
    expect(await ids(`orderId=${a}&status=Paidd`)).toEqual([third.id, first.id]);

    const bad = await call(sandbox, `${invoicesPath()}?skip=abc`);
    expect(bad.status).toBe(422);
    expect(bad.json).toEqual([{ path: 'skip', message: "The value 'abc' is not valid for skip." }]);
  });
});

describe('authentication', () => {
  it('refuses a missing or unknown key with 401 and a key without the permission or for another store with 403', async () => {
    const missing = await call(sandbox, invoicesPath(), { headers: { Authorization: '' } });
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ code: 'unauthenticated', message: 'Authentication is required for accessing this endpoint' });

    const basic = await call(sandbox, invoicesPath(), { headers: { Authorization: `Basic ${Buffer.from(`${API_KEY}:`).toString('base64')}` } });
    expect(basic.status).toBe(401);

    const unknown = await call(sandbox, invoicesPath(), { headers: { Authorization: 'token not-a-key' } });
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual({ code: 'unauthenticated', message: 'ApiKey authentication failed: Unknown API Key' });

    const otherStore = await call(sandbox, '/api/v1/stores/SomeOtherStore/invoices');
    expect(otherStore.status).toBe(403);
    expect(otherStore.json).toMatchObject({ code: 'missing-permission', missingPermission: 'btcpay.store.canviewinvoices' });

    const viewOnly = { Authorization: `token ${VIEW_KEY}` };
    expect((await call(sandbox, invoicesPath(), { headers: viewOnly })).status).toBe(200);
    const create = await call(sandbox, invoicesPath(), { body: { amount: '1' }, headers: viewOnly });
    expect(create.status).toBe(403);
    expect(create.json).toMatchObject({ code: 'missing-permission', missingPermission: 'btcpay.store.cancreateinvoice' });
    const invoice = await createInvoice();
    const mark = await call(sandbox, `${invoicesPath()}/${invoice.id}/status`, { body: { status: 'Settled' }, headers: viewOnly });
    expect(mark.json).toMatchObject({ code: 'missing-permission', missingPermission: 'btcpay.store.canmodifyinvoices' });
  });

  it('takes "token" or "Bearer" in any case', async () => {
    for (const scheme of ['token', 'Token', 'Bearer', 'bearer']) {
      expect((await call(sandbox, invoicesPath(), { headers: { Authorization: `${scheme} ${API_KEY}` } })).status).toBe(200);
    }
  });

  it('starts with the exported local defaults', async () => {
    expect(DEFAULT_BTCPAY_SANDBOX_PORT).toBe(14142);
    const defaults = await BTCPaySandbox.start({ port: 0 });
    try {
      expect(defaults.storeId).toBe(DEFAULT_BTCPAY_STORE_ID);
      const answer = await call(defaults, `/api/v1/stores/${DEFAULT_BTCPAY_STORE_ID}/invoices`, {
        headers: { Authorization: `token ${DEFAULT_BTCPAY_API_KEY}` },
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual([]);
    } finally {
      await defaults.stop();
    }
  });
});

describe('validation', () => {
  const create = (body: unknown, headers?: Record<string, string>) => call(sandbox, invoicesPath(), { body, headers });

  it('answers 422 with every problem of the model at once', async () => {
    const answer = await create({
      amount: '-1',
      currency: 'EUR',
      checkout: { expirationMinutes: 0, paymentTolerance: 101, paymentMethods: ['BTC', 'nonsense!'] },
    });
    expect(answer.status).toBe(422);
    expect(answer.json).toEqual([
      { path: 'Amount', message: 'The amount should be 0 or more.' },
      { path: 'Checkout.PaymentMethods[1]', message: 'Invalid PaymentMethodId' },
      { path: 'Checkout.Expiration', message: 'Expiration time must be at least 30 seconds' },
      { path: 'Checkout.PaymentTolerance', message: 'PaymentTolerance can only be between 0 and 100 percent' },
    ]);
  });

  it('answers 422 on the JSON path when the body does not fit the model', async () => {
    const notDecimal = await create({ amount: 'twelve' });
    expect(notDecimal.status).toBe(422);
    expect(notDecimal.json).toEqual([{ path: 'amount', message: expect.stringContaining('not a valid decimal') }]);

    const fractionalMinutes = await create({ amount: '1', checkout: { expirationMinutes: 1.5 } });
    expect(fractionalMinutes.json).toEqual([{ path: 'checkout.expirationMinutes', message: 'Invalid timespan, expected integer' }]);

    const metadata = await create({ amount: '1', metadata: 'orderId=1' });
    expect(metadata.status).toBe(422);
    expect(metadata.json[0].path).toBe('metadata');
  });

  it('refuses empty, non-JSON and unparsable bodies, and currencies it cannot price', async () => {
    const empty = await call(sandbox, invoicesPath(), { method: 'POST' });
    expect(empty.status).toBe(422);
    expect(empty.json).toEqual([{ path: '', message: 'A non-empty request body is required.' }]);

    expect((await create('amount=1', { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    const broken = await create('{"amount": "1",');
    expect(broken.status).toBe(422);
    expect(broken.json[0].message).toMatch(/^Invalid JSON/);

    const currency = await create({ amount: '1', currency: 'XYZ' });
    expect(currency.status).toBe(400);
    expect(currency.json).toMatchObject({ code: 'generic-error', message: expect.stringContaining('Error retrieving a matching payment method or rate.') });
  });

  it('answers 404 invoice-not-found for an unknown invoice', async () => {
    for (const path of [`${invoicesPath()}/NoSuchInvoice`, '/api/v1/invoices/NoSuchInvoice']) {
      const answer = await call(sandbox, path);
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ code: 'invoice-not-found', message: 'The invoice was not found' });
    }
  });
});

// --- the customer, the chain and the events -----------------------------------------------------

/** After the deliveries are done: the event types the receiver got for an invoice. */
async function eventsOf(invoiceId: string, target = sandbox): Promise<string[]> {
  await target.idle();
  return receiver.typesFor(invoiceId);
}

const bodyOf = (invoiceId: string, type: string): Record<string, any> | undefined => receiver.about(invoiceId).find(({ body }) => body.type === type)?.body;

describe('payments and their events', () => {
  it('pays in full: received, processing, payment settled, settled', async () => {
    const invoice = await createInvoice({ metadata: { orderId: unique() } });
    const paid = await pay(invoice.id);
    expect(paid.status).toBe(200);
    expect(paid.json).toMatchObject({ status: 'Settled', additionalStatus: 'None', paidAmount: '12.50', availableStatusesForManualMarking: [] });

    expect(await eventsOf(invoice.id)).toEqual(['InvoiceCreated', 'InvoiceReceivedPayment', 'InvoiceProcessing', 'InvoicePaymentSettled', 'InvoiceSettled']);
    const received = bodyOf(invoice.id, 'InvoiceReceivedPayment');
    expect(received).toMatchObject({ afterExpiration: false, paymentMethodId: 'BTC-CHAIN', payment: { value: '12.50', status: 'Processing', fee: '0' } });
    expect(received?.payment.id).toMatch(/^[0-9a-f]{64}-0$/);
    expect(bodyOf(invoice.id, 'InvoicePaymentSettled')).toMatchObject({ afterExpiration: false, payment: { id: received?.payment.id, status: 'Settled' } });
    expect(bodyOf(invoice.id, 'InvoiceProcessing')).toMatchObject({ overPaid: false });
    expect(bodyOf(invoice.id, 'InvoiceSettled')).toMatchObject({ manuallyMarked: false, overPaid: false });
  });

  it('waits for the block when confirmation is manual', async () => {
    const manual = await another({ confirmation: 'manual' });
    const invoice = await createInvoice({}, manual);
    const seen = await pay(invoice.id, {}, manual);
    expect(seen.json).toMatchObject({ status: 'Processing', additionalStatus: 'None', paidAmount: '12.50' });
    expect(await eventsOf(invoice.id, manual)).toEqual(['InvoiceCreated', 'InvoiceReceivedPayment', 'InvoiceProcessing']);

    const confirmed = await control(`/sandbox/invoices/${invoice.id}/confirm`, undefined, manual);
    expect(confirmed.json).toMatchObject({ status: 'Settled', additionalStatus: 'None' });
    expect(await eventsOf(invoice.id, manual)).toEqual([
      'InvoiceCreated',
      'InvoiceReceivedPayment',
      'InvoiceProcessing',
      'InvoicePaymentSettled',
      'InvoiceSettled',
    ]);

    const again = await control(`/sandbox/invoices/${invoice.id}/confirm`, undefined, manual);
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('nothing-to-confirm');
  });

  it('lets one payment override the confirmation option', async () => {
    const invoice = await createInvoice();
    expect((await pay(invoice.id, { confirmed: false })).json.status).toBe('Processing');
    expect((await control(`/sandbox/invoices/${invoice.id}/confirm`)).json.status).toBe('Settled');
  });

  it('pays partially: stays New with PaidPartial; the rest completes it', async () => {
    const invoice = await createInvoice();
    const part = await pay(invoice.id, { amount: '5.00' });
    expect(part.json).toMatchObject({ status: 'New', additionalStatus: 'PaidPartial', paidAmount: '5.00' });
    expect(await eventsOf(invoice.id)).toEqual(['InvoiceCreated', 'InvoiceReceivedPayment', 'InvoicePaymentSettled']);

    const rest = await pay(invoice.id);
    expect(rest.json).toMatchObject({ status: 'Settled', additionalStatus: 'None', paidAmount: '12.50' });
    const payments = (await call(sandbox, `/sandbox/invoices/${invoice.id}`)).json.payments.map((p: { value: string }) => p.value);
    expect(payments).toEqual(['5.00', '7.50']); // the default is what is still due
    expect(await eventsOf(invoice.id)).toEqual([
      'InvoiceCreated',
      'InvoiceReceivedPayment',
      'InvoicePaymentSettled',
      'InvoiceReceivedPayment',
      'InvoiceProcessing',
      'InvoicePaymentSettled',
      'InvoiceSettled',
    ]);
  });

  it('pays over: PaidOver, overPaid in processing and settled', async () => {
    const invoice = await createInvoice();
    const over = await pay(invoice.id, { amount: '15' });
    expect(over.json).toMatchObject({ status: 'Settled', additionalStatus: 'PaidOver', paidAmount: '15' });
    expect(await eventsOf(invoice.id)).toEqual(['InvoiceCreated', 'InvoiceReceivedPayment', 'InvoiceProcessing', 'InvoicePaymentSettled', 'InvoiceSettled']);
    expect(bodyOf(invoice.id, 'InvoiceProcessing')).toMatchObject({ overPaid: true });
    expect(bodyOf(invoice.id, 'InvoiceSettled')).toMatchObject({ overPaid: true, manuallyMarked: false });
  });

  it('adds decimals exactly (0.1 + 0.2 is 0.3, not over)', async () => {
    const invoice = await createInvoice({ amount: '0.3', currency: 'USD' });
    await pay(invoice.id, { amount: '0.1' });
    const settled = await pay(invoice.id, { amount: 0.2 });
    expect(settled.json).toMatchObject({ status: 'Settled', additionalStatus: 'None', paidAmount: '0.3' });
  });

  it('counts the payment tolerance', async () => {
    const invoice = await createInvoice({ amount: '100.00', checkout: { paymentTolerance: 1 } });
    const within = await pay(invoice.id, { amount: '99.00' });
    expect(within.json).toMatchObject({ status: 'Settled', additionalStatus: 'None' });
    const strict = await createInvoice({ amount: '100.00' });
    expect((await pay(strict.id, { amount: '99.00' })).json).toMatchObject({ status: 'New', additionalStatus: 'PaidPartial' });
  });

  it('expires an unpaid invoice', async () => {
    const invoice = await createInvoice();
    const expired = await control(`/sandbox/invoices/${invoice.id}/expire`);
    expect(expired.json).toMatchObject({ status: 'Expired', additionalStatus: 'None', availableStatusesForManualMarking: ['Settled', 'Invalid'] });
    expect(expired.json.expirationTime).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(await eventsOf(invoice.id)).toEqual(['InvoiceCreated', 'InvoiceExpired']);
    expect(bodyOf(invoice.id, 'InvoiceExpired')).toMatchObject({ partiallyPaid: false });

    const again = await control(`/sandbox/invoices/${invoice.id}/expire`);
    expect(again.status).toBe(409);
  });

  it('expires a partially paid invoice with partiallyPaid and InvoiceExpiredPaidPartial', async () => {
    const invoice = await createInvoice();
    await pay(invoice.id, { amount: '2.50' });
    const expired = await control(`/sandbox/invoices/${invoice.id}/expire`);
    expect(expired.json).toMatchObject({ status: 'Expired', additionalStatus: 'PaidPartial' });
    expect(await eventsOf(invoice.id)).toEqual([
      'InvoiceCreated',
      'InvoiceReceivedPayment',
      'InvoicePaymentSettled',
      'InvoiceExpired',
      'InvoiceExpiredPaidPartial',
    ]);
    expect(bodyOf(invoice.id, 'InvoiceExpired')).toMatchObject({ partiallyPaid: true });
  });

  it('pays after expiry: stays Expired with PaidLate, and the late-payment events', async () => {
    const invoice = await createInvoice();
    await control(`/sandbox/invoices/${invoice.id}/expire`);
    const late = await pay(invoice.id);
    expect(late.json).toMatchObject({ status: 'Expired', additionalStatus: 'PaidLate', paidAmount: '12.50' });
    expect(await eventsOf(invoice.id)).toEqual([
      'InvoiceCreated',
      'InvoiceExpired',
      'InvoiceReceivedPayment',
      'InvoicePaidAfterExpiration',
      'InvoicePaymentSettled',
    ]);
    expect(bodyOf(invoice.id, 'InvoiceReceivedPayment')).toMatchObject({ afterExpiration: true });
    expect(bodyOf(invoice.id, 'InvoicePaymentSettled')).toMatchObject({ afterExpiration: true });
  });

  it('invalidates a Processing invoice whose payment never confirms, and stops monitoring', async () => {
    const invoice = await createInvoice();
    await pay(invoice.id, { confirmed: false });
    const ended = await control(`/sandbox/invoices/${invoice.id}/end-monitoring`);
    expect(ended.json).toMatchObject({ status: 'Invalid', additionalStatus: 'None', availableStatusesForManualMarking: ['Settled'] });
    expect(await eventsOf(invoice.id)).toEqual(['InvoiceCreated', 'InvoiceReceivedPayment', 'InvoiceProcessing', 'InvoiceInvalid']);
    expect(bodyOf(invoice.id, 'InvoiceInvalid')).toMatchObject({ manuallyMarked: false });

    const tooLate = await pay(invoice.id);
    expect(tooLate.status).toBe(409);
    expect(tooLate.json.code).toBe('not-monitored');
  });

  it('settles a zero-amount invoice at once and prices a top-up invoice by its payment', async () => {
    const free = await createInvoice({ amount: '0' });
    expect(free).toMatchObject({ status: 'Settled', additionalStatus: 'None', type: 'Standard' });
    expect(await eventsOf(free.id)).toEqual(['InvoiceCreated', 'InvoiceProcessing', 'InvoiceSettled']);

    const topUp = await createInvoice({ amount: null });
    expect(topUp).toMatchObject({ type: 'TopUp', amount: '0', status: 'New' });
    expect((await pay(topUp.id)).status).toBe(422); // nothing is due on a top-up: the amount is the customer's
    expect((await pay(topUp.id, { amount: '3.21' })).json).toMatchObject({ status: 'Settled', amount: '3.21', additionalStatus: 'None' });
  });

  it('refuses bad payments', async () => {
    const invoice = await createInvoice();
    expect((await pay(invoice.id, { amount: '-1' })).status).toBe(422);
    expect((await pay(invoice.id, { amount: 'abc' })).status).toBe(422);
    expect((await pay(invoice.id, { amout: '1' })).status).toBe(422); // the sandbox's own controls are strict
    expect((await pay('NoSuchInvoice')).status).toBe(404);
    await pay(invoice.id);
    const nothingDue = await pay(invoice.id);
    expect(nothingDue.status).toBe(409);
    expect(nothingDue.json.code).toBe('nothing-due');
  });
});

describe('marking', () => {
  const mark = (invoiceId: string, status: unknown) => call(sandbox, `${invoicesPath()}/${invoiceId}/status`, { body: { status } });

  it('marks Settled by hand', async () => {
    const invoice = await createInvoice();
    const marked = await mark(invoice.id, 'Settled');
    expect(marked.status).toBe(200);
    expect(marked.json).toMatchObject({ status: 'Settled', additionalStatus: 'Marked', availableStatusesForManualMarking: ['Invalid'] });
    expect(await eventsOf(invoice.id)).toEqual(['InvoiceCreated', 'InvoiceSettled']);
    expect(bodyOf(invoice.id, 'InvoiceSettled')).toMatchObject({ manuallyMarked: true, overPaid: false });
  });

  it('marks Invalid by hand, through the store-less route too', async () => {
    const invoice = await createInvoice();
    const marked = await call(sandbox, `/api/v1/invoices/${invoice.id}/status`, { body: { status: 'Invalid' } });
    expect(marked.json).toMatchObject({ status: 'Invalid', additionalStatus: 'Marked', availableStatusesForManualMarking: ['Settled'] });
    expect(await eventsOf(invoice.id)).toEqual(['InvoiceCreated', 'InvoiceInvalid']);
    expect(bodyOf(invoice.id, 'InvoiceInvalid')).toMatchObject({ manuallyMarked: true });
  });

  it('refuses what BTCPay refuses', async () => {
    const settled = await createInvoice();
    await pay(settled.id);
    for (const status of ['Settled', 'Invalid']) {
      const refused = await mark(settled.id, status);
      expect(refused.status).toBe(422);
      expect(refused.json).toEqual([{ path: 'Status', message: 'Status can only be marked to invalid or settled within certain conditions.' }]);
    }
    const fresh = await createInvoice();
    expect((await mark(fresh.id, 'Processing')).json[0].path).toBe('Status');
    expect((await mark(fresh.id, 'Paid')).json[0].path).toBe('status');
    expect((await mark('NoSuchInvoice', 'Settled')).status).toBe(404);
  });
});

describe('refunds', () => {
  const refund = (invoiceId: string, body: unknown, headers?: Record<string, string>) =>
    call(sandbox, `${invoicesPath()}/${invoiceId}/refund`, { body, headers });

  it('refunds a settled invoice as a pull payment in Greenfield shape', async () => {
    const invoice = await createInvoice();
    await pay(invoice.id);
    await sandbox.idle();
    const before = Math.floor(Date.now() / 1000);
    // `paymentMethod` is BTCPay 1.x's field; BTCPay 2 ignores it (payoutMethods / payoutMethodId now).
    const answer = await refund(invoice.id, { refundVariant: 'Fiat', paymentMethod: 'BTC', description: 'Order cancelled' });
    const after = Math.ceil(Date.now() / 1000);
    expect(answer.status).toBe(200);
    const pullPayment = answer.json;
    expect(pullPayment).toMatchObject({
      name: `Refund ${invoice.id}`,
      description: 'Order cancelled',
      amount: '12.50',
      currency: 'EUR',
      autoApproveClaims: false,
      archived: false,
      expiresAt: null,
      BOLT11Expiration: 30,
    });
    expect(pullPayment.id).toMatch(/^[1-9A-HJ-NP-Za-km-z]{25,30}$/); // Base58 of 20 bytes
    expect(pullPayment.viewLink).toBe(`${sandbox.url}/pull-payments/${pullPayment.id}`);
    // BTCPay starts a pull payment one second in the past.
    expect(pullPayment.startsAt).toBeGreaterThanOrEqual(before - 1);
    expect(pullPayment.startsAt).toBeLessThan(after);

    const fetched = await call(sandbox, `/api/v1/pull-payments/${pullPayment.id}`, { headers: { Authorization: '' } });
    expect(fetched.json).toEqual(pullPayment);
    const second = (await refund(invoice.id, { refundVariant: 'Fiat', name: 'Second' })).json;
    const listed = await call(sandbox, `/api/v1/stores/${STORE}/pull-payments?includeArchived=true`);
    expect(listed.json.slice(0, 2)).toEqual([second, pullPayment]); // newest first
    expect((await call(sandbox, `/api/v1/stores/${STORE}/pull-payments`, { headers: { Authorization: `token ${VIEW_KEY}` } })).status).toBe(403);
    expect((await fetch(pullPayment.viewLink)).status).toBe(200);
    expect(await eventsOf(invoice.id)).toContain('InvoiceRefund');
    expect(bodyOf(invoice.id, 'InvoiceRefund')).toMatchObject({ pullPaymentId: pullPayment.id });
  });

  it('refunds a custom amount, less a percentage, under its own name', async () => {
    const invoice = await createInvoice();
    await pay(invoice.id);
    const answer = await refund(invoice.id, {
      refundVariant: 'Custom',
      customAmount: '10.00',
      customCurrency: 'eur',
      subtractPercentage: '2.5',
      name: 'Goodwill',
    });
    // 10.00 - 10.00 × 2.5 / 100, with C# decimal scales: 9.75000.
    expect(answer.json).toMatchObject({ name: 'Goodwill', amount: '9.75000', currency: 'EUR', description: null });
  });

  it('refunds what was paid of an expired, partially paid invoice, and a marked one in full', async () => {
    const partial = await createInvoice();
    await pay(partial.id, { amount: '4.00' });
    await control(`/sandbox/invoices/${partial.id}/expire`);
    expect((await refund(partial.id, { refundVariant: 'Fiat' })).json).toMatchObject({ amount: '4.00', currency: 'EUR' });

    const marked = await createInvoice();
    await call(sandbox, `${invoicesPath()}/${marked.id}/status`, { body: { status: 'Settled' } });
    expect((await refund(marked.id, { refundVariant: 'Fiat' })).json).toMatchObject({ amount: '12.50' });
  });

  it('refuses what BTCPay refuses', async () => {
    const open = await createInvoice();
    const notRefundable = await refund(open.id, { refundVariant: 'Fiat' });
    expect(notRefundable.status).toBe(400);
    expect(notRefundable.json).toEqual({ code: 'non-refundable', message: 'Cannot refund this invoice' });

    const settled = await createInvoice();
    await pay(settled.id);
    expect((await refund(settled.id, {})).json).toEqual([{ path: 'RefundVariant', message: '`refundVariant` is mandatory' }]);
    expect((await refund(settled.id, { refundVariant: 'Sometimes' })).json[0].path).toBe('refundVariant');
    expect((await refund(settled.id, { refundVariant: 'OverpaidAmount' })).json).toEqual([{ path: 'RefundVariant', message: 'Invoice is not overpaid' }]);
    expect((await refund(settled.id, { refundVariant: 'Fiat', customAmount: '1' })).json[0].path).toBe('CustomAmount');
    expect((await refund(settled.id, { refundVariant: 'Fiat', subtractPercentage: '101' })).json[0].path).toBe('SubtractPercentage');
    expect((await refund(settled.id, { refundVariant: 'Fiat', payoutMethods: ['BTC-LN'] })).json[0]).toEqual({
      path: 'PayoutMethods',
      message: 'Invalid or unsupported payout method: BTC-LN',
    });
    expect((await refund(settled.id, { refundVariant: 'Custom', customAmount: '0', customCurrency: 'EUR' })).json[0].path).toBe('CustomAmount');
    const crypto = await refund(settled.id, { refundVariant: 'RateThen' });
    expect(crypto.status).toBe(422);
    expect(crypto.json[0].message).toContain('no crypto amounts');

    const viewOnly = await refund(settled.id, { refundVariant: 'Fiat' }, { Authorization: `token ${VIEW_KEY}` });
    expect(viewOnly.status).toBe(403);
    expect(viewOnly.json.missingPermission).toBe('btcpay.store.cancreatenonapprovedpullpayments');
  });
});

// --- webhooks ----------------------------------------------------------------------------------

describe('webhook bodies and signatures', () => {
  it('signs the raw body with HMAC-SHA256 (lower-case hex) and the check fails for a tampered body', async () => {
    const invoice = await createInvoice({ metadata: { orderId: unique(), paymentId: 'pay_9' } });
    await pay(invoice.id);
    await sandbox.idle();
    const deliveries = receiver.about(invoice.id);
    expect(deliveries).toHaveLength(5);
    for (const { rawBody, headers } of deliveries) {
      expect(headers['btcpay-sig']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifies(rawBody, headers['btcpay-sig'])).toBe(true);
      expect(verifies(rawBody.replace('"invoiceId"', '"invoiceID"'), headers['btcpay-sig'])).toBe(false);
      expect(verifies(`${rawBody} `, headers['btcpay-sig'])).toBe(false);
      expect(verifies(rawBody, headers['btcpay-sig'], 'another-secret')).toBe(false);
      expect(headers['content-type']).toBe('application/json');
    }
  });

  it('sends indented JSON in BTCPay field order with the delivery fields', async () => {
    const orderId = unique();
    const invoice = await createInvoice({ metadata: { orderId, paymentId: 'pay_7' } });
    await pay(invoice.id);
    await sandbox.idle();
    const settled = receiver.about(invoice.id).find(({ body }) => body.type === 'InvoiceSettled');
    expect(settled).toBeDefined();
    const { rawBody, body } = settled as Received;
    expect(rawBody).toBe(JSON.stringify(body, null, 2));
    expect(Object.keys(body)).toEqual([
      'manuallyMarked',
      'overPaid',
      'deliveryId',
      'webhookId',
      'originalDeliveryId',
      'isRedelivery',
      'type',
      'timestamp',
      'storeId',
      'invoiceId',
      'metadata',
    ]);
    expect(body).toMatchObject({
      webhookId: sandbox.webhookId,
      isRedelivery: false,
      storeId: STORE,
      invoiceId: invoice.id,
      metadata: { orderId, paymentId: 'pay_7' },
    });
    expect(body.originalDeliveryId).toBe(body.deliveryId);
    expect(Math.abs(body.timestamp - Date.now() / 1000)).toBeLessThan(60);
    const ids = receiver.about(invoice.id).map(({ body: b }) => b.deliveryId);
    expect(new Set(ids).size).toBe(ids.length); // every delivery has its own id
  });

  it('delivers only the subscribed event types', async () => {
    const picky = await another({ subscribedEvents: ['InvoiceSettled'] });
    const invoice = await createInvoice({}, picky);
    await pay(invoice.id, {}, picky);
    expect(await eventsOf(invoice.id, picky)).toEqual(['InvoiceSettled']);
    const skipped = picky.events().filter((event) => event.invoiceId === invoice.id && event.state === 'not-sent');
    expect(skipped.map((event) => event.reason)).toEqual(Array(4).fill('event type not subscribed'));
  });
});

describe('webhook retries', () => {
  const chainOf = (invoiceId: string, event: string) => sandbox.deliveries().filter((d) => d.invoiceId === invoiceId && d.event === event);

  it('matches BTCPay: 10 s, 1 min, then 10 min six times', () => {
    expect(BTCPAY_RETRY_DELAYS_MS).toEqual([10_000, 60_000, 600_000, 600_000, 600_000, 600_000, 600_000, 600_000]);
  });

  it('redelivers after growing delays until the receiver takes it, each time under a new deliveryId', async () => {
    receiver.answer(500);
    receiver.answer(503);
    const invoice = await createInvoice();
    await sandbox.idle();

    const chain = chainOf(invoice.id, 'InvoiceCreated');
    expect(chain.map((d) => d.statusCode)).toEqual([500, 503, 200]);
    expect(chain.map((d) => d.status)).toEqual(['HttpError', 'HttpError', 'HttpSuccess']);
    expect(chain.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(chain.map((d) => d.delayMs)).toEqual([0, RETRY_DELAYS_MS[0], RETRY_DELAYS_MS[1]]);
    expect(chain.map((d) => d.isRedelivery)).toEqual([false, true, true]);
    const first = chain[0]!.deliveryId;
    expect(chain.map((d) => d.originalDeliveryId)).toEqual([first, first, first]);
    expect(new Set(chain.map((d) => d.deliveryId)).size).toBe(3);

    const bodies = receiver.about(invoice.id).map(({ body }) => body);
    expect(bodies.map((b) => [b.deliveryId, b.originalDeliveryId, b.isRedelivery])).toEqual(chain.map((d) => [d.deliveryId, first, d.isRedelivery]));
    expect(new Set(bodies.map((b) => b.timestamp)).size).toBe(1); // a redelivery keeps the event's timestamp
    for (const { rawBody, headers } of receiver.about(invoice.id)) expect(verifies(rawBody, headers['btcpay-sig'])).toBe(true);
    expect(sandbox.events().find((e) => e.invoiceId === invoice.id)?.state).toBe('delivered');
  });

  it('gives up after the last scheduled redelivery', async () => {
    receiver.answer(500, 9);
    const invoice = await createInvoice();
    await sandbox.idle();
    const chain = chainOf(invoice.id, 'InvoiceCreated');
    expect(chain.map((d) => d.delayMs)).toEqual([0, ...RETRY_DELAYS_MS]);
    expect(chain.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sandbox.events().find((e) => e.invoiceId === invoice.id)?.state).toBe('failed');
  });

  it('retries 408, 429 and unreachable receivers, but not other 4xx', async () => {
    receiver.answer(408);
    receiver.answer(429);
    const retried = await createInvoice();
    await sandbox.idle();
    expect(chainOf(retried.id, 'InvoiceCreated').map((d) => d.statusCode)).toEqual([408, 429, 200]);

    receiver.answer(400);
    const refused = await createInvoice();
    await sandbox.idle();
    expect(chainOf(refused.id, 'InvoiceCreated').map((d) => d.statusCode)).toEqual([400]);
    expect(sandbox.events().find((e) => e.invoiceId === refused.id)?.state).toBe('failed');

    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await another({ webhookUrl: deadUrl, retry: { delaysMs: [1, 2] } });
    const lost = await createInvoice({}, unreachable);
    await unreachable.idle();
    const attempts = unreachable.deliveries().filter((d) => d.invoiceId === lost.id);
    expect(attempts.map((d) => [d.statusCode, d.status])).toEqual([
      [null, 'Failed'],
      [null, 'Failed'],
      [null, 'Failed'],
    ]);
    expect(attempts[0]!.error).toMatch(/ECONNREFUSED/);
  });

  it('delivers in order: an event waiting for its redelivery holds back the next ones', async () => {
    receiver.answer(500);
    const invoice = await createInvoice();
    await pay(invoice.id);
    await sandbox.idle();
    const arrivals = receiver.about(invoice.id).map(({ body }) => [body.type, body.isRedelivery]);
    expect(arrivals).toEqual([
      ['InvoiceCreated', false],
      ['InvoiceCreated', true],
      ['InvoiceReceivedPayment', false],
      ['InvoiceProcessing', false],
      ['InvoicePaymentSettled', false],
      ['InvoiceSettled', false],
    ]);
  });

  it('redelivers by hand: new deliveryId, originalDeliveryId of the first delivery, isRedelivery', async () => {
    const invoice = await createInvoice();
    await sandbox.idle();
    const [original] = chainOf(invoice.id, 'InvoiceCreated');
    const answer = await control(`/sandbox/deliveries/${original!.deliveryId}/redeliver`);
    expect(answer.status).toBe(200);
    await sandbox.idle();
    const again = await control(`/sandbox/deliveries/${answer.json.deliveryId}/redeliver`);
    await sandbox.idle();

    const bodies = receiver.about(invoice.id).map(({ body }) => body);
    expect(bodies.map((b) => [b.deliveryId, b.originalDeliveryId, b.isRedelivery])).toEqual([
      [original!.deliveryId, original!.deliveryId, false],
      [answer.json.deliveryId, original!.deliveryId, true],
      [again.json.deliveryId, original!.deliveryId, true],
    ]);
    expect((await control('/sandbox/deliveries/NoSuchDelivery/redeliver')).status).toBe(404);
  });

  it('lists deliveries with event, status code, attempt and time', async () => {
    receiver.answer(502);
    const invoice = await createInvoice();
    await sandbox.idle();
    const listed = (await call(sandbox, '/sandbox/deliveries', { headers: { Authorization: '' } })).json.filter(
      (d: { invoiceId: string }) => d.invoiceId === invoice.id,
    );
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({ event: 'InvoiceCreated', statusCode: 502, attempt: 1, url: receiver.url, error: 'HTTP Error Code 502' });
    expect(listed[1]).toMatchObject({ event: 'InvoiceCreated', statusCode: 200, attempt: 2 });
    expect(Date.parse(listed[1].time)).toBeGreaterThanOrEqual(Date.parse(listed[0].time));
  });
});

describe('losing webhooks', () => {
  it('delivers nothing while switched off, and again once switched on', async () => {
    const off = await control('/sandbox/webhooks', { deliver: false });
    expect(off.json).toEqual({ webhookId: sandbox.webhookId, url: receiver.url, deliver: false });
    const invoice = await createInvoice();
    await pay(invoice.id);
    await sandbox.idle();
    expect(receiver.about(invoice.id)).toEqual([]);
    expect(sandbox.deliveries().filter((d) => d.invoiceId === invoice.id)).toEqual([]);
    const lost = sandbox.events().filter((e) => e.invoiceId === invoice.id);
    expect(lost.map((e) => [e.type, e.state, e.reason])).toEqual(
      ['InvoiceCreated', 'InvoiceReceivedPayment', 'InvoiceProcessing', 'InvoicePaymentSettled', 'InvoiceSettled'].map((type) => [
        type,
        'not-sent',
        'delivery switched off',
      ]),
    );
    // The API still tells the truth: polling finds what the webhooks would have said.
    expect((await call(sandbox, `${invoicesPath()}/${invoice.id}`)).json.status).toBe('Settled');

    await control('/sandbox/webhooks', { deliver: true });
    await call(sandbox, `${invoicesPath()}/${invoice.id}/refund`, { body: { refundVariant: 'Fiat' } });
    expect(await eventsOf(invoice.id)).toEqual(['InvoiceRefund']);
  });

  it('drops an event waiting for its redelivery when switched off', async () => {
    const slow = await another({ retry: { delaysMs: [60_000] } });
    receiver.answer(500);
    const invoice = await createInvoice({}, slow);
    for (let i = 0; i < 100 && slow.deliveries().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    slow.setDelivering(false);
    await slow.idle(); // resolves now, not after the 60 s wait
    expect(slow.deliveries().map((d) => d.statusCode)).toEqual([500]);
    expect(slow.events().find((e) => e.invoiceId === invoice.id)).toMatchObject({ state: 'dropped', reason: 'delivery switched off' });
  });

  it('keeps events without a webhook URL and sends later ones once one is set', async () => {
    const unwired = await another({ webhookUrl: undefined });
    const before = await createInvoice({}, unwired);
    await unwired.idle();
    expect(unwired.events()).toMatchObject([
      { invoiceId: before.id, type: 'InvoiceCreated', state: 'not-sent', reason: 'no webhook URL', originalDeliveryId: null },
    ]);
    unwired.setWebhookUrl(receiver.url);
    const after = await createInvoice({}, unwired);
    expect(await eventsOf(after.id, unwired)).toEqual(['InvoiceCreated']);
    expect(receiver.about(before.id)).toEqual([]);
  });
});

// --- faults -------------------------------------------------------------------------------------

describe('faults', () => {
  const faults = (body: unknown) => control('/sandbox/faults', body);

  it('fails the next n API calls with 500 without running them', async () => {
    const orderId = unique();
    const set = await faults({ count: 2 });
    expect(set.json).toMatchObject({ remaining: 2, kind: 'http500' });
    const first = await call(sandbox, invoicesPath(), { body: { amount: '1', metadata: { orderId } } });
    const second = await call(sandbox, `${invoicesPath()}?orderId=${orderId}`);
    expect([first.status, first.text, second.status]).toEqual([500, '', 500]);
    const third = await call(sandbox, `${invoicesPath()}?orderId=${orderId}`);
    expect(third.status).toBe(200);
    expect(third.json).toEqual([]); // the failed create never ran

    const calls = sandbox.calls().slice(-3);
    expect(calls.map((c) => [c.status, c.fault])).toEqual([
      [500, 'http500'],
      [500, 'http500'],
      [200, undefined],
    ]);
  });

  it('fails every API call for some seconds as the proxy does when BTCPay is down, until cleared', async () => {
    await faults({ seconds: 30, kind: 'unavailable' });
    const down = await call(sandbox, invoicesPath());
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(down.text).toContain('503 Service Temporarily Unavailable');
    expect((await call(sandbox, invoicesPath())).status).toBe(503);
    // The sandbox's own controls are not the API: they keep working.
    expect((await call(sandbox, '/sandbox/faults', { headers: { Authorization: '' } })).json).toMatchObject({ kind: 'unavailable', until: expect.any(String) });

    const cleared = await call(sandbox, '/sandbox/faults', { method: 'DELETE', headers: { Authorization: '' } });
    expect(cleared.status).toBe(204);
    expect((await call(sandbox, invoicesPath())).status).toBe(200);
  });

  it('ends a seconds fault by itself', async () => {
    sandbox.failFor(50);
    expect((await call(sandbox, invoicesPath())).status).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await call(sandbox, invoicesPath())).status).toBe(200);
  });

  it('never answers a call failed with timeout', async () => {
    const orderId = unique();
    await faults({ count: 1, kind: 'timeout' });
    const error = await fetch(`${sandbox.url}${invoicesPath()}`, {
      method: 'POST',
      headers: { Authorization: `token ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ amount: '1', metadata: { orderId } }),
      signal: AbortSignal.timeout(200),
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as Error | undefined)?.name).toBe('TimeoutError');
    expect((await call(sandbox, `${invoicesPath()}?orderId=${orderId}`)).json).toEqual([]);
    expect(sandbox.calls().at(-2)).toMatchObject({ method: 'POST', status: null, fault: 'timeout' });
  });

  it('refuses a malformed fault', async () => {
    expect((await faults({ count: 1, seconds: 1 })).status).toBe(422);
    expect((await faults({})).status).toBe(422);
    expect((await faults({ count: 1, kind: 'slow' })).status).toBe(422);
    expect((await faults({ count: 0 })).status).toBe(422);
    expect(sandbox.failNext(0)).toMatchObject({ remaining: 0, until: null });
    expect((await call(sandbox, invoicesPath())).status).toBe(200); // none of them was set
  });
});

describe('lifecycle', () => {
  it('stops promptly with a redelivery pending and frees its port', async () => {
    const doomed = await BTCPaySandbox.start(options({ retry: { delaysMs: [60_000] } }));
    receiver.answer(500);
    await createInvoice({}, doomed);
    for (let i = 0; i < 100 && doomed.deliveries().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const port = doomed.port;
    await doomed.stop();
    await doomed.idle(); // nothing left waiting
    const error = await fetch(`http://127.0.0.1:${port}/api/v1/health`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
  });

  it('forgets everything on reset but keeps its webhook', async () => {
    const fresh = await another();
    await createInvoice({}, fresh);
    await fresh.idle();
    expect((await control('/sandbox/reset', undefined, fresh)).status).toBe(204);
    expect((await call(fresh, invoicesPath(fresh))).json).toEqual([]);
    expect(fresh.events()).toEqual([]);
    const after = await createInvoice({}, fresh);
    expect(await eventsOf(after.id, fresh)).toEqual(['InvoiceCreated']);
  });
});
