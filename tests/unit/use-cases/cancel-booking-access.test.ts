import { describe, expect, it, vi } from 'vitest';
import type { BookingActor } from '../../../slices/bookings/app/access';
import { cancelBooking, type CancelBookingDeps } from '../../../slices/bookings/app/cancel-booking';
import { bookingHistory } from '../../../slices/bookings/app/ports';
import type { Booking } from '../../../slices/bookings/domain/booking';
import type { BookingStatus } from '../../../slices/bookings/domain/booking-status';
import { aBooking, BOOKING_ID, currentOf, FakePaymentGateway, fixedClock, jobsOf, NOW, storeWith, TOKEN } from '../../support/booking-fixtures';

// Cases of cancelBooking beyond tests/unit/cancel-booking.test.ts: who may cancel, the unpaid path
// (cancel the PaymentIntent), a payment that raced the cancellation, Stripe down, and repeats.

const CUSTOMER: BookingActor = { kind: 'customer', token: TOKEN };
const ADMIN: BookingActor = { kind: 'staff', name: 'backoffice', roles: ['admin'] };

function setup(booking: Booking, intentStatus = booking.payment.status === 'succeeded' ? 'succeeded' : 'requires_payment_method') {
  const bookings = storeWith(booking);
  const payments = new FakePaymentGateway();
  payments.seedIntent({ id: 'pi_booking', status: intentStatus, amount: booking.priceCents, metadata: { bookingId: booking.id } });
  const deps: CancelBookingDeps = { bookings, payments, clock: fixedClock(NOW) };
  return { bookings, payments, deps };
}

describe('cancelBooking: access', () => {
  it.each<[string, BookingActor, string]>([
    ['no token', { kind: 'customer' }, 'UNAUTHENTICATED'],
    ['an empty token', { kind: 'customer', token: '' }, 'UNAUTHENTICATED'],
    ['a wrong token', { kind: 'customer', token: 'bat_somebody-elses-token' }, 'FORBIDDEN'],
    ['staff without the admin role', { kind: 'staff', name: 'workshop-tablet', roles: ['workshop'] }, 'FORBIDDEN'],
  ])('refuses %s before touching Stripe or the booking', async (_name, actor, code) => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'CONFIRMED' }));

    const outcome = await cancelBooking(deps, BOOKING_ID, actor);

    expect(outcome).toEqual({ ok: false, error: { code } });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
    expect(currentOf(bookings).status).toBe('CONFIRMED');
  });

  it('answers NOT_FOUND for an unknown booking, whoever asks', async () => {
    const { bookings, payments, deps } = setup(aBooking());

    expect(await cancelBooking(deps, 'bk-unknown', CUSTOMER)).toEqual({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await cancelBooking(deps, 'bk-unknown', ADMIN)).toEqual({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
  });

  it('lets an admin cancel without the token, and names the API key in the history', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'CONFIRMED' }));

    const outcome = await cancelBooking(deps, BOOKING_ID, ADMIN);

    expect(outcome).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED' } });
    expect(payments.refunds).toHaveLength(1);
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([{ from: 'CONFIRMED', to: 'CANCELLED', at: NOW, cause: 'api:backoffice' }]);
  });

  it('reads the booking once for the access check and the cancellation, and once more to record the refund', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'CONFIRMED' }));

    await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(bookings.reads.get(BOOKING_ID)).toBe(2);
    expect(bookings.changes.map((change) => change.state.payment.refund?.status)).toEqual(['reserved', 'succeeded']);
  });
});

describe('cancelBooking: payments', () => {
  it('cancels the PaymentIntent of an unpaid booking instead of refunding, without an Odoo sync', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'PENDING_PAYMENT' }));

    const outcome = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(outcome).toMatchObject({ ok: true, refunded: false, booking: { status: 'CANCELLED', payment: { status: 'canceled' } } });
    expect(outcome.ok && outcome.booking.payment.refund).toBeUndefined();
    expect(payments.keysOf('cancelPaymentIntent')).toEqual(['booking:bk-1:cancel-payment']);
    expect(payments.intent('pi_booking').status).toBe('canceled');
    expect(payments.refunds).toEqual([]);
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1']);
    expect(bookings.jobs[0]?.envelope.payload).toEqual({ refunded: false });
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([{ from: 'PENDING_PAYMENT', to: 'CANCELLED', at: NOW, cause: 'customer' }]);
  });

  it('refunds when the customer paid while the booking still showed PENDING_PAYMENT (the webhook had not arrived)', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'PENDING_PAYMENT' }), 'succeeded');

    const outcome = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(outcome).toMatchObject({
      ok: true,
      refunded: true,
      booking: { status: 'CANCELLED', payment: { status: 'refunded', refund: { status: 'succeeded' } } },
    });
    expect(payments.keysOf('cancelPaymentIntent')).toEqual(['booking:bk-1:cancel-payment']);
    expect(payments.refunds.map((refund) => refund.idempotencyKey)).toEqual(['booking:bk-1:refund']);
    // Cancelled first, then the refund reserved on learning the customer paid, then its outcome.
    expect(bookings.changes.map((change) => [change.state.status, change.state.payment.refund?.status])).toEqual([
      ['CANCELLED', undefined],
      ['CANCELLED', 'reserved'],
      ['CANCELLED', 'succeeded'],
    ]);
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v6']);
  });

  it('keeps the booking cancelled with its refund failed and flagged when Stripe is down; a later retry refunds once', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'CONFIRMED' }));
    payments.goDown();

    const failed = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(failed).toMatchObject({
      ok: false,
      error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable' }, booking: { status: 'CANCELLED', payment: { refund: { status: 'failed' } } } },
    });
    expect(currentOf(bookings)).toMatchObject({
      status: 'CANCELLED',
      payment: { status: 'succeeded', refund: { status: 'failed', failureReason: expect.stringContaining('unavailable') } },
      flags: { needsAttention: true, attentionReason: expect.stringMatching(/^refund failed: unavailable/) },
    });

    payments.goDown(false);
    const retried = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(retried).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED', payment: { status: 'refunded' }, flags: {} } });
    expect(payments.refunds).toHaveLength(1);
    expect(payments.keysOf('refund')).toEqual(['booking:bk-1:refund', 'booking:bk-1:refund']);
    expect(await bookingHistory(bookings, BOOKING_ID)).toHaveLength(1);
  });

  it('answers a repeated cancellation with the cancelled booking, without refunding or saving again', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'CONFIRMED' }));

    const first = await cancelBooking(deps, BOOKING_ID, CUSTOMER);
    const changes = bookings.changes.length;
    const again = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(first).toMatchObject({ ok: true, refunded: true });
    expect(again).toEqual({ ok: true, refunded: true, booking: currentOf(bookings) });
    expect(payments.calls.filter((call) => call.method === 'refund')).toHaveLength(1);
    expect(bookings.changes).toHaveLength(changes);
  });

  it('refunds once and cancels once when two cancellations run at once', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'CONFIRMED' }));

    const [one, two] = await Promise.all([cancelBooking(deps, BOOKING_ID, CUSTOMER), cancelBooking(deps, BOOKING_ID, ADMIN)]);

    expect(one).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED' } });
    expect(two).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED' } });
    // The loser of the save goes on from the booking the winner saved: whatever it asks of Stripe is under the one key.
    expect(new Set(payments.keysOf('refund'))).toEqual(new Set(['booking:bk-1:refund']));
    expect(payments.refunds).toHaveLength(1);
    expect(bookings.changes.map((change) => change.state.payment.refund?.status)).toEqual(['reserved', 'succeeded']);
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v5']);
    expect(await bookingHistory(bookings, BOOKING_ID)).toHaveLength(1);
  });

  it('refunds once when a second cancellation arrives while the first one waits for Stripe', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'CONFIRMED' }));
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The first refund request reaches Stripe, and its answer is held back until the second has asked too.
    payments.during = async (method) => {
      if (method === 'refund' && payments.keysOf('refund').length === 1) await held;
    };

    const first = cancelBooking(deps, BOOKING_ID, CUSTOMER);
    await vi.waitFor(() => expect(payments.keysOf('refund')).toHaveLength(1));
    const second = await cancelBooking(deps, BOOKING_ID, ADMIN);
    release();

    expect(second).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED', payment: { status: 'refunded' } } });
    expect(await first).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED', payment: { status: 'refunded' } } });
    expect(payments.keysOf('refund')).toEqual(['booking:bk-1:refund', 'booking:bk-1:refund']);
    expect(payments.refunds).toHaveLength(1);
    expect(bookings.changes.map((change) => change.state.payment.refund?.status)).toEqual(['reserved', 'succeeded']);
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v5']);
  });

  it.each<BookingStatus>(['IN_WORKSHOP', 'READY_FOR_DELIVERY', 'DELIVERED'])(
    'refuses to cancel once the car is picked up (%s), without a refund',
    async (status) => {
      const { bookings, payments, deps } = setup(aBooking({ status }));

      const outcome = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

      expect(outcome).toEqual({ ok: false, error: { code: 'NOT_CANCELLABLE', status } });
      expect(payments.calls).toEqual([]);
      expect(bookings.changes).toEqual([]);
    },
  );
});
