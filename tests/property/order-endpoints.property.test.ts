/**
 * Fuzzing every order-hub endpoint over HTTP against the local host, with the Stripe sandbox behind
 * it. For every request: never a 5xx; every 4xx is problem+json (type, title, status, detail) whose
 * `detail` quotes nothing the request carried; a refused request writes nothing — no row in Orders,
 * Customers or OrderIndex, no PaymentIntent or refund in the sandbox — and leaves the order it aimed
 * at (version, status, money) as it was. Valid requests are mixed in, so refusals are tried against
 * orders and payments in every state, and what is accepted must answer in the documented shape.
 */
import fc from 'fast-check';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { PROBLEM_CONTENT_TYPE } from '../../shared/http/problem';
import { ORDER_STATUSES } from '../../slices/orders/domain/status';
import { customerView, historyView, orderView, paymentView } from '../../slices/orders/http/views';
import { CUSTOMERS_TABLE, ORDERS_TABLE } from '../../slices/orders/slice';
import { ORDER_INDEX_TABLE } from '../../slices/orders/adapters/table-order-index';
import { startBookingRuntime, stripeClient } from '../support/bookings';
import {
  anyBody,
  asHeaderBytes,
  countRows,
  echoIn,
  headerText,
  type IfMatch,
  idempotencyKey,
  ifMatch,
  JSON_TYPE,
  jsonContentType,
  junkSegment,
  markWrites,
  maybe,
  NO_WRITES,
  nastyNumber,
  nastyText,
  nastyValue,
  present,
  type RawBody,
  setPath,
  submittedValues,
  toJsonText,
  writesSince,
  wrongContentType,
} from '../support/order-fuzz';
import { createOrder, createPayment, hub, orderBody, payInSandbox } from '../support/orders';

/** One request as the properties describe it (fast-check prints it when a property fails). */
interface Probe {
  method: string;
  /** Below `/api`, already percent-encoded. */
  path: string;
  /** The bearer token: the `orders` key when undefined, none when null. */
  token?: string | null;
  idempotencyKey?: string;
  ifMatch?: string;
  contentType?: string;
  body?: string;
  /** An order a refusal must leave exactly as it was. */
  guard?: string;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A segment decoded, or as it is when it is not valid percent-encoding. */
function decodeURIComponentOr(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Runs per property; each run is one request plus the reads that check it (about 10 ms locally). */
const RUNS = 100;

type OrderName = 'pending' | 'withPayment' | 'paid' | 'shipped' | 'cancelled' | 'jpy' | 'kwd';
type PaymentName = 'pendingPayment' | 'paidPayment' | 'kwdPayment' | 'refundedPayment';

describe('order-hub endpoints under arbitrary input', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;
  /** Orders and payments in every state: real ids for the paths and bodies to aim at. */
  const orders = {} as Record<OrderName, { id: string; externalId: string; customerId: string }>;
  const payments = {} as Record<PaymentName, { id: string; orderId: string }>;

  const orderOf = (created: any) => ({ id: created.id as string, externalId: created.externalId as string, customerId: created.customerId as string });
  const transition = async (id: string, to: string) => expect((await hub(runtime, 'POST', `/v1/orders/${id}/transitions`, { body: { to } })).status).toBe(200);
  async function paidOrder(body = orderBody()) {
    const order = await createOrder(runtime, body);
    const payment = await createPayment(runtime, order.id);
    await payInSandbox(runtime, stripe, payment.providerRef);
    return { order: orderOf(order), payment: { id: payment.id as string, orderId: order.id as string } };
  }

  beforeAll(async () => {
    runtime = await startBookingRuntime({ ORDER_CURRENCIES: 'EUR,JPY,KWD' });
    stripe = stripeClient(runtime);
    orders.pending = orderOf(await createOrder(runtime));
    const withPayment = await createOrder(runtime);
    orders.withPayment = orderOf(withPayment);
    payments.pendingPayment = { id: (await createPayment(runtime, withPayment.id, 1_000)).id, orderId: withPayment.id };
    const paid = await paidOrder();
    orders.paid = paid.order;
    payments.paidPayment = paid.payment;
    const shipped = await paidOrder();
    orders.shipped = shipped.order;
    for (const to of ['processing', 'shipped']) await transition(shipped.order.id, to);
    const refunded = await paidOrder();
    payments.refundedPayment = refunded.payment;
    expect((await hub(runtime, 'POST', `/v1/payments/${refunded.payment.id}/refunds`, { body: {}, idempotencyKey: 'fixture-refund' })).status).toBe(201);
    orders.cancelled = orderOf(await createOrder(runtime));
    await transition(orders.cancelled.id, 'cancelled');
    orders.jpy = orderOf(await createOrder(runtime, orderBody({ currency: 'JPY', items: [{ sku: 'TEA', name: 'Sencha', quantity: 3, unitAmount: 1_200 }] })));
    const kwd = await paidOrder(orderBody({ currency: 'KWD', items: [{ sku: 'DATE', name: 'Dates 1 kg', quantity: 2, unitAmount: 2_750 }] }));
    orders.kwd = kwd.order;
    payments.kwdPayment = kwd.payment;
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  // ---- the check every request goes through

  async function send(probe: Probe): Promise<Answer> {
    const headers = new Headers();
    const token = probe.token === undefined ? runtime.apiKeys.orders : probe.token;
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (probe.idempotencyKey !== undefined) headers.set('idempotency-key', probe.idempotencyKey);
    if (probe.ifMatch !== undefined) headers.set('if-match', probe.ifMatch);
    if (probe.contentType !== undefined) headers.set('content-type', probe.contentType);
    const body = probe.method === 'GET' ? undefined : probe.body;
    const response = await fetch(`${runtime.url}${probe.path}`, { method: probe.method, headers, body });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  /** An order as the API shows it (undefined when there is none). */
  async function snapshot(id: string) {
    const answer = await hub(runtime, 'GET', `/v1/orders/${encodeURIComponent(id)}`);
    return answer.status === 200 ? answer.body : undefined;
  }

  /** Literal segments of the routes: the API's own words, not something a request carried. */
  const LITERALS = new Set(['', 'v1', 'orders', 'by-source', 'history', 'transitions', 'customers', 'payments', 'order', 'refunds']);

  /**
   * What a request carried: path parameters (decoded), the body (its values and keys), the headers it
   * chose. `named` leaves out the order's `source`: "Unknown channel" names the channel refused, a
   * value bounded by the channel-name pattern (lower-case letters, digits, `_`, `-`).
   */
  function carried(probe: Probe): { all: string[]; named: string[] } {
    const segments = probe.path
      .split('/')
      .filter((segment) => !LITERALS.has(segment))
      .map(decodeURIComponentOr);
    let body: unknown = probe.body;
    try {
      body = probe.body === undefined ? undefined : JSON.parse(probe.body);
    } catch {
      // not JSON: the text itself was sent
    }
    const all = submittedValues(segments, body, probe.idempotencyKey, probe.ifMatch);
    const source = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).source : undefined;
    return { all, named: typeof source === 'string' ? all.filter((value) => value !== source) : all };
  }

  /**
   * Sends one probe and checks every promise. Writes are looked for from a mark taken right before
   * the request, so a counterexample fast-check shrinks to is judged on its own request alone.
   */
  async function check(probe: Probe): Promise<Answer> {
    await runtime.stripe?.idle();
    const mark = await markWrites(stripe);
    const order = probe.guard ? await snapshot(probe.guard) : undefined;
    const answer = await send(probe);
    const where = `${probe.method} ${probe.path.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 500)}`;
    expect(answer.status, where).toBeLessThan(500);
    if (answer.status < 400) return answer; // accepted: its writes are legitimate
    expect(answer.headers.get('content-type'), where).toBe(PROBLEM_CONTENT_TYPE);
    expect(answer.json, where).toMatchObject({ type: expect.any(String), title: expect.any(String), status: answer.status, detail: expect.any(String) });
    const submitted = carried(probe);
    expect(echoIn(answer.json.detail, submitted.all), `detail quotes the request: ${where}`).toBeUndefined();
    expect(echoIn(answer.json.title, submitted.all), `title quotes the request: ${where}`).toBeUndefined();
    // Field errors name the field (`path`, client-chosen keys included, clipped); their messages quote nothing either.
    for (const error of answer.json.errors ?? [])
      expect(echoIn(error.message, submitted.named, 8), `a field error quotes the request: ${where}`).toBeUndefined();
    await runtime.stripe?.idle();
    expect(await writesSince(runtime, stripe, mark), `a refused request wrote: ${where}`).toEqual(NO_WRITES);
    if (probe.guard) expect(await snapshot(probe.guard), `the refused request changed ${probe.guard}: ${where}`).toEqual(order);
    return answer;
  }

  // ---- aiming at real things

  const orderName = fc.constantFrom<OrderName>('pending', 'withPayment', 'paid', 'shipped', 'cancelled', 'jpy', 'kwd');
  const paymentName = fc.constantFrom<PaymentName>('pendingPayment', 'paidPayment', 'kwdPayment', 'refundedPayment');
  /** A target: a fixture, a fresh order (pending or paid) made for this run, or junk. */
  type Target = { fixture: OrderName } | { fresh: 'pending' | 'paid' } | { junk: string };
  const orderTarget: fc.Arbitrary<Target> = fc.oneof(
    { weight: 6, arbitrary: orderName.map((fixture) => ({ fixture })) },
    { weight: 2, arbitrary: fc.constantFrom<'pending' | 'paid'>('pending', 'paid').map((fresh) => ({ fresh })) },
    { weight: 2, arbitrary: junkSegment.map((junk) => ({ junk })) },
  );
  type PaymentTarget = { fixture: PaymentName } | { fresh: 'paid' } | { junk: string };
  const paymentTarget: fc.Arbitrary<PaymentTarget> = fc.oneof(
    { weight: 6, arbitrary: paymentName.map((fixture) => ({ fixture })) },
    { weight: 2, arbitrary: fc.constant({ fresh: 'paid' as const }) },
    { weight: 2, arbitrary: junkSegment.map((junk) => ({ junk })) },
  );

  /** A reason (a transition's, a refund's): mostly plausible text, else anything. */
  const reason = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
    { weight: 2, arbitrary: nastyText },
    { weight: 1, arbitrary: nastyValue },
  );

  /** The order id a target names (percent-encoded for a path), and the order to guard when it is real. */
  async function resolveOrder(target: Target): Promise<{ segment: string; id?: string }> {
    if ('junk' in target) return { segment: target.junk };
    let id: string;
    if ('fixture' in target) id = orders[target.fixture].id;
    else id = target.fresh === 'paid' ? (await paidOrder()).order.id : (await createOrder(runtime)).id;
    return { segment: encodeURIComponent(id), id };
  }
  async function resolvePayment(target: PaymentTarget): Promise<{ segment: string; orderId?: string }> {
    if ('junk' in target) return { segment: target.junk };
    const payment = 'fixture' in target ? payments[target.fixture] : (await paidOrder()).payment;
    return { segment: encodeURIComponent(payment.id), orderId: payment.orderId };
  }
  async function ifMatchHeader(value: IfMatch, orderId: string | undefined): Promise<string | undefined> {
    if (value === undefined) return undefined;
    if ('header' in value) return value.header;
    const version: number = orderId ? ((await snapshot(orderId))?.version ?? 1) : 1;
    return `"${value.version === 'current' ? version : version - 1}"`;
  }

  // ---- the detector itself

  it('the write detector sees every row and Stripe object an accepted request writes', async () => {
    // Without this, "a refused request wrote nothing" could pass with a detector that never sees anything.
    const rows = async () => ({
      orders: await countRows(runtime, ORDERS_TABLE),
      customers: await countRows(runtime, CUSTOMERS_TABLE),
      orderIndex: await countRows(runtime, ORDER_INDEX_TABLE),
    });
    await runtime.stripe?.idle();
    const before = await rows();
    let mark = await markWrites(stripe);
    const order = await createOrder(runtime);
    const after = await rows();
    expect(after.orders - before.orders).toBeGreaterThan(0);
    expect(await writesSince(runtime, stripe, mark)).toEqual({
      orders: after.orders - before.orders,
      customers: after.customers - before.customers,
      orderIndex: after.orderIndex - before.orderIndex,
      paymentIntents: 0,
      refunds: 0,
    });
    mark = await markWrites(stripe);
    const payment = await createPayment(runtime, order.id);
    await runtime.stripe?.idle();
    expect(await writesSince(runtime, stripe, mark)).toMatchObject({ orders: expect.any(Number), customers: 0, orderIndex: 1, paymentIntents: 1, refunds: 0 });
    await payInSandbox(runtime, stripe, payment.providerRef);
    await runtime.stripe?.idle();
    const ordersBefore = await countRows(runtime, ORDERS_TABLE);
    mark = await markWrites(stripe);
    // A transition replaces the order's row and adds a history row: the replaced row is seen too.
    expect((await hub(runtime, 'POST', `/v1/orders/${order.id}/transitions`, { body: { to: 'processing' } })).status).toBe(200);
    expect((await writesSince(runtime, stripe, mark)).orders).toBeGreaterThan((await countRows(runtime, ORDERS_TABLE)) - ordersBefore);
    mark = await markWrites(stripe);
    expect((await hub(runtime, 'POST', `/v1/payments/${payment.id}/refunds`, { body: { amount: 100 }, idempotencyKey: 'detector' })).status).toBe(201);
    await runtime.stripe?.idle();
    expect(await writesSince(runtime, stripe, mark)).toMatchObject({ customers: 0, orderIndex: 0, paymentIntents: 0, refunds: 1 });
  });

  // ---- POST /v1/orders

  /** One field of an order replaced, removed (undefined) or added. */
  const orderEdit = fc.tuple(
    fc.constantFrom(
      'source',
      'externalId',
      'currency',
      'customer',
      'customer.email',
      'customer.name',
      'customer.phone',
      'customer.address',
      'customer.address.street',
      'customer.address.zip',
      'customer.address.city',
      'customer.address.country',
      'items',
      'items.0',
      'items.0.sku',
      'items.0.name',
      'items.0.quantity',
      'items.0.unitAmount',
      'items.0.taxRatePercent',
      'items.1.quantity',
      'items.1.unitAmount',
      'items.5.sku',
      'totalAmount',
      'metadata',
      'metadata.ref',
      'metadata.😀',
      'metadata.__proto__',
      'extra',
      'customer.vip',
      'items.0.discount',
      'customer.address.floor',
      '__proto__',
      'constructor',
    ),
    fc.oneof(
      { weight: 4, arbitrary: nastyValue },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.oneof(fc.integer({ min: 0, max: 120_000 }), fc.constantFrom(99_999_999, 100_000, 100_001, 6_480, 19, 7.25, 100.001)) },
      { weight: 2, arbitrary: fc.constantFrom('EUR', 'JPY', 'KWD', 'GBP', 'eur', 'pos', 'woocommerce', 'ebay', 'DE', 'de', 'DEU', '+49 171 1234567') },
      { weight: 1, arbitrary: fc.emailAddress() },
    ),
  );

  /** A valid order (EUR, JPY, KWD, with address and metadata, at the item limit) with up to three fields replaced, removed or added. */
  const nearValidOrder = fc
    .tuple(
      fc.constantFrom('eur', 'jpy', 'kwd', 'rich', 'maxItems', 'b2b'),
      fc.oneof(
        { weight: 2, arbitrary: fc.constant([]) },
        { weight: 3, arbitrary: fc.array(orderEdit, { minLength: 1, maxLength: 1 }) },
        { weight: 2, arbitrary: fc.array(orderEdit, { minLength: 2, maxLength: 3 }) },
      ),
    )
    .map(([base, edits]) => {
      const body: Record<string, unknown> = orderBody();
      if (base === 'jpy') Object.assign(body, { currency: 'JPY', items: [{ sku: 'TEA', name: 'Sencha', quantity: 3, unitAmount: 1_200 }] });
      if (base === 'kwd')
        Object.assign(body, {
          currency: 'KWD',
          items: [
            { sku: 'DATE', name: 'Dates', quantity: 2, unitAmount: 2_750 },
            { sku: 'FIG', name: 'Figs', quantity: 1, unitAmount: 990 },
          ],
        });
      if (base === 'rich') {
        Object.assign(body, { totalAmount: 6_480, metadata: { channelRef: 'A-1', note: '' } });
        (body.customer as Record<string, unknown>).address = { street: 'Leopoldstraße 1', zip: '80802', city: 'München', country: 'DE' };
      }
      if (base === 'maxItems') body.items = Array.from({ length: 100 }, (_, i) => ({ sku: `SKU-${i}`, name: `Teil ${i}`, quantity: 1, unitAmount: 100 }));
      if (base === 'b2b') body.source = 'b2b';
      for (const [path, value] of edits) setPath(body, path, value);
      return body;
    });

  it('POST /v1/orders: near-valid, arbitrary and duplicate orders under odd Idempotency-Keys', async () => {
    const body = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(nearValidOrder, jsonContentType).map(([value, contentType]): RawBody => ({ body: toJsonText(value), contentType })) },
      { weight: 1, arbitrary: fc.tuple(nearValidOrder, wrongContentType).map(([value, contentType]): RawBody => ({ body: toJsonText(value), contentType })) },
      { weight: 2, arbitrary: anyBody },
      {
        // The channel's order exists already (409), under the same or another channel spelling.
        weight: 1,
        arbitrary: fc
          .constantFrom('pos', 'POS', 'pos ', 'woocommerce')
          .map((source): RawBody => ({ body: JSON.stringify(orderBody({ source, externalId: orders.pending.externalId })), contentType: JSON_TYPE })),
      },
      {
        // Past the item limit, or amounts whose product or sum passes what Stripe charges.
        weight: 1,
        arbitrary: fc
          .constantFrom(
            { items: Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, name: 'x', quantity: 1, unitAmount: 1 })) },
            { items: [{ sku: 'BIG', name: 'big', quantity: 100_000, unitAmount: 99_999_999 }] },
            { items: Array.from({ length: 100 }, (_, i) => ({ sku: `S${i}`, name: 'x', quantity: 1, unitAmount: 99_999_999 })) },
            { items: [{ sku: 'X', name: 'x', quantity: 2, unitAmount: 50_000_000 }] },
            { currency: 'KWD', items: [{ sku: 'X', name: 'x', quantity: 1, unitAmount: 1_005 }] },
          )
          .map((overrides): RawBody => ({ body: JSON.stringify(orderBody(overrides)), contentType: JSON_TYPE })),
      },
    );
    await fc.assert(
      fc.asyncProperty(body, idempotencyKey, async ({ body: text, contentType }, key) => {
        const answer = await check({ method: 'POST', path: '/v1/orders', body: text, contentType, idempotencyKey: key });
        if (answer.status === 201) {
          expect(orderView.safeParse(answer.json).success, answer.text).toBe(true);
          expect(answer.headers.get('etag')).toBe(`"${answer.json.version}"`);
        }
      }),
      { numRuns: 2 * RUNS },
    );
  });

  // ---- the GET endpoints

  it('GET endpoints: random, encoded, empty and cross-typed ids, credentials and methods', async () => {
    const realId = fc.constantFrom(
      () => orders.pending.id,
      () => orders.paid.id,
      () => orders.pending.customerId,
      () => payments.paidPayment.id,
      () => payments.pendingPayment.id,
      () => orders.shipped.externalId,
    );
    const segment = fc.oneof({ weight: 3, arbitrary: realId.map((id) => encodeURIComponent(id())) }, { weight: 3, arbitrary: junkSegment });
    const source = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('pos', 'woocommerce', 'b2b') },
      { weight: 1, arbitrary: fc.constantFrom('POS', 'ebay', 'p', 'a'.repeat(33), 'pos%20') },
      { weight: 2, arbitrary: junkSegment },
    );
    const routes: Array<[name: string, path: (a: string, b: string) => string]> = [
      ['order', (id) => `/v1/orders/${id}`],
      ['by-source', (src, externalId) => `/v1/orders/by-source/${src}/${externalId}`],
      ['history', (id) => `/v1/orders/${id}/history`],
      ['customer', (id) => `/v1/customers/${id}`],
      ['payment', (id) => `/v1/payments/${id}`],
      ['payments-of-order', (id) => `/v1/payments/order/${id}`],
      ['payment-history', (id) => `/v1/payments/${id}/history`],
    ];
    const views: Record<string, { safeParse(value: unknown): { success: boolean } }> = {
      order: orderView,
      'by-source': orderView,
      history: historyView,
      customer: customerView,
      payment: paymentView,
      'payments-of-order': {
        safeParse: (value: any) => ({ success: Array.isArray(value?.items) && value.items.every((item: unknown) => paymentView.safeParse(item).success) }),
      },
      'payment-history': historyView,
    };
    const token = fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom<string | null>(null, '', 'admin', 'workshop')
          .map((who) => (who === 'admin' || who === 'workshop' ? runtime.apiKeys[who] : who)),
      },
      { weight: 1, arbitrary: headerText },
    );
    const probe = fc.record({
      route: fc.constantFrom(...routes),
      first: segment,
      externalId: fc.oneof(
        segment,
        fc.constant(null).map(() => encodeURIComponent(orders.shipped.externalId)),
      ),
      source,
      token,
      method: fc.oneof({ weight: 8, arbitrary: fc.constant('GET') }, fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')),
      body: anyBody,
    });
    await fc.assert(
      fc.asyncProperty(probe, async ({ route: [name, path], first, externalId, source: src, token: bearer, method, body }) => {
        const target = name === 'by-source' ? path(src, externalId) : path(first, '');
        const answer = await check({ method, path: target, token: bearer, ...body });
        if (answer.status === 200 && method === 'GET') {
          expect(views[name]?.safeParse(answer.json).success, `${target}: ${answer.text.slice(0, 300)}`).toBe(true);
          if (name === 'by-source') expect(answer.json.externalId).toBe(decodeURIComponent(externalId));
        }
      }),
      { numRuns: 2 * RUNS },
    );
  });

  // ---- POST /v1/orders/{id}/transitions

  it('POST /v1/orders/{id}/transitions: any status, reason and If-Match, against orders in every state', async () => {
    const to = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...ORDER_STATUSES) },
      { weight: 1, arbitrary: fc.constantFrom('PAID', 'Shipped', ' shipped', 'shipped ', 'shipped\u0000', 'canceled', '') },
      { weight: 2, arbitrary: nastyValue },
    );
    const transitionBody = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .record({
            to: maybe(to, 9, 1),
            reason: maybe(reason, 1, 2),
            extra: maybe(fc.tuple(fc.constantFrom('extra', 'version', 'status', '__proto__', 'If-Match'), nastyValue), 1, 6),
          })
          .map(({ to: status, reason, extra }): RawBody => {
            const body = present({ to: status, reason });
            if (extra) setPath(body, extra[0], extra[1]);
            return { body: toJsonText(body), contentType: JSON_TYPE };
          }),
      },
      { weight: 1, arbitrary: anyBody },
    );
    await fc.assert(
      fc.asyncProperty(orderTarget, transitionBody, ifMatch, async (target, body, match) => {
        const { segment, id } = await resolveOrder(target);
        const header = await ifMatchHeader(match, id);
        const answer = await check({ method: 'POST', path: `/v1/orders/${segment}/transitions`, ifMatch: header, guard: id, ...body });
        if (answer.status === 200) {
          expect(orderView.safeParse(answer.json).success, answer.text).toBe(true);
          expect(answer.headers.get('etag')).toBe(`"${answer.json.version}"`);
        }
        if (answer.status === 412) expect(match).toBeDefined();
      }),
      { numRuns: RUNS },
    );
  });

  // ---- POST /v1/payments

  it('POST /v1/payments: any order, provider and amount under odd Idempotency-Keys', async () => {
    const orderId = fc.oneof(
      { weight: 4, arbitrary: orderName.map((name) => orders[name].id) },
      { weight: 1, arbitrary: fc.constant('fresh') },
      { weight: 1, arbitrary: junkSegment.map((segment) => decodeURIComponentOr(segment)) },
      { weight: 2, arbitrary: nastyValue },
    );
    const provider = fc.oneof(
      { weight: 6, arbitrary: fc.constant('stripe') },
      { weight: 1, arbitrary: fc.constantFrom('btcpay', 'Stripe', 'paypal', '') },
      nastyValue,
    );
    const amount = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 5, max: 1_000 }).map((tens) => tens * 10) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 49 }) },
      { weight: 2, arbitrary: nastyNumber },
      { weight: 1, arbitrary: nastyValue },
    );
    const paymentBody = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          orderId: maybe(orderId, 12, 1),
          provider: maybe(provider, 12, 1),
          amount: maybe(amount, 1, 1),
          extra: maybe(fc.tuple(fc.constantFrom('extra', 'currency', 'status', '__proto__', 'metadata'), nastyValue), 1, 6),
        }),
      },
      { weight: 1, arbitrary: anyBody },
    );
    await fc.assert(
      fc.asyncProperty(paymentBody, idempotencyKey, async (input, key) => {
        let body: RawBody;
        let guard: string | undefined;
        if ('orderId' in input || 'provider' in input || 'amount' in input || 'extra' in input) {
          const fields = input as { orderId?: unknown; provider?: unknown; amount?: unknown; extra?: [string, unknown] };
          let target = fields.orderId;
          if (target === 'fresh') target = (await createOrder(runtime)).id;
          if (typeof target === 'string' && target.startsWith('ord_')) guard = target;
          const value = present({ orderId: target, provider: fields.provider, amount: fields.amount });
          if (fields.extra) setPath(value, fields.extra[0], fields.extra[1]);
          body = { body: toJsonText(value), contentType: JSON_TYPE };
        } else body = input as RawBody;
        const answer = await check({ method: 'POST', path: '/v1/payments', idempotencyKey: key, guard, ...body });
        if (answer.status === 201) {
          expect(paymentView.safeParse(answer.json).success, answer.text).toBe(true);
          // Stripe hands Stripe.js a client secret; BTCPay the invoice's checkout page.
          if (answer.json.provider === 'btcpay') expect(answer.json.checkoutLink).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/i\/\w+$/);
          else expect(answer.json.clientSecret).toMatch(/^pi_.+_secret_/);
        }
      }),
      { numRuns: RUNS },
    );
  });

  // ---- POST /v1/payments/{id}/refunds

  it('POST /v1/payments/{id}/refunds: any amount and reason, against payments in every state', async () => {
    const refundAmount = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 2_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 700 }).map((tens) => tens * 10) },
      { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 100_000 }) },
      { weight: 2, arbitrary: nastyNumber },
      { weight: 1, arbitrary: nastyValue },
    );
    const refundBody = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .record({
            amount: maybe(refundAmount, 2, 1),
            reason: maybe(reason, 1, 2),
            extra: maybe(fc.tuple(fc.constantFrom('extra', 'paymentId', 'status', '__proto__', 'currency'), nastyValue), 1, 6),
          })
          .map(({ amount, reason, extra }): RawBody => {
            const body = present({ amount, reason });
            if (extra) setPath(body, extra[0], extra[1]);
            return { body: toJsonText(body), contentType: JSON_TYPE };
          }),
      },
      { weight: 1, arbitrary: anyBody },
    );
    await fc.assert(
      fc.asyncProperty(paymentTarget, refundBody, idempotencyKey, async (target, body, key) => {
        const { segment, orderId } = await resolvePayment(target);
        const answer = await check({ method: 'POST', path: `/v1/payments/${segment}/refunds`, idempotencyKey: key, guard: orderId, ...body });
        if (answer.status === 201) expect(answer.json).toMatchObject({ paymentId: decodeURIComponent(segment), amount: expect.any(Number) });
      }),
      { numRuns: RUNS },
    );
  });

  // ---- every route at once: methods, credentials and bodies it does not expect

  it('every order-hub route: random ids, methods, credentials, bodies and headers', async () => {
    const routes: Array<[method: string, path: (id: string) => string]> = [
      ['POST', () => '/v1/orders'],
      ['GET', (id) => `/v1/orders/${id}`],
      ['GET', (id) => `/v1/orders/by-source/pos/${id}`],
      ['GET', (id) => `/v1/orders/${id}/history`],
      ['POST', (id) => `/v1/orders/${id}/transitions`],
      ['GET', (id) => `/v1/customers/${id}`],
      ['POST', () => '/v1/payments'],
      ['GET', (id) => `/v1/payments/${id}`],
      ['GET', (id) => `/v1/payments/order/${id}`],
      ['GET', (id) => `/v1/payments/${id}/history`],
      ['POST', (id) => `/v1/payments/${id}/refunds`],
    ];
    const id = fc.oneof(
      { weight: 2, arbitrary: orderName.map((name) => encodeURIComponent(orders[name].id)) },
      { weight: 2, arbitrary: paymentName.map((name) => encodeURIComponent(payments[name].id)) },
      { weight: 3, arbitrary: junkSegment },
    );
    const token = fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 2, arbitrary: fc.constantFrom<'admin' | 'workshop' | 'orders'>('admin', 'workshop', 'orders').map((who) => runtime.apiKeys[who] as string) },
      { weight: 1, arbitrary: headerText },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map(asHeaderBytes) },
    );
    const probe = fc.record({
      route: fc.constantFrom(...routes),
      id,
      otherMethod: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')),
      token,
      body: anyBody,
      key: maybe(idempotencyKey, 1, 1),
      match: maybe(headerText, 1, 3),
    });
    await fc.assert(
      fc.asyncProperty(probe, async ({ route: [method, path], id: segment, otherMethod, token: bearer, body, key, match }) => {
        await check({ method: otherMethod ?? method, path: path(segment), token: bearer, idempotencyKey: key, ifMatch: match, ...body });
      }),
      { numRuns: RUNS },
    );
  });
});
