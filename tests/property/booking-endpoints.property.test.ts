/**
 * Fuzzing every booking endpoint and the Stripe webhook over HTTP against the local host (
 * §4: "Malformed input gets 400/415/422, never 500, and changes nothing"). For every request:
 * never a 5xx, every 4xx is problem+json, and a refused request writes nothing — neither a row in
 * the Bookings table nor a PaymentIntent in the Stripe sandbox.
 */
import fc from 'fast-check';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SECRETS, type LocalRuntime } from '../../local/runtime';
import { PROBLEM_CONTENT_TYPE } from '../../shared/http/problem';
import {
  api,
  bookingBody,
  type CreatedBooking,
  countBookingRows,
  countPaymentIntents,
  createBooking,
  moveToWorkshop,
  startBookingRuntime,
  stripeClient,
} from '../support/bookings';

/** One request as the fuzzers describe it (fast-check prints it when a property fails). */
interface Probe {
  method: string;
  path: string;
  token?: string;
  contentType?: string;
  body?: string;
  signature?: string;
}

const RUNS = 120;

describe('booking endpoints under arbitrary input', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;
  /** A paid booking in the workshop with one open finding: real ids for the paths to hit. */
  let fixture: CreatedBooking & { findingId: string };
  let baseline: { rows: number; intents: number };

  const counts = async () => ({ rows: await countBookingRows(runtime), intents: await countPaymentIntents(stripe) });

  beforeAll(async () => {
    runtime = await startBookingRuntime();
    stripe = stripeClient(runtime);
    const booking = await createBooking(runtime);
    await stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: 'pm_card_visa' });
    await runtime.stripe?.idle();
    await moveToWorkshop(runtime, booking.id);
    const finding = await api(runtime, 'POST', `/v1/bookings/${booking.id}/findings`, {
      token: runtime.apiKeys.workshop as string,
      body: { description: 'Wischerblätter', priceCents: 2_990 },
    });
    expect(finding.status).toBe(201);
    fixture = { ...booking, findingId: finding.body.id };
    baseline = await counts();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  /** Sends one probe and checks the three promises; an accepted request moves the baseline on. */
  async function check(probe: Probe): Promise<number> {
    const headers: Record<string, string> = {};
    if (probe.token !== undefined) headers.authorization = `Bearer ${probe.token}`;
    if (probe.contentType !== undefined) headers['content-type'] = probe.contentType;
    if (probe.signature !== undefined) headers['stripe-signature'] = probe.signature;
    const body = probe.method === 'GET' ? undefined : probe.body;
    const response = await fetch(`${runtime.url}${probe.path}`, { method: probe.method, headers, body });
    const text = await response.text();
    expect(response.status, text).toBeLessThan(500);
    if (response.status < 400) {
      // Accepted (e.g. a mutation that stayed valid): its writes are legitimate; settle its webhooks first.
      await runtime.stripe?.idle();
      baseline = await counts();
      return response.status;
    }
    expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
    expect(JSON.parse(text)).toMatchObject({ type: expect.any(String), title: expect.any(String), status: response.status, detail: expect.any(String) });
    await runtime.stripe?.idle();
    expect(await counts()).toEqual(baseline);
    return response.status;
  }

  // ---- arbitraries

  const json = fc.jsonValue({ maxDepth: 4 });
  /** Printable ASCII: what fetch lets through in a header value. */
  const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 80 });
  const wrongContentType = fc.constantFrom(
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/json; charset=latin1',
    'application/jsonx',
    '*/*',
  );
  /** A body: JSON of any shape, text that is not JSON, or nothing. */
  const anyBody = fc.oneof(
    { weight: 3, arbitrary: json.map((value) => ({ body: JSON.stringify(value), contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => ({ body: text, contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.tuple(json, wrongContentType).map(([value, contentType]) => ({ body: JSON.stringify(value), contentType })) },
    { weight: 1, arbitrary: fc.constant({ body: undefined, contentType: undefined }) },
  );

  /** A valid booking with one field replaced by anything, removed, or an unknown field added. */
  const mutatedBooking = fc
    .tuple(
      fc.constantFrom(
        'customer',
        'customer.name',
        'customer.email',
        'customer.phone',
        'customer.language',
        'vehicle',
        'vehicle.brand',
        'vehicle.model',
        'vehicle.licensePlate',
        'serviceType',
        'pickup',
        'pickup.address',
        'pickup.address.zip',
        'pickup.address.street',
        'pickup.address.city',
        'pickup.slotStart',
        'pickup.slotEnd',
        'delivery',
        'delivery.address',
        'notes',
        'priceCents',
        'customer.vip',
        'pickup.address.lat',
      ),
      fc.oneof(
        json,
        fc.constant(undefined),
        fc.string({ unit: 'grapheme', maxLength: 60 }),
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      ),
    )
    .map(([path, value]) => {
      const body = bookingBody() as Record<string, unknown>;
      const keys = path.split('.');
      let target = body;
      for (const key of keys.slice(0, -1)) {
        if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
        target = target[key] as Record<string, unknown>;
      }
      const last = keys.at(-1) as string;
      if (value === undefined) delete target[last];
      else target[last] = value;
      return JSON.stringify(body);
    });

  /** A path segment: the real id, random text (encoded), or something a router might trip over. */
  const segment = (real: () => string) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(null).map(() => real()) },
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }).map(encodeURIComponent),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 }).map(encodeURIComponent),
      fc.constantFrom('%', '%zz', '..', '%2e%2e', '%00', '%2F', "'", '%27', "x'%20or%20'1'='1", '%E2%80%AE', 'a'.repeat(101), '%20', 'booking', '~', '%7E2F'),
    );
  const token = fc.oneof(fc.constant(undefined), headerText, {
    weight: 3,
    arbitrary: fc
      .constantFrom('booking', 'booking', 'workshop', 'admin', 'orders')
      .map((who) => (who === 'booking' ? fixture.accessToken : (runtime.apiKeys[who as 'admin'] as string))),
  });

  // ---- properties

  it('POST /v1/bookings: arbitrary bodies, near-valid bookings and wrong content types', async () => {
    const body = fc.oneof(
      { weight: 2, arbitrary: anyBody },
      { weight: 5, arbitrary: mutatedBooking.map((text) => ({ body: text, contentType: 'application/json' })) },
      { weight: 1, arbitrary: fc.tuple(mutatedBooking, wrongContentType).map(([text, contentType]) => ({ body: text, contentType })) },
    );
    await fc.assert(
      fc.asyncProperty(body, async ({ body: text, contentType }) => {
        await check({ method: 'POST', path: '/v1/bookings', body: text, contentType });
      }),
      { numRuns: 2 * RUNS },
    );
  });

  // The text rule (issue 9): control characters (but tab and line breaks in multi-line text) and lone
  // surrogates anywhere in a free-text field are refused with 422 naming that field, and nothing is written.
  const TEXT_FIELDS = [
    { path: 'customer.name', multiline: false },
    { path: 'vehicle.brand', multiline: false },
    { path: 'vehicle.model', multiline: false },
    { path: 'pickup.address.street', multiline: false },
    { path: 'pickup.address.city', multiline: false },
    { path: 'delivery.address.street', multiline: false },
    { path: 'delivery.address.city', multiline: false },
    { path: 'notes', multiline: true },
  ] as const;
  const LINE_BREAKS = [0x09, 0x0a, 0x0d];
  /** One character the text rule refuses in a field: a C0/C1 control (line breaks only where one line is wanted) or a lone surrogate. */
  const refusedIn = (multiline: boolean) =>
    fc.oneof(
      fc
        .oneof(fc.integer({ min: 0x00, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
        .filter((code) => !multiline || !LINE_BREAKS.includes(code))
        .map((code) => String.fromCharCode(code)),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
    );
  const hostileText = fc
    .constantFrom(...TEXT_FIELDS)
    .chain((field) =>
      fc
        .tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), refusedIn(field.multiline), fc.string({ unit: 'grapheme-ascii', maxLength: 20 }))
        .map(([before, bad, after]) => ({ field: field.path, text: `${before}${bad}${after}` })),
    );

  it('POST /v1/bookings: free text with a control character or a lone surrogate is 422 naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, async ({ field, text }) => {
        const body = bookingBody({ delivery: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' } } }) as Record<string, unknown>;
        const keys = field.split('.');
        let target = body;
        for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
        target[keys.at(-1) as string] = text;
        // JSON.stringify writes a lone surrogate as its \udXXX escape: valid JSON, as a client sends it.
        const response = await fetch(`${runtime.url}/v1/bookings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const problem = (await response.json()) as { errors?: Array<{ path: string }> };
        expect(response.status, JSON.stringify(text)).toBe(422);
        expect(problem.errors?.map((error) => error.path)).toEqual([field]);
        expect(await counts()).toEqual(baseline);
      }),
      { numRuns: RUNS },
    );
  });

  it('every booking route: random ids, methods, credentials and bodies', async () => {
    const routes: Array<[method: string, path: (id: string, findingId: string) => string]> = [
      ['GET', (id) => `/v1/bookings/${id}`],
      ['GET', (id) => `/v1/bookings/${id}/history`],
      ['POST', (id) => `/v1/bookings/${id}/cancel`],
      ['POST', (id) => `/v1/bookings/${id}/findings`],
      ['POST', (id, findingId) => `/v1/bookings/${id}/findings/${findingId}/approve`],
      ['POST', (id, findingId) => `/v1/bookings/${id}/findings/${findingId}/decline`],
    ];
    const probe = fc.record({
      route: fc.constantFrom(...routes),
      id: segment(() => fixture.id),
      findingId: segment(() => fixture.findingId),
      // The route's own method mostly, so most requests get past routing; another one now and then.
      otherMethod: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
      token,
      body: anyBody,
    });
    await fc.assert(
      fc.asyncProperty(probe, async ({ route: [method, path], id, findingId, otherMethod, token: bearer, body }) => {
        await check({ method: otherMethod ?? method, path: path(id, findingId), token: bearer, ...body });
      }),
      { numRuns: 2 * RUNS },
    );
  });

  it('POST /v1/bookings/{id}/findings (workshop key): arbitrary and near-valid findings', async () => {
    const finding = fc.oneof(
      anyBody,
      fc
        .record(
          {
            description: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 1_100 }), json),
            priceCents: fc.oneof(fc.integer({ min: -1_000, max: 49 }), fc.double(), fc.integer({ min: 99_999_999, max: Number.MAX_SAFE_INTEGER }), json),
            extra: json,
          },
          { requiredKeys: [] },
        )
        .map((value) => ({ body: JSON.stringify(value), contentType: 'application/json' })),
    );
    await fc.assert(
      fc.asyncProperty(finding, async ({ body, contentType }) => {
        await check({ method: 'POST', path: `/v1/bookings/${fixture.id}/findings`, token: runtime.apiKeys.workshop, body, contentType });
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/webhooks/stripe: without a valid signature everything is a 400', async () => {
    const signature = fc.oneof(
      fc.constant(undefined),
      headerText,
      fc
        .tuple(fc.integer({ min: 0, max: 2 ** 32 }), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }))
        .map(([t, v1]) => `t=${t},v1=${v1}`),
    );
    await fc.assert(
      fc.asyncProperty(anyBody, signature, fc.boolean(), async ({ body, contentType }, header, forge) => {
        // Some bodies are signed with the wrong secret, so the signature is well-formed yet false.
        const signed = forge && body !== undefined ? stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_forged' }) : header;
        expect(await check({ method: 'POST', path: '/v1/webhooks/stripe', body, contentType, signature: signed })).toBe(400);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/webhooks/stripe: validly signed but arbitrary payloads never break the handler', async () => {
    const leaf = fc.jsonValue({ maxDepth: 2 });
    /** Mostly a value of the right type, sometimes any JSON at all. */
    const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: leaf });
    const fuzzyId = (real: () => string) =>
      fc.oneof(
        { weight: 2, arbitrary: fc.constant(null).map(real) },
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 600 }),
        fc.constantFrom("'", '/', '~', '#?\\', ''),
      );
    const metadata = fc.record({ bookingId: field(fuzzyId(() => fixture.id)), findingId: field(fuzzyId(() => fixture.findingId)) }, { requiredKeys: [] });
    const intent = fc.record({
      object: fc.constant('payment_intent'),
      id: field(fuzzyId(() => fixture.paymentIntentId)),
      client_secret: field(fc.option(fc.string())),
      status: field(fc.constantFrom('succeeded', 'processing', 'requires_action', 'requires_payment_method', 'canceled')),
      amount: field(fc.integer({ min: 0, max: 99_999_999 })),
      currency: field(fc.constant('eur')),
      customer: field(fc.option(fc.string())),
      payment_method: field(fc.option(fc.oneof(fc.string(), fc.record({ id: fc.string() })))),
      metadata: field(metadata),
      last_payment_error: field(
        fc.option(
          fc.record(
            { code: field(fc.constantFrom('card_declined', 'authentication_required')), decline_code: field(fc.string()), message: field(fc.string()) },
            { requiredKeys: [] },
          ),
        ),
      ),
    });
    const charge = fc.record({
      object: fc.constant('charge'),
      amount: field(fc.integer({ min: 0, max: 99_999_999 })),
      amount_refunded: field(fc.integer({ min: 0, max: 99_999_999 })),
      currency: field(fc.constant('eur')),
      payment_intent: field(fc.option(fuzzyId(() => fixture.paymentIntentId))),
      metadata: field(metadata),
    });
    const eventShaped = fc.record({
      id: field(fc.string({ minLength: 1, maxLength: 60 })),
      object: fc.constant('event'),
      type: field(
        fc.constantFrom(
          'payment_intent.succeeded',
          'payment_intent.processing',
          'payment_intent.requires_action',
          'payment_intent.payment_failed',
          'payment_intent.canceled',
          'payment_intent.created',
          'charge.refunded',
          'charge.succeeded',
          'customer.created',
        ),
      ),
      created: field(fc.integer({ min: 0, max: 2 ** 31 })),
      data: field(fc.record({ object: fc.oneof({ weight: 3, arbitrary: intent }, { weight: 2, arbitrary: charge }, leaf) })),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 1, arbitrary: json }, { weight: 4, arbitrary: eventShaped }), async (payload) => {
        const body = JSON.stringify(payload);
        const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret: LOCAL_SECRETS.stripeWebhookSecret });
        await check({ method: 'POST', path: '/v1/webhooks/stripe', body, contentType: 'application/json', signature });
      }),
      { numRuns: 2 * RUNS },
    );
    // The fixture's booking survived whatever was accepted: still readable and in a valid state.
    const view = await api(runtime, 'GET', `/v1/bookings/${fixture.id}`, { token: fixture.accessToken });
    expect(view.status).toBe(200);
  });
});
