/**
 * The booking flows over HTTP against the local host: payments go through the
 * Stripe sandbox driven by the real stripe SDK (as the customer's app would), webhooks come from the
 * sandbox, jobs are peeked in their queues, e-mails caught by the SMTP sandbox.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import {
  api,
  bookingBody,
  type CreatedBooking,
  countBookingRows,
  countPaymentIntents,
  createBooking,
  eventsOf,
  expectProblem,
  getBooking,
  getHistory,
  moveToWorkshop,
  peekJobs,
  postWebhook,
  RecordingSender,
  startBookingRuntime,
  stripeClient,
} from '../support/bookings';
import { TableAggregateStore } from '../../shared/adapters/table-storage/aggregate-store';
import { OutboxCommitter } from '../../shared/adapters/table-storage/outbox';
import { StripeGateway } from '../../shared/adapters/stripe/stripe-gateway';
import { systemClock } from '../../shared/platform/clock';
import { cancelBooking } from '../../slices/bookings/app/cancel-booking';
import type { BookingStore } from '../../slices/bookings/app/ports';
import { BOOKINGS_TABLE, bookingCodec } from '../../slices/bookings/slice';

const at = expect.any(String);

describe('bookings over HTTP (local host, Stripe and SMTP sandboxes)', () => {
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
  const smtp = () => runtime.smtp as NonNullable<LocalRuntime['smtp']>;
  const workshopKey = () => runtime.apiKeys.workshop as string;

  /** The customer pays in the app; resolves once the sandbox has delivered every webhook. */
  async function pay(booking: CreatedBooking, paymentMethod = 'pm_card_visa') {
    const intent = await stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: paymentMethod });
    await sandbox().idle();
    return intent;
  }

  async function confirmedBooking(): Promise<CreatedBooking> {
    const booking = await createBooking(runtime);
    await pay(booking);
    expect((await getBooking(runtime, booking)).status).toBe('CONFIRMED');
    return booking;
  }

  async function addFinding(booking: CreatedBooking, description = 'Bremsbeläge vorne verschlissen', priceCents = 12_350) {
    const response = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings`, { token: workshopKey(), body: { description, priceCents } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body).toEqual({ id: expect.any(String), status: 'PENDING_APPROVAL', priceCents });
    return response.body.id as string;
  }

  it('creates a booking priced from the catalogue, confirms it on payment and queues Odoo sync, pick-up and the German e-mail', async () => {
    const services = await api(runtime, 'GET', '/v1/services');
    const inspection = services.body.items.find((item: { code: string }) => item.code === 'inspection');
    expect(inspection).toEqual({ code: 'inspection', name: 'Inspektion', priceCents: 14_900, currency: 'EUR' });

    // A price sent by the client is refused as an unknown field, and nothing is stored or charged.
    const rowsBefore = await countBookingRows(runtime);
    const intentsBefore = await countPaymentIntents(stripe);
    const smuggled = await api(runtime, 'POST', '/v1/bookings', { body: { ...bookingBody(), priceCents: 1 } });
    expectProblem(smuggled, 422);
    expect(smuggled.body.errors).toEqual([{ in: 'body', path: 'priceCents', message: 'Unknown field' }]);
    expect(await countBookingRows(runtime)).toBe(rowsBefore);
    expect(await countPaymentIntents(stripe)).toBe(intentsBefore);

    const body = bookingBody();
    const created = await api(runtime, 'POST', '/v1/bookings', { body });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      status: 'PENDING_PAYMENT',
      priceCents: inspection.priceCents,
      currency: 'EUR',
      accessToken: expect.stringMatching(/^bat_/),
      payment: { paymentIntentId: expect.stringMatching(/^pi_/), clientSecret: expect.any(String) },
    });
    const booking: CreatedBooking = {
      id: created.body.id,
      accessToken: created.body.accessToken,
      priceCents: created.body.priceCents,
      paymentIntentId: created.body.payment.paymentIntentId,
      clientSecret: created.body.payment.clientSecret,
      email: body.customer.email,
    };
    expect(booking.clientSecret.startsWith(`${booking.paymentIntentId}_secret_`)).toBe(true);
    // What the customer will be charged is the catalogue price, and the card is kept for findings.
    const intent = await stripe.paymentIntents.retrieve(booking.paymentIntentId);
    expect(intent).toMatchObject({ amount: 14_900, currency: 'eur', setup_future_usage: 'off_session', metadata: { bookingId: booking.id } });

    const paid = await pay(booking);
    expect(paid.status).toBe('succeeded');

    const view = await getBooking(runtime, booking);
    expect(view).toMatchObject({
      id: booking.id,
      status: 'CONFIRMED',
      priceCents: 14_900,
      currency: 'EUR',
      payment: { status: 'succeeded', paymentIntentId: booking.paymentIntentId },
      findings: [],
    });
    const [succeeded] = await eventsOf(stripe, booking.paymentIntentId, 'payment_intent.succeeded');
    expect(succeeded).toBeDefined();
    expect(await getHistory(runtime, booking)).toEqual([
      { from: null, to: 'PENDING_PAYMENT', at, cause: 'customer' },
      { from: 'PENDING_PAYMENT', to: 'CONFIRMED', at, cause: `stripe:${succeeded?.id}` },
    ]);

    // Exactly the three jobs went out; odoo-sync and driver-dispatch have no consumer here, so they wait there.
    expect(recorder.about(booking.id)).toEqual(['driver-dispatch trip.pickup', 'notifications booking.confirmed', 'odoo-sync booking.sync']);
    expect(await peekJobs(runtime, 'odoo-sync', booking.id)).toEqual([
      expect.objectContaining({ type: 'booking.sync', subject: booking.id, payload: { bookingId: booking.id, reason: 'payment succeeded' } }),
    ]);
    expect(await peekJobs(runtime, 'driver-dispatch', booking.id)).toEqual([
      expect.objectContaining({ type: 'trip.pickup', subject: booking.id, payload: { bookingId: booking.id, trip: 'pickup' } }),
    ]);
    // The notifications queue has its worker: the mail arrives, in German (the default language).
    const mail = await smtp().waitFor((candidate) => candidate.to.includes(booking.email), 10_000);
    expect(mail.subject).toBe('Ihre Buchung ist bestätigt: Inspektion');
    expect(mail.language).toBe('de');
    expect(mail.text).toContain('Guten Tag Erika Mustermann,');
    expect(mail.text).toContain('149,00');
    expect(mail.text).toContain(booking.id);
  });

  it('keeps a booking whose card was declined in PENDING_PAYMENT with the reason, and confirms it when paid with another card', async () => {
    const booking = await createBooking(runtime);
    await expect(pay(booking, 'pm_card_chargeDeclined')).rejects.toMatchObject({ type: 'StripeCardError', code: 'card_declined' });
    await sandbox().idle();

    const declined = await getBooking(runtime, booking);
    expect(declined.status).toBe('PENDING_PAYMENT');
    expect(declined.payment).toEqual({ status: 'failed', paymentIntentId: booking.paymentIntentId, failureReason: 'generic_decline' });
    expect(await getHistory(runtime, booking)).toHaveLength(1);
    expect(recorder.about(booking.id)).toEqual([]);

    await pay(booking, 'pm_card_visa');
    const view = await getBooking(runtime, booking);
    expect(view.status).toBe('CONFIRMED');
    expect(view.payment).toEqual({ status: 'succeeded', paymentIntentId: booking.paymentIntentId });
    expect((await getHistory(runtime, booking)).map((row) => row.to)).toEqual(['PENDING_PAYMENT', 'CONFIRMED']);
  });

  it('adds a finding with the workshop key and charges it once when the customer approves twice at once', async () => {
    const booking = await confirmedBooking();
    // Before pick-up there are no findings.
    const early = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings`, {
      token: workshopKey(),
      body: { description: 'Zu früh', priceCents: 5_000 },
    });
    expectProblem(early, 409);
    await moveToWorkshop(runtime, booking.id);
    // Only staff add findings: the customer's own token is not enough.
    expectProblem(
      await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings`, { token: booking.accessToken, body: { description: 'x', priceCents: 5_000 } }),
      401,
    );

    const findingId = await addFinding(booking);
    const syncsBefore = recorder.jobs(booking.id, 'odoo-sync').length;
    expect(syncsBefore).toBe(1);

    const approve = () => api(runtime, 'POST', `/v1/bookings/${booking.id}/findings/${findingId}/approve`, { token: booking.accessToken });
    const answers = await Promise.all([approve(), approve()]);
    for (const answer of answers) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toEqual({ id: findingId, status: 'PAID', priceCents: 12_350 });
    }
    await sandbox().idle();

    const charges = await countPaymentIntents(stripe, (intent) => intent.metadata.findingId === findingId);
    expect(charges).toBe(1);
    const [charge] = (await stripe.paymentIntents.list({ limit: 100 })).data.filter((intent) => intent.metadata.findingId === findingId);
    expect(charge).toMatchObject({ amount: 12_350, status: 'succeeded', metadata: { bookingId: booking.id, findingId } });

    const view = await getBooking(runtime, booking);
    expect(view.status).toBe('IN_WORKSHOP');
    expect(view.findings).toEqual([{ id: findingId, description: 'Bremsbeläge vorne verschlissen', priceCents: 12_350, status: 'PAID' }]);
    // One more Odoo sync for the additional invoice; no second pick-up.
    const syncs = recorder.jobs(booking.id, 'odoo-sync');
    expect(syncs).toHaveLength(syncsBefore + 1);
    expect(syncs.at(-1)).toMatchObject({ type: 'booking.sync', payload: { bookingId: booking.id, reason: `finding ${findingId} paid` } });
    expect(recorder.jobs(booking.id, 'driver-dispatch')).toHaveLength(1);

    // Approving a paid finding again changes nothing and charges nothing.
    expect((await approve()).body).toEqual({ id: findingId, status: 'PAID', priceCents: 12_350 });
    expect(await countPaymentIntents(stripe, (intent) => intent.metadata.findingId === findingId)).toBe(1);
  });

  it('lets a finding that needs 3-D Secure off-session wait in REQUIRES_ACTION until the customer confirms on-session', async () => {
    const booking = await createBooking(runtime);
    // The card asks for 3-D Secure on-session too: the first payment needs the challenge passed.
    const challenged = await pay(booking, 'pm_card_authenticationRequired');
    expect(challenged.status).toBe('requires_action');
    expect((await getBooking(runtime, booking)).status).toBe('PENDING_PAYMENT');
    await authenticate(booking.paymentIntentId);
    expect((await getBooking(runtime, booking)).status).toBe('CONFIRMED');

    await moveToWorkshop(runtime, booking.id);
    const findingId = await addFinding(booking, 'Zahnriemen erneuern', 38_900);
    const approved = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings/${findingId}/approve`, { token: booking.accessToken });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toEqual({ id: findingId, status: 'REQUIRES_ACTION', priceCents: 38_900, clientSecret: expect.any(String) });
    await sandbox().idle();

    // Stripe's payment_failed event (authentication_required) must not turn the wait into a failure.
    const waiting = await getBooking(runtime, booking);
    expect(waiting.status).toBe('IN_WORKSHOP');
    expect(waiting.findings).toEqual([{ id: findingId, description: 'Zahnriemen erneuern', priceCents: 38_900, status: 'REQUIRES_ACTION' }]);
    const asking = await smtp().waitFor(
      (mail) => mail.to.includes(booking.email) && mail.subject === 'Bitte bestätigen Sie Ihre Zahlung für die Zusatzarbeiten',
      10_000,
    );
    expect(asking.language).toBe('de');

    // The customer's app confirms the finding's intent on-session with the client secret and the saved card.
    const intentId = String(approved.body.clientSecret).split('_secret_')[0] as string;
    const intent = await stripe.paymentIntents.retrieve(intentId, { client_secret: approved.body.clientSecret });
    expect(intent).toMatchObject({ amount: 38_900, metadata: { bookingId: booking.id, findingId } });
    const savedCard = (await stripe.paymentIntents.retrieve(booking.paymentIntentId)).payment_method as string;
    const onSession = await stripe.paymentIntents.confirm(intentId, { payment_method: savedCard });
    expect(onSession.status).toBe('requires_action');
    await authenticate(intentId);

    const view = await getBooking(runtime, booking);
    expect(view.status).toBe('IN_WORKSHOP');
    expect(view.findings).toEqual([{ id: findingId, description: 'Zahnriemen erneuern', priceCents: 38_900, status: 'PAID' }]);
    expect(await countPaymentIntents(stripe, (candidate) => candidate.metadata.findingId === findingId)).toBe(1);
    expect(recorder.jobs(booking.id, 'odoo-sync').map((job) => job.payload)).toEqual([
      { bookingId: booking.id, reason: 'payment succeeded' },
      { bookingId: booking.id, reason: `finding ${findingId} paid` },
    ]);
    // The booking's status rows, the pick-up's trip row (recorded by hand: named by its leg) and the finding's rows.
    // Status rows keep their shape (no `kind`); trip and finding rows say what they are about.
    const history = (await getHistory(runtime, booking)) as Array<{ kind?: string; subject?: string; from: string | null; to: string; cause: string }>;
    expect(history.map((row) => `${row.kind ?? 'status'} ${row.subject ?? '-'} ${row.from}->${row.to}`)).toEqual([
      'status - null->PENDING_PAYMENT',
      'status - PENDING_PAYMENT->CONFIRMED',
      'trip pickup null->pickup_completed',
      'status - CONFIRMED->IN_WORKSHOP',
      `finding ${findingId} null->PENDING_APPROVAL`,
      `finding ${findingId} PENDING_APPROVAL->APPROVED`,
      `finding ${findingId} APPROVED->REQUIRES_ACTION`,
      `finding ${findingId} REQUIRES_ACTION->PAID`,
    ]);
    expect(history.at(-1)?.cause).toMatch(/^stripe:evt_/);
  });

  it('cancels a paid booking with a refund, a credit-note sync and an e-mail; refuses after pick-up; voids an unpaid one', async () => {
    const paid = await confirmedBooking();
    const cancelled = await api(runtime, 'POST', `/v1/bookings/${paid.id}/cancel`, { token: paid.accessToken });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: paid.id,
      status: 'CANCELLED',
      payment: { status: 'refunded', paymentIntentId: paid.paymentIntentId, refund: { status: 'succeeded' } },
    });
    const refunds = await stripe.refunds.list({ payment_intent: paid.paymentIntentId });
    expect(refunds.data.map((refund) => ({ amount: refund.amount, status: refund.status }))).toEqual([{ amount: 14_900, status: 'succeeded' }]);
    expect((await getHistory(runtime, paid)).slice(-1)).toEqual([{ from: 'CONFIRMED', to: 'CANCELLED', at, cause: 'customer' }]);
    expect(recorder.jobs(paid.id, 'odoo-sync').map((job) => job.payload)).toEqual([
      { bookingId: paid.id, reason: 'payment succeeded' },
      { bookingId: paid.id, reason: 'cancelled and refunded' },
    ]);
    const mail = await smtp().waitFor((candidate) => candidate.to.includes(paid.email) && candidate.subject.startsWith('Ihre Buchung wurde storniert'), 10_000);
    expect(mail.text).toContain('Den bezahlten Betrag von 149,00');
    // A repeated cancellation answers the same and does not refund twice.
    await sandbox().idle();
    const again = await api(runtime, 'POST', `/v1/bookings/${paid.id}/cancel`, { token: paid.accessToken });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'CANCELLED', payment: { status: 'refunded' } });
    expect((await stripe.refunds.list({ payment_intent: paid.paymentIntentId })).data).toHaveLength(1);

    const pickedUp = await confirmedBooking();
    await moveToWorkshop(runtime, pickedUp.id);
    expectProblem(await api(runtime, 'POST', `/v1/bookings/${pickedUp.id}/cancel`, { token: pickedUp.accessToken }), 409);
    expect((await getBooking(runtime, pickedUp)).status).toBe('IN_WORKSHOP');
    expect((await stripe.refunds.list({ payment_intent: pickedUp.paymentIntentId })).data).toEqual([]);

    const unpaid = await createBooking(runtime);
    const voided = await api(runtime, 'POST', `/v1/bookings/${unpaid.id}/cancel`, { token: unpaid.accessToken });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ status: 'CANCELLED', payment: { status: 'canceled' } });
    expect((await stripe.paymentIntents.retrieve(unpaid.paymentIntentId)).status).toBe('canceled');
    await expect(stripe.paymentIntents.confirm(unpaid.paymentIntentId, { payment_method: 'pm_card_visa' })).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
    expect(recorder.jobs(unpaid.id, 'odoo-sync')).toEqual([]);
    await sandbox().idle();
    expect((await getBooking(runtime, unpaid)).status).toBe('CANCELLED');
  });

  it("completes from Stripe's webhooks a cancellation whose refund could not be recorded, and a retry refunds nothing more", async () => {
    const paid = await confirmedBooking();
    // The cancellation as the endpoint runs it, but storage goes down after Stripe refunded: the
    // cancellation (with the refund reserved) is saved, the refund's outcome is not.
    const tables = new TableAggregateStore(
      runtime.composition.services.tables.client(BOOKINGS_TABLE),
      new OutboxCommitter(runtime.composition.services.outboxRelay),
      bookingCodec,
    );
    let saves = 0;
    const bookings: BookingStore = {
      get: (id) => tables.get(id),
      history: (id, filter) => tables.history(id, filter),
      hasEvent: (id, eventId) => tables.hasEvent(id, eventId),
      whereSet: (column, limit) => tables.whereSet(column, limit),
      create: (change, attributes) => tables.create(change, attributes),
      update: async (current, change) => {
        saves += 1;
        if (saves > 1) throw new Error('storage unavailable');
        return tables.update(current, change);
      },
    };
    const payments = new StripeGateway(runtime.config.stripe as NonNullable<typeof runtime.config.stripe>);
    await expect(cancelBooking({ bookings, payments, clock: systemClock }, paid.id, { kind: 'customer', token: paid.accessToken })).rejects.toThrow(
      'storage unavailable',
    );
    expect(saves).toBe(2);
    // Stripe's webhooks (the refund carries the booking id) record what the request could not.
    await sandbox().idle();

    const view = await getBooking(runtime, paid);
    expect(view).toMatchObject({ status: 'CANCELLED', payment: { status: 'refunded', refund: { status: 'succeeded' } } });
    expect((await getHistory(runtime, paid)).map((row) => row.to)).toEqual(['PENDING_PAYMENT', 'CONFIRMED', 'CANCELLED']);
    expect(recorder.jobs(paid.id, 'odoo-sync').map((job) => job.payload)).toEqual([
      { bookingId: paid.id, reason: 'payment succeeded' },
      { bookingId: paid.id, reason: 'cancelled and refunded' },
    ]);
    const refund = (await stripe.refunds.list({ payment_intent: paid.paymentIntentId })).data;
    expect(refund.map((item) => ({ amount: item.amount, status: item.status, metadata: item.metadata }))).toEqual([
      { amount: 14_900, status: 'succeeded', metadata: { bookingId: paid.id } },
    ]);

    // The customer's app retries: the same answer, no second refund.
    const again = await api(runtime, 'POST', `/v1/bookings/${paid.id}/cancel`, { token: paid.accessToken });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'CANCELLED', payment: { status: 'refunded', refund: { status: 'succeeded' } } });
    expect((await stripe.refunds.list({ payment_intent: paid.paymentIntentId })).data).toHaveLength(1);
  });

  it('lets only the booking token and staff keys read a booking; every refusal is problem+json', async () => {
    const booking = await createBooking(runtime);
    const other = await createBooking(runtime);
    for (const path of [`/v1/bookings/${booking.id}`, `/v1/bookings/${booking.id}/history`]) {
      expectProblem(await api(runtime, 'GET', path), 401);
      expectProblem(await api(runtime, 'GET', path, { token: other.accessToken }), 403);
      expectProblem(await api(runtime, 'GET', path, { token: `${booking.accessToken}x` }), 403);
      expectProblem(await api(runtime, 'GET', path, { token: runtime.apiKeys.orders as string }), 403);
      expect((await api(runtime, 'GET', path, { token: booking.accessToken })).status).toBe(200);
      expect((await api(runtime, 'GET', path, { token: workshopKey() })).status).toBe(200);
      expect((await api(runtime, 'GET', path, { token: runtime.apiKeys.admin as string })).status).toBe(200);
    }
    const read = await api(runtime, 'GET', `/v1/bookings/${booking.id}`, { token: workshopKey() });
    expect(read.body).toMatchObject({ id: booking.id, status: 'PENDING_PAYMENT', customer: { email: booking.email } });
    // Neither the token hash nor Stripe's customer or card ids are shown.
    expect(JSON.stringify(read.body)).not.toMatch(/accessToken|cus_|stripeCustomerId|paymentMethodId/);
    // Another booking's token cannot cancel it either.
    expectProblem(await api(runtime, 'POST', `/v1/bookings/${booking.id}/cancel`, { token: other.accessToken }), 403);
    expect((await getBooking(runtime, booking)).status).toBe('PENDING_PAYMENT');

    expectProblem(await api(runtime, 'GET', '/v1/bookings/no-such-booking', { token: booking.accessToken }), 404);
    expectProblem(await api(runtime, 'GET', '/v1/bookings/no-such-booking/history', { token: workshopKey() }), 404);
  });

  // ---- issue 9: money before storage, text at the edge, one Stripe customer per address

  it('refuses a finding on a full booking with 409 before anything is saved or charged, and charges the findings it holds once', async () => {
    const booking = await confirmedBooking();
    await moveToWorkshop(runtime, booking.id);
    // 20 findings of 1000 characters, of the kind JSON doubles (quotes, backslashes, line breaks).
    const long = (i: number) => `${i}: ${'"Bremse"\\\n'.repeat(100)}`.slice(0, 1000);
    const ids: string[] = [];
    for (let i = 1; i <= 20; i++) ids.push(await addFinding(booking, long(i), 5_000 + i));
    const before = await getBooking(runtime, booking);
    const intents = await countPaymentIntents(stripe);

    const refused = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings`, {
      token: workshopKey(),
      body: { description: 'Eins zu viel', priceCents: 5_000 },
    });

    expectProblem(refused, 409);
    expect(refused.body.detail).toBe('A booking holds at most 20 findings and this one is full; nothing was added.');
    const after = await getBooking(runtime, booking);
    expect({ updatedAt: after.updatedAt, findings: after.findings.length }).toEqual({ updatedAt: before.updatedAt, findings: 20 });
    expect(await countPaymentIntents(stripe)).toBe(intents);

    // The full booking still saves every change: approving its last finding charges once and records PAID.
    const last = ids.at(-1) as string;
    const approved = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings/${last}/approve`, { token: booking.accessToken });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ id: last, status: 'PAID', priceCents: 5_020 });
    await sandbox().idle();
    expect(await countPaymentIntents(stripe, (intent) => intent.metadata.findingId === last)).toBe(1);
    const view = await getBooking(runtime, booking);
    expect(view.findings.find((finding: { id: string }) => finding.id === last)).toMatchObject({ status: 'PAID', description: long(20) });
  });

  it.each([
    ['a NUL in the customer name', ['customer', 'name'], 'Erika\u0000Mustermann'],
    ['a lone surrogate in the customer name', ['customer', 'name'], 'Erika \ud800Mustermann'],
    ['an escape character in the vehicle model', ['vehicle', 'model'], 'Golf\u001b[31m'],
    ['a line break in the street', ['pickup', 'address', 'street'], 'Leopoldstraße 1\nHinterhaus'],
    ['a lone surrogate in the notes', ['notes'], 'Schlüssel \udc00beim Nachbarn'],
  ])('refuses %s with 422 naming the field; nothing is stored or charged', async (_name, path, value) => {
    const body = bookingBody() as Record<string, unknown>;
    let target = body;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[path.at(-1) as string] = value;
    const email = (body.customer as { email: string }).email;
    const intents = await countPaymentIntents(stripe);

    // JSON.stringify writes a lone surrogate as the escape \udXXX, as a client's JSON would carry it.
    const response = await api(runtime, 'POST', '/v1/bookings', { body });

    expectProblem(response, 422);
    expect(response.body.errors).toEqual([expect.objectContaining({ in: 'body', path: path.join('.') })]);
    expect(JSON.stringify(response.body)).not.toContain('Mustermann');
    expect(await countPaymentIntents(stripe)).toBe(intents);
    expect((await stripe.customers.list({ email })).data).toEqual([]);
  });

  it('refuses a finding description with a control character with 422 naming the field', async () => {
    const booking = await confirmedBooking();
    await moveToWorkshop(runtime, booking.id);
    const response = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings`, {
      token: workshopKey(),
      body: { description: 'Bremsbeläge\u0000vorne', priceCents: 5_000 },
    });
    expectProblem(response, 422);
    expect(response.body.errors).toEqual([expect.objectContaining({ in: 'body', path: 'description' })]);
    // Several lines are text: accepted as written.
    await addFinding(booking, 'Bremsen:\n\t- vorne verschlissen', 5_000);
    expect((await getBooking(runtime, booking)).findings.map((finding: { description: string }) => finding.description)).toEqual([
      'Bremsen:\n\t- vorne verschlissen',
    ]);
  });

  it('answers a path id that cannot be an id with 422, never 500', async () => {
    const booking = await createBooking(runtime);
    for (const id of ['bk%00x', '%ED%A0%80', 'a%20b', `${booking.id}%0A`]) {
      const response = await api(runtime, 'GET', `/v1/bookings/${id}`, { token: booking.accessToken });
      expect(response.status, id).toBeLessThan(500);
      expectProblem(response, response.status);
    }
    expectProblem(await api(runtime, 'GET', '/v1/bookings/bk%00x', { token: workshopKey() }), 422);
  });

  it('gives concurrent first bookings of one new address, under different names, one Stripe customer', async () => {
    const email = `erika.race.${Date.now()}@example.de`;
    const names = ['Erika Mustermann', 'E. Mustermann', 'Erika M.', 'Frau Mustermann', 'Erika Musterfrau'];

    const answers = await Promise.all(
      names.map((name) => api(runtime, 'POST', '/v1/bookings', { body: bookingBody({ customer: { name, email, phone: '+49 171 1234567' } }) })),
    );

    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const customers = (await stripe.customers.list({ email, limit: 100 })).data;
    expect(customers).toHaveLength(1);
    const owners = await Promise.all(answers.map(async (answer) => (await stripe.paymentIntents.retrieve(answer.body.payment.paymentIntentId)).customer));
    expect(new Set(owners)).toEqual(new Set([customers[0]?.id]));
    expect(names).toContain(customers[0]?.name);
  });

  it.each([
    ['a lone surrogate', { bookingId: 'bk-\ud800' }],
    ['a control character', { bookingId: 'bk-\u0000' }],
    ['a lone surrogate in the finding id', { bookingId: 'bk-1', findingId: '\udfff' }],
  ])('acknowledges a signed Stripe event whose metadata holds %s as ignored, never 500', async (_name, metadata) => {
    const event = {
      id: `evt_bad_metadata_${Date.now()}`,
      object: 'event',
      type: 'payment_intent.succeeded',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: 'pi_bad_metadata', object: 'payment_intent', status: 'succeeded', amount: 14_900, currency: 'eur', metadata } },
    };
    // JSON.stringify writes the lone surrogate as \udXXX: the signed bytes are well-formed UTF-8.
    const payload = JSON.stringify(event);

    const answer = await postWebhook(runtime, stripe, payload);

    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toEqual({ received: true, outcome: 'ignored' });
  });

  /** The customer passes the 3-D Secure challenge (sandbox-only endpoint), then webhooks settle. */
  async function authenticate(intentId: string) {
    const response = await fetch(`${sandbox().url}/sandbox/payment_intents/${intentId}/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'outcome=succeed',
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('succeeded');
    await sandbox().idle();
  }
});
