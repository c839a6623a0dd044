// The whole journey of a booking to the customer's door, over HTTP against the local host with the
// Stripe, SMTP and Driver-App sandboxes: create -> pay -> pick-up trip -> assigned -> picked up ->
// finding approved and paid -> ready -> delivery trip -> delivered.
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogger } from '../../shared/adapters/telemetry/log';
import { FREE_PORTS, LOCAL_SECRETS, startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { BOOKINGS_TABLE } from '../../slices/bookings/slice';
import { peekJobs } from '../support/bookings';
import { waitFor } from '../support/wait';

interface TripView {
  tripId: string;
  type: string;
  bookingId: string;
  signatureValid: boolean;
  payload: Record<string, unknown>;
  /** Withdrawn by a `b2c_cancel`. */
  cancelled: boolean;
  statuses: Array<{ update: { status: string } }>;
}

/** A row of a booking's history; status rows have no `kind` (the shape they always had). */
interface HistoryRow {
  kind?: 'trip' | 'finding';
  subject?: string;
  leg?: string;
  from: string | null;
  to: string;
  at: string;
  cause: string;
}

function slotTomorrow(): { slotStart: string; slotEnd: string } {
  const day = new Date(Date.now() + 24 * 3600_000);
  if (day.getUTCDay() === 0) day.setUTCDate(day.getUTCDate() + 1);
  const date = day.toISOString().slice(0, 10);
  // 10:00-12:00 UTC is 11:00-13:00 or 12:00-14:00 in Berlin: inside the default opening hours.
  return { slotStart: `${date}T10:00:00Z`, slotEnd: `${date}T12:00:00Z` };
}

describe('the booking journey with the Driver-App', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;

  const api = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${runtime.url}${path}`, {
      ...init,
      headers: {
        'content-type': 'application/json',
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...init.headers,
      },
    });
  const trips = async () => ((await (await fetch(`${runtime.driver?.url}/trips`)).json()) as { items: TripView[] }).items;
  const report = (tripId: string, status: string) =>
    fetch(`${runtime.driver?.url}/trips/${tripId}/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });

  async function bookAndPay(email: string) {
    const created = await api('/v1/bookings', {
      method: 'POST',
      body: JSON.stringify({
        customer: { name: 'Erika Mustermann', email, phone: '+49 170 1234567' },
        vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'B-EM 123' },
        serviceType: 'inspection',
        pickup: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' }, ...slotTomorrow() },
      }),
    });
    expect(created.status).toBe(201);
    const booking = (await created.json()) as { id: string; accessToken: string; payment: { paymentIntentId: string } };
    await stripe.paymentIntents.confirm(booking.payment.paymentIntentId, { payment_method: 'pm_card_visa' });
    return booking;
  }

  const statusOf = async (id: string, token: string) => ((await (await api(`/v1/bookings/${id}`, { token })).json()) as { status: string }).status;
  const historyOf = async (id: string, token: string) => ((await (await api(`/v1/bookings/${id}/history`, { token })).json()) as { items: HistoryRow[] }).items;

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      ports: FREE_PORTS,
      env: {
        TABLE_PREFIX: 'journey',
        JOB_RETRY_BASE_MS: '100',
        JOB_RETRY_CAP_MS: '400',
        JOB_MAX_ATTEMPTS: '3',
        RATE_LIMIT_PER_KEY: '100000',
        // Short enough for the timeout test below; far above what a local answer takes.
        DRIVER_APP_TIMEOUT_MS: '2000',
      },
      timers: false,
      log: consoleLogger({ silent: true }),
      stripeRetryDelaysMs: [100, 200],
    });
    stripe = new Stripe(LOCAL_SECRETS.stripeSecretKey, { host: '127.0.0.1', port: runtime.stripe?.port, protocol: 'http' });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('takes a booking from payment to the customer’s door, with history rows and e-mails', async () => {
    const booking = await bookAndPay('journey@example.com');
    const token = booking.accessToken;
    // Each step waits for its e-mail: a notice that is stale when its job runs is (rightly) not sent.
    const subjects = () => runtime.smtp?.inbox({ to: 'journey@example.com' }).map((mail) => mail.subject) ?? [];
    const mailed = (subject: string) => waitFor(() => subjects().includes(subject), { timeoutMs: 10_000 });
    await mailed('Ihre Buchung ist bestätigt: Inspektion');

    // Payment -> CONFIRMED -> the pick-up trip reaches the Driver-App, signed.
    await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id));
    const pickup = (await trips()).find((trip) => trip.bookingId === booking.id) as TripView;
    expect(pickup).toMatchObject({ type: 'b2c_pickup', signatureValid: true });
    expect(pickup.payload).toMatchObject({
      bookingId: booking.id,
      customerName: 'Erika Mustermann',
      vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'B-EM 123' },
      pickupAddress: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' },
    });

    expect((await report(pickup.tripId, 'assigned')).status).toBe(200);
    await mailed('Ihr Fahrer für die Abholung steht fest');
    expect((await report(pickup.tripId, 'pickup_completed')).status).toBe(200);
    expect(await statusOf(booking.id, token)).toBe('IN_WORKSHOP');
    await mailed('Fahrzeug wurde abgeholt');

    // A finding, approved and paid with the saved card.
    const finding = await api(`/v1/bookings/${booking.id}/findings`, {
      method: 'POST',
      token: runtime.apiKeys.workshop,
      body: JSON.stringify({ description: 'Bremsbeläge vorne verschlissen', priceCents: 8900 }),
    });
    expect(finding.status).toBe(201);
    const { id: findingId } = (await finding.json()) as { id: string };
    const approved = await api(`/v1/bookings/${booking.id}/findings/${findingId}/approve`, { method: 'POST', token });
    expect(await approved.json()).toMatchObject({ id: findingId, status: 'PAID' });

    // Ready -> the delivery trip; delivered -> DELIVERED.
    const ready = await api(`/v1/bookings/${booking.id}/ready`, { method: 'POST', token: runtime.apiKeys.workshop });
    expect(await ready.json()).toEqual({ id: booking.id, status: 'READY_FOR_DELIVERY' });
    await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id && trip.type === 'b2c_delivery'));
    const delivery = (await trips()).find((trip) => trip.bookingId === booking.id && trip.type === 'b2c_delivery') as TripView;
    expect((await report(delivery.tripId, 'assigned')).status).toBe(200);
    await mailed('Ihr Fahrzeug ist fertig und kommt zurück');
    expect((await report(delivery.tripId, 'delivery_completed')).status).toBe(200);
    expect(await statusOf(booking.id, token)).toBe('DELIVERED');

    // Exactly two trips for the journey.
    expect(
      (await trips())
        .filter((trip) => trip.bookingId === booking.id)
        .map((trip) => trip.type)
        .sort(),
    ).toEqual(['b2c_delivery', 'b2c_pickup']);

    const history = await historyOf(booking.id, token);
    // Status rows only where the status changed: trip progress is in the trip rows.
    expect(history.filter((item) => item.kind === undefined).map((item) => `${item.from}->${item.to}`)).toEqual([
      'null->PENDING_PAYMENT',
      'PENDING_PAYMENT->CONFIRMED',
      'CONFIRMED->IN_WORKSHOP',
      'IN_WORKSHOP->READY_FOR_DELIVERY',
      'READY_FOR_DELIVERY->DELIVERED',
    ]);
    const tripRows = history.filter((item) => item.kind === 'trip');
    expect(tripRows.map((item) => `${item.leg} ${item.subject} ${item.to} ${item.cause}`)).toEqual([
      `pickup ${pickup.tripId} assigned driver:${pickup.tripId}:assigned`,
      `pickup ${pickup.tripId} pickup_completed driver:${pickup.tripId}:pickup_completed`,
      `delivery ${delivery.tripId} assigned driver:${delivery.tripId}:assigned`,
      `delivery ${delivery.tripId} delivery_completed driver:${delivery.tripId}:delivery_completed`,
    ]);
    expect(history.filter((item) => item.kind === 'finding').map((item) => `${item.subject} ${item.from}->${item.to}`)).toEqual([
      `${findingId} null->PENDING_APPROVAL`,
      `${findingId} PENDING_APPROVAL->APPROVED`,
      `${findingId} APPROVED->PAID`,
    ]);
    // Each trip row sits right before the status row its report caused.
    const completed = history.findIndex((item) => item.kind === 'trip' && item.to === 'pickup_completed');
    expect(history[completed + 1]).toEqual({ from: 'CONFIRMED', to: 'IN_WORKSHOP', at: expect.any(String), cause: `driver:${pickup.tripId}:pickup_completed` });

    await mailed('Ihr Fahrzeug wurde zurückgebracht');
  });

  it('refuses unsigned, tampered and replayed status updates with 401 and changes nothing', async () => {
    const booking = await bookAndPay('signed@example.com');
    await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id));
    const trip = (await trips()).find((candidate) => candidate.bookingId === booking.id) as TripView;
    const body = JSON.stringify({
      tripId: trip.tripId,
      bookingId: booking.id,
      type: 'b2c_pickup',
      status: 'pickup_completed',
      occurredAt: new Date().toISOString(),
      sequence: 99,
    });
    const sign = (text: string) => createHmac('sha256', LOCAL_SECRETS.driverAppSecret).update(text).digest('hex');
    const now = String(Math.floor(Date.now() / 1000));
    const post = (payload: string, headers: Record<string, string>) =>
      fetch(`${runtime.url}/v1/webhooks/driver-app`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });

    const unsigned = await post(body, { 'x-webhook-timestamp': now });
    const tampered = await post(body.replace('pickup_completed', 'delivery_completed'), { 'x-webhook-signature': sign(body), 'x-webhook-timestamp': now });
    const replayed = await post(body, { 'x-webhook-signature': sign(body), 'x-webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600) });
    for (const response of [unsigned, tampered, replayed]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(await statusOf(booking.id, booking.accessToken)).toBe('CONFIRMED');

    // Signed and fresh: applied once; the same update again and an older one are ignored.
    const good = await post(body, { 'x-webhook-signature': sign(body), 'x-webhook-timestamp': now });
    expect(await good.json()).toEqual({ outcome: 'applied' });
    const again = await post(body, { 'x-webhook-signature': sign(body), 'x-webhook-timestamp': now });
    expect(await again.json()).toEqual({ outcome: 'duplicate' });
    const older = JSON.stringify({ ...JSON.parse(body), status: 'assigned', sequence: 5 });
    expect(await (await post(older, { 'x-webhook-signature': sign(older), 'x-webhook-timestamp': now })).json()).toEqual({ outcome: 'ignored' });
    expect(await statusOf(booking.id, booking.accessToken)).toBe('IN_WORKSHOP');
  });

  const sign = (text: string) => createHmac('sha256', LOCAL_SECRETS.driverAppSecret).update(text).digest('hex');
  const postUpdate = (payload: string) =>
    fetch(`${runtime.url}/v1/webhooks/driver-app`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': sign(payload), 'x-webhook-timestamp': String(Math.floor(Date.now() / 1000)) },
      body: payload,
    });

  interface StoredBooking {
    status: string;
    trips?: Record<string, { tripId?: string; status: string }>;
    flags: { needsAttention?: boolean; attentionReason?: string };
  }

  /** The booking as stored (the trips, their ids and the attention flag are not part of the API's view). */
  async function stored(id: string): Promise<StoredBooking> {
    const entity = await runtime.composition.services.tables.client(BOOKINGS_TABLE).getEntity<Record<string, unknown>>(id, 'booking');
    return JSON.parse(String(entity.data)) as StoredBooking;
  }

  interface CancellationView {
    tripId: string | null;
    bookingId: string | null;
    payload: unknown;
    signatureValid: boolean;
    idempotencyKey: string | null;
    responseStatus: number;
    applied: boolean;
  }
  const cancellations = async (bookingId: string) =>
    ((await (await fetch(`${runtime.driver?.url}/cancellations`)).json()) as { items: CancellationView[] }).items.filter(
      (item) => item.bookingId === bookingId,
    );

  /** A paid booking whose pick-up the Driver-App accepted and a jockey took: the booking knows the trip's id. */
  async function bookedWithJockey(email: string) {
    const booking = await bookAndPay(email);
    await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id));
    const pickup = (await trips()).find((trip) => trip.bookingId === booking.id) as TripView;
    await waitFor(async () => (await stored(booking.id)).trips?.pickup?.tripId === pickup.tripId, { message: 'the booking never got its trip id' });
    expect((await report(pickup.tripId, 'assigned')).status).toBe(200);
    return { booking, pickup };
  }

  it('records a jockey assignment as a trip row, without a status row', async () => {
    const { booking, pickup } = await bookedWithJockey('assigned@example.com');

    const history = await historyOf(booking.id, booking.accessToken);
    expect(history.map((item) => `${item.kind ?? 'status'} ${item.from}->${item.to}`)).toEqual([
      'status null->PENDING_PAYMENT',
      'status PENDING_PAYMENT->CONFIRMED',
      'trip dispatched->assigned',
    ]);
    expect(history[2]).toEqual({
      kind: 'trip',
      subject: pickup.tripId,
      leg: 'pickup',
      from: 'dispatched',
      to: 'assigned',
      at: expect.any(String),
      cause: `driver:${pickup.tripId}:assigned`,
    });
  });

  it('withdraws the accepted pick-up of a cancelled booking: the Driver-App shows it cancelled, signed, once, though the first send failed', async () => {
    const { booking, pickup } = await bookedWithJockey('withdrawn@example.com');
    // The withdrawal's first attempt meets a Driver-App that is down: the job retries.
    runtime.driver?.failNext(1, 503);

    const cancelled = await api(`/v1/bookings/${booking.id}/cancel`, { method: 'POST', token: booking.accessToken });
    expect(cancelled.status).toBe(200);

    await waitFor(async () => (await trips()).some((trip) => trip.tripId === pickup.tripId && trip.cancelled), {
      timeoutMs: 10_000,
      message: 'the trip was never withdrawn',
    });
    // The first attempt was refused (the fault is used up), the retry withdrew the trip.
    expect(runtime.driver?.faultsPending()).toBe(0);
    // The job again, as a redelivery would bring it: the Driver-App must still see one withdrawal.
    const job = {
      id: `trip-cancel:pickup:${booking.id}`,
      type: 'trip.cancel',
      subject: booking.id,
      attempt: 1,
      correlation: { operationId: 'redelivery' },
      payload: { bookingId: booking.id, trip: 'pickup', tripId: pickup.tripId },
      errors: [],
      createdAt: new Date().toISOString(),
    };
    const sender = runtime.composition.services.serviceBus.createSender('driver-dispatch');
    try {
      await sender.sendMessages({ body: job, contentType: 'application/json' });
    } finally {
      await sender.close();
    }
    await waitFor(async () => (await peekJobs(runtime, 'driver-dispatch', booking.id)).length === 0, { message: 'the withdrawal jobs were not settled' });

    const received = await cancellations(booking.id);
    expect(received.filter((item) => item.applied)).toHaveLength(1);
    for (const item of received) {
      expect(item).toMatchObject({
        tripId: pickup.tripId,
        signatureValid: true,
        idempotencyKey: `trip-cancel:pickup:${booking.id}`,
        responseStatus: 200,
        payload: { type: 'b2c_cancel', tripId: pickup.tripId, bookingId: booking.id },
      });
    }
    expect((await stored(booking.id)).trips?.pickup).toMatchObject({ tripId: pickup.tripId, status: 'cancelled' });
    const history = await historyOf(booking.id, booking.accessToken);
    expect(history.slice(-2).map((item) => `${item.kind ?? 'status'} ${item.from}->${item.to} ${item.cause}`)).toEqual([
      'status CONFIRMED->CANCELLED customer',
      'trip assigned->cancelled customer',
    ]);

    // The jockey taps on in the app: the sandbox refuses a status update for a withdrawn trip and sends nothing.
    const refused = await report(pickup.tripId, 'pickup_completed');
    expect(refused.status).toBe(409);
    expect((await trips()).find((trip) => trip.tripId === pickup.tripId)?.statuses.map((sent) => sent.update.status)).toEqual(['assigned']);
    const after = await stored(booking.id);
    expect(after.status).toBe('CANCELLED');
    expect(after.flags.needsAttention).toBeUndefined();
  });

  it('acknowledges a signed status update for a cancelled booking, changes nothing and flags the booking', async () => {
    const { booking, pickup } = await bookedWithJockey('late@example.com');
    expect((await api(`/v1/bookings/${booking.id}/cancel`, { method: 'POST', token: booking.accessToken })).status).toBe(200);
    const before = await stored(booking.id);
    const historyBefore = await historyOf(booking.id, booking.accessToken);

    const update = JSON.stringify({
      tripId: pickup.tripId,
      bookingId: booking.id,
      type: 'b2c_pickup',
      status: 'pickup_completed',
      occurredAt: new Date().toISOString(),
      sequence: 7,
    });
    const answer = await postUpdate(update);

    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ outcome: 'ignored' });
    const after = await stored(booking.id);
    expect(after).toMatchObject({ status: 'CANCELLED', trips: before.trips });
    expect(after.flags).toEqual({
      needsAttention: true,
      attentionReason: `pickup trip ${pickup.tripId} reported pickup_completed after the booking was cancelled`,
      attentionSince: expect.any(String),
    });
    expect(await historyOf(booking.id, booking.accessToken)).toEqual(historyBefore);
    // Delivered twice, it is the same report.
    expect(await (await postUpdate(update)).json()).toEqual({ outcome: 'duplicate' });
  });

  it('puts a booking whose trip failed on the attention list; an admin resolves it with a note and it leaves the list', async () => {
    const { booking, pickup } = await bookedWithJockey('attention.trip@example.de');
    expect((await report(pickup.tripId, 'failed')).status).toBe(200);
    const admin = runtime.apiKeys.admin as string;
    type Item = { id: string; kind: string; subject: string; reason: string; since: string };
    const listed = async () => ((await (await api('/v1/admin/attention', { token: admin })).json()) as { items: Item[] }).items;
    let item: Item | undefined;
    await waitFor(async () => {
      item = (await listed()).find((entry) => entry.subject === booking.id);
      return item !== undefined;
    });
    expect(item).toMatchObject({ id: `booking:${booking.id}`, kind: 'booking', reason: expect.stringMatching(/^pickup trip failed/) });

    const resolved = await api(`/v1/admin/attention/${encodeURIComponent(item?.id as string)}/resolve`, {
      method: 'POST',
      token: admin,
      body: JSON.stringify({ note: 'called the customer; new pick-up on Monday' }),
    });
    expect(resolved.status).toBe(200);
    expect((await listed()).some((entry) => entry.subject === booking.id)).toBe(false);
    const rows = await historyOf(booking.id, booking.accessToken);
    expect(rows.at(-1)).toMatchObject({ kind: 'attention', to: 'resolved', note: 'called the customer; new pick-up on Monday' });
  });

  it('refuses to cancel after pick-up (409) and withdraws nothing', async () => {
    const { booking, pickup } = await bookedWithJockey('picked-up@example.com');
    expect((await report(pickup.tripId, 'pickup_completed')).status).toBe(200);
    expect(await statusOf(booking.id, booking.accessToken)).toBe('IN_WORKSHOP');

    const refused = await api(`/v1/bookings/${booking.id}/cancel`, { method: 'POST', token: booking.accessToken });

    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await statusOf(booking.id, booking.accessToken)).toBe('IN_WORKSHOP');
    expect(await cancellations(booking.id)).toEqual([]);
    expect((await trips()).find((trip) => trip.tripId === pickup.tripId)).toMatchObject({ cancelled: false });
  });

  // Issue 9: ids with control characters or lone surrogates in a signed update answered 500.
  it('refuses signed updates whose ids are not ids with 422, and applies one whose driver name is not text without the name', async () => {
    const booking = await bookAndPay('ids@example.com');
    await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id));
    const trip = (await trips()).find((candidate) => candidate.bookingId === booking.id) as TripView;
    const update = { tripId: trip.tripId, bookingId: booking.id, type: 'b2c_pickup', status: 'assigned', occurredAt: new Date().toISOString(), sequence: 1 };

    for (const bad of [
      { tripId: `${trip.tripId}\u0000` },
      { tripId: `${trip.tripId}\ud800` },
      { bookingId: `${booking.id}\u001f` },
      { bookingId: `\udc00${booking.id}` },
    ]) {
      // JSON.stringify writes lone surrogates as \udXXX escapes: the signed bytes are valid UTF-8.
      const response = await postUpdate(JSON.stringify({ ...update, ...bad }));
      expect(response.status, JSON.stringify(bad)).toBe(422);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await response.json()) as { errors: Array<{ path: string }> };
      expect(problem.errors.map((error) => error.path)).toEqual([Object.keys(bad)[0]]);
    }
    expect(await statusOf(booking.id, booking.accessToken)).toBe('CONFIRMED');

    const applied = await postUpdate(
      JSON.stringify({ ...update, status: 'pickup_completed', sequence: 2, driver: { name: 'Jonas\u0000', phone: '+4915100000000' } }),
    );
    expect(await applied.json()).toEqual({ outcome: 'applied' });
    expect(await statusOf(booking.id, booking.accessToken)).toBe('IN_WORKSHOP');
  });

  // Issue 9: a delivery trip whose first send timed out was sent again with another body (its time
  // was "now" at each attempt), refused as a conflicting reuse and dead-lettered; the booking never
  // got its trip id.
  it('sends a delivery trip whose first send timed out once: the retry carries the same trip, and the booking keeps its id', async () => {
    const booking = await bookAndPay('slow@example.com');
    await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id));
    const pickup = (await trips()).find((trip) => trip.bookingId === booking.id) as TripView;
    expect((await report(pickup.tripId, 'pickup_completed')).status).toBe(200);
    expect(await statusOf(booking.id, booking.accessToken)).toBe('IN_WORKSHOP');

    // The Driver-App takes the delivery trip but answers after the dispatcher's 2 s timeout.
    runtime.driver?.setLatency(4_000);
    try {
      const ready = await api(`/v1/bookings/${booking.id}/ready`, { method: 'POST', token: runtime.apiKeys.workshop });
      expect(ready.status).toBe(200);
      await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id && trip.type === 'b2c_delivery'));
    } finally {
      runtime.driver?.setLatency(0);
    }

    // The job's retry sends the same bytes under the same key: the Driver-App answers with the trip it has.
    await waitFor(async () => Boolean((await stored(booking.id)).trips?.delivery?.tripId), {
      timeoutMs: 15_000,
      message: 'the booking never got its delivery trip id',
    });
    const deliveries = (await trips()).filter((trip) => trip.bookingId === booking.id && trip.type === 'b2c_delivery');
    expect(deliveries).toHaveLength(1);
    expect((await stored(booking.id)).trips?.delivery).toEqual({ tripId: deliveries[0]?.tripId, status: 'dispatched' });
    const admin = await fetch(`${runtime.url}/v1/admin/dead-letters/driver-dispatch`, { headers: { authorization: `Bearer ${runtime.apiKeys.admin}` } });
    const letters = (await admin.json()) as { items: Array<{ subject: string }> };
    expect(letters.items.filter((item) => item.subject === booking.id)).toEqual([]);
  });

  it('retries while the Driver-App is down, dead-letters, and after a replay the trip arrives once', async () => {
    runtime.driver?.failNext(100, 503);
    const booking = await bookAndPay('down@example.com');
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${runtime.url}/v1/admin/dead-letters${path}`, {
        ...init,
        headers: { authorization: `Bearer ${runtime.apiKeys.admin}`, 'content-type': 'application/json' },
      });
    let letterId = '';
    await waitFor(
      async () => {
        const list = (await (await admin('/driver-dispatch')).json()) as { items: Array<{ id: string; subject: string; reason: string; attempts: number }> };
        const letter = list.items.find((item) => item.subject === booking.id);
        letterId = letter?.id ?? '';
        return letter?.reason === 'MaxAttemptsExceeded' && letter.attempts === 3;
      },
      { timeoutMs: 15_000 },
    );
    expect((await trips()).some((trip) => trip.bookingId === booking.id)).toBe(false);

    runtime.driver?.reset();
    expect((await admin(`/driver-dispatch/${letterId}/replay`, { method: 'POST' })).status).toBe(200);
    await waitFor(async () => (await trips()).some((trip) => trip.bookingId === booking.id));
    // Once no dispatch job of the booking is left in the queue (locked ones included), every copy has run and settled.
    await waitFor(async () => (await peekJobs(runtime, 'driver-dispatch', booking.id)).length === 0, { message: 'the replayed dispatch job was not settled' });
    expect((await trips()).filter((trip) => trip.bookingId === booking.id)).toHaveLength(1);
  });
});

describe('the manual fallback without a Driver-App', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      ports: FREE_PORTS,
      env: { TABLE_PREFIX: 'manual', DRIVER_APP_MANUAL: 'true' },
      timers: false,
      log: consoleLogger({ silent: true }),
    });
    stripe = new Stripe(LOCAL_SECRETS.stripeSecretKey, { host: '127.0.0.1', port: runtime.stripe?.port, protocol: 'http' });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('refuses a jockey name or a trip reason that is not text, and an id that is not an id, with 422 naming it', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${runtime.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${runtime.apiKeys.admin}` },
        body: JSON.stringify(body),
      });
    const cases: Array<[path: string, body: unknown, field: string]> = [
      ['/v1/bookings/bk-1/jockey', { name: 'Jonas\u0000' }, 'name'],
      ['/v1/bookings/bk-1/jockey', { name: 'Jonas \ud800' }, 'name'],
      ['/v1/bookings/bk-1/jockey', { name: 'Jonas', phone: '+49\n151' }, 'phone'],
      ['/v1/bookings/bk-1/trips/pickup/status', { status: 'failed', reason: 'Panne\u001b[2J' }, 'reason'],
      ['/v1/bookings/bk%01/trips/pickup/status', { status: 'failed' }, 'id'],
    ];
    for (const [path, body, field] of cases) {
      const response = await post(path, body);
      expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(422);
      const problem = (await response.json()) as { errors: Array<{ path: string }> };
      expect(problem.errors.map((error) => error.path)).toEqual([field]);
    }
    // A reason over several lines is text.
    expect((await post('/v1/bookings/bk-unknown/trips/pickup/status', { status: 'failed', reason: 'Panne:\n\tReifen' })).status).toBe(404);
  });

  it('lets an admin assign the jockey and record the statuses through the API', async () => {
    expect(runtime.driver).toBeUndefined();
    const call = (path: string, key: string | undefined, body?: unknown) =>
      fetch(`${runtime.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = (await (
      await fetch(`${runtime.url}/v1/bookings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customer: { name: 'Max Muster', email: 'manual@example.com', phone: '+49 170 7654321', language: 'en' },
          vehicle: { brand: 'BMW', model: '320d' },
          serviceType: 'oil-change',
          pickup: { address: { street: 'Ring 5', zip: '80331', city: 'München' }, ...slotTomorrow() },
        }),
      })
    ).json()) as { id: string; accessToken: string; payment: { paymentIntentId: string } };
    await stripe.paymentIntents.confirm(created.payment.paymentIntentId, { payment_method: 'pm_card_visa' });
    const status = async () => ((await (await call(`/v1/bookings/${created.id}`, created.accessToken)).json()) as { status: string }).status;
    await waitFor(async () => (await status()) === 'CONFIRMED');

    // Each step waits for its e-mail: a notice that is stale when its job runs is not sent.
    const subjects = () => runtime.smtp?.inbox({ to: 'manual@example.com' }).map((mail) => mail.subject) ?? [];
    const mailed = (subject: string) => waitFor(() => subjects().includes(subject));
    await mailed('Your booking is confirmed: Oil change');

    expect((await call(`/v1/bookings/${created.id}/jockey`, runtime.apiKeys.workshop, { name: 'Jonas' })).status).toBe(403);
    expect(await (await call(`/v1/bookings/${created.id}/jockey`, runtime.apiKeys.admin, { name: 'Jonas', phone: '+49 151 000' })).json()).toEqual({
      outcome: 'applied',
    });
    await mailed('Your pick-up driver has been assigned');
    expect(await (await call(`/v1/bookings/${created.id}/trips/pickup/status`, runtime.apiKeys.admin, { status: 'pickup_completed' })).json()).toEqual({
      outcome: 'applied',
    });
    expect(await status()).toBe('IN_WORKSHOP');
    await mailed('Your car has been picked up');
    expect((await call(`/v1/bookings/${created.id}/ready`, runtime.apiKeys.workshop, {})).status).toBe(200);
    await call(`/v1/bookings/${created.id}/jockey`, runtime.apiKeys.admin, { name: 'Jonas', leg: 'delivery' });
    await mailed('Your car is ready and on its way back');
    expect(await (await call(`/v1/bookings/${created.id}/trips/delivery/status`, runtime.apiKeys.admin, { status: 'delivery_completed' })).json()).toEqual({
      outcome: 'applied',
    });
    expect(await status()).toBe('DELIVERED');
    await mailed('Your car has been returned');

    const history = (await (await call(`/v1/bookings/${created.id}/history`, created.accessToken)).json()) as { items: HistoryRow[] };
    const byAdmin = history.items.filter((item) => item.cause === 'api:local-admin');
    // Without a Driver-App a trip is named by its leg; the admin's reports are trip rows, and status rows only where the status moved.
    expect(byAdmin.map((item) => `${item.kind ?? 'status'} ${item.subject ?? ''} ${item.from}->${item.to}`)).toEqual([
      'trip pickup null->assigned',
      'trip pickup assigned->pickup_completed',
      'status  CONFIRMED->IN_WORKSHOP',
      'trip delivery null->assigned',
      'trip delivery assigned->delivery_completed',
      'status  READY_FOR_DELIVERY->DELIVERED',
    ]);
    expect(history.items.filter((item) => item.kind === undefined && item.from === item.to)).toEqual([]);
  });
});
