import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpTripDispatcher } from '../../slices/bookings/adapters/driver-app-dispatcher';
import { isFresh, signBody, verifySignature } from '../../slices/bookings/adapters/driver-app-signature';
import { type B2CTrip, driverStatusUpdateSchema, type DriverStatusUpdate } from '../../slices/bookings/app/driver-app';
import { dispatchHandlers } from '../../slices/bookings/app/dispatch-trip';
import { JobError } from '../../shared/platform/jobs';
import { DriverSandbox } from '../../local/driver-sandbox';
import { aBooking, aJob, BOOKING_ID, currentOf, fixedClock, storeWith } from '../support/booking-fixtures';

const SECRET = 'whsec_driver_test_secret';
let sandbox: DriverSandbox;
let receiver: StatusReceiver;

beforeAll(async () => {
  sandbox = await DriverSandbox.start({ port: 0, secret: SECRET });
  receiver = await StatusReceiver.start(SECRET);
});

afterAll(async () => {
  await sandbox?.stop();
  await receiver?.stop();
});

beforeEach(() => {
  sandbox.reset();
  sandbox.setStatusWebhookUrl(receiver.url);
  receiver.received.length = 0;
});

const dispatcher = (overrides: { secret?: string; timeoutMs?: number; webhookUrl?: string } = {}) =>
  new HttpTripDispatcher({ webhookUrl: `${sandbox.url}/trips`, secret: SECRET, timeoutMs: 2_000, ...overrides });

// Unique per test so nothing can match a trip another test sent.
const key = (name: string) => `trip:${name}:${randomBytes(4).toString('hex')}`;

const trip = (overrides: Partial<B2CTrip> = {}): B2CTrip => ({
  type: 'b2c_pickup',
  bookingId: 'bkg_123',
  customerId: 'cus_456',
  customerName: 'Jürgen Müller',
  customerPhone: '+491711234567',
  pickupAddress: { street: 'Hauptstraße 1', zip: '10115', city: 'Berlin', lat: 52.53, lng: 13.38 },
  deliveryAddress: { street: 'Hauptstraße 1', zip: '10115', city: 'Berlin' },
  vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'B-AB 1234' },
  scheduledPickup: '2030-05-06T07:00:00.000Z',
  notes: 'Schlüssel beim Nachbarn',
  ...overrides,
});

/** The JobError a send rejects with (fails the test when it resolves or throws anything else). */
async function sendError(target: HttpTripDispatcher, t: B2CTrip, k: string): Promise<JobError> {
  const error = await target.send(t, k).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobError);
  return error as JobError;
}

describe('HttpTripDispatcher against the Driver-App sandbox', () => {
  it('delivers a signed trip that the sandbox accepts as validly signed', async () => {
    const k = key('pickup');
    const { tripId } = await dispatcher().send(trip(), k);

    expect(tripId).toMatch(/^trp_/);
    const [received, ...rest] = sandbox.trips();
    expect(rest).toEqual([]);
    expect(received).toMatchObject({ tripId, type: 'b2c_pickup', bookingId: 'bkg_123', signatureValid: true, idempotencyKey: k, statuses: [] });
    expect(received?.payload).toEqual(trip());
  });

  it('collapses a re-send with the same idempotency key into one trip', async () => {
    const k = key('twice');
    const first = await dispatcher().send(trip(), k);
    const second = await dispatcher().send(trip(), k);

    expect(second.tripId).toBe(first.tripId);
    expect(sandbox.trips()).toHaveLength(1);
    // A different key is a different trip (the de-duplication is by key, not by content).
    await dispatcher().send(trip(), key('other'));
    expect(sandbox.trips()).toHaveLength(2);
  });

  it('fails permanently when the Driver-App rejects the signature, without leaking the secret', async () => {
    const wrongSecret = 'whsec_not_the_shared_one';
    const error = await sendError(dispatcher({ secret: wrongSecret }), trip(), key('forged'));

    expect(error.kind).toBe('permanent');
    expect(error.code).toBe('DRIVER_APP_REJECTED');
    expect(error.message).toContain('401');
    expect(error.message).not.toContain(wrongSecret);
    expect(sandbox.trips().map((t) => t.signatureValid)).toEqual([false]);
  });

  it('retries through injected 503s: transient twice, then the trip goes through once', async () => {
    sandbox.failNext(2, 503);
    const k = key('flaky');

    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await sendError(dispatcher(), trip(), k);
      expect(error.kind).toBe('transient');
      expect(error.message).toContain('503');
    }
    const { tripId } = await dispatcher().send(trip(), k);
    expect(sandbox.trips().map((t) => t.tripId)).toEqual([tripId]);
  });

  it('treats 429 as transient', async () => {
    sandbox.failNext(1, 429);
    const error = await sendError(dispatcher(), trip(), key('throttled'));
    expect([error.kind, error.code]).toEqual(['transient', 'DRIVER_APP_UNAVAILABLE']);
  });

  it('treats a timeout as transient, and the retry finds the trip the slow answer had booked', async () => {
    sandbox.setLatency(5_000);
    const k = key('slow');
    const started = Date.now();
    const error = await sendError(dispatcher({ timeoutMs: 100 }), trip(), k);

    expect([error.kind, error.code]).toEqual(['transient', 'DRIVER_APP_TIMEOUT']);
    // Far from the 5 s answer: the dispatcher gave up, it did not wait the Driver-App out.
    expect(Date.now() - started).toBeLessThan(2_500);
    sandbox.setLatency(0);
    const { tripId } = await dispatcher().send(trip(), k);
    expect(sandbox.trips().map((t) => t.tripId)).toEqual([tripId]);
  });

  it('treats an unreachable Driver-App as transient', async () => {
    // A port bound by the OS and released again: nothing listens there.
    const gone = await StatusReceiver.start(SECRET);
    const url = gone.url;
    await gone.stop();
    const error = await sendError(dispatcher({ webhookUrl: url }), trip(), key('down'));
    expect([error.kind, error.code]).toEqual(['transient', 'DRIVER_APP_UNREACHABLE']);
  });

  // Issue 9: a key reused with another body (a trip sent by a job queued before its time was fixed)
  // was refused as a conflicting reuse and dead-lettered as "not accepted", though the trip existed.
  it('resolves a conflicting reuse of its key by reading the trip the Driver-App holds for the booking and leg', async () => {
    const k = key('reuse');
    const first = await dispatcher().send(trip(), k);

    const again = await dispatcher().send(trip({ scheduledPickup: '2030-05-06T07:05:00.000Z' }), k);

    expect(again.tripId).toBe(first.tripId);
    expect(sandbox.trips().map((t) => [t.tripId, t.responseStatus])).toEqual([[first.tripId, 201]]);
  });

  it('still fails permanently when a reused key has no trip of this booking and leg to read', async () => {
    const k = key('other-booking');
    await dispatcher().send(trip(), k);

    const error = await sendError(dispatcher(), trip({ bookingId: 'bkg_other' }), k);

    expect([error.kind, error.code]).toEqual(['permanent', 'DRIVER_APP_REJECTED']);
    expect(error.message).toContain('422');
    // Nor is another leg of the same booking taken for this one.
    const pickupKey = key('pickup-only');
    await dispatcher().send(trip({ bookingId: 'bkg_legs' }), pickupKey);
    const leg = await sendError(dispatcher(), trip({ bookingId: 'bkg_legs', type: 'b2c_delivery' }), pickupKey);
    expect([leg.kind, leg.code]).toEqual(['permanent', 'DRIVER_APP_REJECTED']);
  });

  it('dispatches a delivery whose first send timed out exactly once: the retry sends the same trip, and the booking keeps its id', async () => {
    const bookings = storeWith(aBooking({ status: 'READY_FOR_DELIVERY', trips: { pickup: { tripId: 'trp_pickup', status: 'pickup_completed' } } }));
    const clock = fixedClock('2030-05-06T06:00:00.000Z');
    const handler = dispatchHandlers({ bookings, clock, dispatcher: dispatcher({ timeoutMs: 150 }) })['trip.delivery'];
    if (!handler) throw new Error('no delivery handler');
    const job = {
      ...aJob('trip.delivery', key('delivery')),
      payload: { bookingId: BOOKING_ID, trip: 'delivery', scheduledPickup: '2030-05-06T06:00:00.000Z' },
    };

    // The Driver-App takes the trip, then answers too late for the dispatcher.
    sandbox.setLatency(2_000);
    await expect(handler(job)).rejects.toMatchObject({ kind: 'transient', code: 'DRIVER_APP_TIMEOUT' });
    expect(sandbox.trips()).toHaveLength(1);
    sandbox.setLatency(0);

    // The queue retries minutes later.
    clock.set('2030-05-06T06:04:00.000Z');
    await handler({ ...job, attempt: 2 });

    const [held, ...more] = sandbox.trips();
    expect(more).toEqual([]);
    expect(held?.payload).toMatchObject({ type: 'b2c_delivery', bookingId: BOOKING_ID, scheduledPickup: '2030-05-06T06:00:00.000Z' });
    expect(currentOf(bookings).trips?.delivery).toEqual({ tripId: held?.tripId, status: 'dispatched' });
  });

  it('gives the booking its trip id when a job sent with another body before its time was fixed is replayed', async () => {
    const bookings = storeWith(aBooking({ status: 'READY_FOR_DELIVERY' }));
    const clock = fixedClock('2030-05-06T09:00:00.000Z');
    const target = dispatcher();
    const handler = dispatchHandlers({ bookings, clock, dispatcher: target })['trip.delivery'];
    if (!handler) throw new Error('no delivery handler');
    const job = { ...aJob('trip.delivery', key('replayed')), createdAt: '2030-05-06T08:00:00.000Z' };
    // What the earlier build sent on the first attempt: the delivery scheduled at that attempt's "now".
    const { type: _type, ...sameBooking } = trip();
    const earlier = await target.send({ ...sameBooking, type: 'b2c_delivery', bookingId: BOOKING_ID, scheduledPickup: '2030-05-06T08:00:03.000Z' }, job.id);

    await handler({ ...job, attempt: 1 });

    expect(sandbox.trips().map((t) => t.tripId)).toEqual([earlier.tripId]);
    expect(currentOf(bookings).trips?.delivery).toEqual({ tripId: earlier.tripId, status: 'dispatched' });
  });

  it('refuses a trip that breaks the contract before sending it', async () => {
    const error = await sendError(dispatcher(), trip({ scheduledPickup: 'tomorrow morning' }), key('invalid'));
    expect([error.kind, error.code]).toEqual(['permanent', 'INVALID_TRIP']);
    expect(error.message).toContain('scheduledPickup');
    expect(sandbox.trips()).toEqual([]);
  });
});

describe('Driver-App sandbox', () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${sandbox.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  const signedTrip = (t: unknown, k: string) => {
    const body = JSON.stringify(t);
    return post('/trips', body, { 'X-Webhook-Signature': signBody(body, SECRET), 'Idempotency-Key': k });
  };

  it('lists every trip over GET /trips, rejected ones included', async () => {
    await signedTrip(trip({ type: 'b2c_delivery', bookingId: 'bkg_9' }), key('a'));
    const unsigned = await post('/trips', JSON.stringify(trip()));
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('content-type')).toBe('application/problem+json');

    const listed = (await (await fetch(`${sandbox.url}/trips`)).json()) as { items: { type: string; bookingId: string; signatureValid: boolean }[] };
    expect(listed.items.map((t) => [t.type, t.bookingId, t.signatureValid])).toEqual([
      ['b2c_delivery', 'bkg_9', true],
      ['b2c_pickup', 'bkg_123', false],
    ]);
  });

  it('reads the trips it holds by booking, type and key: accepted ones only', async () => {
    const k = key('held');
    await signedTrip(trip({ type: 'b2c_delivery', bookingId: 'bkg_9' }), k);
    await signedTrip(trip({ bookingId: 'bkg_9' }), key('pickup'));
    await post('/trips', JSON.stringify(trip({ type: 'b2c_delivery', bookingId: 'bkg_9' })));
    await signedTrip({ type: 'b2c_delivery', bookingId: 'bkg_9' }, key('junk'));
    const list = async (query: string) =>
      ((await (await fetch(`${sandbox.url}/trips?${query}`)).json()) as { items: { type: string; bookingId: string; idempotencyKey: string }[] }).items.map(
        (t) => [t.type, t.bookingId, t.idempotencyKey === k],
      );

    expect(await list('bookingId=bkg_9&type=b2c_delivery')).toEqual([['b2c_delivery', 'bkg_9', true]]);
    expect(await list('bookingId=bkg_9')).toHaveLength(2);
    expect(await list(`idempotencyKey=${encodeURIComponent(k)}`)).toEqual([['b2c_delivery', 'bkg_9', true]]);
    expect(await list('bookingId=bkg_none')).toEqual([]);
  });

  it('answers 422 to a signed body that is not a trip, and to a key reused for another trip', async () => {
    expect((await signedTrip({ type: 'b2c_pickup' }, key('junk'))).status).toBe(422);
    const k = key('reused');
    expect((await signedTrip(trip(), k)).status).toBe(201);
    expect((await signedTrip(trip(), k)).status).toBe(200);
    expect((await signedTrip(trip({ bookingId: 'bkg_other' }), k)).status).toBe(422);
  });

  it('sends signed status updates that our receiver verifies, in sequence', async () => {
    const { tripId } = await dispatcher().send(trip(), key('status'));

    const beforeAssigned = Date.now();
    const assigned = await post(`/trips/${tripId}/status`, '{"status":"assigned"}');
    const afterAssigned = Date.now();
    expect(assigned.status).toBe(200);
    const answer = (await assigned.json()) as { delivered: boolean; status: number; update: DriverStatusUpdate };
    expect(answer).toMatchObject({
      delivered: true,
      status: 204,
      update: { tripId, bookingId: 'bkg_123', type: 'b2c_pickup', status: 'assigned', sequence: 1 },
    });
    await post(`/trips/${tripId}/status`, '{"status":"failed","reason":"Reifenpanne"}');

    expect(receiver.received.map((r) => [r.valid, r.fresh])).toEqual([
      [true, true],
      [true, true],
    ]);
    const updates = receiver.received.map((r) => driverStatusUpdateSchema.parse(JSON.parse(r.body)));
    expect(updates.map((u) => [u.status, u.sequence, u.reason])).toEqual([
      ['assigned', 1, undefined],
      ['failed', 2, 'Reifenpanne'],
    ]);
    // Stamped by the sandbox (same clock) while it served the call.
    expect(Date.parse(updates[0]?.occurredAt ?? '')).toBeGreaterThanOrEqual(beforeAssigned);
    expect(Date.parse(updates[0]?.occurredAt ?? '')).toBeLessThanOrEqual(afterAssigned);
    expect(sandbox.trips()[0]?.statuses.map((s) => [s.update.status, s.delivered, s.responseStatus])).toEqual([
      ['assigned', true, 204],
      ['failed', true, 204],
    ]);
  });

  it('reports a status update our webhook refused, and refuses calls it cannot serve', async () => {
    const { tripId } = await dispatcher().send(trip(), key('refused'));
    const other = await DriverSandbox.start({ port: 0, secret: 'whsec_someone_else', statusWebhookUrl: receiver.url });
    try {
      // A Driver-App signing with another secret than ours: our receiver must refuse its update.
      const body = JSON.stringify(trip());
      const created = await fetch(`${other.url}/trips`, {
        method: 'POST',
        headers: { 'X-Webhook-Signature': signBody(body, 'whsec_someone_else') },
        body,
      });
      const { tripId: otherId } = (await created.json()) as { tripId: string };
      const refused = await fetch(`${other.url}/trips/${otherId}/status`, { method: 'POST', body: '{"status":"arrived"}' });
      expect(await refused.json()).toMatchObject({ delivered: false, status: 401 });
      expect(receiver.received.map((r) => r.valid)).toEqual([false]);
    } finally {
      await other.stop();
    }

    expect((await post(`/trips/${tripId}/status`, '{"status":"teleported"}')).status).toBe(422);
    expect((await post('/trips/trp_nope/status', '{"status":"assigned"}')).status).toBe(404);
    sandbox.setStatusWebhookUrl(undefined);
    expect((await post(`/trips/${tripId}/status`, '{"status":"assigned"}')).status).toBe(409);
  });
});

describe('withdrawing a trip (b2c_cancel) against the Driver-App sandbox', () => {
  const cancel = (tripId: string, bookingId = 'bkg_123') => ({ type: 'b2c_cancel' as const, tripId, bookingId });
  const withdrawError = async (target: HttpTripDispatcher, message: ReturnType<typeof cancel>, k: string): Promise<JobError> => {
    const error = await target.withdraw(message, k).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobError);
    return error as JobError;
  };

  it('withdraws an accepted trip with a signed, keyed b2c_cancel: GET /trips shows it cancelled', async () => {
    const { tripId } = await dispatcher().send(trip(), key('pickup'));
    const k = key('cancel');

    await dispatcher().withdraw(cancel(tripId as string), k);

    const listed = (await (await fetch(`${sandbox.url}/trips`)).json()) as { items: Array<{ tripId: string; cancelled: boolean }> };
    expect(listed.items.map((t) => [t.tripId, t.cancelled])).toEqual([[tripId, true]]);
    expect(sandbox.cancellations()).toEqual([
      {
        tripId,
        bookingId: 'bkg_123',
        payload: { type: 'b2c_cancel', tripId, bookingId: 'bkg_123' },
        signatureValid: true,
        receivedAt: expect.any(String),
        idempotencyKey: k,
        responseStatus: 200,
        applied: true,
      },
    ]);
  });

  it('withdraws once however often the same withdrawal is sent: a repeat is answered, not applied', async () => {
    const { tripId } = await dispatcher().send(trip(), key('pickup'));
    const k = key('cancel');

    await dispatcher().withdraw(cancel(tripId as string), k);
    await dispatcher().withdraw(cancel(tripId as string), k);

    expect(sandbox.cancellations().map((c) => [c.idempotencyKey === k, c.responseStatus, c.applied])).toEqual([
      [true, 200, true],
      [true, 200, false],
    ]);
    const listed = (await (await fetch(`${sandbox.url}/cancellations`)).json()) as { items: Array<{ applied: boolean }> };
    expect(listed.items.filter((c) => c.applied)).toHaveLength(1);
  });

  it('retries through injected 503s like a trip: transient, then withdrawn once', async () => {
    const { tripId } = await dispatcher().send(trip(), key('pickup'));
    sandbox.failNext(1, 503);
    const k = key('cancel');

    const error = await withdrawError(dispatcher(), cancel(tripId as string), k);
    expect([error.kind, error.code]).toEqual(['transient', 'DRIVER_APP_UNAVAILABLE']);
    await dispatcher().withdraw(cancel(tripId as string), k);

    expect(sandbox.cancellations().filter((c) => c.applied)).toHaveLength(1);
    expect(sandbox.trips()[0]?.cancelled).toBe(true);
  });

  it('fails permanently for a trip the Driver-App does not hold, and for a forged signature (which withdraws nothing)', async () => {
    const { tripId } = await dispatcher().send(trip(), key('pickup'));

    const unknown = await withdrawError(dispatcher(), cancel('trp_unknown'), key('cancel'));
    expect([unknown.kind, unknown.code]).toEqual(['permanent', 'DRIVER_APP_REJECTED']);
    expect(unknown.message).toContain('404');
    const forged = await withdrawError(dispatcher({ secret: 'whsec_not_the_shared_one' }), cancel(tripId as string), key('forged'));
    expect([forged.kind, forged.message]).toEqual(['permanent', expect.stringContaining('401')]);

    expect(sandbox.cancellations().map((c) => [c.signatureValid, c.responseStatus, c.applied])).toEqual([
      [true, 404, false],
      [false, 401, false],
    ]);
    expect(sandbox.trips()[0]?.cancelled).toBe(false);
  });

  it('refuses a withdrawal that names the trip under another booking, and one that breaks the contract before sending it', async () => {
    const { tripId } = await dispatcher().send(trip(), key('pickup'));

    const other = await withdrawError(dispatcher(), cancel(tripId as string, 'bkg_other'), key('cancel'));
    expect([other.kind, other.message]).toEqual(['permanent', expect.stringContaining('422')]);
    const invalid = await withdrawError(dispatcher(), cancel('trp bad\u0000'), key('invalid'));
    expect([invalid.kind, invalid.code]).toEqual(['permanent', 'INVALID_TRIP_CANCEL']);
    expect(sandbox.trips()[0]?.cancelled).toBe(false);
  });

  it('refuses status updates for a withdrawn trip with 409 and sends nothing', async () => {
    const { tripId } = await dispatcher().send(trip(), key('pickup'));
    const status = (body: string) => fetch(`${sandbox.url}/trips/${tripId}/status`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect((await status('{"status":"assigned"}')).status).toBe(200);

    await dispatcher().withdraw(cancel(tripId as string), key('cancel'));
    const refused = await status('{"status":"pickup_completed"}');

    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(receiver.received).toHaveLength(1);
    expect(sandbox.trips()[0]?.statuses.map((s) => s.update.status)).toEqual(['assigned']);
  });
});

describe('driverStatusUpdateSchema', () => {
  const update = (overrides: Record<string, unknown> = {}) => ({
    tripId: 'trp_0a1b2c',
    bookingId: '0b7c6a1e-3f1d-4c52-9a4e-1d2f3a4b5c6d',
    type: 'b2c_pickup',
    status: 'pickup_completed',
    occurredAt: '2030-05-06T07:00:00Z',
    sequence: 3,
    ...overrides,
  });

  // Issue 9: ids with control characters or lone surrogates reached Table Storage and answered 500.
  it.each([
    ['tripId', 'trp_1\u0000'],
    ['tripId', 'trp_1\ud800'],
    ['tripId', 'trp 1'],
    ['bookingId', 'bk-1\u001f'],
    ['bookingId', '\udfffbk-1'],
    ['bookingId', 'bk/1'],
  ])('refuses an update whose %s is not an id (%j)', (field, value) => {
    const parsed = driverStatusUpdateSchema.safeParse(update({ [field]: value }));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual([field]);
  });

  it('keeps the status of an update whose driver text is not text, dropping that text', () => {
    const parsed = driverStatusUpdateSchema.parse(update({ driver: { name: 'Jonas\u0000', phone: '+49151\ud800' }, reason: 'Panne\u0007' }));
    expect(parsed).toMatchObject({ status: 'pickup_completed', driver: {} });
    expect(parsed.driver?.name).toBeUndefined();
    expect(parsed.driver?.phone).toBeUndefined();
    expect(parsed.reason).toBeUndefined();
    expect(driverStatusUpdateSchema.parse(update({ driver: { name: ' Jo\u0308rg ' }, reason: 'Reifen\nplatt' }))).toMatchObject({
      driver: { name: 'Jörg' },
      reason: 'Reifen\nplatt',
    });
  });
});

describe('signature helpers', () => {
  const body = Buffer.from('{"tripId":"trp_1","status":"assigned"}');
  const good = signBody(body, SECRET);

  it('accepts the signature of exactly these bytes, in either hex case', () => {
    expect(good).toMatch(/^[0-9a-f]{64}$/);
    expect(signBody(body.toString('utf8'), SECRET)).toBe(good);
    expect(verifySignature(body, good, SECRET)).toBe(true);
    expect(verifySignature(body, good.toUpperCase(), SECRET)).toBe(true);
  });

  it('rejects a tampered body, a wrong secret and malformed headers', () => {
    expect(verifySignature(Buffer.from('{"tripId":"trp_1","status":"failed"}'), good, SECRET)).toBe(false);
    expect(verifySignature(Buffer.from(`${body.toString()} `), good, SECRET)).toBe(false);
    expect(verifySignature(body, signBody(body, 'whsec_wrong'), SECRET)).toBe(false);
    expect(verifySignature(body, good, '')).toBe(false);
    for (const malformed of [undefined, '', `sha256=${good}`, good.slice(0, 63), `${good}0`, `${good.slice(0, 62)}zz`, ` ${good}`]) {
      expect(verifySignature(body, malformed, SECRET), String(malformed)).toBe(false);
    }
  });

  it('accepts timestamps within the window either side of now, and nothing else', () => {
    const now = new Date('2030-01-01T12:00:00Z');
    const at = (offsetSeconds: number) => String(now.getTime() / 1000 + offsetSeconds);
    expect(isFresh(at(0), now)).toBe(true);
    expect(isFresh(at(-300), now)).toBe(true);
    expect(isFresh(at(120), now)).toBe(true);
    expect(isFresh(at(-301), now)).toBe(false);
    expect(isFresh(at(301), now)).toBe(false);
    expect(isFresh(at(-30), now, 10)).toBe(false);
    for (const malformed of [undefined, '', 'yesterday', '1.5e9', '-1', now.toISOString()]) {
      expect(isFresh(malformed, now), String(malformed)).toBe(false);
    }
  });
});

/** A stand-in for our `/api/v1/webhooks/driver-app`: verifies each delivery as the app must. */
class StatusReceiver {
  readonly received: { body: string; valid: boolean; fresh: boolean }[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly secret: string,
  ) {
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        const signature = request.headers['x-webhook-signature'];
        const timestamp = request.headers['x-webhook-timestamp'];
        const valid = verifySignature(raw, typeof signature === 'string' ? signature : undefined, this.secret);
        const fresh = isFresh(typeof timestamp === 'string' ? timestamp : undefined, new Date());
        this.received.push({ body: raw.toString('utf8'), valid, fresh });
        response.writeHead(valid && fresh ? 204 : 401).end();
      });
    });
  }

  static async start(secret: string): Promise<StatusReceiver> {
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new StatusReceiver(server, secret);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1/webhooks/driver-app`;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }
}
