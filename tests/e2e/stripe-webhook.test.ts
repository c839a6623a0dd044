/**
 * `POST /api/v1/webhooks/stripe` against the local host with events Stripe really sent (taken from
 * the sandbox) or built from its PaymentIntent, signed here like Stripe signs them: repeats,
 * concurrency, order and signatures.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import {
  api,
  type CreatedBooking,
  createBooking,
  eventsOf,
  expectProblem,
  getBooking,
  getHistory,
  peekJobs,
  postWebhook,
  RecordingSender,
  startBookingRuntime,
  stripeClient,
} from '../support/bookings';

describe('Stripe webhook (local host, Stripe sandbox)', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;
  let recorder: RecordingSender;

  beforeAll(async () => {
    runtime = await startBookingRuntime({}, { wrapSender: (sender) => (recorder = new RecordingSender(sender)) });
    stripe = stripeClient(runtime);
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  const sandbox = () => runtime.stripe as NonNullable<LocalRuntime['stripe']>;

  /**
   * The customer pays, but the sandbox keeps its events to itself (as if Stripe's deliveries were
   * delayed): the test delivers them. Returns the real `payment_intent.succeeded` event and its raw body.
   */
  async function payUndelivered(booking: CreatedBooking): Promise<{ event: Stripe.Event; payload: string }> {
    await sandbox().idle();
    sandbox().setWebhookUrl(undefined);
    try {
      await stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: 'pm_card_visa' });
    } finally {
      sandbox().setWebhookUrl(`${runtime.url}/v1/webhooks/stripe`);
    }
    const [event] = await eventsOf(stripe, booking.paymentIntentId, 'payment_intent.succeeded');
    if (!event) throw new Error('the sandbox recorded no payment_intent.succeeded');
    // Pretty-printed like Stripe's own deliveries; the signature covers exactly these bytes.
    return { event, payload: JSON.stringify(event, null, 2) };
  }

  it('applies one event delivered five times at once exactly once', async () => {
    const booking = await createBooking(runtime);
    const { event, payload } = await payUndelivered(booking);
    expect((await getBooking(runtime, booking)).status).toBe('PENDING_PAYMENT');

    const answers = await Promise.all(Array.from({ length: 5 }, () => postWebhook(runtime, stripe, payload)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    const outcomes = answers.map((answer) => answer.body.outcome as string);
    expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(1);
    for (const outcome of outcomes) expect(['applied', 'duplicate', 'unchanged']).toContain(outcome);

    const history = await getHistory(runtime, booking);
    expect(history.filter((row) => row.to === 'CONFIRMED')).toEqual([
      { from: 'PENDING_PAYMENT', to: 'CONFIRMED', at: expect.any(String), cause: `stripe:${event.id}` },
    ]);
    expect(history).toHaveLength(2);
    expect(recorder.about(booking.id)).toEqual(['driver-dispatch trip.pickup', 'notifications booking.confirmed', 'odoo-sync booking.sync']);
    expect((await peekJobs(runtime, 'odoo-sync', booking.id)).map((job) => job.type)).toEqual(['booking.sync']);
    expect((await peekJobs(runtime, 'driver-dispatch', booking.id)).map((job) => job.type)).toEqual(['trip.pickup']);

    // Stripe retrying later is a plain duplicate.
    const later = await postWebhook(runtime, stripe, payload);
    expect(later.body).toEqual({ received: true, outcome: 'duplicate' });
    expect(await getHistory(runtime, booking)).toHaveLength(2);
  });

  it('stays CONFIRMED when earlier events (processing, requires_action, a failed attempt) arrive after succeeded', async () => {
    const booking = await createBooking(runtime);
    const { event: succeeded, payload } = await payUndelivered(booking);
    const intent = succeeded.data.object as Stripe.PaymentIntent;
    // Events of the intent's earlier states, as Stripe would have sent them before the success.
    const earlier = (type: string, suffix: string, object: Record<string, unknown>) =>
      JSON.stringify(
        { ...succeeded, id: `${succeeded.id}_${suffix}`, type, created: succeeded.created - 1, data: { object: { ...intent, ...object } } },
        null,
        2,
      );
    const late = [
      earlier('payment_intent.processing', 'processing', { status: 'processing' }),
      earlier('payment_intent.requires_action', 'action', { status: 'requires_action', next_action: { type: 'use_stripe_sdk', use_stripe_sdk: {} } }),
      earlier('payment_intent.payment_failed', 'failed', {
        status: 'requires_payment_method',
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
      }),
    ];

    expect((await postWebhook(runtime, stripe, payload)).body).toEqual({ received: true, outcome: 'applied' });
    for (const body of late) {
      const answer = await postWebhook(runtime, stripe, body);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ received: true, outcome: 'unchanged' });
    }

    const view = await getBooking(runtime, booking);
    expect(view.status).toBe('CONFIRMED');
    expect(view.payment).toEqual({ status: 'succeeded', paymentIntentId: booking.paymentIntentId });
    expect((await getHistory(runtime, booking)).map((row) => `${row.from}->${row.to}`)).toEqual(['null->PENDING_PAYMENT', 'PENDING_PAYMENT->CONFIRMED']);
  });

  it('refuses forged, tampered, stale and unsigned deliveries with 400 problem+json and changes nothing', async () => {
    const booking = await createBooking(runtime);
    const { payload } = await payUndelivered(booking);
    const before = await getBooking(runtime, booking);
    const historyBefore = await getHistory(runtime, booking);
    const now = Math.floor(Date.now() / 1000);

    const refused = {
      forged: await postWebhook(runtime, stripe, payload, { secret: 'whsec_not_the_apps_secret' }),
      // Signed, then the amount changed: the signature no longer covers these bytes.
      tampered: await postWebhook(runtime, stripe, payload, { body: payload.replace(`"amount": ${booking.priceCents}`, '"amount": 50') }),
      stale: await postWebhook(runtime, stripe, payload, { timestamp: now - 301 }),
      unsigned: await api(runtime, 'POST', '/v1/webhooks/stripe', { body: payload }),
      garbled: await api(runtime, 'POST', '/v1/webhooks/stripe', { body: payload, headers: { 'stripe-signature': 't=abc,v1=zz' } }),
    };
    expect(payload).toContain(`"amount": ${booking.priceCents}`);
    for (const [name, answer] of Object.entries(refused)) {
      expect(answer.status, name).toBe(400);
      expectProblem(answer, 400);
    }

    const after = await getBooking(runtime, booking);
    expect({ status: after.status, updatedAt: after.updatedAt, payment: after.payment }).toEqual({
      status: 'PENDING_PAYMENT',
      updatedAt: before.updatedAt,
      payment: before.payment,
    });
    expect(await getHistory(runtime, booking)).toEqual(historyBefore);
    expect(recorder.about(booking.id)).toEqual([]);

    // The same bytes, properly signed and fresh (within the 300 s tolerance), do take effect.
    expect((await postWebhook(runtime, stripe, payload, { timestamp: now - 200 })).body).toEqual({ received: true, outcome: 'applied' });
    expect((await getBooking(runtime, booking)).status).toBe('CONFIRMED');
  });
});
