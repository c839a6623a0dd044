/**
 * The WooCommerce sandbox's own copy of the contract it plays: orders, notes and refunds as the
 * WooCommerce REST API v3 shows them (`/wp-json/wc/v3/orders…`), and its error body
 * `{code, message, data: {status}}`. Deliberately not shared with the app: validating with the app's
 * schemas could not catch drift between the app and WooCommerce.
 *
 * Request bodies are read leniently, as WordPress does: unknown properties are ignored.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';

/** A WordPress REST error: thrown by the store, answered as `{code, message, data: {status}}`. */
export class WooError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  body() {
    return { code: this.code, message: this.message, data: { status: this.status } };
  }
}

/** The statuses a WooCommerce order can have (core ones). */
export const ORDER_STATUSES = ['pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded', 'failed', 'checkout-draft'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** WooCommerce's names for them (what its status-change notes say). */
const STATUS_NAMES: Record<OrderStatus, string> = {
  pending: 'Pending payment',
  processing: 'Processing',
  'on-hold': 'On hold',
  completed: 'Completed',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
  failed: 'Failed',
  'checkout-draft': 'Draft',
};

/** Decimals the shop's prices have: WooCommerce's setting, here by currency. */
export function decimalsOf(currency: string): number {
  if (['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'HUF'].includes(currency)) return 0;
  if (['KWD', 'BHD', 'OMR', 'JOD', 'TND'].includes(currency)) return 3;
  return 2;
}

/** A decimal text or number as an integer of the smallest unit; undefined when it has finer digits. */
export function toUnits(value: string | number, decimals: number): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(String(value).trim());
  if (!match) return undefined;
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals) return undefined;
  return Number((match[1] as string) + fraction.padEnd(decimals, '0'));
}

export function fromUnits(units: number, decimals: number): string {
  if (decimals === 0) return String(units);
  const text = String(Math.abs(units)).padStart(decimals + 1, '0');
  return `${units < 0 ? '-' : ''}${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

const decimal = z.union([z.string(), z.number()]);
const address = z
  .looseObject({
    first_name: z.string().default(''),
    last_name: z.string().default(''),
    company: z.string().default(''),
    address_1: z.string().default(''),
    address_2: z.string().default(''),
    city: z.string().default(''),
    state: z.string().default(''),
    postcode: z.string().default(''),
    country: z.string().default(''),
    email: z.string().default(''),
    phone: z.string().default(''),
  })
  .default({
    first_name: '',
    last_name: '',
    company: '',
    address_1: '',
    address_2: '',
    city: '',
    state: '',
    postcode: '',
    country: '',
    email: '',
    phone: '',
  });

/** `POST /sandbox/orders` (and WooCommerce's `POST /orders`): an order as a checkout makes it. */
export const newOrderSchema = z.looseObject({
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('EUR'),
  status: z.enum(ORDER_STATUSES).default('pending'),
  payment_method: z.string().default(''),
  payment_method_title: z.string().default(''),
  customer_note: z.string().default(''),
  billing: address,
  shipping: address,
  line_items: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        product_id: z.number().int().optional(),
        sku: z.string().default(''),
        quantity: z.number().int().min(1),
        price: decimal,
      }),
    )
    .min(1),
  shipping_lines: z
    .array(z.looseObject({ method_id: z.string().default('flat_rate'), method_title: z.string().default('Flat rate'), total: decimal }))
    .default([]),
});
export type NewOrder = z.infer<typeof newOrderSchema>;

export const updateOrderSchema = z.looseObject({ status: z.enum(ORDER_STATUSES).optional() });
export const newNoteSchema = z.looseObject({ note: z.string().min(1), customer_note: z.boolean().default(false) });
export const newRefundSchema = z.looseObject({ amount: decimal, reason: z.string().default(''), api_refund: z.boolean().default(true) });

export interface NoteJson {
  id: number;
  author: string;
  date_created: string;
  date_created_gmt: string;
  note: string;
  customer_note: boolean;
}

export interface RefundJson {
  id: number;
  date_created: string;
  amount: string;
  reason: string;
  refunded_by: number;
  refunded_payment: boolean;
  line_items: unknown[];
}

interface StoredOrder {
  order: Record<string, unknown> & { id: number; status: OrderStatus; currency: string; total: string };
  notes: NoteJson[];
  refunds: RefundJson[];
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, '');

/** Every order of the shop with its notes and refunds. */
export class OrderBook {
  private readonly orders = new Map<number, StoredOrder>();
  private nextId = 1000;
  private nextNoteId = 1;
  private nextRefundId = 5000;

  create(input: NewOrder): Record<string, unknown> {
    const decimals = decimalsOf(input.currency);
    const id = this.nextId++;
    const units = (value: string | number, path: string) => {
      const amount = toUnits(value, decimals);
      if (amount === undefined) throw new WooError(400, 'rest_invalid_param', `Invalid parameter(s): ${path}`);
      return amount;
    };
    let total = 0;
    const lineItems = input.line_items.map((line, index) => {
      const price = units(line.price, `line_items[${index}][price]`);
      total += price * line.quantity;
      return {
        id: id * 10 + index + 1,
        name: line.name,
        product_id: line.product_id ?? 0,
        variation_id: 0,
        quantity: line.quantity,
        tax_class: '',
        subtotal: fromUnits(price * line.quantity, decimals),
        subtotal_tax: fromUnits(0, decimals),
        total: fromUnits(price * line.quantity, decimals),
        total_tax: fromUnits(0, decimals),
        taxes: [],
        meta_data: [],
        sku: line.sku,
        // WooCommerce sends the unit price as a JSON number.
        price: price / 10 ** decimals,
      };
    });
    const shippingLines = input.shipping_lines.map((line, index) => {
      const amount = units(line.total, `shipping_lines[${index}][total]`);
      total += amount;
      return {
        id: id * 10 + 90 + index,
        method_title: line.method_title,
        method_id: line.method_id,
        total: fromUnits(amount, decimals),
        total_tax: fromUnits(0, decimals),
        taxes: [],
      };
    });
    const at = now();
    const order = {
      id,
      parent_id: 0,
      number: String(id),
      order_key: `wc_order_${randomBytes(6).toString('hex')}`,
      created_via: 'checkout',
      version: '9.4.0',
      status: input.status,
      currency: input.currency,
      date_created: at,
      date_created_gmt: at,
      date_modified: at,
      date_modified_gmt: at,
      discount_total: fromUnits(0, decimals),
      discount_tax: fromUnits(0, decimals),
      shipping_total: fromUnits(
        shippingLines.reduce((sum, line) => sum + (toUnits(line.total, decimals) ?? 0), 0),
        decimals,
      ),
      shipping_tax: fromUnits(0, decimals),
      cart_tax: fromUnits(0, decimals),
      total: fromUnits(total, decimals),
      total_tax: fromUnits(0, decimals),
      prices_include_tax: false,
      customer_id: 0,
      customer_note: input.customer_note,
      billing: input.billing,
      shipping: input.shipping,
      payment_method: input.payment_method,
      payment_method_title: input.payment_method_title,
      transaction_id: '',
      date_paid: null,
      date_completed: null,
      meta_data: [],
      line_items: lineItems,
      tax_lines: [],
      shipping_lines: shippingLines,
      fee_lines: [],
      coupon_lines: [],
      refunds: [] as unknown[],
    };
    this.orders.set(id, { order, notes: [], refunds: [] });
    return this.view(id);
  }

  /** The order as `GET /orders/{id}` shows it. */
  view(id: number): Record<string, unknown> {
    const stored = this.get(id);
    return structuredClone({
      ...stored.order,
      refunds: stored.refunds.map((refund) => ({ id: refund.id, reason: refund.reason, total: `-${refund.amount}` })),
    });
  }

  ids(): number[] {
    return [...this.orders.keys()];
  }

  /** Sets the status; answers whether it changed (WooCommerce then notes it and fires `order.updated`). */
  setStatus(id: number, status: OrderStatus): boolean {
    const stored = this.get(id);
    const from = stored.order.status;
    if (from === status) return false;
    stored.order.status = status;
    const at = now();
    stored.order.date_modified = at;
    if (status === 'processing' || status === 'completed') stored.order.date_paid ??= at;
    if (status === 'completed') stored.order.date_completed = at;
    this.addNote(id, { note: `Order status changed from ${STATUS_NAMES[from]} to ${STATUS_NAMES[status]}.`, customer_note: false }, 'system');
    return true;
  }

  notes(id: number): NoteJson[] {
    // WooCommerce lists notes newest first.
    return structuredClone([...this.get(id).notes].reverse());
  }

  addNote(id: number, input: { note: string; customer_note: boolean }, author = 'Order Hub'): NoteJson {
    const at = now();
    const note: NoteJson = { id: this.nextNoteId++, author, date_created: at, date_created_gmt: at, note: input.note, customer_note: input.customer_note };
    this.get(id).notes.push(note);
    return structuredClone(note);
  }

  /** Records a refund; the order becomes `refunded` once everything went back, as WooCommerce does. */
  refund(id: number, input: { amount: string | number; reason: string }): { refund: RefundJson; fullyRefunded: boolean } {
    const stored = this.get(id);
    const decimals = decimalsOf(stored.order.currency);
    const amount = toUnits(input.amount, decimals);
    const total = toUnits(stored.order.total, decimals) ?? 0;
    const refunded = stored.refunds.reduce((sum, refund) => sum + (toUnits(refund.amount, decimals) ?? 0), 0);
    if (amount === undefined || amount <= 0 || amount > total - refunded) {
      throw new WooError(500, 'woocommerce_rest_cannot_create_order_refund', 'Invalid refund amount.');
    }
    const refund: RefundJson = {
      id: this.nextRefundId++,
      date_created: now(),
      amount: fromUnits(amount, decimals),
      reason: input.reason,
      refunded_by: 1,
      refunded_payment: false,
      line_items: [],
    };
    stored.refunds.push(refund);
    const fullyRefunded = refunded + amount === total;
    if (fullyRefunded) this.setStatus(id, 'refunded');
    return { refund: structuredClone(refund), fullyRefunded };
  }

  private get(id: number): StoredOrder {
    const stored = this.orders.get(id);
    if (!stored) throw new WooError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
    return stored;
  }
}
