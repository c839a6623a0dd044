/**
 * The WooCommerce client and the shop transport against the WooCommerce sandbox (its own copy of the
 * REST API v3 contract): reads and writes, WooCommerce's errors as typed errors, the fault switch,
 * and an update written once however often it is delivered.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WooCommerceSandbox } from '../../local/woocommerce-sandbox';
import { verifyBase64HmacSha256 } from '../../shared/kernel/hmac';
import { WooCommerceClient, WooCommerceError } from '../../slices/orders/adapters/woocommerce-client';
import { shopTag, WooCommerceTransport } from '../../slices/orders/adapters/woocommerce-transport';
import { shopOrderBody } from '../support/orders';

describe('WooCommerce client and transport (WooCommerce sandbox)', () => {
  let shop: WooCommerceSandbox;
  let client: WooCommerceClient;
  let transport: WooCommerceTransport;
  let received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }>;
  let receiver: import('node:http').Server;

  beforeAll(async () => {
    const http = await import('node:http');
    received = [];
    receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address() as import('node:net').AddressInfo;
    shop = await WooCommerceSandbox.start({ port: 0, webhookUrl: `http://127.0.0.1:${address.port}/hook` });
    client = new WooCommerceClient({ url: shop.url, consumerKey: shop.consumerKey, consumerSecret: shop.consumerSecret, timeoutMs: 1_000 });
    transport = new WooCommerceTransport(client);
  });

  beforeEach(() => shop.clearFaults());

  afterAll(async () => {
    await shop?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const newShopOrder = () => shop.checkout(shopOrderBody()) as { id: number };
  const event = (id: string, data: Record<string, unknown>) => ({ id, type: 'shop.update', createdAt: new Date().toISOString(), data });
  const endpoint = { url: '', secrets: [] };

  it('delivers order.created signed as WooCommerce signs it, with its headers', async () => {
    const order = newShopOrder();
    await shop.idle();
    const delivery = received.find((candidate) => JSON.parse(candidate.body).id === order.id);
    expect(delivery?.headers).toMatchObject({
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-id': '1',
      'x-wc-webhook-delivery-id': expect.stringMatching(/^[0-9a-f]{32}$/),
      'x-wc-webhook-source': `${shop.url}/`,
    });
    const signature = delivery?.headers['x-wc-webhook-signature'] as string;
    expect(signature).toBe(
      createHmac('sha256', shop.webhookSecret)
        .update(delivery?.body as string)
        .digest('base64'),
    );
    expect(verifyBase64HmacSha256(Buffer.from(delivery?.body as string), signature, shop.webhookSecret)).toBe(true);
  });

  it('reads an order, sets its status, lists and adds notes, records a refund', async () => {
    const order = newShopOrder();
    expect(await client.getOrder(String(order.id))).toMatchObject({ id: order.id, status: 'pending', refunds: [] });
    expect(await client.setStatus(String(order.id), 'processing')).toMatchObject({ status: 'processing' });
    const note = await client.addNote(String(order.id), 'hello');
    expect((await client.listNotes(String(order.id))).map((candidate) => candidate.note)).toContain('hello');
    expect(note.id).toBeGreaterThan(0);
    await client.createRefund(String(order.id), { amount: '10.00', reason: 'part' });
    expect((await client.getOrder(String(order.id))).refunds).toEqual([expect.objectContaining({ reason: 'part', total: '-10.00' })]);
  });

  it('turns WooCommerce’s errors into typed errors: 401, 404, 500, 503 with Retry-After, no answer', async () => {
    const wrong = new WooCommerceClient({ url: shop.url, consumerKey: shop.consumerKey, consumerSecret: 'cs_wrong' });
    await expect(wrong.getOrder('1000')).rejects.toMatchObject({
      code: 'unauthorized',
      status: 401,
      message: expect.stringContaining('woocommerce_rest_authentication_error'),
    });
    await expect(client.getOrder('999999')).rejects.toMatchObject({ code: 'not_found', status: 404 });
    shop.failNext(1, 'http500');
    await expect(client.getOrder('1000')).rejects.toMatchObject({ code: 'unavailable', status: 500 });
    shop.failNext(1, 'unavailable');
    const unavailable = await client.getOrder('1000').catch((error: unknown) => error);
    expect(unavailable).toBeInstanceOf(WooCommerceError);
    expect(unavailable).toMatchObject({ code: 'unavailable', status: 503, retryAfterMs: 1_000, transient: true });
    shop.failNext(1, 'timeout');
    await expect(client.getOrder('1000')).rejects.toMatchObject({ code: 'unavailable', status: undefined });
  });

  it('writes an update once: a second delivery finds the status, the note and the refund already there', async () => {
    const order = newShopOrder();
    const paid = event('shop_ord_x_v4_processing', { shopOrderId: String(order.id), orderId: 'ord_x', status: 'processing', note: 'Paid.' });
    expect(await transport.post(endpoint, paid)).toMatchObject({ statusCode: 200, response: 'status pending -> processing; note' });
    expect(await transport.post(endpoint, paid)).toMatchObject({ statusCode: 200, response: 'the shop already showed this update' });
    const refund = event('shop_ord_x_v5_refund', {
      shopOrderId: String(order.id),
      orderId: 'ord_x',
      refund: { amount: '5.00', reason: 'Refunded through Order Hub' },
      note: 'Refunded 5.00 EUR.',
    });
    await transport.post(endpoint, refund);
    await transport.post(endpoint, refund);
    const notes = shop.notes(order.id).filter((note) => note.note.includes('[order-hub'));
    expect(notes.map((note) => note.note)).toEqual([`Refunded 5.00 EUR. ${shopTag(refund.id)}`, `Paid. ${shopTag(paid.id)}`]);
    expect(shop.order(order.id).refunds).toEqual([expect.objectContaining({ total: '-5.00', reason: `Refunded through Order Hub ${shopTag(refund.id)}` })]);
  });

  it('never moves a shop order back, and reports the shop’s failures as attempts the worker can judge', async () => {
    const order = newShopOrder();
    await client.setStatus(String(order.id), 'completed');
    const late = event('shop_ord_y_v4_processing', { shopOrderId: String(order.id), orderId: 'ord_y', status: 'processing', note: 'Paid.' });
    expect(await transport.post(endpoint, late)).toMatchObject({ statusCode: 200, response: 'note' });
    expect(shop.order(order.id).status).toBe('completed');

    shop.failNext(1, 'unavailable');
    expect(
      await transport.post(endpoint, event('shop_ord_y_v5_completed', { shopOrderId: String(order.id), orderId: 'ord_y', status: 'completed', note: 'Done.' })),
    ).toMatchObject({
      statusCode: 503,
      retryAfterMs: 1_000,
      error: expect.stringContaining('503'),
    });
    expect(
      await transport.post(endpoint, event('shop_ord_z_v4_processing', { shopOrderId: '999999', orderId: 'ord_z', status: 'processing', note: 'Paid.' })),
    ).toMatchObject({
      statusCode: 404,
    });
    shop.failNext(1, 'timeout');
    const silent = await transport.post(
      endpoint,
      event('shop_ord_y_v6_completed', { shopOrderId: String(order.id), orderId: 'ord_y', status: 'completed', note: 'Done.' }),
    );
    expect(silent.statusCode).toBeUndefined();
    expect(silent.error).toContain('did not answer');
  });
});
