/**
 * The WooCommerce channel without I/O: the webhook signature, the shop order → hub order mapping,
 * the webhook use case on in-memory ports (repeats, cancellation, other payment methods), and the
 * shop updates a change causes.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/config';
import { decimalToMinor, minorToDecimal } from '../../shared/kernel/currency';
import { base64HmacSha256, verifyBase64HmacSha256 } from '../../shared/kernel/hmac';
import { shopUpdates } from '../../slices/orders/app/shop-updates';
import { receiveShopOrder, type ShopOrder, shopOrderSchema, toCreateOrderRequest } from '../../slices/orders/app/woocommerce-orders';
import { verifyShopWebhook } from '../../slices/orders/http/woocommerce-webhook';
import { aPaidOrder, aPayment, anOrder, aRefund, currentOrder, ordersWorld } from '../support/order-fixtures';

const SECRET = 'wc_secret';

/** A shop order as WooCommerce's webhook carries it (the fields the hub reads and some it does not). */
function shopOrder(overrides: Record<string, unknown> = {}): ShopOrder {
  return shopOrderSchema.parse({
    id: 1234,
    number: '1234',
    order_key: 'wc_order_abc',
    status: 'pending',
    currency: 'EUR',
    payment_method: 'order_hub',
    total: '64.85',
    date_created: '2026-11-24T08:00:00',
    billing: {
      first_name: 'Ada',
      last_name: 'Lovelace',
      address_1: 'Hauptstraße 1',
      address_2: 'Hinterhaus',
      city: 'Berlin',
      postcode: '10115',
      country: 'DE',
      email: 'Ada@Example.com',
      phone: '+49 171 1234567',
    },
    line_items: [
      { id: 1, name: 'Wiper blades', product_id: 7, sku: 'WIPER-1', quantity: 2, price: 12.5, total: '25.00', total_tax: '0.00' },
      { id: 2, name: 'Engine oil', product_id: 8, sku: '', quantity: 1, price: 34.9, total: '34.90', total_tax: '0.00' },
    ],
    shipping_lines: [{ id: 3, method_title: 'Flat rate', total: '4.95', total_tax: '0.00' }],
    ...overrides,
  });
}

const request = (body: string, headers: Record<string, string>) => ({
  method: 'POST',
  url: 'v1/webhooks/woocommerce',
  params: {},
  query: new URLSearchParams(),
  headers,
  rawBody: Buffer.from(body),
  clientIp: '127.0.0.1',
});

describe('WooCommerce webhook signature', () => {
  const body = Buffer.from('{"id":1234}');
  const signature = createHmac('sha256', SECRET).update(body).digest('base64');

  it('verifies the base64 HMAC-SHA256 of the raw bytes, and nothing else', () => {
    expect(base64HmacSha256(body, SECRET)).toBe(signature);
    expect(verifyBase64HmacSha256(body, signature, SECRET)).toBe(true);
    expect(verifyBase64HmacSha256(Buffer.from('{"id": 1234}'), signature, SECRET)).toBe(false);
    expect(verifyBase64HmacSha256(body, signature, 'another')).toBe(false);
    expect(verifyBase64HmacSha256(body, undefined, SECRET)).toBe(false);
    expect(verifyBase64HmacSha256(body, 'not base64!', SECRET)).toBe(false);
    expect(verifyBase64HmacSha256(body, createHmac('sha256', SECRET).update(body).digest('hex'), SECRET)).toBe(false);
    expect(verifyBase64HmacSha256(body, signature, '')).toBe(false);
  });

  it('lets the unsigned ping through, refuses other unsigned or forged requests, acknowledges other topics', () => {
    expect(verifyShopWebhook(request('webhook_id=12', { 'content-type': 'application/x-www-form-urlencoded' }), SECRET)).toEqual({
      ok: true,
      event: { kind: 'ping' },
    });
    const unsigned = verifyShopWebhook(request('{"id":1234}', { 'x-wc-webhook-topic': 'order.created' }), SECRET);
    expect(unsigned.ok ? 200 : unsigned.response.status).toBe(401);
    // A ping body with a topic is not the ping: it must be signed.
    const topicPing = verifyShopWebhook(request('webhook_id=12', { 'x-wc-webhook-topic': 'order.created' }), SECRET);
    expect(topicPing.ok ? 200 : topicPing.response.status).toBe(401);
    const product = '{"id":5}';
    expect(
      verifyShopWebhook(request(product, { 'x-wc-webhook-topic': 'product.updated', 'x-wc-webhook-signature': base64HmacSha256(product, SECRET) }), SECRET),
    ).toEqual({ ok: true, event: { kind: 'other', topic: 'product.updated' } });
    const noDelivery = verifyShopWebhook(
      request(product, { 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': base64HmacSha256(product, SECRET) }),
      SECRET,
    );
    expect(noDelivery.ok ? 200 : noDelivery.response.status).toBe(400);
  });
});

describe('decimal amounts', () => {
  it('reads decimal strings and numbers in the minor unit of the currency, refusing finer digits', () => {
    expect(decimalToMinor('12.50', 'EUR')).toBe(1_250);
    expect(decimalToMinor(21.99, 'EUR')).toBe(2_199);
    expect(decimalToMinor('12.5', 'EUR')).toBe(1_250);
    expect(decimalToMinor('500', 'JPY')).toBe(500);
    expect(decimalToMinor('500.00', 'JPY')).toBe(500);
    expect(decimalToMinor('1.5', 'JPY')).toBeUndefined();
    expect(decimalToMinor('1.050', 'KWD')).toBe(1_050);
    expect(decimalToMinor('0.333', 'EUR')).toBeUndefined();
    expect(decimalToMinor('-1.00', 'EUR')).toBeUndefined();
    expect(decimalToMinor('1e3', 'EUR')).toBeUndefined();
    expect([minorToDecimal(1_250, 'EUR'), minorToDecimal(5, 'EUR'), minorToDecimal(500, 'JPY'), minorToDecimal(1_050, 'KWD')]).toEqual([
      '12.50',
      '0.05',
      '500',
      '1.050',
    ]);
  });
});

describe('shop order → hub order', () => {
  it('maps items, shipping, currency and the billing customer', () => {
    const mapped = toCreateOrderRequest(shopOrder());
    expect(mapped).toEqual({
      ok: true,
      request: {
        source: 'woocommerce',
        externalId: '1234',
        currency: 'EUR',
        customer: {
          email: 'ada@example.com',
          name: 'Ada Lovelace',
          phone: '+49 171 1234567',
          address: { street: 'Hauptstraße 1, Hinterhaus', zip: '10115', city: 'Berlin', country: 'DE' },
        },
        items: [
          { sku: 'WIPER-1', name: 'Wiper blades', quantity: 2, unitAmount: 1_250 },
          { sku: 'wc-product-8', name: 'Engine oil', quantity: 1, unitAmount: 3_490 },
          { sku: 'shipping', name: 'Flat rate', quantity: 1, unitAmount: 495 },
        ],
        totalAmount: 6_485,
        metadata: { wooOrderKey: 'wc_order_abc', wooOrderNumber: '1234' },
      },
    });
  });

  it('charges gross unit prices when the shop adds tax, in the currency’s own decimals', () => {
    const taxed = toCreateOrderRequest(
      shopOrder({
        currency: 'JPY',
        total: '2200',
        shipping_lines: [],
        line_items: [{ name: 'Tea', sku: 'TEA', quantity: 2, price: 1000, total: '2000', total_tax: '200' }],
      }),
    );
    expect(taxed.ok && taxed.request.items).toEqual([{ sku: 'TEA', name: 'Tea', quantity: 2, unitAmount: 1_100 }]);
  });

  it('leaves out a phone or address the hub cannot keep instead of refusing the order', () => {
    const mapped = toCreateOrderRequest(
      shopOrder({ billing: { first_name: '', last_name: '', company: 'ACME', email: 'buyer@example.com', phone: 'call me' } }),
    );
    expect(mapped.ok && mapped.request.customer).toEqual({ email: 'buyer@example.com', name: 'ACME' });
  });

  it('names the shop order’s fields it cannot take: currency, amounts, e-mail, a total that is not the sum', () => {
    expect(toCreateOrderRequest(shopOrder({ currency: 'XYZ' }))).toEqual({ ok: false, problems: [expect.objectContaining({ path: 'currency' })] });
    expect(toCreateOrderRequest(shopOrder({ total: '99,00' }))).toEqual({ ok: false, problems: [expect.objectContaining({ path: 'total' })] });
    const odd = toCreateOrderRequest(
      shopOrder({ total: undefined, line_items: [{ name: 'X', sku: 'X', quantity: 3, price: '3.333', total: '10.00', total_tax: '0.00' }] }),
    );
    expect(odd).toEqual({ ok: false, problems: [expect.objectContaining({ path: 'line_items.0.total' })] });
    const noEmail = toCreateOrderRequest(shopOrder({ billing: { first_name: 'A', email: '' } }));
    expect(noEmail).toEqual({ ok: false, problems: expect.arrayContaining([expect.objectContaining({ path: 'billing.email' })]) });
  });
});

describe('receiving shop orders (in-memory ports)', () => {
  const delivery = (order: ShopOrder, deliveryId = 'd1', topic: 'order.created' | 'order.updated' = 'order.created') => ({ topic, deliveryId, order });

  it('creates one hub order per shop order, however often and under whatever delivery id it comes', async () => {
    const world = ordersWorld();
    const deps = { ...world.create, ...world.payments };
    const first = await receiveShopOrder(deps, delivery(shopOrder()));
    expect(first).toEqual({ outcome: 'created', orderId: expect.stringMatching(/^ord_[0-9a-f]{32}$/) });
    expect(await receiveShopOrder(deps, delivery(shopOrder()))).toEqual({ outcome: 'duplicate', orderId: (first as { orderId: string }).orderId });
    expect(await receiveShopOrder(deps, delivery(shopOrder(), 'd2'))).toEqual({ outcome: 'duplicate', orderId: (first as { orderId: string }).orderId });
    expect(await world.orders.hasEvent((first as { orderId: string }).orderId, 'woocommerce:d1')).toBe(true);
    expect(currentOrder(world.orders, (first as { orderId: string }).orderId)).toMatchObject({ source: 'woocommerce', externalId: '1234', status: 'pending' });
  });

  it('refuses a shop order whose total is not the sum of its lines, naming the shop’s field, and stores nothing', async () => {
    const world = ordersWorld();
    expect(await receiveShopOrder({ ...world.create, ...world.payments }, delivery(shopOrder({ total: '99.00' })))).toEqual({
      outcome: 'invalid',
      problems: [expect.objectContaining({ path: 'total' })],
    });
    expect(await world.index.find('source|woocommerce|1234')).toBeUndefined();
  });

  it('acknowledges orders of other payment methods and stores nothing', async () => {
    const world = ordersWorld();
    const outcome = await receiveShopOrder({ ...world.create, ...world.payments }, delivery(shopOrder({ payment_method: 'cod' })));
    expect(outcome).toMatchObject({ outcome: 'ignored' });
    expect(await world.index.find('source|woocommerce|1234')).toBeUndefined();
  });

  it('cancels a hub order the shop cancelled before payment, once; ignores other updates', async () => {
    const world = ordersWorld();
    const deps = { ...world.create, ...world.payments };
    const created = (await receiveShopOrder(deps, delivery(shopOrder()))) as { orderId: string };
    expect(await receiveShopOrder(deps, delivery(shopOrder({ status: 'on-hold' }), 'u1', 'order.updated'))).toMatchObject({ outcome: 'ignored' });
    expect(await receiveShopOrder(deps, delivery(shopOrder({ status: 'cancelled' }), 'u2', 'order.updated'))).toEqual({
      outcome: 'cancelled',
      orderId: created.orderId,
    });
    expect(currentOrder(world.orders, created.orderId).status).toBe('cancelled');
    const versions = currentOrder(world.orders, created.orderId).version;
    expect(await receiveShopOrder(deps, delivery(shopOrder({ status: 'cancelled' }), 'u2', 'order.updated'))).toMatchObject({ outcome: 'duplicate' });
    expect(currentOrder(world.orders, created.orderId).version).toBe(versions);
  });

  it('does not cancel a paid order because the shop says so', async () => {
    const world = ordersWorld();
    const deps = { ...world.create, ...world.payments };
    const created = (await receiveShopOrder(deps, delivery(shopOrder()))) as { orderId: string };
    const order = currentOrder(world.orders, created.orderId);
    world.orders.seed({ ...order, status: 'paid', payments: [aPayment({ amount: order.totalAmount })] });
    expect(await receiveShopOrder(deps, delivery(shopOrder({ status: 'cancelled' }), 'u3', 'order.updated'))).toMatchObject({ outcome: 'ignored' });
    expect(currentOrder(world.orders, created.orderId).status).toBe('paid');
  });
});

describe('shop updates', () => {
  const shopOrderOf = (overrides = {}) => anOrder({ source: 'woocommerce', externalId: '1234', ...overrides });

  it('tells the shop processing with the payment reference when the order is paid; nothing before', () => {
    expect(shopUpdates(undefined, shopOrderOf())).toEqual([]);
    expect(shopUpdates(shopOrderOf(), shopOrderOf({ status: 'confirmed' }))).toEqual([]);
    const before = shopOrderOf({ payments: [aPayment({ status: 'processing' })] });
    const after = shopOrderOf({ status: 'paid', version: 4, payments: [aPayment()] });
    expect(shopUpdates(before, after)).toEqual([
      {
        id: 'shop_ord_1_v4_processing',
        type: 'shop.processing',
        createdAt: after.updatedAt,
        data: {
          shopOrderId: '1234',
          orderId: 'ord_1',
          status: 'processing',
          note: 'Paid through Order Hub: 64.80 EUR (payment pay_1, stripe reference pi_1).',
        },
      },
    ]);
  });

  it('mirrors delivered, cancelled and refunded; a partial refund becomes a shop refund', () => {
    const paid = aPaidOrder({ source: 'woocommerce', externalId: '1234' });
    expect(shopUpdates(paid, { ...paid, status: 'delivered' }).map((event) => event.data)).toEqual([expect.objectContaining({ status: 'completed' })]);
    expect(shopUpdates(paid, { ...paid, status: 'cancelled' }).map((event) => event.data)).toEqual([expect.objectContaining({ status: 'cancelled' })]);
    const partly = aPaidOrder(
      { source: 'woocommerce', externalId: '1234', version: 5 },
      { status: 'partially_refunded', refunds: [aRefund({ amount: 1_000 })] },
    );
    expect(shopUpdates(paid, partly)).toEqual([
      expect.objectContaining({
        id: 'shop_ord_1_v5_refund',
        data: expect.objectContaining({
          refund: { amount: '10.00', reason: 'Refunded through Order Hub' },
          note: expect.stringContaining('Refunded 10.00 EUR'),
        }),
      }),
    ]);
    const whole = aPaidOrder(
      { source: 'woocommerce', externalId: '1234', status: 'refunded' },
      { status: 'refunded', refunds: [aRefund({ amount: 1_000 }), aRefund({ id: 'rfd_2', amount: 5_480 })] },
    );
    expect(shopUpdates(partly, whole).map((event) => event.data)).toEqual([expect.objectContaining({ status: 'refunded' })]);
    expect(shopUpdates(partly, whole)[0]?.data).not.toHaveProperty('refund');
  });
});

describe('WooCommerce configuration', () => {
  const base = {
    SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
    TABLES_CONNECTION: 'UseDevelopmentStorage=true',
    CHANNELS: 'pos,woocommerce',
  };
  const shop = {
    WOOCOMMERCE_URL: 'https://shop.example.com/',
    WOOCOMMERCE_CONSUMER_KEY: 'ck_live_key',
    WOOCOMMERCE_CONSUMER_SECRET: 'cs_live_secret',
    WOOCOMMERCE_WEBHOOK_SECRET: 'hook-secret',
  };
  const refusal = (env: Record<string, string | undefined>): string => {
    try {
      loadConfig({ ...base, ...env });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('the configuration was accepted');
  };

  it('takes all four settings as the shop; none means no shop', () => {
    expect(loadConfig({ ...base, ...shop }).woocommerce).toEqual({
      url: 'https://shop.example.com',
      consumerKey: 'ck_live_key',
      consumerSecret: 'cs_live_secret',
      webhookSecret: 'hook-secret',
      allowPrivate: false,
    });
    expect(loadConfig(base).woocommerce).toBeUndefined();
  });

  it('names each missing or bad setting at start-up, never echoing a value', () => {
    const partial = refusal({ WOOCOMMERCE_URL: shop.WOOCOMMERCE_URL, WOOCOMMERCE_CONSUMER_KEY: shop.WOOCOMMERCE_CONSUMER_KEY });
    expect(partial).toContain('WOOCOMMERCE_CONSUMER_SECRET');
    expect(partial).toContain('WOOCOMMERCE_WEBHOOK_SECRET');
    expect(partial).not.toContain('ck_live_key');
    expect(refusal({ ...shop, WOOCOMMERCE_URL: 'http://shop.example.com' })).toMatch(/WOOCOMMERCE_URL.*https/);
    expect(refusal({ ...shop, WOOCOMMERCE_URL: 'https://192.168.1.10' })).toMatch(/WOOCOMMERCE_URL.*private/);
    expect(refusal({ ...shop, CHANNELS: 'pos' })).toContain('CHANNELS');
    expect(refusal({ ...shop, WOOCOMMERCE_CALLBACK_URL: 'https://shop.example.com/hook', WOOCOMMERCE_CALLBACK_SECRET: 'whsec_c2FtcGxl' })).toContain(
      'WOOCOMMERCE_CALLBACK_URL',
    );
    // Local runs (CALLBACK_ALLOW_PRIVATE) may use a plain-HTTP shop on a private address, as the sandbox.
    expect(loadConfig({ ...base, ...shop, WOOCOMMERCE_URL: 'http://127.0.0.1:8088', CALLBACK_ALLOW_PRIVATE: 'true' }).woocommerce?.url).toBe(
      'http://127.0.0.1:8088',
    );
  });
});
