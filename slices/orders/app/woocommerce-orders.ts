import { createHash } from 'node:crypto';
import * as z from 'zod';
import { type CurrencyCode, currencyCodeSchema, decimalToMinor } from '../../../shared/kernel/currency';
import { causes } from '../../../shared/kernel/history';
import type { Issue } from '../../../shared/kernel/result';
import { type CreateOrderRequest, createOrderRequestSchema, type Order } from '../domain/order';
import { type CreateOrderDeps, createOrder } from './create-order';
import type { PaymentDeps } from './payments';
import { getOrderBySource } from './queries';
import { cancelOrder } from './transitions';

/**
 * Orders from a WooCommerce shop: its `order.created` / `order.updated` webhooks carry the order as
 * its REST API v3 shows it. An order the customer pays through the hub (`payment_method` `order_hub`)
 * becomes a hub order of the `woocommerce` channel, through the same use case as `POST /v1/orders`;
 * later updates change only what the shop may change (a cancellation before payment).
 */

/** The payment method id a shop's "pay through Order Hub" gateway has: only those orders are the hub's. */
export const HUB_PAYMENT_METHOD = 'order_hub';

/** The topics the hub acts on. */
export const SHOP_TOPICS = ['order.created', 'order.updated'] as const;
export type ShopTopic = (typeof SHOP_TOPICS)[number];

/** A decimal amount as WooCommerce writes it: a string (`"12.50"`) or, for `price`, a number. */
const decimal = z.union([z.string().max(40), z.number().finite()]);

/** The part of a WooCommerce order (REST API v3, the webhook's body) the hub reads; the rest is ignored. */
export const shopOrderSchema = z.looseObject({
  id: z.number().int().positive(),
  status: z.string().max(40),
  currency: z.string().max(10),
  payment_method: z.string().max(100).default(''),
  total: z.string().max(40).optional(),
  order_key: z.string().max(100).optional(),
  number: z.union([z.string(), z.number()]).optional(),
  billing: z.looseObject({
    first_name: z.string().max(200).default(''),
    last_name: z.string().max(200).default(''),
    company: z.string().max(200).default(''),
    address_1: z.string().max(200).default(''),
    address_2: z.string().max(200).default(''),
    city: z.string().max(100).default(''),
    postcode: z.string().max(20).default(''),
    country: z.string().max(10).default(''),
    email: z.string().max(254).default(''),
    phone: z.string().max(40).default(''),
  }),
  line_items: z
    .array(
      z.looseObject({
        name: z.string().max(200),
        product_id: z.number().int().optional(),
        sku: z.string().max(64).nullish(),
        quantity: z.number().int(),
        price: decimal,
        total: z.string().max(40).optional(),
        total_tax: z.string().max(40).optional(),
      }),
    )
    .max(100),
  shipping_lines: z
    .array(z.looseObject({ method_title: z.string().max(200).default(''), total: z.string().max(40), total_tax: z.string().max(40).optional() }))
    .max(20)
    .default([]),
  fee_lines: z
    .array(z.looseObject({ name: z.string().max(200).default(''), total: z.string().max(40), total_tax: z.string().max(40).optional() }))
    .max(20)
    .default([]),
});
export type ShopOrder = z.infer<typeof shopOrderSchema>;

/** The hub's phone rule: a shop's phone that does not fit is left out rather than refusing the order. */
const PHONE = /^\+?[0-9][0-9 ()/-]{3,30}$/;

/**
 * The hub's order request for a shop order, or the problems (paths name the shop order's fields).
 * Unit prices are gross: a line's `total` + `total_tax` over its quantity (its `price` when the shop
 * sends no totals); shipping and fees are lines of their own; the shop's `total` must be their sum.
 */
export function toCreateOrderRequest(order: ShopOrder): { ok: true; request: CreateOrderRequest } | { ok: false; problems: Issue[] } {
  const problems: Issue[] = [];
  const currencyParsed = currencyCodeSchema.safeParse(order.currency.toUpperCase());
  if (!currencyParsed.success) return { ok: false, problems: [{ path: 'currency', message: 'Expected an ISO 4217 currency code the hub supports' }] };
  const currency: CurrencyCode = currencyParsed.data;
  const minor = (value: string | number | undefined, path: string): number | undefined => {
    if (value === undefined || value === '') return 0;
    const amount = decimalToMinor(value, currency);
    if (amount === undefined) problems.push({ path, message: `Expected a non-negative decimal amount with at most the decimals of ${currency}` });
    return amount;
  };

  const items: Array<Record<string, unknown>> = [];
  order.line_items.forEach((line, index) => {
    const at = `line_items.${index}`;
    if (line.quantity < 1) {
      problems.push({ path: `${at}.quantity`, message: 'Must be at least 1' });
      return;
    }
    const fromPrice = decimalToMinor(line.price, currency);
    let unitAmount = fromPrice;
    if (line.total !== undefined) {
      const total = minor(line.total, `${at}.total`);
      const tax = minor(line.total_tax, `${at}.total_tax`);
      if (total === undefined || tax === undefined) return;
      const gross = total + tax;
      if (fromPrice === undefined || fromPrice * line.quantity !== gross) {
        if (gross % line.quantity !== 0) {
          problems.push({ path: `${at}.total`, message: 'The line total does not split into equal unit prices' });
          return;
        }
        unitAmount = gross / line.quantity;
      }
    }
    if (unitAmount === undefined) {
      problems.push({ path: `${at}.price`, message: `Expected a non-negative decimal amount with at most the decimals of ${currency}` });
      return;
    }
    const sku = line.sku?.trim() || (line.product_id ? `wc-product-${line.product_id}` : `wc-line-${index + 1}`);
    items.push({ sku, name: line.name, quantity: line.quantity, unitAmount });
  });
  const extraLines = [
    ...order.shipping_lines.map((line, index) => ({ line, path: `shipping_lines.${index}`, sku: 'shipping', name: line.method_title || 'Shipping' })),
    ...order.fee_lines.map((line, index) => ({ line, path: `fee_lines.${index}`, sku: 'fee', name: line.name || 'Fee' })),
  ];
  for (const { line, path, sku, name } of extraLines) {
    const total = minor(line.total, `${path}.total`);
    const tax = minor(line.total_tax, `${path}.total_tax`);
    if (total !== undefined && tax !== undefined && total + tax > 0) items.push({ sku, name, quantity: 1, unitAmount: total + tax });
  }
  const totalAmount = order.total !== undefined ? minor(order.total, 'total') : undefined;
  if (problems.length > 0) return { ok: false, problems };

  const billing = order.billing;
  const name = `${billing.first_name} ${billing.last_name}`.trim() || billing.company.trim() || billing.email.split('@')[0] || '';
  const country = billing.country.toUpperCase();
  const phone = billing.phone.trim();
  const street = [billing.address_1.trim(), billing.address_2.trim()].filter(Boolean).join(', ');
  const candidate = {
    source: 'woocommerce',
    externalId: String(order.id),
    currency,
    customer: {
      email: billing.email,
      name,
      ...(PHONE.test(phone) ? { phone } : {}),
      ...(street && billing.postcode.trim() && billing.city.trim()
        ? { address: { street, zip: billing.postcode, city: billing.city, ...(/^[A-Z]{2}$/.test(country) ? { country } : {}) } }
        : {}),
    },
    items,
    ...(totalAmount !== undefined && order.total !== undefined ? { totalAmount } : {}),
    metadata: {
      ...(order.order_key ? { wooOrderKey: order.order_key } : {}),
      ...(order.number !== undefined ? { wooOrderNumber: String(order.number) } : {}),
    },
  };
  const parsed = createOrderRequestSchema.safeParse(candidate);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({ path: shopPath(issue.path.map(String)), message: issue.message })),
    };
  }
  return { ok: true, request: parsed.data };
}

/** Names a field of the hub's request by the shop order's field it came from. */
function shopPath(path: string[]): string {
  const [head, ...rest] = path;
  if (head === 'customer') {
    const field = rest[0] === 'address' ? rest[1] : rest[0];
    const shop: Record<string, string> = {
      email: 'email',
      name: 'first_name',
      phone: 'phone',
      street: 'address_1',
      zip: 'postcode',
      city: 'city',
      country: 'country',
    };
    return `billing.${shop[field ?? ''] ?? field}`;
  }
  if (head === 'items') return `line_items.${rest.join('.')}`;
  if (head === 'totalAmount') return 'total';
  return path.join('.');
}

/** The hub order id of a shop order: derived from its shop id, so every delivery of it converges on one order. */
export function shopOrderToken(externalId: string): string {
  return createHash('sha256').update(`woocommerce|${externalId}`).digest('hex');
}

/** A verified delivery of a shop webhook. */
export interface ShopDelivery {
  topic: ShopTopic;
  /** `X-WC-Webhook-Delivery-ID`: recorded with the change it causes, so a redelivery applies once. */
  deliveryId: string;
  order: ShopOrder;
}

export type ShopDeliveryOutcome =
  | { outcome: 'created' | 'duplicate' | 'cancelled'; orderId: string }
  | { outcome: 'ignored'; reason: string; orderId?: string }
  | { outcome: 'invalid'; problems: Issue[] };

export type ShopOrderDeps = CreateOrderDeps & PaymentDeps;

/** Shop statuses in which an order the hub does not know yet is still to be paid through it. */
const OPEN_SHOP_STATUSES = new Set(['pending', 'on-hold', 'checkout-draft']);
/** Hub statuses before payment: a shop cancellation then cancels the hub order. */
const UNPAID: ReadonlySet<Order['status']> = new Set(['pending', 'confirmed']);

/**
 * Applies a shop webhook. A new order paid through the hub becomes a hub order (its id derived from
 * the shop's, so repeats and races converge on one); an update of a known order cancels it when the
 * shop cancelled it before payment, and is acknowledged otherwise. Other payment methods are not the hub's.
 */
export async function receiveShopOrder(deps: ShopOrderDeps, delivery: ShopDelivery): Promise<ShopDeliveryOutcome> {
  const { order } = delivery;
  const externalId = String(order.id);
  const eventId = `woocommerce:${delivery.deliveryId}`;
  const cause = causes.woocommerce(delivery.deliveryId);
  const token = shopOrderToken(externalId);
  const derivedId = `ord_${token.slice(0, 32)}`;
  if (await deps.orders.hasEvent(derivedId, eventId)) return { outcome: 'duplicate', orderId: derivedId };

  const known = await getOrderBySource(deps, 'woocommerce', externalId);
  if (known) {
    const state = known.state;
    if (delivery.topic === 'order.created') return { outcome: 'duplicate', orderId: state.id };
    if (order.status === 'cancelled' && UNPAID.has(state.status)) {
      const cancelled = await cancelOrder(deps, state.id, { cause, reason: 'cancelled in the shop', eventId });
      if (cancelled.ok) return { outcome: 'cancelled', orderId: state.id };
      return { outcome: 'ignored', reason: `the hub could not cancel the order (${cancelled.error.code})`, orderId: state.id };
    }
    return { outcome: 'ignored', reason: `nothing the hub takes from a shop update (shop status ${order.status})`, orderId: state.id };
  }
  if (order.payment_method !== HUB_PAYMENT_METHOD) return { outcome: 'ignored', reason: `payment method ${order.payment_method || 'none'} is not the hub's` };
  if (delivery.topic === 'order.updated' && !OPEN_SHOP_STATUSES.has(order.status)) {
    return { outcome: 'ignored', reason: `an order the hub does not know, in shop status ${order.status}` };
  }
  const mapped = toCreateOrderRequest(order);
  if (!mapped.ok) return { outcome: 'invalid', problems: mapped.problems };
  const created = await createOrder(deps, mapped.request, { cause, token, eventId });
  if (created.ok) return { outcome: 'created', orderId: created.order.id };
  if (created.error.code === 'DUPLICATE') return { outcome: 'duplicate', orderId: created.error.orderId };
  return { outcome: 'invalid', problems: created.error.problems.map((issue) => ({ path: shopPath(issue.path.split('.')), message: issue.message })) };
}
