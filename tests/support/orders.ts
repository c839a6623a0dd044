/**
 * Helpers of the order-hub tests: a runtime on free ports, a small HTTP client that keeps headers,
 * order bodies with fresh channel ids, and paying through the Stripe sandbox.
 */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { expect } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { PROBLEM_CONTENT_TYPE } from '../../shared/http/problem';
import { orderBody } from './requests';

export { orderBody };

export interface HubResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** One call with the runtime's `orders` key (or `key`), JSON in and out. */
export async function hub(
  runtime: LocalRuntime,
  method: string,
  path: string,
  options: { body?: unknown; key?: string | null; idempotencyKey?: string; headers?: Record<string, string> } = {},
): Promise<HubResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? runtime.apiKeys.orders : options.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${runtime.url}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the raw text is what the test sees
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Expects a problem+json answer with this status. */
export function expectHubProblem(response: HubResponse, status: number): void {
  expect({ status: response.status, contentType: response.headers.get('content-type') }, JSON.stringify(response.body)).toEqual({
    status,
    contentType: PROBLEM_CONTENT_TYPE,
  });
  expect(response.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
}

/** Creates an order (201 expected) under a fresh Idempotency-Key. */
export async function createOrder(runtime: LocalRuntime, body: Record<string, unknown> = orderBody()) {
  const response = await hub(runtime, 'POST', '/v1/orders', { body, idempotencyKey: randomUUID() });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

/** Creates a payment for an order (201 expected), through Stripe unless told otherwise. */
export async function createPayment(runtime: LocalRuntime, orderId: string, amount?: number, provider: 'stripe' | 'btcpay' = 'stripe') {
  const response = await hub(runtime, 'POST', '/v1/payments', {
    body: { orderId, provider, ...(amount !== undefined ? { amount } : {}) },
    idempotencyKey: randomUUID(),
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

/** The customer pays a payment's PaymentIntent in the sandbox; resolves once every webhook was delivered. */
export async function payInSandbox(runtime: LocalRuntime, stripe: Stripe, paymentIntentId: string, paymentMethod = 'pm_card_visa') {
  const intent = await stripe.paymentIntents.confirm(paymentIntentId, { payment_method: paymentMethod });
  await runtime.stripe?.idle();
  return intent;
}

/** Reads an order (200 expected). */
export async function getOrder(runtime: LocalRuntime, id: string) {
  const response = await hub(runtime, 'GET', `/v1/orders/${id}`);
  expect(response.status).toBe(200);
  return response;
}

/** A WooCommerce checkout body (`POST /sandbox/orders`): two products and shipping, paid through the hub unless told otherwise. */
export function shopOrderBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    currency: 'EUR',
    payment_method: 'order_hub',
    payment_method_title: 'Pay with Order Hub',
    billing: {
      first_name: 'Ada',
      last_name: 'Lovelace',
      address_1: 'Hauptstraße 1',
      city: 'Berlin',
      postcode: '10115',
      country: 'DE',
      email: `ada.${randomUUID().slice(0, 8)}@example.com`,
      phone: '+49 171 1234567',
    },
    line_items: [
      { sku: 'WIPER-1', name: 'Wiper blades', quantity: 2, price: '12.50' },
      { sku: 'OIL-5W30', name: 'Engine oil 5W-30', quantity: 1, price: '34.90' },
    ],
    shipping_lines: [{ method_id: 'flat_rate', method_title: 'Flat rate', total: '4.95' }],
    ...overrides,
  };
}

/** A customer checks out in the WooCommerce sandbox; resolves with the shop order once its webhook was answered. */
export async function shopCheckout(runtime: LocalRuntime, body: Record<string, unknown> = shopOrderBody()): Promise<{ id: number; [key: string]: unknown }> {
  const shop = runtime.woocommerce;
  if (!shop) throw new Error('the runtime runs no WooCommerce sandbox');
  const response = await fetch(`${shop.url}/sandbox/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(201);
  const order = (await response.json()) as { id: number };
  await shop.idle();
  return order;
}

/** The hub order of a shop order (200 expected). */
export async function hubOrderOfShop(runtime: LocalRuntime, shopOrderId: number) {
  const response = await hub(runtime, 'GET', `/v1/orders/by-source/woocommerce/${shopOrderId}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}
