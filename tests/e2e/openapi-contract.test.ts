// The contract between the OpenAPI document and the server: representative flows of every part of the
// API run over HTTP through a recording proxy (the sandboxes' webhooks too), and every answer the
// server gave must be one the served document describes: its status documented for the operation a
// client would pick, its content type and body matching the schema, its required headers present, and
// a 2xx only for a credential the operation's security admits. The flows run here, not in the other
// e2e files, so those stay as fast as they were and nothing is shared between parallel files.
import { createHmac, randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import type { OpenApiDocument } from '../../shared/http/openapi';
import { api, bookingBody, startBookingRuntime, stripeClient } from '../support/bookings';
import { type Exchange, OpenApiContract, type RecordingProxy, startRecordingProxy } from '../support/openapi-contract';
import { hub, orderBody, shopOrderBody } from '../support/orders';
import { waitFor } from '../support/wait';

interface TripView {
  tripId: string;
  type: string;
  bookingId: string;
}

describe('the OpenAPI document describes every answer of the server', () => {
  let runtime: LocalRuntime;
  let proxy: RecordingProxy;
  /** The runtime as the flows see it: every call goes through the recording proxy. */
  let client: LocalRuntime;
  let contract: OpenApiContract;
  let stripe: Stripe;

  beforeAll(async () => {
    // The Driver-App sandbox runs (its signed status updates are part of the contract).
    runtime = await startBookingRuntime({ DRIVER_APP_MANUAL: 'false' });
    proxy = await startRecordingProxy(runtime.url);
    // Like `stripe listen --forward-to`, but through the proxy: the sandboxes' webhooks are recorded too.
    runtime.stripe?.setWebhookUrl(`${proxy.url}/v1/webhooks/stripe`);
    runtime.btcpay?.setWebhookUrl(`${proxy.url}/v1/webhooks/btcpay`);
    runtime.driver?.setStatusWebhookUrl(`${proxy.url}/v1/webhooks/driver-app`);
    runtime.woocommerce?.setWebhookUrl(`${proxy.url}/v1/webhooks/woocommerce`);
    client = { ...runtime, url: proxy.url };
    const served = await api(client, 'GET', '/v1/openapi.json');
    expect(served.status).toBe(200);
    contract = new OpenApiContract(served.body as OpenApiDocument, runtime.apiKeys);
    stripe = stripeClient(runtime);
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await runtime?.stop();
  });

  /** Runs a flow, waits for the webhooks it caused, and returns what the document does not describe of its exchanges. */
  async function undescribed(flow: () => Promise<void>): Promise<{ findings: string[]; exchanges: Exchange[] }> {
    const from = proxy.exchanges.length;
    await flow();
    await Promise.all([runtime.stripe?.idle(), runtime.btcpay?.idle()]);
    const exchanges = proxy.exchanges.slice(from);
    return { findings: exchanges.flatMap((exchange) => contract.check(exchange)), exchanges };
  }

  it('finds what the document does not describe (the check can fail)', () => {
    const exchange = (over: Partial<Exchange>): Exchange => ({
      method: 'GET',
      url: '/api/v1/orders/abc',
      requestHeaders: { authorization: `Bearer ${runtime.apiKeys.orders}` },
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{}',
      ...over,
    });
    const problem = JSON.stringify({ type: 'about:blank', title: 'Not found', status: 404, detail: 'x' });
    expect(contract.check(exchange({ status: 418 }))[0]).toMatch(/status not documented/);
    expect(contract.check(exchange({}))[0]).toMatch(/body does not match the schema/);
    expect(contract.check(exchange({ status: 404, body: problem }))[0]).toMatch(/content type application\/json not documented/);
    expect(contract.check(exchange({ status: 429, headers: { 'content-type': 'application/problem+json' }, body: problem }))[0]).toMatch(
      /required header Retry-After missing/,
    );
    expect(contract.check(exchange({ url: '/api/v1/nothing', status: 200 }))[0]).toMatch(/no operation/);
    expect(contract.check(exchange({ method: 'PATCH', status: 405, headers: { 'content-type': 'application/problem+json' }, body: problem }))[0]).toMatch(
      /required header Allow missing/,
    );
    // A 2xx for a caller the operation's security does not admit: no key, or a key of another role.
    const order = { status: 200, body: '{}' };
    expect(contract.check(exchange({ ...order, requestHeaders: {} })).join()).toMatch(/security does not admit/);
    expect(contract.check(exchange({ ...order, requestHeaders: { authorization: `Bearer ${runtime.apiKeys.workshop}` } })).join()).toMatch(
      /security does not admit/,
    );
    // Routed as a client would: the concrete segment wins, and the method picks among the templates.
    expect(contract.resolve('GET', '/api/v1/payments/order/o1')).toMatchObject({ path: '/v1/payments/order/{orderId}' });
    expect(contract.resolve('DELETE', '/api/v1/admin/dead-letters/q/replay')).toMatchObject({ path: '/v1/admin/dead-letters/{queue}/{messageId}' });
    expect(contract.resolve('PUT', '/api/v1/bookings')).toEqual({ kind: 'methodNotAllowed', path: '/v1/bookings' });
  });

  it('bookings: create, read, pay, pick up through the Driver-App, findings, ready, cancel — and their refusals', async () => {
    const { findings, exchanges } = await undescribed(async () => {
      expect((await api(client, 'GET', '/v1/services?lang=en')).status).toBe(200);
      const created = await api(client, 'POST', '/v1/bookings', { body: bookingBody() });
      expect(created.status).toBe(201);
      const booking = created.body as { id: string; accessToken: string; payment: { paymentIntentId: string } };
      const other = (await api(client, 'POST', '/v1/bookings', { body: bookingBody() })).body as { id: string; accessToken: string };
      expect((await api(client, 'POST', '/v1/bookings', { body: { customer: {} } })).status).toBe(422);
      expect((await api(client, 'POST', '/v1/bookings', { body: '{"customer":' })).status).toBe(400);
      expect((await api(client, 'POST', '/v1/bookings', { body: 'customer', contentType: 'text/plain' })).status).toBe(415);
      expect((await api(client, 'POST', '/v1/bookings', { body: bookingBody(), headers: { 'content-encoding': 'gzip' } })).status).toBe(415);

      const path = `/v1/bookings/${booking.id}`;
      expect((await api(client, 'GET', path, { token: booking.accessToken })).status).toBe(200);
      expect((await api(client, 'GET', path)).status).toBe(401);
      expect((await api(client, 'GET', path, { token: other.accessToken })).status).toBe(403);
      expect((await api(client, 'GET', path, { token: runtime.apiKeys.workshop })).status).toBe(200);
      expect((await api(client, 'GET', path, { token: runtime.apiKeys.orders })).status).toBe(403);
      expect((await api(client, 'GET', `/v1/bookings/${randomUUID()}`, { token: booking.accessToken })).status).toBe(404);
      expect((await api(client, 'GET', '/v1/bookings/%01', { token: booking.accessToken })).status).toBe(422);
      expect((await api(client, 'GET', `${path}/history`, { token: booking.accessToken })).status).toBe(200);

      // Paid: Stripe's webhooks (through the proxy) confirm it, and the pick-up trip goes to the Driver-App.
      await stripe.paymentIntents.confirm(booking.payment.paymentIntentId, { payment_method: 'pm_card_visa' });
      await runtime.stripe?.idle();
      expect((await api(client, 'POST', '/v1/webhooks/stripe', { body: '{}', headers: { 'stripe-signature': 't=1,v1=00' } })).status).toBe(400);
      const trips = async () => ((await (await fetch(`${runtime.driver?.url}/trips`)).json()) as { items: TripView[] }).items;
      await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id), { message: 'no pick-up trip' });
      const pickup = (await trips()).find((trip) => trip.bookingId === booking.id) as TripView;
      for (const status of ['assigned', 'pickup_completed']) {
        const reported = await fetch(`${runtime.driver?.url}/trips/${pickup.tripId}/status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ status }),
        });
        expect(reported.status, await reported.text()).toBe(200);
      }
      await waitFor(async () => (await api(client, 'GET', path, { token: booking.accessToken })).body.status === 'IN_WORKSHOP', {
        message: 'never in the workshop',
      });
      expect((await api(client, 'POST', '/v1/webhooks/driver-app', { body: '{}' })).status).toBe(401);

      const finding = { description: 'Bremsbeläge vorne verschlissen', priceCents: 8_900 };
      const workshop = runtime.apiKeys.workshop;
      const first = await api(client, 'POST', `${path}/findings`, { token: workshop, body: finding });
      expect(first.status).toBe(201);
      expect((await api(client, 'POST', `${path}/findings`, { body: finding })).status).toBe(401);
      expect((await api(client, 'POST', `${path}/findings`, { token: runtime.apiKeys.orders, body: finding })).status).toBe(403);
      expect((await api(client, 'POST', `/v1/bookings/${randomUUID()}/findings`, { token: workshop, body: finding })).status).toBe(404);
      expect((await api(client, 'POST', `${path}/findings`, { token: workshop, body: { description: '' } })).status).toBe(422);
      expect((await api(client, 'POST', `${path}/findings/${first.body.id}/approve`, { token: booking.accessToken })).status).toBe(200);
      // Approving again answers the finding as it stands; a declined one cannot be approved.
      expect((await api(client, 'POST', `${path}/findings/${first.body.id}/approve`, { token: booking.accessToken })).status).toBe(200);
      const second = await api(client, 'POST', `${path}/findings`, { token: workshop, body: finding });
      expect((await api(client, 'POST', `${path}/findings/${second.body.id}/decline`, { token: booking.accessToken })).status).toBe(200);
      expect((await api(client, 'POST', `${path}/findings/${second.body.id}/approve`, { token: booking.accessToken })).status).toBe(409);
      expect((await api(client, 'POST', `${path}/findings/${randomUUID()}/approve`, { token: booking.accessToken })).status).toBe(404);

      expect((await api(client, 'POST', `${path}/ready`, { token: workshop })).status).toBe(200);
      expect((await api(client, 'POST', `/v1/bookings/${other.id}/ready`, { token: workshop })).status).toBe(409);
      expect((await api(client, 'POST', `/v1/bookings/${randomUUID()}/ready`, { token: workshop })).status).toBe(404);
      const admin = runtime.apiKeys.admin;
      await api(client, 'POST', `${path}/jockey`, { token: admin, body: { name: 'Jo Jockey', leg: 'delivery' } });
      expect((await api(client, 'POST', `/v1/bookings/${randomUUID()}/trips/pickup/status`, { token: admin, body: { status: 'assigned' } })).status).toBe(404);
      expect((await api(client, 'POST', `${path}/cancel`, { token: booking.accessToken })).status).toBe(409);
      expect((await api(client, 'POST', `/v1/bookings/${other.id}/cancel`, { token: other.accessToken })).status).toBe(200);
      // The whole history: status, trip and finding rows.
      expect((await api(client, 'GET', `${path}/history`, { token: runtime.apiKeys.admin })).status).toBe(200);
    });
    expect(findings).toEqual([]);
    // The sandboxes' webhooks went through the proxy, so they were held against the document too.
    expect(exchanges.filter((exchange) => exchange.url.endsWith('/v1/webhooks/stripe') && exchange.status === 200).length).toBeGreaterThan(0);
    expect(exchanges.filter((exchange) => exchange.url.endsWith('/v1/webhooks/driver-app') && exchange.status === 200).length).toBe(2);
  }, 60_000);

  it('orders and payments: idempotent creation, reads, transitions, Stripe and BTCPay payments, refunds — and their refusals', async () => {
    const { findings, exchanges } = await undescribed(async () => {
      const body = orderBody();
      const key = randomUUID();
      const created = await hub(client, 'POST', '/v1/orders', { body, idempotencyKey: key });
      expect(created.status).toBe(201);
      const order = created.body as { id: string; customerId: string; externalId: string };
      const replayed = await hub(client, 'POST', '/v1/orders', { body, idempotencyKey: key });
      expect([replayed.status, replayed.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
      expect((await hub(client, 'POST', '/v1/orders', { body: orderBody(), idempotencyKey: key })).status).toBe(422);
      expect((await hub(client, 'POST', '/v1/orders', { body: orderBody() })).status).toBe(400);
      expect((await hub(client, 'POST', '/v1/orders', { body, idempotencyKey: randomUUID() })).status).toBe(409);
      expect((await hub(client, 'POST', '/v1/orders', { body: orderBody({ source: 'fax' }), idempotencyKey: randomUUID() })).status).toBe(422);

      const path = `/v1/orders/${order.id}`;
      expect((await hub(client, 'GET', path)).status).toBe(200);
      expect((await hub(client, 'GET', `/v1/orders/by-source/pos/${order.externalId}`)).status).toBe(200);
      expect((await hub(client, 'GET', `${path}/history`)).status).toBe(200);
      expect((await hub(client, 'GET', `/v1/orders/${randomUUID()}`)).status).toBe(404);
      expect((await hub(client, 'GET', path, { key: null })).status).toBe(401);
      expect((await hub(client, 'GET', path, { key: runtime.apiKeys.workshop })).status).toBe(403);
      expect((await hub(client, 'POST', `${path}/transitions`, { body: { to: 'confirmed' }, headers: { 'if-match': '"999"' } })).status).toBe(412);
      expect((await hub(client, 'POST', `${path}/transitions`, { body: { to: 'paid' } })).status).toBe(409);
      expect((await hub(client, 'POST', `${path}/transitions`, { body: { to: 'confirmed' } })).status).toBe(200);
      expect((await hub(client, 'GET', `/v1/customers/${encodeURIComponent(order.customerId)}`)).status).toBe(200);
      expect((await hub(client, 'GET', `/v1/customers/cust:${randomUUID()}`)).status).toBe(404);

      const opened = await hub(client, 'POST', '/v1/payments', { body: { orderId: order.id, provider: 'stripe' }, idempotencyKey: randomUUID() });
      expect(opened.status).toBe(201);
      const payment = opened.body as { id: string; providerRef: string };
      await stripe.paymentIntents.confirm(payment.providerRef, { payment_method: 'pm_card_visa' });
      await runtime.stripe?.idle();
      expect((await hub(client, 'GET', `/v1/payments/${payment.id}`)).body.status).toBe('succeeded');
      expect((await hub(client, 'GET', `/v1/payments/order/${order.id}`)).status).toBe(200);
      expect((await hub(client, 'GET', `/v1/payments/${payment.id}/history`)).status).toBe(200);
      expect((await hub(client, 'GET', `/v1/payments/${randomUUID()}`)).status).toBe(404);
      const refunds = `/v1/payments/${payment.id}/refunds`;
      expect((await hub(client, 'POST', refunds, { body: { amount: 100, reason: 'Kulanz' }, idempotencyKey: randomUUID() })).status).toBe(201);
      expect((await hub(client, 'POST', refunds, { body: { amount: 10_000_000 }, idempotencyKey: randomUUID() })).status).toBe(409);
      expect((await hub(client, 'POST', `/v1/payments/${randomUUID()}/refunds`, { body: {}, idempotencyKey: randomUUID() })).status).toBe(404);
      expect((await hub(client, 'POST', '/v1/payments', { body: { orderId: order.id, provider: 'stripe' }, idempotencyKey: randomUUID() })).status).toBe(409);
      expect((await hub(client, 'POST', '/v1/payments', { body: { orderId: randomUUID(), provider: 'stripe' }, idempotencyKey: randomUUID() })).status).toBe(
        404,
      );

      // Paid with Bitcoin: the BTCPay sandbox settles the invoice and delivers its signed webhooks (through the proxy).
      const second = (await hub(client, 'POST', '/v1/orders', { body: orderBody(), idempotencyKey: randomUUID() })).body as { id: string };
      const bitcoin = await hub(client, 'POST', '/v1/payments', { body: { orderId: second.id, provider: 'btcpay' }, idempotencyKey: randomUUID() });
      expect(bitcoin.status).toBe(201);
      const paid = await fetch(`${runtime.btcpay?.url}/sandbox/invoices/${bitcoin.body.providerRef}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(paid.status).toBeLessThan(300);
      await runtime.btcpay?.idle();
      await waitFor(async () => (await hub(client, 'GET', `/v1/payments/${bitcoin.body.id}`)).body.status === 'succeeded', { message: 'never settled' });
      expect((await hub(client, 'POST', '/v1/webhooks/btcpay', { body: '{}', key: null })).status).toBe(401);
    });
    expect(findings).toEqual([]);
    expect(exchanges.filter((exchange) => exchange.url.endsWith('/v1/webhooks/btcpay') && exchange.status === 200).length).toBeGreaterThan(0);
  }, 60_000);

  it('the WooCommerce webhook: a checkout, a redelivery, the ping, other payment methods — and its refusals', async () => {
    const shop = runtime.woocommerce;
    if (!shop) throw new Error('the runtime runs no WooCommerce sandbox');
    const webhook = (body: string, headers: Record<string, string>) =>
      fetch(`${proxy.url}/v1/webhooks/woocommerce`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const signedHeaders = (body: string) => ({
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-delivery-id': randomUUID().replaceAll('-', ''),
      'x-wc-webhook-signature': createHmac('sha256', shop.webhookSecret).update(body).digest('base64'),
    });
    const { findings, exchanges } = await undescribed(async () => {
      const order = shop.checkout(shopOrderBody()) as { id: number };
      shop.checkout(shopOrderBody({ payment_method: 'cod' }));
      await shop.idle();
      const created = shop.webhookDeliveries().find((delivery) => delivery.orderId === order.id);
      expect(created?.status).toBe(200);
      expect((await shop.redeliver(created?.deliveryId as string)).status).toBe(200);
      expect((await shop.ping()).status).toBe(200);
      const body = JSON.stringify({ ...JSON.parse(created?.body as string), id: order.id + 100_000, currency: 'XYZ' });
      expect((await webhook(body, signedHeaders(body))).status).toBe(422);
      expect((await webhook('{"id":', signedHeaders('{"id":'))).status).toBe(400);
      expect((await webhook(body, { ...signedHeaders(body), 'x-wc-webhook-signature': 'forged' })).status).toBe(401);
    });
    expect(findings).toEqual([]);
    expect(
      exchanges
        .filter((exchange) => exchange.url.endsWith('/v1/webhooks/woocommerce'))
        .map((exchange) => exchange.status)
        .sort(),
    ).toEqual([200, 200, 200, 200, 400, 401, 422]);
  });

  it('admin, operations and the answers of the host itself', async () => {
    const admin = runtime.apiKeys.admin;
    const { findings } = await undescribed(async () => {
      expect([200, 503]).toContain((await api(client, 'GET', '/health')).status);
      expect([200, 503]).toContain((await api(client, 'GET', '/v1/health')).status);
      expect((await api(client, 'GET', '/v1/admin/dead-letters', { token: admin })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/dead-letters', { token: runtime.apiKeys.orders })).status).toBe(403);
      expect((await api(client, 'GET', '/v1/admin/dead-letters/odoo-sync?max=5', { token: admin })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/dead-letters/odoo-sync?max=0', { token: admin })).status).toBe(422);
      const filtered = '/v1/admin/dead-letters/odoo-sync?type=booking.sync&subject=b-1&reason=PermanentError&q=odoo&max=10&after=12';
      expect((await api(client, 'GET', filtered, { token: admin })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/dead-letters/odoo-sync?after=x', { token: admin })).status).toBe(422);
      expect((await api(client, 'GET', '/v1/admin/whoami', { token: admin })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/whoami', { token: runtime.apiKeys.support })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/whoami', { token: runtime.apiKeys.orders })).status).toBe(403);
      expect((await api(client, 'GET', '/v1/admin/whoami')).status).toBe(401);
      const page = await api(client, 'GET', '/console');
      expect(page.status).toBe(200);
      for (const asset of ['console.js', 'console.css', 'icon.svg']) expect((await api(client, 'GET', `/console/${asset}`)).status).toBe(200);
      expect((await api(client, 'GET', '/console/console.js', { headers: { 'if-none-match': '"0000000000000000"' } })).status).toBe(200);
      expect((await api(client, 'GET', '/console/nothing.js')).status).toBe(404);
      expect((await api(client, 'GET', '/v1/admin/dead-letters/no-such-queue', { token: admin })).status).toBe(404);
      expect((await api(client, 'POST', '/v1/admin/dead-letters/odoo-sync/m-1/replay', { token: admin })).status).toBe(404);
      expect((await api(client, 'POST', '/v1/admin/dead-letters/odoo-sync/replay', { token: admin, body: {} })).status).toBe(200);
      const matching = { type: 'booking.sync', subject: 'b-1', reason: 'PermanentError', q: 'odoo' };
      expect((await api(client, 'POST', '/v1/admin/dead-letters/odoo-sync/replay', { token: admin, body: matching })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/audit?queue=odoo-sync&limit=5', { token: admin })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/audit?queue=no-such-queue', { token: admin })).status).toBe(404);
      expect((await api(client, 'GET', '/v1/admin/audit?limit=0', { token: admin })).status).toBe(422);
      expect((await api(client, 'GET', '/v1/admin/replays/no-such-run', { token: admin })).status).toBe(404);
      expect((await api(client, 'GET', '/v1/admin/attention', { token: admin })).status).toBe(200);
      expect((await api(client, 'GET', '/v1/admin/attention?limit=0', { token: admin })).status).toBe(422);
      expect((await api(client, 'POST', '/v1/admin/attention/booking:none/resolve', { token: admin, body: { note: 'nothing to do' } })).status).toBe(404);
      expect((await api(client, 'POST', '/v1/admin/attention/booking:none/resolve', { token: admin, body: {} })).status).toBe(422);
      const discard = '/v1/admin/dead-letters/odoo-sync/m-1';
      expect((await api(client, 'DELETE', discard, { token: admin, body: { reason: 'test data' } })).status).toBe(404);
      expect((await api(client, 'DELETE', discard, { token: admin })).status).toBe(415);
      expect((await api(client, 'GET', '/v1/admin/callbacks?source=pos&limit=5', { token: admin })).status).toBe(200);
      expect((await api(client, 'POST', `/v1/admin/callbacks/${randomUUID()}/resend`, { token: admin })).status).toBe(404);
      const since = new Date(Date.now() - 3_600_000).toISOString();
      expect((await api(client, 'POST', '/v1/admin/callbacks/replay', { token: admin, body: { source: 'pos', since } })).status).toBe(202);

      expect((await api(client, 'GET', '/v1/no-such-route')).status).toBe(404);
      expect((await api(client, 'PUT', '/v1/bookings', { body: {} })).status).toBe(405);
      expect((await api(client, 'DELETE', '/v1/orders', { token: runtime.apiKeys.orders })).status).toBe(405);
      const huge = JSON.stringify({ notes: 'x'.repeat(1024 * 1024) });
      expect((await api(client, 'POST', '/v1/bookings', { body: huge })).status).toBe(413);
    });
    expect(findings).toEqual([]);
  }, 60_000);
});
