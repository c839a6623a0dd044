import { describe, expect, it } from 'vitest';
import { hashToken } from '../../../slices/bookings/app/access';
import { createBooking, type CreateBookingDeps } from '../../../slices/bookings/app/create-booking';
import { ACCESS_TOKEN_HASH, bookingHistory } from '../../../slices/bookings/app/ports';
import { bookingSchema, createBookingRequestSchema } from '../../../slices/bookings/domain/booking';
import { DEFAULT_CATALOGUE } from '../../../slices/bookings/domain/catalogue';
import { DEFAULT_OPENING_HOURS, DEFAULT_SLOT_RULES } from '../../../slices/bookings/domain/opening-hours';
import { bookingStore, FakePaymentGateway, fixedClock, NOW } from '../../support/booking-fixtures';

const ACCESS_TOKEN = 'bat_fresh-access-token-0123456789';

/** A valid request: Wednesday 09:00–11:00 Berlin, the day after NOW. */
function request(overrides: Record<string, unknown> = {}) {
  return createBookingRequestSchema.parse({
    customer: { name: 'Erika Mustermann', email: 'Erika@Example.com', phone: '+49 171 1234567' },
    vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'm-ab 1234' },
    serviceType: 'brake-service',
    pickup: {
      address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' },
      slotStart: '2026-11-25T09:00:00+01:00',
      slotEnd: '2026-11-25T11:00:00+01:00',
    },
    ...overrides,
  });
}

function setup() {
  const bookings = bookingStore();
  const payments = new FakePaymentGateway();
  const clock = fixedClock(NOW, 'bk');
  let tokens = 0;
  const deps: CreateBookingDeps = {
    bookings,
    payments,
    clock,
    catalogue: DEFAULT_CATALOGUE,
    hours: DEFAULT_OPENING_HOURS,
    rules: DEFAULT_SLOT_RULES,
    newAccessToken: () => (tokens++ === 0 ? ACCESS_TOKEN : `bat_other-${tokens}`),
  };
  return { bookings, payments, clock, deps };
}

describe('createBooking', () => {
  it('stores a valid request as PENDING_PAYMENT, priced from the catalogue, with its first history row', async () => {
    const { bookings, deps } = setup();

    const outcome = await createBooking(deps, request());

    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.booking).toMatchObject({ id: 'bk-1', status: 'PENDING_PAYMENT', priceCents: 19900, currency: 'EUR', version: 1, createdAt: NOW });
    // Normalised: UTC instants, upper-case plate, delivery back to the pick-up address.
    expect(outcome.booking.pickup).toMatchObject({ slotStart: '2026-11-25T08:00:00.000Z', slotEnd: '2026-11-25T10:00:00.000Z' });
    expect(outcome.booking.vehicle.licensePlate).toBe('M-AB 1234');
    expect(outcome.booking.delivery.address).toEqual(outcome.booking.pickup.address);
    expect(() => bookingSchema.parse(outcome.booking)).not.toThrow();

    expect(bookings.current('bk-1')).toEqual(outcome.booking);
    expect(bookings.changes).toHaveLength(1);
    expect(bookings.jobs).toEqual([]);
    expect(await bookingHistory(bookings, 'bk-1')).toEqual([{ from: null, to: 'PENDING_PAYMENT', at: NOW, cause: 'customer' }]);
  });

  it('stores the hash of the access token beside the booking, never the token itself', async () => {
    const { bookings, deps } = setup();

    const outcome = await createBooking(deps, request());

    expect(outcome).toMatchObject({ ok: true, accessToken: ACCESS_TOKEN });
    const stored = await bookings.get('bk-1');
    expect(stored?.attributes).toEqual({ [ACCESS_TOKEN_HASH]: hashToken(ACCESS_TOKEN) });
    expect(JSON.stringify(bookings.changes)).not.toContain(ACCESS_TOKEN);
    expect(JSON.stringify(stored?.state)).not.toContain(ACCESS_TOKEN);
    if (outcome.ok) expect(JSON.stringify(outcome.booking)).not.toContain(ACCESS_TOKEN);
  });

  it('opens a PaymentIntent for the booking that saves the card, keyed by ids derived from ours', async () => {
    const { payments, deps } = setup();

    const outcome = await createBooking(deps, request());

    if (!outcome.ok) throw new Error(`expected a booking, got ${JSON.stringify(outcome.error)}`);
    const intentId = outcome.booking.payment.paymentIntentId ?? '';
    const intent = payments.intent(intentId);
    expect(intent).toMatchObject({ amount: 19900, currency: 'eur', metadata: { bookingId: 'bk-1' }, customerId: outcome.booking.payment.stripeCustomerId });
    expect(outcome.clientSecret).toBe(intent.clientSecret);
    expect(outcome.booking.payment).toEqual({ status: 'pending', paymentIntentId: intentId, stripeCustomerId: expect.stringMatching(/^cus_/) });
    // The e-mail address is normalised before it names the Stripe customer and its key.
    expect(payments.customers.get(outcome.booking.payment.stripeCustomerId ?? '')?.email).toBe('erika@example.com');
    expect(payments.keysOf('ensureCustomer')).toEqual([`customer:${hashToken('erika@example.com')}`]);
    expect(payments.keysOf('createPaymentIntent')).toEqual(['booking:bk-1:payment']);
    // The client secret stays out of the store.
    expect(JSON.stringify(outcome.booking)).not.toContain(outcome.clientSecret);
  });

  it('gives two bookings of one address one Stripe customer, whatever the case of the address', async () => {
    const { payments, deps } = setup();

    const first = await createBooking(deps, request());
    const second = await createBooking(deps, request({ customer: { name: 'Erika Mustermann', email: 'erika@example.COM', phone: '+49 171 1234567' } }));

    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.booking.id).toBe('bk-2');
    expect(second.booking.payment.stripeCustomerId).toBe(first.booking.payment.stripeCustomerId);
    expect(payments.customers.size).toBe(1);
    expect(payments.keysOf('createPaymentIntent')).toEqual(['booking:bk-1:payment', 'booking:bk-2:payment']);
    expect(second.booking.payment.paymentIntentId).not.toBe(first.booking.payment.paymentIntentId);
  });

  it.each([
    [
      'a slot on a Sunday',
      {
        pickup: {
          address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' },
          slotStart: '2026-11-29T09:00:00+01:00',
          slotEnd: '2026-11-29T11:00:00+01:00',
        },
      },
      ['CLOSED_DAY'],
    ],
    [
      'a slot in the past',
      {
        pickup: {
          address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' },
          slotStart: '2026-11-23T09:00:00+01:00',
          slotEnd: '2026-11-23T11:00:00+01:00',
        },
      },
      ['START_IN_PAST'],
    ],
    ['an unknown service', { serviceType: 'car-wash' }, ['UNKNOWN_SERVICE']],
  ])('refuses %s as INVALID_BOOKING without calling Stripe or storing anything', async (_name, overrides, codes) => {
    const { bookings, payments, deps } = setup();

    const outcome = await createBooking(deps, request(overrides));

    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('INVALID_BOOKING');
    expect('problems' in outcome.error && outcome.error.problems.map((problem) => problem.code)).toEqual(codes);
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
    expect(bookings.current('bk-1')).toBeUndefined();
  });

  it('answers PAYMENT_PROVIDER and stores nothing when Stripe is unreachable', async () => {
    const { bookings, payments, deps } = setup();
    payments.goDown();

    const outcome = await createBooking(deps, request());

    expect(outcome).toEqual({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable', message: expect.any(String) } } });
    expect(payments.customers.size).toBe(0);
    expect(payments.intents.size).toBe(0);
    expect(bookings.changes).toEqual([]);
    expect(bookings.current('bk-1')).toBeUndefined();
  });

  it('stores nothing when the PaymentIntent fails after the customer was found, and a retry reuses the customer', async () => {
    const { bookings, payments, deps } = setup();
    payments.during = (method) => {
      if (method === 'ensureCustomer') payments.goDown();
    };

    const failed = await createBooking(deps, request());

    expect(failed).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable' } } });
    expect(bookings.changes).toEqual([]);
    expect(payments.intents.size).toBe(0);

    payments.goDown(false);
    payments.during = () => {};
    const retried = await createBooking(deps, request());

    expect(retried).toMatchObject({ ok: true, booking: { id: 'bk-2', status: 'PENDING_PAYMENT' } });
    expect(payments.customers.size).toBe(1);
    expect(bookings.changes.map((change) => change.state.id)).toEqual(['bk-2']);
  });
});
