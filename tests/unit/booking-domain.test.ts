import { flaggedFor } from '../../slices/bookings/domain/attention-flags';
import { describe, expect, it } from 'vitest';
import {
  bookingSchema,
  createBooking,
  createBookingRequestSchema,
  idSchema,
  isId,
  type Booking,
  type CreateBookingRequest,
  withAttention,
} from '../../slices/bookings/domain/booking';
import { BOOKING_STATUSES, causeSchema, causes, isCancellable, transition, type BookingStatus } from '../../slices/bookings/domain/booking-status';
import { DEFAULT_CATALOGUE, parseCatalogue, priceOf, type Catalogue } from '../../slices/bookings/domain/catalogue';
import {
  addFinding,
  approveFinding,
  declineFinding,
  FINDING_LIMITS,
  findingRequestSchema,
  recordFindingPayment,
  type Finding,
} from '../../slices/bookings/domain/finding';
import { cancelBooking, isRefunded, recordRefund, refundOutcomeOf, reserveRefund } from '../../slices/bookings/domain/refund';
import { isNewer, parseTripSubject, tripSubject, withdrawTrips } from '../../slices/bookings/domain/trip';
import { addMoney, formatMoney, money } from '../../shared/kernel/money';
import {
  checkSlot,
  DEFAULT_OPENING_HOURS,
  DEFAULT_SLOT_RULES,
  parseOpeningHours,
  type OpeningHours,
  type SlotCheck,
  type SlotRules,
} from '../../slices/bookings/domain/opening-hours';

// ---- fixtures

const NOW = new Date('2025-06-02T08:00:00Z'); // Monday 10:00 in Berlin (CEST)

/** A valid request body: a Tuesday 09:00–11:00 Berlin slot, the day after NOW. */
function requestBody(): Record<string, unknown> {
  return {
    customer: { name: 'Erika Mustermann', email: 'erika@example.de', phone: '+49 171 1234567' },
    vehicle: { brand: 'Volkswagen', model: 'Golf VIII', licensePlate: 'B-EM 1234' },
    serviceType: 'inspection',
    pickup: {
      address: { street: 'Unter den Linden 1', zip: '10117', city: 'Berlin' },
      slotStart: '2025-06-03T09:00:00+02:00',
      slotEnd: '2025-06-03T11:00:00+02:00',
    },
  };
}

function parseRequest(body: unknown): CreateBookingRequest {
  return createBookingRequestSchema.parse(body);
}

const context = { id: 'bk_1', now: NOW, catalogue: DEFAULT_CATALOGUE, hours: DEFAULT_OPENING_HOURS, rules: DEFAULT_SLOT_RULES };

function newBooking(): Booking {
  const result = createBooking(parseRequest(requestBody()), context);
  if (!result.ok) throw new Error(`fixture booking refused: ${JSON.stringify(result.error)}`);
  return result.booking;
}

/** A booking forced into a status, for guards that depend on it. */
function bookingIn(status: BookingStatus, findings: Finding[] = []): Booking {
  return { ...newBooking(), status, findings };
}

// ---- money

describe('money', () => {
  it('accepts whole, non-negative cents and refuses the rest', () => {
    expect(money(14900)).toEqual({ ok: true, value: { cents: 14900, currency: 'EUR' } });
    expect(money(0).ok).toBe(true);
    expect(money(10.5)).toMatchObject({ ok: false, error: { code: 'INVALID_AMOUNT', reason: 'not_integer' } });
    expect(money(Number.NaN)).toMatchObject({ ok: false, error: { reason: 'not_integer' } });
    expect(money(-1)).toMatchObject({ ok: false, error: { code: 'INVALID_AMOUNT', reason: 'negative' } });
    expect(money(100_000_000)).toMatchObject({ ok: false, error: { reason: 'too_large' } });
  });

  it('adds in cents and refuses a sum beyond the chargeable maximum', () => {
    expect(addMoney({ cents: 14900, currency: 'EUR' }, { cents: 8900, currency: 'EUR' })).toEqual({
      ok: true,
      value: { cents: 23800, currency: 'EUR' },
    });
    expect(addMoney({ cents: 99_999_999, currency: 'EUR' }, { cents: 1, currency: 'EUR' }).ok).toBe(false);
  });

  it('formats for German and English readers', () => {
    expect(formatMoney({ cents: 14900, currency: 'EUR' })).toMatch(/^149,00\s€$/u);
    expect(formatMoney({ cents: 123456, currency: 'EUR' }, 'de')).toMatch(/^1\.234,56\s€$/u);
    expect(formatMoney({ cents: 5, currency: 'EUR' }, 'en')).toBe('€0.05');
  });
});

// ---- catalogue

describe('catalogue', () => {
  it('has a valid default catalogue with the documented services', () => {
    expect(parseCatalogue(DEFAULT_CATALOGUE).ok).toBe(true);
    expect(DEFAULT_CATALOGUE.map((item) => item.code)).toEqual(['inspection', 'oil-change', 'brake-service', 'tire-change', 'main-inspection']);
    expect(priceOf(DEFAULT_CATALOGUE, 'oil-change')).toEqual({ ok: true, value: { cents: 8900, currency: 'EUR' } });
  });

  it('parses an override given as JSON text', () => {
    const json = JSON.stringify([{ code: 'wash', name: { de: 'Wäsche', en: 'Car wash' }, priceCents: 2500, currency: 'EUR' }]);
    const parsed = parseCatalogue(json);
    expect(parsed).toEqual({ ok: true, value: [{ code: 'wash', name: { de: 'Wäsche', en: 'Car wash' }, priceCents: 2500, currency: 'EUR' }] });
  });

  it.each([
    ['not JSON', '[{', ''],
    ['empty', '[]', ''],
    ['duplicate codes', JSON.stringify([item('a'), item('a')]), '1.code'],
    ['a fractional price', JSON.stringify([{ ...item('a'), priceCents: 10.5 }]), '0.priceCents'],
    ['a price Stripe cannot charge', JSON.stringify([{ ...item('a'), priceCents: 49 }]), '0.priceCents'],
    ['another currency', JSON.stringify([{ ...item('a'), currency: 'USD' }]), '0.currency'],
    ['an unknown field', JSON.stringify([{ ...item('a'), vat: 19 }]), '0'],
    ['a bad code', JSON.stringify([item('Oil Change')]), '0.code'],
  ])('refuses %s', (_name, json, path) => {
    const parsed = parseCatalogue(json);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe('INVALID_CATALOGUE');
      expect(parsed.error.issues.map((issue) => issue.path)).toContain(path);
    }
  });

  it('prices unknown codes as an error value', () => {
    expect(priceOf(DEFAULT_CATALOGUE, 'teleportation')).toEqual({ ok: false, error: { code: 'UNKNOWN_SERVICE', serviceType: 'teleportation' } });
  });

  function item(code: string) {
    return { code, name: { de: 'X', en: 'X' }, priceCents: 1000, currency: 'EUR' };
  }
});

// ---- status machine

const ALLOWED: ReadonlyArray<readonly [BookingStatus, BookingStatus]> = [
  ['PENDING_PAYMENT', 'CONFIRMED'],
  ['PENDING_PAYMENT', 'CANCELLED'],
  ['CONFIRMED', 'IN_WORKSHOP'],
  ['CONFIRMED', 'CANCELLED'],
  ['IN_WORKSHOP', 'READY_FOR_DELIVERY'],
  ['READY_FOR_DELIVERY', 'DELIVERED'],
];

const PAIRS = BOOKING_STATUSES.flatMap((from) => BOOKING_STATUSES.map((to) => [from, to] as const));

describe('booking status machine', () => {
  const at = new Date('2025-06-04T12:00:00Z');

  it('covers all 36 pairs of statuses', () => {
    expect(PAIRS).toHaveLength(36);
  });

  it.each(PAIRS)('%s -> %s', (from, to) => {
    const booking = bookingIn(from);
    const result = transition(booking, to, causes.api('workshop-1'), at);
    if (from === to) {
      expect(result).toEqual({ ok: false, error: { code: 'ALREADY_IN_STATE', from, to } });
    } else if (ALLOWED.some(([a, b]) => a === from && b === to)) {
      expect(result).toEqual({
        ok: true,
        booking: { ...booking, status: to, updatedAt: at.toISOString(), version: booking.version + 1 },
        history: { from, to, at: at.toISOString(), cause: 'api:workshop-1' },
      });
    } else {
      expect(result).toEqual({ ok: false, error: { code: 'FORBIDDEN_TRANSITION', from, to } });
    }
    expect(booking.status).toBe(from); // the input is never changed
  });

  it('allows cancellation until pick-up only', () => {
    expect(BOOKING_STATUSES.filter(isCancellable)).toEqual(['PENDING_PAYMENT', 'CONFIRMED']);
    expect(transition(bookingIn('IN_WORKSHOP'), 'CANCELLED', causes.customer(), at)).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN_TRANSITION', from: 'IN_WORKSHOP', to: 'CANCELLED' },
    });
  });

  it('builds causes that the history schema accepts, and rejects others', () => {
    expect([causes.stripe('evt_1'), causes.driver('trip_9'), causes.api('shop'), causes.system('reconcile'), causes.customer()]).toEqual([
      'stripe:evt_1',
      'driver:trip_9',
      'api:shop',
      'system:reconcile',
      'customer',
    ]);
    for (const cause of ['stripe:evt_1', 'customer', 'api:admin']) expect(causeSchema.safeParse(cause).success).toBe(true);
    for (const cause of ['', 'stripe:', 'paypal:x', 'customer:1', 'Customer']) expect(causeSchema.safeParse(cause).success).toBe(false);
  });
});

// ---- createBooking

describe('createBooking', () => {
  it('creates a PENDING_PAYMENT booking with its first history row', () => {
    const result = createBooking(parseRequest(requestBody()), context);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.booking).toMatchObject({
      id: 'bk_1',
      status: 'PENDING_PAYMENT',
      serviceType: 'inspection',
      priceCents: 14900,
      currency: 'EUR',
      customer: { name: 'Erika Mustermann', email: 'erika@example.de', phone: '+491711234567', language: 'de' },
      vehicle: { brand: 'Volkswagen', model: 'Golf VIII', licensePlate: 'B-EM 1234' },
      // Stored in UTC whatever offset the client used.
      pickup: { slotStart: '2025-06-03T07:00:00.000Z', slotEnd: '2025-06-03T09:00:00.000Z' },
      payment: { status: 'pending' },
      findings: [],
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      version: 1,
    });
    expect(result.history).toEqual({ from: null, to: 'PENDING_PAYMENT', at: NOW.toISOString(), cause: 'customer' });
  });

  it('records who created it when told', () => {
    const result = createBooking(parseRequest(requestBody()), { ...context, cause: causes.api('pos-berlin') });
    expect(result.ok && result.history.cause).toBe('api:pos-berlin');
  });

  it('prices from the catalogue and ignores a price sent by the client', () => {
    const body = { ...requestBody(), priceCents: 1, currency: 'USD' };
    // The HTTP schema refuses the field outright ...
    const parsed = createBookingRequestSchema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toContainEqual(expect.objectContaining({ code: 'unrecognized_keys', keys: ['priceCents', 'currency'] }));
    // ... and a caller that smuggles it past the type still gets the catalogue price.
    const smuggled = { ...parseRequest(requestBody()), priceCents: 1, currency: 'USD' } as CreateBookingRequest;
    const cheap: Catalogue = [{ code: 'inspection', name: { de: 'I', en: 'I' }, priceCents: 7700, currency: 'EUR' }];
    const result = createBooking(smuggled, { ...context, catalogue: cheap });
    expect(result.ok && [result.booking.priceCents, result.booking.currency]).toEqual([7700, 'EUR']);
    expect(JSON.stringify(result)).not.toContain('"priceCents":1,');
  });

  it('delivers back to the pick-up address by default, as a separate copy', () => {
    const result = createBooking(parseRequest(requestBody()), context);
    if (!result.ok) throw new Error('refused');
    expect(result.booking.delivery.address).toEqual({ street: 'Unter den Linden 1', zip: '10117', city: 'Berlin' });
    expect(result.booking.delivery.address).not.toBe(result.booking.pickup.address);
  });

  it('uses a delivery address when one is given', () => {
    const delivery = { address: { street: 'Friedrichstr. 100', zip: '10117', city: 'Berlin' } };
    const result = createBooking(parseRequest({ ...requestBody(), delivery }), context);
    expect(result.ok && result.booking.delivery).toEqual(delivery);
  });

  it('keeps notes only when they say something', () => {
    const withNotes = createBooking(parseRequest({ ...requestBody(), notes: '  Schlüssel beim Pförtner  ' }), context);
    expect(withNotes.ok && withNotes.booking.notes).toBe('Schlüssel beim Pförtner');
    const blank = createBooking(parseRequest({ ...requestBody(), notes: '   ' }), context);
    expect(blank.ok && 'notes' in blank.booking).toBe(false);
  });

  it('reports an unknown service and every slot problem with request paths', () => {
    const body = requestBody();
    body.serviceType = 'teleportation';
    body.pickup = { ...(body.pickup as object), slotStart: '2025-06-01T09:00:00+02:00', slotEnd: '2025-06-01T08:00:00+02:00' }; // a Sunday, backwards, past
    const result = createBooking(parseRequest(body), context);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('BOOKING_REJECTED');
    expect(result.error.problems.map((problem) => [problem.code, problem.path])).toEqual([
      ['UNKNOWN_SERVICE', 'serviceType'],
      ['END_NOT_AFTER_START', 'pickup.slotEnd'],
      ['START_IN_PAST', 'pickup.slotStart'],
      ['CLOSED_DAY', 'pickup.slotStart'],
    ]);
  });
});

// ---- the request schema

describe('createBookingRequestSchema', () => {
  const withField = (path: string[], value: unknown) => {
    const body = structuredClone(requestBody());
    let target = body as Record<string, unknown>;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[path.at(-1) as string] = value;
    return body;
  };

  it('defaults the language to German and normalises phone and plate', () => {
    const parsed = parseRequest(withField(['vehicle', 'licensePlate'], ' mü-x 1e '));
    expect(parsed.customer).toMatchObject({ language: 'de', phone: '+491711234567' });
    expect(parsed.vehicle.licensePlate).toBe('MÜ-X 1E');
    expect(parseRequest(withField(['customer', 'language'], 'en')).customer.language).toBe('en');
  });

  it.each([
    [['extra'], 1],
    [['customer', 'extra'], 1],
    [['vehicle', 'year'], 2019],
    [['pickup', 'extra'], 1],
    [['pickup', 'address', 'lat'], 52.5],
  ])('refuses the unknown field %j', (path, value) => {
    expect(createBookingRequestSchema.safeParse(withField(path, value)).success).toBe(false);
  });

  it.each([
    [['customer', 'email'], 'not-an-email'],
    [['customer', 'name'], '   '],
    [['customer', 'name'], 'x'.repeat(101)],
    [['customer', 'language'], 'fr'],
    [['customer', 'phone'], '0171 1234567'],
    [['customer', 'phone'], '+49 (0)171 1234567'],
    [['customer', 'phone'], '+49 171'],
    [['pickup', 'address', 'zip'], '123'],
    [['pickup', 'address', 'zip'], '10115!'],
    [['pickup', 'address', 'zip'], '12345678901'],
    [['pickup', 'slotStart'], '2025-06-03T09:00:00'],
    [['pickup', 'slotStart'], '2025-02-30T09:00:00+01:00'],
    [['pickup', 'slotStart'], 1748934000000],
    [['serviceType'], 'Oil Change'],
    [['notes'], 'x'.repeat(2001)],
    [['vehicle', 'licensePlate'], 'M_AB<1234>'],
  ])('refuses %j = %j', (path, value) => {
    expect(createBookingRequestSchema.safeParse(withField(path, value)).success).toBe(false);
  });

  it.each([
    [['customer', 'phone'], '+491711234567'],
    [['customer', 'phone'], '+43-664-1234567'],
    [['pickup', 'address', 'zip'], '1010'],
    [['pickup', 'address', 'zip'], 'SW1A 1AA'],
    [['pickup', 'slotStart'], '2025-06-03T07:00:00.000Z'],
  ])('accepts %j = %j', (path, value) => {
    expect(createBookingRequestSchema.safeParse(withField(path, value)).success).toBe(true);
  });

  // The text rule (issue 9): a NUL in a name was stored, paid and then failed every Odoo sync; a lone
  // surrogate answered 500. Every free-text field refuses both, naming the field.
  const TEXT_FIELDS: string[][] = [
    ['customer', 'name'],
    ['vehicle', 'brand'],
    ['vehicle', 'model'],
    ['pickup', 'address', 'street'],
    ['pickup', 'address', 'city'],
    ['notes'],
  ];
  it.each(
    TEXT_FIELDS.flatMap((path) => [
      [path, 'Erika\u0000Mustermann'],
      [path, 'Erika\u0007Mustermann'],
      [path, 'Erika\u009fMustermann'],
      [path, 'Erika \ud800Mustermann'],
      [path, 'Erika \udfffMustermann'],
    ]),
  )('refuses %j holding %j (control character or lone surrogate), naming the field', (path, value) => {
    const parsed = createBookingRequestSchema.safeParse(withField(path, value));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual([path.join('.')]);
  });

  it('refuses line breaks in one-line text, allows tab and line breaks in the notes', () => {
    for (const path of TEXT_FIELDS.slice(0, -1)) {
      expect(createBookingRequestSchema.safeParse(withField(path, 'Erika\nMustermann')).success, path.join('.')).toBe(false);
      expect(createBookingRequestSchema.safeParse(withField(path, 'Erika\tMustermann')).success, path.join('.')).toBe(false);
    }
    expect(parseRequest(withField(['notes'], 'Schlüssel:\n\tbeim Pförtner\r\n')).notes).toBe('Schlüssel:\n\tbeim Pförtner');
    const delivery = { address: { street: 'Haupt\u0000str. 1', zip: '10117', city: 'Berlin' } };
    expect(createBookingRequestSchema.safeParse({ ...requestBody(), delivery }).error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'delivery.address.street',
    ]);
  });

  it('normalises free text to NFC and keeps emoji and other pairs of surrogates', () => {
    const decomposed = 'Jo\u0308rg Mu\u0308ller 🚗';
    const parsed = parseRequest(withField(['customer', 'name'], decomposed));
    expect(parsed.customer.name).toBe('Jörg Müller 🚗');
    expect(parsed.customer.name).toBe(decomposed.normalize('NFC'));
  });

  it('requires the contract fields', () => {
    for (const key of ['customer', 'vehicle', 'serviceType', 'pickup']) {
      const body = requestBody();
      delete body[key];
      expect(createBookingRequestSchema.safeParse(body).success).toBe(false);
    }
  });
});

// ---- findings

describe('findings', () => {
  const at = new Date('2025-06-04T10:00:00Z');
  const request = findingRequestSchema.parse({ description: 'Bremsbeläge vorne verschlissen', priceCents: 18900 });

  function withFinding(status: BookingStatus = 'IN_WORKSHOP'): { booking: Booking; finding: Finding } {
    const added = addFinding(bookingIn('IN_WORKSHOP'), request, { id: 'f_1', now: at });
    if (!added.ok) throw new Error('fixture finding refused');
    return { booking: { ...added.booking, status }, finding: added.finding };
  }

  it.each(BOOKING_STATUSES.map((status) => [status, status === 'IN_WORKSHOP'] as const))('a booking in %s accepts findings: %s', (status, accepted) => {
    const result = addFinding(bookingIn(status), request, { id: 'f_1', now: at });
    if (accepted) {
      expect(result).toMatchObject({ ok: true, finding: { id: 'f_1', status: 'PENDING_APPROVAL', priceCents: 18900, currency: 'EUR' } });
      expect(result.ok && result.booking.findings).toHaveLength(1);
    } else {
      expect(result).toEqual({ ok: false, error: { code: 'BOOKING_NOT_IN_WORKSHOP', status } });
    }
  });

  it('holds at most FINDING_LIMITS.perBooking findings: the next one is refused as a value', () => {
    let booking = bookingIn('IN_WORKSHOP');
    for (let i = 1; i <= FINDING_LIMITS.perBooking; i++) {
      const added = addFinding(booking, request, { id: `f_${i}`, now: at });
      if (!added.ok) throw new Error(`finding ${i} refused: ${JSON.stringify(added.error)}`);
      booking = added.booking;
    }
    expect(FINDING_LIMITS.perBooking).toBe(20);
    expect(addFinding(booking, request, { id: 'f_21', now: at })).toEqual({ ok: false, error: { code: 'TOO_MANY_FINDINGS', limit: 20 } });
    // Answering the findings it holds goes on as before.
    expect(approveFinding(booking, 'f_20', at)).toMatchObject({ ok: true, finding: { id: 'f_20', status: 'APPROVED' } });
  });

  it('keeps the largest booking the API can make far below what its Table Storage entity holds', () => {
    // Every text at its maximum, made of the characters JSON escapes to two (quotes, backslashes, line breaks).
    const worst = (max: number) => '"\\'.repeat(max).slice(0, max);
    const address = { street: worst(120), zip: '12345-6789', city: worst(80) };
    let booking: Booking = bookingSchema.parse({
      ...bookingIn('IN_WORKSHOP'),
      customer: { name: worst(100), email: `${'e'.repeat(64)}@${'d'.repeat(180)}.de`, phone: '+491711234567890', language: 'de' },
      vehicle: { brand: worst(50), model: worst(80), licensePlate: 'M-AB 1234' },
      pickup: { ...bookingIn('IN_WORKSHOP').pickup, address },
      delivery: { address },
      notes: '\n'.repeat(2000),
    });
    const description = findingRequestSchema.parse({ description: `x${'"\n'.repeat(499)}x`, priceCents: 99_999_999 });
    for (let i = 1; i <= FINDING_LIMITS.perBooking; i++) {
      const added = addFinding(booking, description, { id: `finding-${'0'.repeat(80)}-${i}`, now: at });
      if (!added.ok) throw new Error('refused');
      const approved = approveFinding(added.booking, added.finding.id, at);
      if (!approved.ok) throw new Error('refused');
      const failed = recordFindingPayment(
        approved.booking,
        added.finding.id,
        { status: 'PAYMENT_FAILED', paymentIntentId: `pi_${'9'.repeat(60)}`, failureReason: 'x'.repeat(500) },
        at,
      );
      if (!failed.ok) throw new Error('refused');
      booking = failed.booking;
    }
    const json = JSON.stringify(bookingSchema.parse(booking));
    // The aggregate store spreads a state over at most 12 properties of 32,000 characters (384,000).
    expect(json.length).toBeLessThan(100_000);
  });

  it('validates the workshop request', () => {
    expect(findingRequestSchema.safeParse({ description: 'x', priceCents: 10.5 }).success).toBe(false);
    expect(findingRequestSchema.safeParse({ description: 'x', priceCents: 49 }).success).toBe(false);
    expect(findingRequestSchema.safeParse({ description: ' ', priceCents: 1000 }).success).toBe(false);
    expect(findingRequestSchema.safeParse({ description: 'x', priceCents: 1000, status: 'PAID' }).success).toBe(false);
  });

  it('takes the description under the text rule: several lines yes, control characters and lone surrogates no', () => {
    expect(findingRequestSchema.parse({ description: ' Bremsen:\n\t- vorne verschlissen ', priceCents: 1000 }).description).toBe(
      'Bremsen:\n\t- vorne verschlissen',
    );
    for (const description of ['Brems\u0000beläge', 'Brems\u001bbeläge', 'Brems\ud83dbeläge', 'x'.repeat(1001)]) {
      const parsed = findingRequestSchema.safeParse({ description, priceCents: 1000 });
      expect(parsed.success, JSON.stringify(description)).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['description']);
    }
  });

  it('approves once; a second approval is a typed "already approved"', () => {
    const { booking } = withFinding();
    const first = approveFinding(booking, 'f_1', at);
    expect(first).toMatchObject({ ok: true, finding: { status: 'APPROVED' } });
    if (!first.ok) return;
    expect(first.booking.version).toBe(booking.version + 1);
    expect(approveFinding(first.booking, 'f_1', at)).toMatchObject({ ok: false, error: { code: 'ALREADY_APPROVED', finding: { status: 'APPROVED' } } });
    // Still "already approved" after the car left the workshop, so a late double tap never charges.
    expect(approveFinding({ ...first.booking, status: 'DELIVERED' }, 'f_1', at)).toMatchObject({ ok: false, error: { code: 'ALREADY_APPROVED' } });
  });

  it('declines only a pending finding', () => {
    const { booking } = withFinding();
    const declined = declineFinding(booking, 'f_1', at);
    expect(declined).toMatchObject({ ok: true, finding: { status: 'DECLINED' } });
    if (!declined.ok) return;
    expect(declineFinding(declined.booking, 'f_1', at)).toMatchObject({ ok: false, error: { code: 'ALREADY_DECLINED' } });
    expect(approveFinding(declined.booking, 'f_1', at)).toMatchObject({ ok: false, error: { code: 'ALREADY_DECLINED' } });
    const approved = approveFinding(booking, 'f_1', at);
    if (!approved.ok) throw new Error('approve refused');
    expect(declineFinding(approved.booking, 'f_1', at)).toMatchObject({ ok: false, error: { code: 'ALREADY_APPROVED' } });
  });

  it('answers a pending finding only while the car is in the workshop', () => {
    const { booking } = withFinding('READY_FOR_DELIVERY');
    expect(approveFinding(booking, 'f_1', at)).toEqual({ ok: false, error: { code: 'BOOKING_NOT_IN_WORKSHOP', status: 'READY_FOR_DELIVERY' } });
    expect(declineFinding(booking, 'f_1', at)).toEqual({ ok: false, error: { code: 'BOOKING_NOT_IN_WORKSHOP', status: 'READY_FOR_DELIVERY' } });
  });

  it('reports an unknown finding', () => {
    expect(approveFinding(withFinding().booking, 'nope', at)).toEqual({ ok: false, error: { code: 'FINDING_NOT_FOUND', findingId: 'nope' } });
  });

  it('follows the charge: requires action, then paid; duplicates and stale outcomes change nothing', () => {
    const approved = approveFinding(withFinding().booking, 'f_1', at);
    if (!approved.ok) throw new Error('approve refused');
    const action = recordFindingPayment(approved.booking, 'f_1', { status: 'REQUIRES_ACTION', paymentIntentId: 'pi_1' }, at);
    expect(action).toMatchObject({ ok: true, finding: { status: 'REQUIRES_ACTION', paymentIntentId: 'pi_1' } });
    if (!action.ok) return;
    expect(action.finding).not.toHaveProperty('clientSecret');
    expect(recordFindingPayment(action.booking, 'f_1', { status: 'REQUIRES_ACTION', paymentIntentId: 'pi_1' }, at)).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_IN_STATE' },
    });
    const paid = recordFindingPayment(action.booking, 'f_1', { status: 'PAID', paymentIntentId: 'pi_1' }, at);
    expect(paid).toMatchObject({ ok: true, finding: { status: 'PAID' } });
    if (!paid.ok) return;
    expect(recordFindingPayment(paid.booking, 'f_1', { status: 'PAYMENT_FAILED', failureReason: 'card_declined' }, at)).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN_FINDING_TRANSITION', from: 'PAID', to: 'PAYMENT_FAILED' },
    });
  });

  it('records a failure reason and clears it on a later success', () => {
    const approved = approveFinding(withFinding().booking, 'f_1', at);
    if (!approved.ok) throw new Error('approve refused');
    const failed = recordFindingPayment(approved.booking, 'f_1', { status: 'PAYMENT_FAILED', paymentIntentId: 'pi_2', failureReason: 'card_declined' }, at);
    expect(failed).toMatchObject({ ok: true, finding: { status: 'PAYMENT_FAILED', failureReason: 'card_declined' } });
    if (!failed.ok) return;
    const paid = recordFindingPayment(failed.booking, 'f_1', { status: 'PAID', paymentIntentId: 'pi_2' }, at);
    expect(paid.ok && paid.finding).toMatchObject({ status: 'PAID', paymentIntentId: 'pi_2' });
    expect(paid.ok && paid.finding).not.toHaveProperty('failureReason');
  });

  it('cannot record a charge for a finding nobody approved', () => {
    expect(recordFindingPayment(withFinding().booking, 'f_1', { status: 'PAID', paymentIntentId: 'pi_1' }, at)).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN_FINDING_TRANSITION', from: 'PENDING_APPROVAL', to: 'PAID' },
    });
  });
});

// ---- cancellation and its refund

describe('cancellation refunds', () => {
  const at = new Date('2025-06-02T09:00:00Z');
  const paid = (status: BookingStatus = 'CONFIRMED'): Booking => ({
    ...bookingIn(status),
    payment: { status: 'succeeded', paymentIntentId: 'pi_1', stripeCustomerId: 'cus_1', paymentMethodId: 'pm_1' },
  });
  const later = new Date(at.getTime() + 60_000);
  const reservedOn = (booking: Booking) => {
    const cancelled = cancelBooking(booking, causes.customer(), at);
    if (!cancelled.ok) throw new Error('fixture cancellation refused');
    return cancelled.booking;
  };

  it('reserves the refund of a paid booking in the change that cancels it, with its history row', () => {
    const result = cancelBooking(paid(), causes.api('backoffice'), at);
    expect(result).toEqual({
      ok: true,
      booking: {
        ...paid(),
        status: 'CANCELLED',
        payment: { ...paid().payment, refund: { status: 'reserved', reservedAt: at.toISOString(), updatedAt: at.toISOString() } },
        updatedAt: at.toISOString(),
        version: paid().version + 1,
      },
      history: { from: 'CONFIRMED', to: 'CANCELLED', at: at.toISOString(), cause: 'api:backoffice' },
    });
    expect(bookingSchema.parse(result.ok && result.booking)).toEqual(result.ok && result.booking);
  });

  it('reserves nothing for an unpaid or already refunded booking, and refuses once the car is picked up', () => {
    expect(cancelBooking(bookingIn('PENDING_PAYMENT'), causes.customer(), at)).toMatchObject({
      ok: true,
      booking: { status: 'CANCELLED', payment: { status: 'pending' } },
    });
    const unpaid = cancelBooking(bookingIn('PENDING_PAYMENT'), causes.customer(), at);
    expect(unpaid.ok && unpaid.booking.payment.refund).toBeUndefined();
    const refunded = cancelBooking({ ...paid(), payment: { ...paid().payment, status: 'refunded' } }, causes.customer(), at);
    expect(refunded.ok && refunded.booking.payment.refund).toBeUndefined();
    expect(cancelBooking(paid('IN_WORKSHOP'), causes.customer(), at)).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN_TRANSITION', from: 'IN_WORKSHOP', to: 'CANCELLED' },
    });
  });

  it('reserves the refund of a cancelled booking found paid after all, once', () => {
    const cancelled = reservedOn({ ...bookingIn('PENDING_PAYMENT'), payment: { status: 'failed', paymentIntentId: 'pi_1', failureReason: 'card_declined' } });
    const reserved = reserveRefund(cancelled, later);
    expect(reserved.payment).toEqual({
      status: 'succeeded',
      paymentIntentId: 'pi_1',
      refund: { status: 'reserved', reservedAt: later.toISOString(), updatedAt: later.toISOString() },
    });
    expect(reserveRefund(reserved, later)).toBe(reserved);
    expect(reserveRefund(paid(), later)).toEqual(paid());
  });

  it('records a refund that went through: the payment is refunded, and a refund flag of its own is cleared', () => {
    const failed = recordRefund(reservedOn(paid()), { status: 'failed', failureReason: 'unavailable: Stripe down' }, at);
    if (!failed.ok) throw new Error('expected the failure recorded');
    expect(failed.booking.flags).toEqual({
      needsAttention: true,
      attentionReason: 'refund failed: unavailable: Stripe down',
      attentionSince: at.toISOString(),
    });
    expect(failed.booking.payment).toMatchObject({ status: 'succeeded', refund: { status: 'failed', failureReason: 'unavailable: Stripe down' } });
    expect(isRefunded(failed.booking.payment)).toBe(false);

    const done = recordRefund(failed.booking, { status: 'succeeded', refundId: 're_1' }, later);
    expect(done).toMatchObject({ ok: true, refund: { status: 'succeeded', refundId: 're_1' } });
    if (!done.ok) return;
    expect(done.booking.payment.status).toBe('refunded');
    expect(done.booking.payment.refund?.failureReason).toBeUndefined();
    expect(done.booking.flags).toEqual({});
    expect(isRefunded(done.booking.payment)).toBe(true);

    // Somebody else's flag stays.
    const flagged = { ...reservedOn(paid()), flags: { needsAttention: true, attentionReason: 'pickup trip failed: nobody home' } };
    const kept = recordRefund(flagged, { status: 'succeeded' }, later);
    expect(kept.ok && kept.booking.flags).toEqual(flagged.flags);
  });

  it('never moves a refund back from succeeded, nor to failed from pending on a request error alone', () => {
    const booking = reservedOn(paid());
    const succeeded = recordRefund(booking, { status: 'succeeded', refundId: 're_1' }, at);
    if (!succeeded.ok) throw new Error('expected success recorded');
    for (const outcome of [{ status: 'failed', failureReason: 'x' }, { status: 'pending' }, { status: 'succeeded' }] as const) {
      expect(recordRefund(succeeded.booking, outcome, later)).toMatchObject({ ok: false, error: { code: 'ALREADY_RECORDED' } });
    }
    const pending = recordRefund(booking, { status: 'pending', refundId: 're_1' }, at);
    if (!pending.ok) throw new Error('expected pending recorded');
    expect(isRefunded(pending.booking.payment)).toBe(true);
    expect(recordRefund(pending.booking, { status: 'failed', failureReason: 'idempotency_key_in_use' }, later)).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_RECORDED' },
    });
    // Stripe's own word about the refund it accepted does fail it.
    expect(recordRefund(pending.booking, { status: 'failed', refundId: 're_1', failureReason: 'expired_or_canceled_card' }, later)).toMatchObject({
      ok: true,
      booking: { payment: { status: 'succeeded', refund: { status: 'failed' } }, flags: { needsAttention: true } },
    });
    expect(recordRefund(pending.booking, { status: 'succeeded', refundId: 're_other' }, later)).toEqual({ ok: false, error: { code: 'OTHER_REFUND' } });
    expect(recordRefund(paid(), { status: 'succeeded' }, later)).toEqual({ ok: false, error: { code: 'NO_REFUND' } });
  });

  it("reads Stripe's refund statuses", () => {
    expect(refundOutcomeOf('succeeded', 're_1')).toEqual({ status: 'succeeded', refundId: 're_1' });
    expect(refundOutcomeOf('pending', 're_1')).toEqual({ status: 'pending', refundId: 're_1' });
    expect(refundOutcomeOf('requires_action', 're_1')).toEqual({ status: 'pending', refundId: 're_1' });
    expect(refundOutcomeOf('failed', 're_1')).toMatchObject({ status: 'failed', refundId: 're_1' });
    expect(refundOutcomeOf('canceled', 're_1')).toMatchObject({ status: 'failed', refundId: 're_1' });
  });
});

// ---- ids

describe('idSchema', () => {
  it('takes our ids (UUIDs, test ids) and nothing that is text', () => {
    for (const id of ['0b7c6a1e-3f1d-4c52-9a4e-1d2f3a4b5c6d', 'bk_1', 'f-1', 'trp_abc', 'a.b:c~d']) expect(isId(id), id).toBe(true);
    for (const id of ['', ' bk', 'bk\u0000', 'bk\n', 'bk\ud800', '\udc00', 'bk/1', 'bk 1', 'bk%2F', '../x', 'x'.repeat(101), 'bük']) {
      expect(idSchema.safeParse(id).success, JSON.stringify(id)).toBe(false);
    }
    expect(isId(undefined)).toBe(false);
    expect(isId(42)).toBe(false);
  });
});

// ---- opening hours

/** The codes of a check, [] when the slot is fine. */
function codes(check: SlotCheck): string[] {
  return check.ok ? [] : check.reasons.map((reason) => reason.code);
}

describe('checkSlot', () => {
  const rules: SlotRules = DEFAULT_SLOT_RULES;
  const slot = (start: string, end: string, now = '2025-03-20T00:00:00Z', hours: OpeningHours = DEFAULT_OPENING_HOURS, r = rules) =>
    codes(checkSlot(hours, new Date(start), new Date(end), new Date(now), r));

  // DST starts Sunday 30 March 2025 at 02:00 CET: 07:00 local is 06:00Z before, 05:00Z after.
  it.each([
    ['Fri 28 Mar 18:00–19:00 CET', '2025-03-28T17:00:00Z', '2025-03-28T18:00:00Z', []],
    ['Sat 29 Mar 07:00–08:00 CET', '2025-03-29T06:00:00Z', '2025-03-29T07:00:00Z', []],
    ['Sat 29 Mar 06:00–07:00 CET', '2025-03-29T05:00:00Z', '2025-03-29T06:00:00Z', ['OUTSIDE_OPENING_HOURS']],
    ['Sun 30 Mar 10:00–11:00 CEST', '2025-03-30T08:00:00Z', '2025-03-30T09:00:00Z', ['CLOSED_DAY']],
    ['Mon 31 Mar 07:00–08:00 CEST', '2025-03-31T05:00:00Z', '2025-03-31T06:00:00Z', []],
    ['Mon 31 Mar 06:30–07:30 CEST', '2025-03-31T04:30:00Z', '2025-03-31T05:30:00Z', ['OUTSIDE_OPENING_HOURS']],
    ['Mon 31 Mar 18:00–19:00 CEST', '2025-03-31T16:00:00Z', '2025-03-31T17:00:00Z', []],
    ['Mon 31 Mar 19:00–20:00 CEST', '2025-03-31T17:00:00Z', '2025-03-31T18:00:00Z', ['OUTSIDE_OPENING_HOURS', 'OUTSIDE_OPENING_HOURS']],
  ])('March DST week: %s -> %j', (_name, start, end, expected) => {
    expect(slot(start, end)).toEqual(expected);
  });

  // DST ends Sunday 26 October 2025 at 03:00 CEST: 07:00 local is 05:00Z before, 06:00Z after.
  it.each([
    ['Sat 25 Oct 07:00–08:00 CEST', '2025-10-25T05:00:00Z', '2025-10-25T06:00:00Z', []],
    ['Sat 25 Oct 18:00–19:00 CEST', '2025-10-25T16:00:00Z', '2025-10-25T17:00:00Z', []],
    ['Sat 25 Oct 18:30–19:30 CEST', '2025-10-25T16:30:00Z', '2025-10-25T17:30:00Z', ['OUTSIDE_OPENING_HOURS']],
    ['Sun 26 Oct 10:00–11:00 CET', '2025-10-26T09:00:00Z', '2025-10-26T10:00:00Z', ['CLOSED_DAY']],
    ['Mon 27 Oct 06:00–07:00 CET', '2025-10-27T05:00:00Z', '2025-10-27T06:00:00Z', ['OUTSIDE_OPENING_HOURS']],
    ['Mon 27 Oct 07:00–08:00 CET', '2025-10-27T06:00:00Z', '2025-10-27T07:00:00Z', []],
    ['Mon 27 Oct 18:00–19:00 CET', '2025-10-27T17:00:00Z', '2025-10-27T18:00:00Z', []],
  ])('October DST week: %s -> %j', (_name, start, end, expected) => {
    expect(slot(start, end, '2025-10-20T00:00:00Z')).toEqual(expected);
  });

  // Zones whose offsets are not whole hours, east and west, with and without DST: opening at 07:00 local.
  it.each([
    ['Asia/Kolkata (+05:30), Mon 07:00', '2025-03-31T01:30:00Z', []],
    ['Asia/Kolkata (+05:30), Mon 06:30', '2025-03-31T01:00:00Z', ['OUTSIDE_OPENING_HOURS']],
    ['America/St_Johns (NST −03:30), Mon 13 Jan 07:00', '2025-01-13T10:30:00Z', []],
    ['America/St_Johns (NST −03:30), Mon 13 Jan 06:59', '2025-01-13T10:29:00Z', ['OUTSIDE_OPENING_HOURS']],
    ['America/St_Johns (NDT −02:30), Mon 14 Jul 07:00', '2025-07-14T09:30:00Z', []],
    ['Australia/Lord_Howe (+11:00 DST), Mon 13 Jan 07:00', '2025-01-12T20:00:00Z', []],
    ['Australia/Lord_Howe (+10:30), Mon 14 Jul 07:00', '2025-07-13T20:30:00Z', []],
    ['Australia/Lord_Howe (+10:30), Sun 13 Jul 07:00', '2025-07-12T20:30:00Z', ['CLOSED_DAY']],
  ])('%s', (name, start, expected) => {
    const timeZone = name.split(' ')[0] as string;
    const hours = { ...DEFAULT_OPENING_HOURS, timeZone };
    const end = new Date(new Date(start).getTime() + 3_600_000).toISOString();
    expect(slot(start, end, new Date(new Date(start).getTime() - 86_400_000).toISOString(), hours)).toEqual(expected);
  });

  it('accepts offsets other than UTC for the same instant', () => {
    expect(slot('2025-03-31T07:00:00+02:00', '2025-03-31T08:00:00+02:00')).toEqual([]);
    expect(slot('2025-03-31T01:00:00-04:00', '2025-03-31T02:00:00-04:00')).toEqual([]); // = 07:00 CEST
  });

  it('judges in the configured time zone', () => {
    const newYork: OpeningHours = { ...DEFAULT_OPENING_HOURS, timeZone: 'America/New_York' };
    // 13:00Z on Monday 31 March is 09:00 in New York (EDT) but 15:00 in Berlin: fine in both ...
    expect(slot('2025-03-31T13:00:00Z', '2025-03-31T14:00:00Z', undefined, newYork)).toEqual([]);
    // ... while 06:00Z is 08:00 in Berlin but 02:00 in New York.
    expect(slot('2025-03-31T06:00:00Z', '2025-03-31T07:00:00Z', undefined, newYork)).toEqual(['OUTSIDE_OPENING_HOURS']);
    expect(slot('2025-03-31T06:00:00Z', '2025-03-31T07:00:00Z')).toEqual([]);
  });

  it('needs the lead time and refuses the past', () => {
    const now = '2025-06-02T08:00:00Z'; // Monday 10:00 CEST; default lead 120 min
    expect(slot('2025-06-02T09:59:00Z', '2025-06-02T11:00:00Z', now)).toEqual(['LEAD_TIME_TOO_SHORT']);
    expect(slot('2025-06-02T10:00:00Z', '2025-06-02T11:00:00Z', now)).toEqual([]);
    expect(slot('2025-06-02T07:59:59Z', '2025-06-02T09:00:00Z', now)).toEqual(['START_IN_PAST']);
    expect(slot('2025-06-02T09:00:00Z', '2025-06-02T10:00:00Z', now, DEFAULT_OPENING_HOURS, { ...rules, minLeadMinutes: 0 })).toEqual([]);
  });

  it('refuses a slot that ends before it starts, lasts too long or lies too far ahead', () => {
    expect(slot('2025-03-31T08:00:00Z', '2025-03-31T08:00:00Z')).toEqual(['END_NOT_AFTER_START']);
    expect(slot('2025-03-31T06:00:00Z', '2025-03-31T10:00:00Z')).toEqual([]); // exactly the 240 minutes allowed
    expect(slot('2025-03-31T06:00:00Z', '2025-03-31T10:00:01Z')).toEqual(['SLOT_TOO_LONG']);
    expect(slot('2025-06-17T08:00:00Z', '2025-06-17T09:00:00Z')).toEqual([]); // 89 days 8 hours after 20 March
    expect(slot('2025-06-18T08:00:00Z', '2025-06-18T09:00:00Z')).toEqual(['TOO_FAR_AHEAD']); // 90 days 8 hours
  });

  it('refuses a slot spanning two days, but one ending at midnight stays on its day', () => {
    const allDay = parseOpeningHours('Mon-Sun 00:00-24:00');
    if (!allDay.ok) throw new Error('hours refused');
    expect(slot('2025-03-31T20:00:00Z', '2025-03-31T22:00:00Z', undefined, allDay.value)).toEqual([]); // 22:00–24:00 CEST
    expect(slot('2025-03-31T21:00:00Z', '2025-03-31T23:00:00Z', undefined, allDay.value)).toEqual(['SPANS_DAYS']);
  });

  it('lists every reason at once with the field it concerns', () => {
    const check = checkSlot(DEFAULT_OPENING_HOURS, new Date('2025-03-30T10:00:00Z'), new Date('2025-03-30T09:00:00Z'), new Date('2025-04-01T00:00:00Z'), rules);
    expect(check).toEqual({
      ok: false,
      reasons: [
        expect.objectContaining({ code: 'END_NOT_AFTER_START', field: 'slotEnd' }),
        expect.objectContaining({ code: 'START_IN_PAST', field: 'slotStart' }),
        expect.objectContaining({ code: 'CLOSED_DAY', field: 'slotStart', message: 'Closed on Sunday (Europe/Berlin)' }),
      ],
    });
  });

  it('throws on an invalid Date, which only a bug can produce', () => {
    expect(() => checkSlot(DEFAULT_OPENING_HOURS, new Date('nope'), new Date(), new Date(), rules)).toThrow(RangeError);
  });
});

describe('parseOpeningHours', () => {
  it('reads the compact form; days not named are closed', () => {
    const parsed = parseOpeningHours('Mon-Fri 07:00-19:00; Sat 08:00-14:00');
    expect(parsed).toEqual({
      ok: true,
      value: {
        timeZone: 'Europe/Berlin',
        days: {
          mon: { open: '07:00', close: '19:00' },
          tue: { open: '07:00', close: '19:00' },
          wed: { open: '07:00', close: '19:00' },
          thu: { open: '07:00', close: '19:00' },
          fri: { open: '07:00', close: '19:00' },
          sat: { open: '08:00', close: '14:00' },
          sun: null,
        },
      },
    });
  });

  it('matches the documented default', () => {
    expect(parseOpeningHours('Mon-Sat 07:00-19:00')).toEqual({ ok: true, value: DEFAULT_OPENING_HOURS });
  });

  it('reads day lists, wrapping ranges, any case and another time zone', () => {
    const parsed = parseOpeningHours('mon,WED 08:00-12:00;Sat-Sun 10:00-16:00', 'Europe/Vienna');
    expect(parsed.ok && parsed.value.timeZone).toBe('Europe/Vienna');
    expect(
      parsed.ok &&
        Object.entries(parsed.value.days)
          .filter(([, day]) => day)
          .map(([name]) => name),
    ).toEqual(['mon', 'wed', 'sat', 'sun']);
    const wrapping = parseOpeningHours('Sat-Mon 09:00-13:00');
    expect(
      wrapping.ok &&
        Object.entries(wrapping.value.days)
          .filter(([, day]) => day)
          .map(([name]) => name),
    ).toEqual(['mon', 'sat', 'sun']);
  });

  it.each([
    ['', ''],
    ['Mon-Fri', '0'],
    ['Mon-Fri 7-19', '0'],
    ['Mon-Fri 25:00-26:00', '0'],
    ['Mon-Fri 19:00-07:00', '0'],
    ['Mon-Frx 07:00-19:00', '0'],
    ['Mon-Fri 07:00-19:00; Fri 08:00-12:00', '1'],
  ])('refuses %j', (spec, path) => {
    const parsed = parseOpeningHours(spec);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error.issues.map((issue) => issue.path)).toContain(path);
  });

  it.each(['Europe/Vienna', 'UTC', 'Europe/Kiev', 'US/Eastern'])('takes the time zone %s (canonical names and the aliases the runtime knows)', (timeZone) => {
    const parsed = parseOpeningHours('Mon 07:00-19:00', timeZone);
    expect(parsed.ok && parsed.value.timeZone).toBe(timeZone);
  });

  it('refuses an unknown time zone', () => {
    expect(parseOpeningHours('Mon 07:00-19:00', 'Europe/Atlantis')).toEqual({
      ok: false,
      error: { code: 'INVALID_OPENING_HOURS', issues: [{ path: 'timeZone', message: 'Unknown time zone' }] },
    });
  });
});

describe('trips in the history, and their withdrawal', () => {
  it('names a trip row by leg and Driver-App trip id, and reads the name back (ids may hold colons)', () => {
    expect(tripSubject('pickup', 'trp_1')).toBe('pickup:trp_1');
    expect(tripSubject('delivery', undefined)).toBe('delivery');
    expect(parseTripSubject('pickup:trp:with:colons')).toEqual({ leg: 'pickup', tripId: 'trp:with:colons' });
    expect(parseTripSubject('delivery')).toEqual({ leg: 'delivery' });
    expect(parseTripSubject('elsewhere:trp_1')).toBeUndefined();
  });

  it('withdraws only trips the Driver-App accepted that are not over, with one trip row each', () => {
    const at = '2026-11-24T08:00:00.000Z';
    const withdrawal = withdrawTrips({ pickup: { tripId: 'trp_1', status: 'in_progress' }, delivery: { status: 'assigned' } }, causes.customer(), at);

    expect(withdrawal.trips).toEqual({ pickup: { tripId: 'trp_1', status: 'cancelled' }, delivery: { status: 'assigned' } });
    expect(withdrawal.withdrawn).toEqual([{ leg: 'pickup', tripId: 'trp_1' }]);
    expect(withdrawal.history).toEqual([{ machine: 'trip', subject: 'pickup:trp_1', from: 'in_progress', to: 'cancelled', at, cause: 'customer' }]);
    for (const status of ['pickup_completed', 'cancelled'] as const) {
      expect(withdrawTrips({ pickup: { tripId: 'trp_1', status } }, causes.customer(), at).withdrawn).toEqual([]);
    }
    expect(withdrawTrips(undefined, causes.customer(), at)).toEqual({ trips: undefined, withdrawn: [], history: [] });
  });

  it('takes no report for a withdrawn trip', () => {
    const update = { leg: 'pickup' as const, tripId: 'trp_1', status: 'pickup_completed' as const, occurredAt: '2026-11-24T09:00:00.000Z', sequence: 9 };

    expect(isNewer({ tripId: 'trp_1', status: 'cancelled', sequence: 1 }, update)).toBe(false);
  });

  it('adds an attention reason after one already there, once, keeping when the booking went on the list', () => {
    const t1 = '2026-11-24T09:00:00.000Z';
    const t2 = '2026-11-25T09:00:00.000Z';
    expect(withAttention({}, 'late report', t1)).toEqual({ needsAttention: true, attentionReason: 'late report', attentionSince: t1 });
    const flagged = withAttention({ needsAttention: true, attentionReason: 'refund failed: x', attentionSince: t1 }, 'late report', t2);
    expect(flagged).toEqual({ needsAttention: true, attentionReason: 'refund failed: x; late report', attentionSince: t1 });
    expect(withAttention(flagged, 'late report', t2)).toBe(flagged);
  });

  it('replaces the attention reason, keeping when the booking went on the list', () => {
    const t1 = '2026-11-24T09:00:00.000Z';
    const t2 = '2026-11-25T09:00:00.000Z';
    expect(flaggedFor({}, 'pickup trip failed', t2)).toEqual({ needsAttention: true, attentionReason: 'pickup trip failed', attentionSince: t2 });
    expect(flaggedFor({ needsAttention: true, attentionReason: 'x', attentionSince: t1 }, 'y', t2)).toEqual({
      needsAttention: true,
      attentionReason: 'y',
      attentionSince: t1,
    });
    // A resolved booking (flags cleared) starts a new stay on the list.
    expect(flaggedFor({}, 'y', t2).attentionSince).toBe(t2);
  });
});
