/**
 * The states the drills start from, made over the API as a customer, the workshop and a sales channel
 * would make them, from the tests' own request bodies (tests/support/requests.ts; the rest of
 * tests/support asserts with vitest, which does not load outside its runner). Every access token
 * handed out is remembered as a secret.
 */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { gatherText, safeKey } from '../shared/adapters/table-storage/tables';
import { BOOKINGS_TABLE } from '../slices/bookings/slice';
import { bookingBody as validBooking, orderBody as validOrder } from '../tests/support/requests';
import { waitFor } from '../tests/support/wait';
import type { DrillContext } from './context';

/** A valid `POST /v1/bookings` body with a fresh e-mail address (one Stripe customer and Odoo partner per booking) and a delivery address. */
export function bookingBody(): Record<string, unknown> {
  return validBooking({
    customer: { name: 'Erika Mustermann', email: `drill.${randomUUID().slice(0, 12)}@example.de`, phone: '+49 171 1234567' },
    delivery: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' } },
    notes: 'Schlüssel beim Nachbarn',
  });
}

/** A valid order for the `pos` channel with a fresh external id and e-mail. */
export function orderBody(): Record<string, unknown> {
  return validOrder({ metadata: { note: 'drill' } });
}

export interface Booking {
  id: string;
  accessToken: string;
  paymentIntentId: string;
  priceCents: number;
  email: string;
}

export interface BookingView {
  id: string;
  status: string;
  payment: { status: string; paymentIntentId?: string };
  findings: Array<{ id: string; status: string; priceCents: number }>;
}

export interface HistoryRow {
  from: string | null;
  to: string;
  at: string;
  cause: string;
  machine?: string;
  subject?: string;
}

/** Creates a booking (201 expected). */
export async function createBooking(ctx: DrillContext): Promise<Booking> {
  const body = bookingBody();
  const created = await ctx.api.expect<{ id: string; accessToken: string; priceCents: number; payment: { paymentIntentId: string } }>(
    201,
    'POST',
    '/v1/bookings',
    {
      body,
    },
  );
  ctx.secrets.set(`access token of ${created.id}`, created.accessToken);
  return {
    id: created.id,
    accessToken: created.accessToken,
    paymentIntentId: created.payment.paymentIntentId,
    priceCents: created.priceCents,
    email: (body.customer as { email: string }).email,
  };
}

export function getBooking(ctx: DrillContext, booking: Booking): Promise<BookingView> {
  return ctx.api.expect<BookingView>(200, 'GET', `/v1/bookings/${booking.id}`, { token: booking.accessToken });
}

export async function bookingHistory(ctx: DrillContext, booking: Booking): Promise<HistoryRow[]> {
  return (await ctx.api.expect<{ items: HistoryRow[] }>(200, 'GET', `/v1/bookings/${booking.id}/history`, { token: booking.accessToken })).items;
}

/** The customer pays with a card that works; the sandbox delivers the webhooks. */
export async function payBooking(ctx: DrillContext, booking: Booking): Promise<void> {
  await ctx.stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: 'pm_card_visa' });
}

/** Waits until the booking is in `status` (the webhook arrived). */
export async function bookingReaches(ctx: DrillContext, booking: Booking, status: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await getBooking(ctx, booking)).status === status, { timeoutMs, message: `booking ${booking.id} never reached ${status}` });
}

/** The customer cancels a booking once its payment went through (a refund, and a credit note for Odoo). */
export async function cancelAfterPayment(ctx: DrillContext, booking: Booking): Promise<void> {
  await bookingReaches(ctx, booking, 'CONFIRMED');
  await ctx.api.expect(200, 'POST', `/v1/bookings/${booking.id}/cancel`, { token: booking.accessToken });
}

/** A paid booking whose car is in the workshop (pick-up recorded through the admin's trip-status endpoint). */
export async function bookingInWorkshop(ctx: DrillContext): Promise<Booking> {
  const booking = await createBooking(ctx);
  await payBooking(ctx, booking);
  await bookingReaches(ctx, booking, 'CONFIRMED');
  await ctx.api.expect(200, 'POST', `/v1/bookings/${booking.id}/trips/pickup/status`, { token: ctx.keys.admin, body: { status: 'pickup_completed' } });
  return booking;
}

// ---- trips

export type Leg = 'pickup' | 'delivery';
export const TRIP_TYPE: Record<Leg, string> = { pickup: 'b2c_pickup', delivery: 'b2c_delivery' };

/** The trips of a booking's leg the Driver-App sandbox accepted. */
export const acceptedTrips = (ctx: DrillContext, booking: Booking, leg: Leg) =>
  ctx.driver.trips().filter((trip) => trip.bookingId === booking.id && trip.type === TRIP_TYPE[leg] && trip.responseStatus === 201);

/**
 * The trip id the booking holds for a leg. The API does not show trips (only the history's status
 * reports name them), so this reads the booking's row as the app stored it.
 */
export async function storedTripId(ctx: DrillContext, booking: Booking, leg: Leg): Promise<string | undefined> {
  const row = await ctx.runtime.composition.services.tables.client(BOOKINGS_TABLE).getEntity<Record<string, unknown>>(safeKey(booking.id), 'booking');
  const state = JSON.parse(gatherText(row, 'data')) as { trips?: Partial<Record<Leg, { tripId?: string }>> };
  return state.trips?.[leg]?.tripId;
}

// ---- Stripe events

/**
 * Runs `actions` while the Stripe sandbox keeps its events to itself (as if Stripe's deliveries were
 * late), so a drill can deliver them its own way. Resolves with the events each action caused.
 */
export async function eventsHeldDuring(ctx: DrillContext, actions: ReadonlyArray<() => Promise<unknown>>): Promise<Stripe.Event[][]> {
  await ctx.stripeSandbox.idle();
  ctx.stripeSandbox.setWebhookUrl(undefined);
  const caused: Stripe.Event[][] = [];
  try {
    for (const action of actions) {
      const newest = (await ctx.stripe.events.list({ limit: 1 })).data[0]?.id;
      await action();
      const events: Stripe.Event[] = [];
      for await (const event of ctx.stripe.events.list({ limit: 100, ...(newest ? { ending_before: newest } : {}) })) events.push(event);
      caused.push(events);
    }
  } finally {
    ctx.stripeSandbox.setWebhookUrl(`${ctx.runtime.url}/v1/webhooks/stripe`);
  }
  return caused;
}

/** The customer pays each intent with the events held; resolves every intent's events by its id. */
export async function payWithEventsHeld(ctx: DrillContext, paymentIntentIds: readonly string[]): Promise<Map<string, Stripe.Event[]>> {
  const caused = await eventsHeldDuring(
    ctx,
    paymentIntentIds.map((id) => () => ctx.stripe.paymentIntents.confirm(id, { payment_method: 'pm_card_visa' })),
  );
  return new Map(paymentIntentIds.map((id, i) => [id, caused[i] ?? []]));
}

/** POSTs an event's bytes to the app's Stripe webhook, signed as Stripe signs (now, or at `timestamp`). */
export function deliverEvent(ctx: DrillContext, payload: string, timestamp?: number) {
  const signature = ctx.stripe.webhooks.generateTestHeaderString({
    payload,
    secret: ctx.stripeWebhookSecret,
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
  return ctx.api.call('POST', '/v1/webhooks/stripe', { body: payload, headers: { 'stripe-signature': signature } });
}

// ---- orders

export interface Order {
  id: string;
  externalId: string;
  customerId: string;
  totalAmount: number;
}

export interface OrderView {
  id: string;
  status: string;
  paymentStatus: string;
  totalAmount: number;
  paidAmount: number;
  refundedAmount: number;
  version: number;
}

export interface Payment {
  id: string;
  orderId: string;
  amount: number;
  providerRef: string;
}

export async function createOrder(ctx: DrillContext): Promise<Order> {
  const order = await ctx.api.expect<Order>(201, 'POST', '/v1/orders', { token: ctx.keys.orders, body: orderBody(), idempotencyKey: randomUUID() });
  return { id: order.id, externalId: order.externalId, customerId: order.customerId, totalAmount: order.totalAmount };
}

export function createPayment(ctx: DrillContext, orderId: string): Promise<Payment> {
  return ctx.api.expect<Payment>(201, 'POST', '/v1/payments', { token: ctx.keys.orders, body: { orderId, provider: 'stripe' }, idempotencyKey: randomUUID() });
}

/** An order paid in full by one Stripe payment (the webhooks delivered). */
export async function paidOrder(ctx: DrillContext): Promise<{ order: Order; payment: Payment }> {
  const order = await createOrder(ctx);
  const payment = await createPayment(ctx, order.id);
  await ctx.stripe.paymentIntents.confirm(payment.providerRef, { payment_method: 'pm_card_visa' });
  await waitFor(async () => (await getOrder(ctx, order.id)).status === 'paid', { timeoutMs: 15_000, message: `order ${order.id} never became paid` });
  return { order, payment };
}

export function getOrder(ctx: DrillContext, id: string): Promise<OrderView> {
  return ctx.api.expect<OrderView>(200, 'GET', `/v1/orders/${id}`, { token: ctx.keys.orders });
}

export async function orderHistory(ctx: DrillContext, id: string): Promise<HistoryRow[]> {
  return (await ctx.api.expect<{ items: HistoryRow[] }>(200, 'GET', `/v1/orders/${id}/history`, { token: ctx.keys.orders })).items;
}

/** What Stripe refunded on an intent, read from the sandbox. */
export async function refundedAtStripe(ctx: DrillContext, paymentIntentId: string): Promise<{ count: number; amount: number }> {
  let count = 0;
  let amount = 0;
  for await (const refund of ctx.stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 })) {
    if (refund.status === 'failed' || refund.status === 'canceled') continue;
    count += 1;
    amount += refund.amount;
  }
  return { count, amount };
}

/** Runs `task` for every item, at most `limit` at a time. */
export async function inBatches<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A shuffled copy (Fisher–Yates with the run's seeded randomness). */
export function shuffle<T>(ctx: DrillContext, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(ctx.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
