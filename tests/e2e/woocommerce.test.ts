/**
 * The WooCommerce channel end to end: a checkout in the WooCommerce sandbox reaches the hub by its
 * signed webhook, is paid through the Stripe sandbox, and every change the shop must know is written
 * back through the shop's REST API (status, note, refund) by the `callbacks` worker — with the shop
 * down for a while, repeated and forged webhooks, the ping, and bad shop orders.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import type { WooCommerceSandbox } from '../../local/woocommerce-sandbox';
import { startBookingRuntime, stripeClient } from '../support/bookings';
import { createPayment, expectHubProblem, hub, hubOrderOfShop, payInSandbox, shopCheckout, shopOrderBody } from '../support/orders';
import { waitFor } from '../support/wait';

/** A short callback schedule, so retries happen within a test. */
const SCHEDULE_MS = [100, 200, 400, 800, 1600];

interface Note {
  note: string;
  author: string;
}

describe('WooCommerce channel (local host, WooCommerce and Stripe sandboxes)', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;
  let shop: WooCommerceSandbox;

  beforeAll(async () => {
    runtime = await startBookingRuntime({ CALLBACK_RETRY_SCHEDULE: SCHEDULE_MS.map((ms) => `${ms}ms`).join(','), TABLE_PREFIX: 'woo' });
    stripe = stripeClient(runtime);
    if (!runtime.woocommerce) throw new Error('the runtime runs no WooCommerce sandbox');
    shop = runtime.woocommerce;
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  const hubNotes = (id: number) => (shop.notes(id) as Note[]).filter((note) => note.author === 'Order Hub');
  const shopStatus = (id: number) => shop.order(id).status;
  const webhook = (body: string, headers: Record<string, string>) =>
    fetch(`${runtime.url}/v1/webhooks/woocommerce`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const signed = (body: string, secret = shop.webhookSecret) => ({
    'x-wc-webhook-topic': 'order.created',
    'x-wc-webhook-resource': 'order',
    'x-wc-webhook-event': 'created',
    'x-wc-webhook-delivery-id': randomUUID().replaceAll('-', ''),
    'x-wc-webhook-signature': createHmac('sha256', secret).update(body).digest('base64'),
  });
  /** A shop order body as WooCommerce would post it, for an id the shop never had. */
  const foreignOrder = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: 900_000 + Math.floor(Math.random() * 99_999),
      status: 'pending',
      currency: 'EUR',
      payment_method: 'order_hub',
      total: '25.00',
      billing: { first_name: 'Eve', last_name: 'Forger', email: 'eve@example.com' },
      line_items: [{ name: 'Wiper blades', sku: 'WIPER-1', quantity: 2, price: 12.5, total: '25.00', total_tax: '0.00' }],
      ...overrides,
    });
  const notStored = async (externalId: number) => expect((await hub(runtime, 'GET', `/v1/orders/by-source/woocommerce/${externalId}`)).status).toBe(404);

  it('takes a checkout, is paid through Stripe, and tells the shop: processing, completed, a partial refund, refunded', async () => {
    const shopOrder = await shopCheckout(runtime);
    const order = await hubOrderOfShop(runtime, shopOrder.id);
    expect(order).toMatchObject({
      source: 'woocommerce',
      externalId: String(shopOrder.id),
      status: 'pending',
      currency: 'EUR',
      totalAmount: 6_485,
      customer: { name: 'Ada Lovelace', address: { street: 'Hauptstraße 1', zip: '10115', city: 'Berlin', country: 'DE' } },
      items: [
        expect.objectContaining({ sku: 'WIPER-1', quantity: 2, unitAmount: 1_250 }),
        expect.objectContaining({ sku: 'OIL-5W30', quantity: 1, unitAmount: 3_490 }),
        expect.objectContaining({ sku: 'shipping', quantity: 1, unitAmount: 495 }),
      ],
    });
    // Nothing the shop must know yet: no note while the order waits for its payment.
    expect(hubNotes(shopOrder.id)).toEqual([]);

    const payment = await createPayment(runtime, order.id);
    await payInSandbox(runtime, stripe, payment.providerRef);
    await waitFor(() => shopStatus(shopOrder.id) === 'processing' && hubNotes(shopOrder.id).length === 1, {
      message: 'the shop order never became processing',
    });
    expect(hubNotes(shopOrder.id)[0]?.note).toContain(`Paid through Order Hub: 64.85 EUR`);
    expect(hubNotes(shopOrder.id)[0]?.note).toContain(payment.providerRef);

    for (const to of ['processing', 'shipped', 'delivered']) {
      expect((await hub(runtime, 'POST', `/v1/orders/${order.id}/transitions`, { body: { to } })).status).toBe(200);
    }
    await waitFor(() => shopStatus(shopOrder.id) === 'completed' && hubNotes(shopOrder.id).length === 2, { message: 'the shop order never completed' });

    const partial = await hub(runtime, 'POST', `/v1/payments/${payment.id}/refunds`, { body: { amount: 1_000 }, idempotencyKey: randomUUID() });
    expect(partial.status, JSON.stringify(partial.body)).toBe(201);
    await waitFor(() => (shop.order(shopOrder.id).refunds as unknown[]).length === 1 && hubNotes(shopOrder.id).length === 3, {
      message: 'the partial refund never reached the shop',
    });
    expect(shop.order(shopOrder.id).refunds).toEqual([expect.objectContaining({ total: '-10.00' })]);
    expect(shopStatus(shopOrder.id)).toBe('completed');

    const rest = await hub(runtime, 'POST', `/v1/payments/${payment.id}/refunds`, { body: {}, idempotencyKey: randomUUID() });
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    await waitFor(() => shopStatus(shopOrder.id) === 'refunded' && hubNotes(shopOrder.id).length === 4, { message: 'the shop order never became refunded' });
    // One partial refund recorded as a WooCommerce refund; the full refund is the status, once.
    expect(shop.order(shopOrder.id).refunds).toHaveLength(1);
    expect(hubNotes(shopOrder.id).map((note) => note.note.replace(/ \[order-hub .*\]$/, ''))).toEqual([
      expect.stringContaining('Refunded in full through Order Hub: 64.85 EUR'),
      expect.stringContaining('Refunded 10.00 EUR through Order Hub'),
      `Delivered (Order Hub order ${order.id}).`,
      expect.stringContaining('Paid through Order Hub'),
    ]);

    // The delivery log shows each update delivered once.
    const deliveries = () => hub(runtime, 'GET', `/v1/admin/callbacks?subject=${order.id}`, { key: runtime.apiKeys.admin });
    await waitFor(async () => (await deliveries()).body.items.every((delivery: { status: string }) => delivery.status === 'delivered'));
    const log = await deliveries();
    expect(log.body.items.map((delivery: { type: string; status: string }) => `${delivery.type}:${delivery.status}`).sort()).toEqual([
      'shop.completed:delivered',
      'shop.processing:delivered',
      'shop.refund:delivered',
      'shop.refunded:delivered',
    ]);
  });

  it('makes one hub order of a webhook delivered five times, and of the same order under five delivery ids at once', async () => {
    const shopOrder = await shopCheckout(runtime);
    const first = shop.webhookDeliveries().find((delivery) => delivery.orderId === shopOrder.id && delivery.topic === 'order.created');
    expect(first?.status).toBe(200);
    expect(JSON.parse(first?.response ?? '{}')).toMatchObject({ outcome: 'created' });
    const again = await Promise.all(Array.from({ length: 4 }, () => shop.redeliver(first?.deliveryId as string)));
    expect(again.map((delivery) => [delivery.status, JSON.parse(delivery.response).outcome])).toEqual(Array(4).fill([200, 'duplicate']));

    // WooCommerce's own retries carry new delivery ids: the shop's order id still names one hub order.
    const body = first?.body as string;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => webhook(body, signed(body)).then((response) => response.json() as Promise<{ orderId: string }>)),
    );
    const order = await hubOrderOfShop(runtime, shopOrder.id);
    expect(new Set(answers.map((answer: { orderId: string }) => answer.orderId))).toEqual(new Set([order.id]));
    const customer = await hub(runtime, 'GET', `/v1/customers/${order.customerId}`);
    expect(customer.body.orders).toEqual([expect.objectContaining({ id: order.id })]);
  });

  it('refuses forged and unsigned webhooks with 401 and stores nothing; answers the ping', async () => {
    const body = foreignOrder();
    const id = JSON.parse(body).id as number;
    const forged = await webhook(body, signed(body, 'not-the-secret'));
    expect(forged.status).toBe(401);
    expect(forged.headers.get('content-type')).toBe('application/problem+json');
    expect(forged.headers.get('www-authenticate')).toContain('X-WC-Webhook-Signature');
    const { 'x-wc-webhook-signature': _signature, ...unsignedHeaders } = signed(body);
    expect((await webhook(body, unsignedHeaders)).status).toBe(401);
    // Signed for another body: the bytes are what is verified.
    expect((await webhook(body.replace('Eve', 'Eva'), signed(body))).status).toBe(401);
    await notStored(id);

    const ping = await shop.ping();
    expect(ping.status).toBe(200);
    expect(JSON.parse(ping.response)).toEqual({ received: true, outcome: 'ping' });
  });

  it('answers a shop order it cannot take with problem+json, and acknowledges what is not the hub’s, storing nothing', async () => {
    const badCurrency = foreignOrder({ currency: 'XYZ' });
    const refused = await webhook(badCurrency, signed(badCurrency));
    expectHubProblem({ status: refused.status, headers: refused.headers, body: await refused.json() }, 422);
    await notStored(JSON.parse(badCurrency).id);

    const wrongTotal = foreignOrder({ total: '99.00' });
    const mismatch = await webhook(wrongTotal, signed(wrongTotal));
    const problem = (await mismatch.json()) as { errors: unknown[] };
    expect(mismatch.status).toBe(422);
    expect(problem.errors).toEqual([expect.objectContaining({ in: 'body', path: 'total' })]);
    await notStored(JSON.parse(wrongTotal).id);

    const notJson = '{"id": 1,';
    expectHubProblem({ ...(await webhook(notJson, signed(notJson)).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }))) }, 400);

    const cashOnDelivery = await shopCheckout(runtime, shopOrderBody({ payment_method: 'cod' }));
    const delivery = shop.webhookDeliveries().find((candidate) => candidate.orderId === cashOnDelivery.id);
    expect(delivery?.status).toBe(200);
    expect(JSON.parse(delivery?.response ?? '{}')).toMatchObject({ outcome: 'ignored' });
    await notStored(cashOnDelivery.id);
  });

  it('cancels the hub order when the shop cancels it before payment', async () => {
    const shopOrder = await shopCheckout(runtime);
    const order = await hubOrderOfShop(runtime, shopOrder.id);
    const cancelled = await fetch(`${shop.url}/sandbox/orders/${shopOrder.id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    await shop.idle();
    expect((await hubOrderOfShop(runtime, shopOrder.id)).status).toBe('cancelled');
    const history = await hub(runtime, 'GET', `/v1/orders/${order.id}/history`);
    expect(history.body.items.at(-1)).toMatchObject({ to: 'cancelled', cause: expect.stringMatching(/^woocommerce:/) });
    // The hub's own cancellation reaches the shop as a note; the status was the shop's already.
    await waitFor(() => hubNotes(shopOrder.id).length === 1, { message: 'no cancellation note' });
    expect(shopStatus(shopOrder.id)).toBe('cancelled');
  });

  it('retries while the shop is unreachable, then writes the status once', async () => {
    const shopOrder = await shopCheckout(runtime);
    const order = await hubOrderOfShop(runtime, shopOrder.id);
    const payment = await createPayment(runtime, order.id);
    const callsBefore = shop.restCalls().length;
    shop.failFor(1_500, 'unavailable');
    await payInSandbox(runtime, stripe, payment.providerRef);
    await waitFor(() => shopStatus(shopOrder.id) === 'processing' && hubNotes(shopOrder.id).length === 1, {
      timeoutMs: 15_000,
      message: 'the status never arrived after the outage',
    });
    const calls = shop.restCalls().slice(callsBefore);
    expect(calls.filter((call) => call.fault === 'unavailable').length).toBeGreaterThanOrEqual(2);
    // The worker logs the attempt right after the shop answered it.
    const processing = async () =>
      (await hub(runtime, 'GET', `/v1/admin/callbacks?subject=${order.id}`, { key: runtime.apiKeys.admin })).body.items.find(
        (item: { type: string }) => item.type === 'shop.processing',
      );
    await waitFor(async () => (await processing())?.status === 'delivered', { message: 'the delivery log never showed the update delivered' });
    const delivery = await processing();
    expect(delivery.attemptCount).toBeGreaterThanOrEqual(2);
    // Written once: one status change, one hub note.
    expect((shop.notes(shopOrder.id) as Note[]).filter((note) => note.note.includes('to Processing'))).toHaveLength(1);
  });
});
