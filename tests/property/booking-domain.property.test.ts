import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBooking, createBookingRequestSchema, type Booking } from '../../slices/bookings/domain/booking';
import {
  BOOKING_STATUSES,
  causes,
  historyEntrySchema,
  transition,
  type BookingStatus,
  type Cause,
  type HistoryEntry,
} from '../../slices/bookings/domain/booking-status';
import { DEFAULT_CATALOGUE, priceOf } from '../../slices/bookings/domain/catalogue';
import { addFinding, approveFinding, declineFinding, recordFindingPayment, type FindingResult, type FindingStatus } from '../../slices/bookings/domain/finding';
import { DEFAULT_OPENING_HOURS, DEFAULT_SLOT_RULES } from '../../slices/bookings/domain/opening-hours';

// The graphs are written out again here, independently of the implementation, so a wrong edge there fails here.
const BOOKING_EDGES: Record<BookingStatus, BookingStatus[]> = {
  PENDING_PAYMENT: ['CONFIRMED', 'CANCELLED'],
  CONFIRMED: ['IN_WORKSHOP', 'CANCELLED'],
  IN_WORKSHOP: ['READY_FOR_DELIVERY'],
  READY_FOR_DELIVERY: ['DELIVERED'],
  DELIVERED: [],
  CANCELLED: [],
};

const FINDING_EDGES: Record<FindingStatus, FindingStatus[]> = {
  PENDING_APPROVAL: ['APPROVED', 'DECLINED'],
  APPROVED: ['PAID', 'REQUIRES_ACTION', 'PAYMENT_FAILED'],
  REQUIRES_ACTION: ['PAID', 'PAYMENT_FAILED'],
  PAYMENT_FAILED: ['PAID'],
  PAID: [],
  DECLINED: [],
};

const NOW = new Date('2025-06-02T08:00:00Z');
const context = { id: 'bk_prop', now: NOW, catalogue: DEFAULT_CATALOGUE, hours: DEFAULT_OPENING_HOURS, rules: DEFAULT_SLOT_RULES };

function created(): { booking: Booking; history: HistoryEntry } {
  const request = createBookingRequestSchema.parse({
    customer: { name: 'Max Mustermann', email: 'max@example.de', phone: '+49 30 1234567' },
    vehicle: { brand: 'BMW', model: '320d' },
    serviceType: 'brake-service',
    pickup: {
      address: { street: 'Alexanderplatz 1', zip: '10178', city: 'Berlin' },
      slotStart: '2025-06-03T08:00:00+02:00',
      slotEnd: '2025-06-03T10:00:00+02:00',
    },
  });
  const result = createBooking(request, context);
  if (!result.ok) throw new Error('fixture refused');
  return result;
}

const causeArb: fc.Arbitrary<Cause> = fc.oneof(
  fc.stringMatching(/^evt_[A-Za-z0-9]{1,20}$/).map(causes.stripe),
  fc.stringMatching(/^[a-z0-9-]{1,20}$/).map(causes.driver),
  fc.stringMatching(/^[a-z0-9-]{1,20}$/).map(causes.api),
  fc.constant(causes.customer()),
);

/** A step either names any status (mostly refused) or follows the n-th allowed edge, so long walks happen. */
const stepArb = fc.record({
  target: fc.oneof(fc.constantFrom(...BOOKING_STATUSES), fc.nat()),
  cause: causeArb,
  minutes: fc.integer({ min: 0, max: 60 * 24 * 3 }),
});

describe('booking status machine (property)', () => {
  it('never leaves the graph, and the history is a chain from null to the current status', () => {
    const reached = new Set<BookingStatus>();
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 25 }), (steps) => {
        const start = created();
        let booking = start.booking;
        let clock = NOW.getTime();
        const history: HistoryEntry[] = [start.history];
        for (const step of steps) {
          const allowed = BOOKING_EDGES[booking.status];
          const to = typeof step.target === 'number' ? (allowed[step.target % Math.max(allowed.length, 1)] ?? booking.status) : step.target;
          clock += step.minutes * 60_000;
          const before = structuredClone(booking);
          const result = transition(booking, to, step.cause, new Date(clock));
          expect(booking).toEqual(before); // a refused or applied transition never mutates its input
          if (result.ok) {
            expect(allowed).toContain(to);
            expect(result.history).toEqual({ from: before.status, to, at: new Date(clock).toISOString(), cause: step.cause });
            expect(result.booking.version).toBe(before.version + 1);
            booking = result.booking;
            history.push(result.history);
          } else {
            expect(result.error).toEqual({ code: to === before.status ? 'ALREADY_IN_STATE' : 'FORBIDDEN_TRANSITION', from: before.status, to });
            expect(allowed).not.toContain(to);
          }
        }
        reached.add(booking.status);
        expect(history[0]?.from).toBeNull();
        history.forEach((entry, index) => {
          expect(historyEntrySchema.safeParse(entry).success).toBe(true);
          if (index > 0) {
            const previous = history[index - 1] as HistoryEntry;
            expect(entry.from).toBe(previous.to);
            expect(BOOKING_EDGES[entry.from as BookingStatus]).toContain(entry.to);
          }
        });
        expect(history.at(-1)?.to).toBe(booking.status);
        expect(booking.version).toBe(history.length);
      }),
      { numRuns: 300 },
    );
    // The walks must actually get somewhere, or the property above proves little.
    expect(reached).toContain('DELIVERED');
    expect(reached).toContain('CANCELLED');
  });
});

const findingOpArb = fc.oneof(
  fc.constant({ op: 'approve' as const }),
  fc.constant({ op: 'decline' as const }),
  fc.constant({ op: 'pay' as const, status: 'PAID' as const }),
  fc.constant({ op: 'pay' as const, status: 'REQUIRES_ACTION' as const }),
  fc.constant({ op: 'pay' as const, status: 'PAYMENT_FAILED' as const }),
);

describe('finding machine (property)', () => {
  it('only ever takes edges of the finding graph, and a paid finding stays paid', () => {
    fc.assert(
      fc.property(fc.array(findingOpArb, { maxLength: 12 }), (ops) => {
        const inWorkshop: Booking = { ...created().booking, status: 'IN_WORKSHOP' };
        const added = addFinding(inWorkshop, { description: 'Wischerblätter', priceCents: 2990 }, { id: 'f', now: NOW });
        if (!added.ok) throw new Error('fixture refused');
        let booking = added.booking;
        for (const op of ops) {
          const before = booking.findings[0]?.status as FindingStatus;
          let result: FindingResult;
          if (op.op === 'approve') result = approveFinding(booking, 'f', NOW);
          else if (op.op === 'decline') result = declineFinding(booking, 'f', NOW);
          else if (op.status === 'PAYMENT_FAILED') result = recordFindingPayment(booking, 'f', { status: op.status, failureReason: 'card_declined' }, NOW);
          else result = recordFindingPayment(booking, 'f', { status: op.status, paymentIntentId: 'pi_1' }, NOW);
          if (result.ok) {
            expect(FINDING_EDGES[before]).toContain(result.finding.status);
            expect(result.booking.version).toBe(booking.version + 1);
            booking = result.booking;
          }
          if (before === 'PAID') expect(result.ok).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ---- arbitrary input into the create schema

const digits = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((list) => list.join(''));

/** Mostly plausible values, sometimes anything JSON can carry, so both paths of the schema are exercised. */
function mostly<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: fc.jsonValue() });
}

const instantArb = fc
  .date({ min: new Date('2025-05-01T00:00:00Z'), max: new Date('2025-08-01T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString());

/** A pick-up window: often a plausible one (Berlin summer time, inside the default hours), else two independent instants. */
const slotArb = fc.oneof(
  fc
    .record({ day: fc.integer({ min: 1, max: 60 }), hour: fc.integer({ min: 7, max: 16 }), half: fc.boolean(), length: fc.integer({ min: 1, max: 4 }) })
    .map(({ day, hour, half, length }) => {
      const start = Date.UTC(2025, 5, 2 + day, hour - 2, half ? 30 : 0); // CEST = UTC+2 all summer
      return { slotStart: new Date(start).toISOString(), slotEnd: new Date(start + length * 30 * 60_000).toISOString() };
    }),
  fc.record({ slotStart: mostly(instantArb), slotEnd: mostly(instantArb) }),
);

const addressArb = mostly(
  fc.record({ street: fc.string({ minLength: 1, maxLength: 40 }), zip: digits(4, 6), city: fc.string({ minLength: 1, maxLength: 30 }) }),
);

const bodyArb = fc
  .record(
    {
      customer: mostly(
        fc.record(
          {
            name: mostly(fc.string({ minLength: 1, maxLength: 40 })),
            // fast-check's addresses use every character RFC 5322 allows; zod accepts a plainer subset, so mix both.
            email: mostly(
              fc.oneof(
                { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9]{1,12}(?:\.[a-z0-9]{1,8})?@[a-z0-9]{1,12}\.[a-z]{2,6}$/) },
                { weight: 1, arbitrary: fc.emailAddress() },
              ),
            ),
            phone: mostly(fc.tuple(digits(2, 3), digits(6, 10)).map(([country, rest]) => `+${Number(country) || 49} ${rest}`)),
            language: mostly(fc.constantFrom('de', 'en')),
          },
          { requiredKeys: ['name', 'email', 'phone'] },
        ),
      ),
      vehicle: mostly(
        fc.record(
          {
            brand: fc.string({ maxLength: 20 }),
            model: fc.string({ maxLength: 20 }),
            licensePlate: fc.oneof(fc.stringMatching(/^[A-Za-zÄÖÜäöü]{1,3}-[A-Z]{1,2} [1-9]\d{0,3}$/), fc.string({ maxLength: 12 })),
          },
          { requiredKeys: ['brand', 'model'] },
        ),
      ),
      serviceType: mostly(fc.constantFrom(...DEFAULT_CATALOGUE.map((item) => item.code), 'car-wash')),
      pickup: mostly(fc.tuple(addressArb, slotArb).map(([address, slot]) => ({ address, ...slot }))),
      delivery: mostly(fc.record({ address: addressArb })),
      notes: mostly(fc.string({ maxLength: 100 })),
    },
    { requiredKeys: ['customer', 'vehicle', 'serviceType', 'pickup'] },
  )
  // Sometimes an unknown or prototype-ish key (a client price too), as JSON.parse would produce it: an own property.
  .chain((body) =>
    fc
      .oneof(
        { weight: 6, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'toString', 'priceCents'), fc.jsonValue()).map((entry) => [entry]) },
      )
      .map((extra) => JSON.parse(JSON.stringify({ ...body, ...Object.fromEntries(extra) })) as unknown),
  );

describe('createBookingRequestSchema (property)', () => {
  it('never throws on arbitrary JSON: it only succeeds or fails', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = createBookingRequestSchema.safeParse(value);
        // Whatever it accepts is itself valid and unchanged by a second pass.
        if (result.success) expect(createBookingRequestSchema.parse(result.data)).toEqual(result.data);
      }),
      { numRuns: 500 },
    );
  });

  it('on near-valid bodies: never throws, parses idempotently, and creation prices from the catalogue', () => {
    let accepted = 0;
    let booked = 0;
    fc.assert(
      fc.property(bodyArb, (body) => {
        const parsed = createBookingRequestSchema.safeParse(body);
        if (!parsed.success) {
          // A refusal says where and why: the first issue has a code, a message and a path.
          expect(parsed.error.issues[0]).toMatchObject({ code: expect.any(String), message: expect.any(String), path: expect.any(Array) });
          return;
        }
        accepted += 1;
        // What the schema produced is itself valid and unchanged by a second pass (normalisation is stable).
        expect(createBookingRequestSchema.parse(parsed.data)).toEqual(parsed.data);
        const result = createBooking(parsed.data, context);
        if (result.ok) {
          booked += 1;
          const price = priceOf(DEFAULT_CATALOGUE, parsed.data.serviceType);
          expect(price.ok && price.value.cents).toBe(result.booking.priceCents);
        } else {
          expect(result.error.problems.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1000 },
    );
    // Guards against a generator that never produces an acceptable body (the property would then be empty).
    expect(accepted).toBeGreaterThan(50);
    expect(booked).toBeGreaterThan(5);
  });
});
