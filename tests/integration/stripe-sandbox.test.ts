/**
 * Conformance suite for local/stripe-sandbox.ts, driven by the unmodified `stripe` SDK: what the
 * app relies on (status flows, test cards, errors the SDK must map, idempotency, signed webhooks
 * with retries) must behave as on Stripe. A tiny node:http receiver stands in for the app's
 * webhook endpoint.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StripeSandbox } from '../../local/stripe-sandbox';

const WEBHOOK_SECRET = 'whsec_sandbox_test_secret';
const RETRY_DELAYS_MS = [30, 60];

// --- webhook receiver -------------------------------------------------------------------------

interface Received {
  rawBody: string;
  signature: string;
  event: Stripe.Event;
}

/** The app's webhook endpoint: records every attempt and answers with queued statuses, then 200. */
class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly statuses: number[] = [];

  private constructor(private readonly server: Server) {
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        this.received.push({ rawBody, signature: String(request.headers['stripe-signature']), event: JSON.parse(rawBody) });
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
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/stripe`;
  }

  /** The next `times` attempts get `status`. */
  answer(status: number, times: number): void {
    for (let i = 0; i < times; i++) this.statuses.push(status);
  }

  reset(): void {
    this.received.length = 0;
    this.statuses.length = 0;
  }

  /** Delivered events about one object (optionally of one type). */
  about(objectId: string, type?: string): Received[] {
    return this.received.filter(({ event }) => (event.data.object as { id?: string }).id === objectId && (type === undefined || event.type === type));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// --- set-up -------------------------------------------------------------------------------------

let sandbox: StripeSandbox;
let receiver: WebhookReceiver;
let stripe: Stripe;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  sandbox = await StripeSandbox.start({ port: 0, webhookSecret: WEBHOOK_SECRET, webhookUrl: receiver.url, retry: { delaysMs: RETRY_DELAYS_MS } });
  stripe = new Stripe('sk_test_order_hub_sandbox', { host: '127.0.0.1', port: sandbox.port, protocol: 'http' });
});

afterAll(async () => {
  await sandbox?.stop();
  await receiver?.stop();
});

beforeEach(async () => {
  // Every test sees only its own deliveries.
  await sandbox.idle();
  receiver.reset();
});

/** A raw call, for what the SDK hides (headers, exact bodies, missing keys). */
async function raw(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method: init.method ?? 'GET',
    body: init.body,
    headers: {
      Authorization: 'Bearer sk_test_order_hub_sandbox',
      ...(init.body !== undefined && { 'Content-Type': 'application/x-www-form-urlencoded' }),
      ...init.headers,
    },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text || 'null') };
}

/** The customer passing (or failing) 3-D Secure in the sandbox. */
const authenticate = (intentId: string, outcome = 'succeed') =>
  raw(`/sandbox/payment_intents/${intentId}/authenticate`, { method: 'POST', body: `outcome=${outcome}`, headers: { Authorization: '' } });

/** Runs `action`, expecting it to reject with a Stripe error; returns the error. */
async function stripeError(action: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await action.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Stripe.errors.StripeError);
  return error as Stripe.errors.StripeError;
}

const uniqueEmail = (): string => `driver-${Math.random().toString(36).slice(2)}@example.com`;

// --- customers ----------------------------------------------------------------------------------

describe('customers', () => {
  it('creates, retrieves, updates and lists customers by exact e-mail', async () => {
    const email = uniqueEmail();
    // Whole seconds, rounded outward: `created` is a Unix timestamp in seconds.
    const beforeCreate = Math.floor(Date.now() / 1000);
    const customer = await stripe.customers.create({ email, name: 'Ada Driver', metadata: { bookingId: 'bk_1', note: 'a&b=c ü' } });
    const afterCreate = Math.ceil(Date.now() / 1000);
    await stripe.customers.create({ email: email.toUpperCase() });
    await stripe.customers.create({ email: uniqueEmail() });

    expect(customer).toMatchObject({ object: 'customer', email, name: 'Ada Driver', livemode: false });
    expect(customer.id).toMatch(/^cus_\w{10,}$/);
    expect(customer.metadata).toEqual({ bookingId: 'bk_1', note: 'a&b=c ü' });
    expect(customer.created).toBeGreaterThanOrEqual(beforeCreate);
    expect(customer.created).toBeLessThanOrEqual(afterCreate);

    const listed = await stripe.customers.list({ email });
    expect(listed).toMatchObject({ object: 'list', has_more: false, url: '/v1/customers' });
    expect(listed.data.map((c) => c.id)).toEqual([customer.id]); // case-sensitive, as on Stripe

    const updated = await stripe.customers.update(customer.id, { phone: '+49301234567', metadata: { note: '', channel: 'app' } });
    expect(updated.metadata).toEqual({ bookingId: 'bk_1', channel: 'app' });
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ phone: '+49301234567' });

    await sandbox.idle();
    expect(receiver.about(customer.id, 'customer.created')).toHaveLength(1);
    const [update] = receiver.about(customer.id, 'customer.updated');
    expect(update?.event.data.previous_attributes).toMatchObject({ phone: null, metadata: { bookingId: 'bk_1', note: 'a&b=c ü' } });
  });

  it('paginates newest first with starting_after', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await stripe.customers.create({ description: `page ${i}` })).id);
    const first = await stripe.customers.list({ limit: 2 });
    expect(first.data.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    const second = await stripe.customers.list({ limit: 1, starting_after: ids[1] });
    expect(second.data.map((c) => c.id)).toEqual([ids[0]]);
  });
});

// --- payment intents ----------------------------------------------------------------------------

describe('payment intents', () => {
  it('pays with pm_card_visa and delivers a signed payment_intent.succeeded', async () => {
    const customer = await stripe.customers.create({ email: uniqueEmail() });
    const created = await stripe.paymentIntents.create({
      amount: 12_900,
      currency: 'eur',
      customer: customer.id,
      setup_future_usage: 'off_session',
      metadata: { bookingId: 'bk_visa' },
      description: 'Inspection',
      receipt_email: 'ada@example.com',
    });
    expect(created).toMatchObject({ object: 'payment_intent', status: 'requires_payment_method', amount: 12_900, currency: 'eur', customer: customer.id });
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_\\w+$`));
    expect(created.id).toMatch(/^pi_/);

    const paid = await stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa' });
    expect(paid).toMatchObject({ status: 'succeeded', amount_received: 12_900, last_payment_error: null, next_action: null });
    expect(paid.payment_method).toMatch(/^pm_/);
    expect(paid.payment_method).not.toBe('pm_card_visa'); // a token becomes a real PaymentMethod

    const charge = await stripe.charges.retrieve(paid.latest_charge as string);
    expect(charge).toMatchObject({ status: 'succeeded', paid: true, captured: true, amount: 12_900, payment_intent: paid.id, customer: customer.id });
    expect(charge.metadata).toEqual({ bookingId: 'bk_visa' });

    await sandbox.idle();
    const [delivery] = receiver.about(paid.id, 'payment_intent.succeeded');
    expect(delivery).toBeDefined();
    const { rawBody, signature } = delivery as Received;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const event = stripe.webhooks.constructEvent(rawBody, signature, WEBHOOK_SECRET);
    expect(event).toMatchObject({ object: 'event', type: 'payment_intent.succeeded', livemode: false, pending_webhooks: 1 });
    expect(event.id).toMatch(/^evt_/);
    expect(event.request?.idempotency_key).toEqual(expect.any(String)); // the SDK keys every POST
    const object = event.data.object as Stripe.PaymentIntent;
    expect(object).toMatchObject({ id: paid.id, status: 'succeeded', metadata: { bookingId: 'bk_visa' } });
    expect(receiver.about(charge.id, 'charge.succeeded')).toHaveLength(1);

    // The signature binds body, secret and time: the checks the app relies on must be able to fail.
    expect(() => stripe.webhooks.constructEvent(rawBody.replace('12900', '12901'), signature, WEBHOOK_SECRET)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() => stripe.webhooks.constructEvent(rawBody, signature, 'whsec_other')).toThrow(Stripe.errors.StripeSignatureVerificationError);

    // The stored event is the delivered one.
    const stored = await stripe.events.retrieve(event.id);
    expect(stored.data.object).toEqual(object);
    const listed = await stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 });
    expect(listed.data.map((e) => e.id)).toContain(event.id);
  });

  it('declines pm_card_chargeDeclined with a StripeCardError, then takes pm_card_visa', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 5_000, currency: 'eur', metadata: { bookingId: 'bk_decline' } });

    const error = await stripeError(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_chargeDeclined' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    expect(error.payment_intent).toMatchObject({ id: intent.id, status: 'requires_payment_method' });

    const failed = await stripe.paymentIntents.retrieve(intent.id);
    expect(failed).toMatchObject({ status: 'requires_payment_method', payment_method: null });
    expect(failed.last_payment_error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    expect(await stripe.charges.retrieve(failed.latest_charge as string)).toMatchObject({ status: 'failed', paid: false, failure_code: 'card_declined' });

    const paid = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(paid).toMatchObject({ status: 'succeeded', last_payment_error: null });

    await sandbox.idle();
    expect(receiver.about(intent.id).map((r) => r.event.type)).toEqual(
      expect.arrayContaining(['payment_intent.created', 'payment_intent.payment_failed', 'payment_intent.succeeded']),
    );
  });

  it('asks for 3-D Secure on-session with pm_card_authenticationRequired; authenticating completes it', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 8_000, currency: 'eur', payment_method: 'pm_card_authenticationRequired' });
    expect(intent.status).toBe('requires_confirmation');

    const pending = await stripe.paymentIntents.confirm(intent.id);
    expect(pending.status).toBe('requires_action');
    expect(pending.next_action?.type).toBe('use_stripe_sdk');
    expect(pending.latest_charge).toBeNull();

    const { status, json } = await authenticate(intent.id);
    expect(status).toBe(200);
    expect(json).toMatchObject({ id: intent.id, status: 'succeeded', next_action: null });
    const charge = await stripe.charges.retrieve(json.latest_charge);
    expect(charge.payment_method_details?.card?.three_d_secure).toMatchObject({ result: 'authenticated' });

    await sandbox.idle();
    expect(receiver.about(intent.id, 'payment_intent.requires_action')).toHaveLength(1);
    const [succeeded] = receiver.about(intent.id, 'payment_intent.succeeded');
    expect(succeeded?.event.request?.id).toBeNull(); // the customer's action, not an API request
  });

  it('completes a requires_action intent when confirmed again with pm_card_visa, and fails it on a refused challenge', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 2_000, currency: 'eur', payment_method: 'pm_card_authenticationRequired', confirm: true });
    expect(intent.status).toBe('requires_action');
    expect((await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' })).status).toBe('succeeded');

    const refused = await stripe.paymentIntents.create({ amount: 2_000, currency: 'eur', payment_method: 'pm_card_authenticationRequired', confirm: true });
    const { json } = await authenticate(refused.id, 'fail');
    expect(json).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'payment_intent_authentication_failure' } });
    expect((await authenticate(refused.id)).status).toBe(400); // nothing to authenticate any more
  });

  it('charges the saved card off-session; authentication_required when the card needs 3-D Secure', async () => {
    const customer = await stripe.customers.create({ email: uniqueEmail() });
    const first = await stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'eur',
      customer: customer.id,
      setup_future_usage: 'off_session',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const saved = first.payment_method as string;
    const methods = await stripe.customers.listPaymentMethods(customer.id);
    expect(methods.data.map((m) => m.id)).toEqual([saved]);
    expect(methods.data[0]).toMatchObject({ customer: customer.id, card: { last4: '4242' } });

    const extra = await stripe.paymentIntents.create(
      { amount: 4_500, currency: 'eur', customer: customer.id, payment_method: saved, off_session: true, confirm: true, metadata: { findingId: 'f1' } },
      { idempotencyKey: `finding-f1-${customer.id}` },
    );
    expect(extra).toMatchObject({ status: 'succeeded', payment_method: saved, customer: customer.id });

    // Stripe refuses a customer's card on an intent without that customer.
    const foreign = await stripeError(
      stripe.paymentIntents.create({ amount: 4_500, currency: 'eur', payment_method: saved, confirm: true, off_session: true }),
    );
    expect(foreign).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(foreign.param).toBe('payment_method');

    // A 3-D Secure card, saved after an authenticated on-session payment…
    const onSession = await stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'eur',
      customer: customer.id,
      setup_future_usage: 'off_session',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
    });
    expect((await authenticate(onSession.id)).json.status).toBe('succeeded');
    const secureCard = (await stripe.paymentIntents.retrieve(onSession.id)).payment_method as string;

    // …still needs the customer off-session: 402 authentication_required, intent waits.
    const error = await stripeError(
      stripe.paymentIntents.create({ amount: 3_000, currency: 'eur', customer: customer.id, payment_method: secureCard, off_session: true, confirm: true }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ code: 'authentication_required', decline_code: 'authentication_required' });
    const waiting = error.payment_intent as Stripe.PaymentIntent;
    expect(waiting).toMatchObject({ status: 'requires_payment_method', customer: customer.id });
    expect(waiting.client_secret).toMatch(/_secret_/);

    // The customer comes back and confirms on-session with the same card: requires_action, then paid.
    const retried = await stripe.paymentIntents.confirm(waiting.id, { payment_method: secureCard });
    expect(retried.status).toBe('requires_action');
    expect((await authenticate(waiting.id)).json.status).toBe('succeeded');

    await sandbox.idle();
    expect(receiver.about(waiting.id, 'payment_intent.payment_failed')).toHaveLength(1);
  });

  it('cancels, and refuses to confirm or cancel in the wrong state', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 1_500, currency: 'eur' });
    const canceled = await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'requested_by_customer' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    expect(canceled.canceled_at).toEqual(expect.any(Number));

    const confirmError = await stripeError(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' }));
    expect(confirmError).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(confirmError).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(confirmError.payment_intent).toMatchObject({ status: 'canceled' });

    const paid = await stripe.paymentIntents.create({ amount: 1_500, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
    const cancelError = await stripeError(stripe.paymentIntents.cancel(paid.id));
    expect(cancelError.code).toBe('payment_intent_unexpected_state');

    await sandbox.idle();
    expect(receiver.about(intent.id, 'payment_intent.canceled')).toHaveLength(1);
  });

  it('updates metadata, lists by customer and expands ids', async () => {
    const customer = await stripe.customers.create({ email: uniqueEmail() });
    const intent = await stripe.paymentIntents.create({ amount: 7_000, currency: 'eur', customer: customer.id, metadata: { bookingId: 'bk_u' } });
    const updated = await stripe.paymentIntents.update(intent.id, { metadata: { attempt: '2' } });
    expect(updated.metadata).toEqual({ bookingId: 'bk_u', attempt: '2' });

    const listed = await stripe.paymentIntents.list({ customer: customer.id });
    expect(listed.data.map((pi) => pi.id)).toEqual([intent.id]);

    await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    const expanded = await stripe.paymentIntents.retrieve(intent.id, { expand: ['latest_charge', 'customer'] });
    expect(expanded.latest_charge).toMatchObject({ object: 'charge', status: 'succeeded' });
    expect(expanded.customer).toMatchObject({ object: 'customer', id: customer.id });
  });
});

// --- refunds ------------------------------------------------------------------------------------

describe('refunds', () => {
  it('refunds partly, then the rest, updating the charge and sending charge.refunded', async () => {
    const paid = await stripe.paymentIntents.create({ amount: 10_000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
    const chargeId = paid.latest_charge as string;

    const partial = await stripe.refunds.create({ payment_intent: paid.id, amount: 2_500, reason: 'requested_by_customer' });
    expect(partial).toMatchObject({ object: 'refund', status: 'succeeded', amount: 2_500, charge: chargeId, payment_intent: paid.id });
    expect(partial.id).toMatch(/^re_/);
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 2_500, refunded: false });

    const tooMuch = await stripeError(stripe.refunds.create({ payment_intent: paid.id, amount: 9_000 }));
    expect(tooMuch).toMatchObject({ statusCode: 400, code: 'amount_too_large' });

    const rest = await stripe.refunds.create({ payment_intent: paid.id });
    expect(rest.amount).toBe(7_500);
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 10_000, refunded: true });
    expect((await stripe.refunds.retrieve(rest.id)).amount).toBe(7_500);
    expect((await stripe.refunds.list({ payment_intent: paid.id })).data.map((r) => r.id)).toEqual([rest.id, partial.id]);

    const again = await stripeError(stripe.refunds.create({ payment_intent: paid.id }));
    expect(again.code).toBe('charge_already_refunded');

    const unpaid = await stripe.paymentIntents.create({ amount: 1_000, currency: 'eur' });
    expect((await stripeError(stripe.refunds.create({ payment_intent: unpaid.id }))).statusCode).toBe(400);

    await sandbox.idle();
    const refunded = receiver.about(chargeId, 'charge.refunded').map((r) => r.event.data.object as Stripe.Charge);
    expect(refunded.map((c) => c.amount_refunded).sort()).toEqual([10_000, 2_500].sort());
    expect(receiver.about(partial.id, 'refund.created')).toHaveLength(1);
  });
});

// --- idempotency --------------------------------------------------------------------------------

describe('idempotency', () => {
  it('replays the first response for the same key and parameters', async () => {
    const key = `booking-${Math.random()}`;
    const body = 'amount=9900&currency=eur&metadata[bookingId]=bk_idem';
    const first = await raw('/v1/payment_intents', { method: 'POST', body, headers: { 'Idempotency-Key': key } });
    const second = await raw('/v1/payment_intents', {
      method: 'POST',
      body: 'metadata[bookingId]=bk_idem&currency=eur&amount=9900', // order does not matter
      headers: { 'Idempotency-Key': key },
    });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const viaSdk = await stripe.paymentIntents.create({ amount: 9_900, currency: 'eur', metadata: { bookingId: 'bk_idem' } }, { idempotencyKey: key });
    expect(viaSdk.id).toBe(first.json.id);
    expect((await stripe.paymentIntents.list({ limit: 100 })).data.filter((pi) => pi.metadata.bookingId === 'bk_idem')).toHaveLength(1);
  });

  it('rejects the same key with other parameters or on another endpoint', async () => {
    const key = `key-${Math.random()}`;
    await stripe.paymentIntents.create({ amount: 1_000, currency: 'eur' }, { idempotencyKey: key });
    const changed = await stripeError(stripe.paymentIntents.create({ amount: 1_001, currency: 'eur' }, { idempotencyKey: key }));
    expect(changed).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(changed).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
    const elsewhere = await stripeError(stripe.customers.create({}, { idempotencyKey: key }));
    expect(elsewhere).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('replays a decline without a second attempt, but not a parameter error', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 3_000, currency: 'eur' });
    const key = `confirm-${intent.id}`;
    const first = await stripeError(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: key }));
    const replay = await stripeError(stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: key }));
    expect(replay.charge).toBe(first.charge);
    expect((await stripe.charges.list({ payment_intent: intent.id })).data).toHaveLength(1);

    const badKey = `bad-${Math.random()}`;
    const bad = await stripeError(
      stripe.customers.create({ email: 'x@example.com', colour: 'red' } as Stripe.CustomerCreateParams, { idempotencyKey: badKey }),
    );
    expect(bad).toMatchObject({ code: 'parameter_unknown', param: 'colour' });
    // Same key, corrected request: runs, because the failed validation saved nothing.
    expect((await stripe.customers.create({ email: 'x@example.com' }, { idempotencyKey: badKey })).object).toBe('customer');
  });
});

// --- webhooks -----------------------------------------------------------------------------------

describe('webhook delivery', () => {
  it('retries after a 500 and records the attempts', async () => {
    receiver.answer(500, 1);
    const customer = await stripe.customers.create({ email: uniqueEmail() });
    await sandbox.idle();

    const attempts = receiver.about(customer.id, 'customer.created');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]?.event.id).toBe(attempts[1]?.event.id);
    for (const { rawBody, signature } of attempts) expect(() => stripe.webhooks.constructEvent(rawBody, signature, WEBHOOK_SECRET)).not.toThrow();
    const record = sandbox.deliveries().find((d) => d.eventId === attempts[0]?.event.id);
    expect(record).toMatchObject({ type: 'customer.created', attempts: 2, lastStatus: 200, delivered: true });
    expect((await stripe.events.retrieve(record?.eventId as string)).pending_webhooks).toBe(0);
  });

  it('gives up after the last retry, and stores events when no URL is set', async () => {
    receiver.answer(503, RETRY_DELAYS_MS.length + 1);
    const failing = await stripe.customers.create({ email: uniqueEmail() });
    await sandbox.idle();
    const [event] = receiver.about(failing.id).map((r) => r.event);
    expect(sandbox.deliveries().find((d) => d.eventId === event?.id)).toMatchObject({ attempts: 3, lastStatus: 503, delivered: false });

    sandbox.setWebhookUrl(undefined);
    try {
      const quiet = await stripe.customers.create({ email: uniqueEmail() });
      await sandbox.idle();
      expect(receiver.about(quiet.id)).toHaveLength(0);
      const stored = await stripe.events.list({ type: 'customer.*' });
      const quietEvent = stored.data.find((e) => (e.data.object as Stripe.Customer).id === quiet.id);
      expect(quietEvent).toMatchObject({ type: 'customer.created', pending_webhooks: 0 });
      expect(sandbox.deliveries().some((d) => d.eventId === quietEvent?.id)).toBe(false);
    } finally {
      sandbox.setWebhookUrl(receiver.url);
    }
  });

  it('retries an unreachable endpoint; stop() cancels pending retries and frees the port', async () => {
    const other = await StripeSandbox.start({
      port: 0,
      webhookSecret: WEBHOOK_SECRET,
      webhookUrl: 'http://127.0.0.1:9/unreachable',
      retry: { delaysMs: [20, 60_000] },
    });
    const client = new Stripe('sk_test_other', { host: '127.0.0.1', port: other.port, protocol: 'http' });
    await client.customers.create({});
    const deadline = Date.now() + 2_000;
    while (other.deliveries()[0]?.attempts !== 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(other.deliveries()[0]).toMatchObject({ attempts: 2, delivered: false, lastError: expect.any(String) });

    const port = other.port;
    const started = Date.now();
    await other.stop();
    await other.idle(); // the pending 60 s retry is cancelled, not awaited
    expect(Date.now() - started).toBeLessThan(10_000); // far from the 60 s a waited-out retry would take
    const probe = createServer();
    probe.listen(port, '127.0.0.1');
    await once(probe, 'listening');
    await new Promise((resolve) => probe.close(resolve));
  });
});

// --- errors -------------------------------------------------------------------------------------

describe('errors', () => {
  it('answers 404 resource_missing and 400 parameter errors in Stripe shape', async () => {
    const missing = await raw('/v1/payment_intents/pi_doesnotexist');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      error: expect.objectContaining({ type: 'invalid_request_error', code: 'resource_missing', message: "No such payment_intent: 'pi_doesnotexist'" }),
    });
    expect(missing.headers.get('request-id')).toMatch(/^req_/);

    const noAmount = await raw('/v1/payment_intents', { method: 'POST', body: 'currency=eur' });
    expect(noAmount.status).toBe(400);
    expect(noAmount.json.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_missing', param: 'amount' });

    const notInteger = await raw('/v1/payment_intents', { method: 'POST', body: 'currency=eur&amount=12.5' });
    expect(notInteger.json.error).toMatchObject({ code: 'parameter_invalid_integer', param: 'amount' });

    const unknownRoute = await raw('/v1/subscriptions');
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.json.error.type).toBe('invalid_request_error');

    const sdkMissing = await stripeError(stripe.customers.retrieve('cus_nope'));
    expect(sdkMissing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(sdkMissing).toMatchObject({ statusCode: 404, code: 'resource_missing' });

    const noCustomer = await stripeError(stripe.paymentIntents.create({ amount: 1_000, currency: 'eur', customer: 'cus_nope' }));
    expect(noCustomer).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'customer' });
  });

  it('decodes the bracket syntax and refuses malformed or conflicting keys', async () => {
    const created = await raw('/v1/customers', {
      method: 'POST',
      body: 'email=n%40example.com&address[city]=K%C3%B6ln&address[postal_code]=50667&preferred_locales[0]=de&preferred_locales[1]=en&metadata[Buchung%20Nr%2E]=A%26B',
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      email: 'n@example.com',
      address: { city: 'Köln', postal_code: '50667', line1: null },
      preferred_locales: ['de', 'en'],
      metadata: { 'Buchung Nr.': 'A&B' },
    });
    const expanded = await raw(`/v1/payment_intents`, {
      method: 'POST',
      body: `amount=1000&currency=eur&customer=${created.json.id}&expand[]=customer`,
    });
    expect(expanded.json.customer).toMatchObject({ id: created.json.id, object: 'customer' });

    for (const body of [
      'metadata[a]=1&metadata=2',
      'metadata=2&metadata[a]=1',
      '__proto__[polluted]=1',
      'address[city]]=x',
      'preferred_locales[x]=de&preferred_locales[0]=en',
    ]) {
      const refused = await raw('/v1/customers', { method: 'POST', body });
      expect(refused.status, body).toBe(400);
      expect(refused.json.error.type, body).toBe('invalid_request_error');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await raw('/v1/customers', { method: 'POST', body: '{"email":"j@example.com"}', headers: { 'Content-Type': 'application/json' } })).status).toBe(
      400,
    );
  });

  it('requires a test secret key', async () => {
    const none = await raw('/v1/customers', { headers: { Authorization: '' } });
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('API key') });

    // A made-up live-mode key, assembled so secret scanners do not mistake the test for a leak.
    const liveKey = ['sk', 'live', '1234567890abcdef'].join('_');
    const live = await raw('/v1/customers', { headers: { Authorization: `Bearer ${liveKey}` } });
    expect(live.status).toBe(401);
    expect(live.text).not.toContain(liveKey);

    const publishable = await raw('/v1/customers', { headers: { Authorization: 'Bearer pk_test_123' } });
    expect(publishable.status).toBe(401);

    const basic = await raw('/v1/customers?limit=1', { headers: { Authorization: `Basic ${Buffer.from('sk_test_curl:').toString('base64')}` } });
    expect(basic.status).toBe(200);

    const wrongKey = new Stripe('sk_live_nope', { host: '127.0.0.1', port: sandbox.port, protocol: 'http' });
    expect(await stripeError(wrongKey.customers.list())).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
  });

  it('lets a publishable key read and confirm an intent only with its client secret', async () => {
    const intent = await stripe.paymentIntents.create({ amount: 2_500, currency: 'eur' });
    const headers = { Authorization: 'Bearer pk_test_app' };
    expect((await raw(`/v1/payment_intents/${intent.id}`, { headers })).status).toBe(400);
    const read = await raw(`/v1/payment_intents/${intent.id}?client_secret=${intent.client_secret}`, { headers });
    expect(read.json).toMatchObject({ id: intent.id, status: 'requires_payment_method' });
    const confirmed = await raw(`/v1/payment_intents/${intent.id}/confirm`, {
      method: 'POST',
      headers,
      body: `client_secret=${intent.client_secret}&payment_method=pm_card_visa`,
    });
    expect(confirmed.json.status).toBe('succeeded');
  });
});

// --- object shapes ------------------------------------------------------------------------------

/**
 * Top-level fields of Stripe's own fixtures (stripe/openapi fixtures3.json, the subset in
 * /work/shared/reference/stripe-fixtures.json): every object the sandbox returns must carry them,
 * so code written against the sandbox never meets a field that is missing only here.
 */
const FIXTURE_FIELDS: Record<string, string[]> = {
  payment_intent: [
    'amount',
    'amount_capturable',
    'amount_details',
    'amount_received',
    'application',
    'application_fee_amount',
    'automatic_payment_methods',
    'canceled_at',
    'cancellation_reason',
    'capture_method',
    'client_secret',
    'confirmation_method',
    'created',
    'currency',
    'customer',
    'description',
    'id',
    'last_payment_error',
    'latest_charge',
    'livemode',
    'metadata',
    'next_action',
    'object',
    'on_behalf_of',
    'payment_method',
    'payment_method_configuration_details',
    'payment_method_options',
    'payment_method_types',
    'processing',
    'receipt_email',
    'review',
    'setup_future_usage',
    'shipping',
    'statement_descriptor',
    'statement_descriptor_suffix',
    'status',
    'transfer_data',
    'transfer_group',
    'source',
    'excluded_payment_method_types',
    'customer_account',
    'managed_payments',
  ],
  customer: [
    'address',
    'balance',
    'created',
    'currency',
    'default_source',
    'delinquent',
    'description',
    'discount',
    'email',
    'id',
    'invoice_prefix',
    'invoice_settings',
    'livemode',
    'metadata',
    'name',
    'next_invoice_sequence',
    'object',
    'phone',
    'preferred_locales',
    'shipping',
    'tax_exempt',
    'test_clock',
  ],
  refund: [
    'amount',
    'balance_transaction',
    'charge',
    'created',
    'currency',
    'destination_details',
    'id',
    'metadata',
    'object',
    'payment_intent',
    'reason',
    'receipt_number',
    'source_transfer_reversal',
    'status',
    'transfer_reversal',
    'customer',
    'customer_account',
    'payment_method',
  ],
  event: ['api_version', 'created', 'data', 'id', 'livemode', 'object', 'pending_webhooks', 'request', 'type'],
  charge: [
    'amount',
    'amount_captured',
    'amount_refunded',
    'application',
    'application_fee',
    'application_fee_amount',
    'balance_transaction',
    'billing_details',
    'calculated_statement_descriptor',
    'captured',
    'created',
    'currency',
    'customer',
    'description',
    'disputed',
    'failure_balance_transaction',
    'failure_code',
    'failure_message',
    'fraud_details',
    'id',
    'livemode',
    'metadata',
    'object',
    'on_behalf_of',
    'outcome',
    'paid',
    'payment_intent',
    'payment_method',
    'payment_method_details',
    'receipt_email',
    'receipt_number',
    'receipt_url',
    'refunded',
    'refunds',
    'review',
    'shipping',
    'source_transfer',
    'statement_descriptor',
    'statement_descriptor_suffix',
    'status',
    'transfer_data',
    'transfer_group',
    'source',
  ],
  payment_method: ['allow_redisplay', 'billing_details', 'card', 'created', 'customer', 'id', 'livemode', 'metadata', 'object', 'type', 'customer_account'],
};

describe('object shapes', () => {
  it('carries every top-level field of the Stripe fixture of its type', async () => {
    const customer = await stripe.customers.create({ email: uniqueEmail() });
    const intent = await stripe.paymentIntents.create({ amount: 3_300, currency: 'eur', customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
    const charge = await stripe.charges.retrieve(intent.latest_charge as string);
    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    const method = await stripe.paymentMethods.retrieve(intent.payment_method as string);
    const [event] = (await stripe.events.list({ type: 'payment_intent.succeeded', limit: 1 })).data;
    const declined = await stripeError(
      stripe.paymentIntents.create({ amount: 3_300, currency: 'eur', payment_method: 'pm_card_chargeDeclined', confirm: true }),
    );

    const objects: Record<string, unknown[]> = {
      customer: [customer],
      payment_intent: [intent, declined.payment_intent],
      charge: [charge, await stripe.charges.retrieve(declined.charge as string)],
      refund: [refund],
      event: [event],
      payment_method: [method, await stripe.paymentMethods.retrieve('pm_card_visa')],
    };
    for (const [type, instances] of Object.entries(objects)) {
      for (const instance of instances) {
        expect(instance, type).toMatchObject({ object: type });
        const missing = (FIXTURE_FIELDS[type] ?? []).filter((field) => !Object.hasOwn(instance as object, field));
        expect(missing, `${type} lacks fixture fields`).toEqual([]);
      }
    }
  });
});
