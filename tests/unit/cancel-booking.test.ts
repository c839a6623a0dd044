import { describe, expect, it } from 'vitest';
import type { Change, SaveResult, Stored } from '../../shared/platform/aggregate';
import { hashToken } from '../../slices/bookings/app/access';
import { cancelBooking, type CancelBookingDeps } from '../../slices/bookings/app/cancel-booking';
import { dispatchHandlers } from '../../slices/bookings/app/dispatch-trip';
import { ACCESS_TOKEN_HASH, bookingHistory } from '../../slices/bookings/app/ports';
import { recordTripUpdate } from '../../slices/bookings/app/trips';
import type { Booking } from '../../slices/bookings/domain/booking';
import { bookingMachine } from '../../slices/bookings/domain/booking-status';
import { aBooking, aJob, BOOKING_ID, currentOf, FakeDispatcher, FakePaymentGateway, fixedClock, jobsOf, NOW, TOKEN } from '../support/booking-fixtures';
import { MemoryAggregateStore } from '../support/memory-store';

// The order of a cancellation: the booking is saved as cancelled with its refund reserved before
// Stripe is asked, and nothing is asked when that save does not happen.

/** A booking store whose saves fail as `fail` says: thrown (storage down) or as a conflict (another writer got there). */
class FailingStore extends MemoryAggregateStore<Booking> {
  fail: (change: Change<Booking>, attempt: number) => 'down' | 'conflict' | undefined = () => undefined;
  private attempts = 0;

  override async update(current: Stored<Booking>, change: Change<Booking>): Promise<SaveResult> {
    const failure = this.fail(change, ++this.attempts);
    if (failure === 'down') throw new Error('storage unavailable');
    if (failure === 'conflict') return 'conflict';
    return super.update(current, change);
  }
}

const CUSTOMER = { kind: 'customer', token: TOKEN } as const;

function setup(booking: Booking = aBooking({ status: 'CONFIRMED' })) {
  const bookings = new FailingStore(bookingMachine.name);
  bookings.seed(booking, { [ACCESS_TOKEN_HASH]: hashToken(TOKEN) });
  const payments = new FakePaymentGateway();
  payments.seedIntent({ id: 'pi_booking', status: 'succeeded', amount: booking.priceCents, metadata: { bookingId: booking.id } });
  const clock = fixedClock(NOW);
  const deps: CancelBookingDeps = { bookings, payments, clock };
  return { bookings, payments, clock, deps };
}

describe('cancelBooking: the cancellation is saved before the refund', () => {
  it('saves CANCELLED with the refund reserved, its history row and the e-mail before Stripe is asked, then records the refund', async () => {
    const { bookings, payments, deps } = setup();
    const atStripe: Booking[] = [];
    payments.during = (method) => {
      if (method === 'refund') atStripe.push(currentOf(bookings));
    };

    const outcome = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    // What Stripe's refund met in the store: the cancellation, already saved.
    expect(atStripe).toEqual([
      expect.objectContaining({
        status: 'CANCELLED',
        payment: expect.objectContaining({ status: 'succeeded', refund: expect.objectContaining({ status: 'reserved' }) }),
      }),
    ]);
    expect(bookings.changes[0]?.history).toEqual([{ from: 'CONFIRMED', to: 'CANCELLED', at: NOW, cause: 'customer' }]);
    expect(bookings.changes[0]?.jobs.map((job) => job.envelope.type)).toEqual(['booking.cancelled']);
    expect(bookings.changes[0]?.jobs[0]?.envelope.payload).toEqual({ refunded: true });

    expect(outcome).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED', payment: { status: 'refunded' } } });
    expect(payments.refunds).toEqual([{ id: expect.any(String), paymentIntentId: 'pi_booking', idempotencyKey: 'booking:bk-1:refund', amountCents: 14900 }]);
    expect(currentOf(bookings).payment.refund).toEqual({
      status: 'succeeded',
      refundId: payments.refunds[0]?.id,
      reservedAt: NOW,
      updatedAt: NOW,
    });
    // The refund is recorded without a second history row; its Odoo sync (credit note and refund) goes with it.
    expect(bookings.changes[1]?.history).toEqual([]);
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v5']);
    expect(bookings.jobs[1]?.envelope.payload).toEqual({ bookingId: BOOKING_ID, reason: 'cancelled and refunded' });
  });

  it('asks Stripe nothing when the cancellation cannot be saved (storage down), and leaves the booking as it was', async () => {
    const { bookings, payments, deps } = setup();
    bookings.fail = () => 'down';

    await expect(cancelBooking(deps, BOOKING_ID, CUSTOMER)).rejects.toThrow('storage unavailable');

    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
    expect(currentOf(bookings)).toEqual(aBooking({ status: 'CONFIRMED' }));
  });

  it('asks Stripe nothing when the cancellation keeps conflicting until the save gives up', async () => {
    const { bookings, payments, deps } = setup();
    bookings.fail = () => 'conflict';

    await expect(cancelBooking(deps, BOOKING_ID, CUSTOMER)).rejects.toThrow(/still conflicting/);

    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
  });

  it('refuses without a refund when the car is picked up between the read and the save', async () => {
    const { bookings, payments, deps } = setup();
    // The pick-up report lands first: the cancellation's save meets a newer booking and reads it again.
    bookings.fail = (_change, attempt) => {
      if (attempt === 1) bookings.seed(aBooking({ status: 'IN_WORKSHOP', version: 4 }), { [ACCESS_TOKEN_HASH]: hashToken(TOKEN) });
      return attempt === 1 ? 'conflict' : undefined;
    };

    const outcome = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(outcome).toEqual({ ok: false, error: { code: 'NOT_CANCELLABLE', status: 'IN_WORKSHOP' } });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
    expect(currentOf(bookings).status).toBe('IN_WORKSHOP');
  });

  it('withdraws the pick-up in the same change: while the refund is out, no trip is sent and no pick-up report moves the booking', async () => {
    const { bookings, payments, clock, deps } = setup();
    const dispatcher = new FakeDispatcher();
    const dispatch = dispatchHandlers({ bookings, clock, dispatcher });
    const reports: string[] = [];
    payments.during = async (method) => {
      if (method !== 'refund') return;
      // The pick-up job queued at confirmation runs now, and a stale pick-up report arrives.
      await dispatch['trip.pickup']?.(aJob('trip.pickup', 'trip:pickup:bk-1'));
      reports.push(await recordTripUpdate(deps, BOOKING_ID, { leg: 'pickup', status: 'pickup_completed', occurredAt: NOW }, 'driver:trip-1'));
    };

    const outcome = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(outcome).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED' } });
    expect(dispatcher.sent).toEqual([]);
    expect(reports).toEqual(['wrong-state']);
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([{ from: 'CONFIRMED', to: 'CANCELLED', at: NOW, cause: 'customer' }]);
  });
});
