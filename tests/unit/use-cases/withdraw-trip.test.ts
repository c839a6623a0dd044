import { describe, expect, it } from 'vitest';
import { JobError } from '../../../shared/platform/jobs';
import { cancelBooking } from '../../../slices/bookings/app/cancel-booking';
import { dispatchHandlers } from '../../../slices/bookings/app/dispatch-trip';
import type { B2CCancel, TripWithdrawer } from '../../../slices/bookings/app/driver-app';
import { TRIP_CANCEL_JOB, tripCancelJob } from '../../../slices/bookings/app/jobs';
import { type BookingHistoryRow, bookingHistory, bookingTimeline } from '../../../slices/bookings/app/ports';
import { withdrawalHandlers } from '../../../slices/bookings/app/withdraw-trip';
import type { Booking } from '../../../slices/bookings/domain/booking';
import type { BookingStatus } from '../../../slices/bookings/domain/booking-status';
import type { Trips } from '../../../slices/bookings/domain/trip';
import {
  aBooking,
  aJob,
  BOOKING_ID,
  currentOf,
  FakeDispatcher,
  FakePaymentGateway,
  fixedClock,
  jobsOf,
  NOW,
  storeWith,
  TOKEN,
} from '../../support/booking-fixtures';

/** What a history row is: a status row has no `kind` (its shape is the one it always had). */
const kindOf = (row: BookingHistoryRow) => ('kind' in row ? row.kind : 'status');

const CUSTOMER = { kind: 'customer', token: TOKEN } as const;

/**
 * An in-memory Driver-App for withdrawals, with the real one's rules: one withdrawal per Idempotency-Key
 * (a repeat is answered, not applied again), every call recorded; `failNext` answers like a 503.
 */
class FakeWithdrawer implements TripWithdrawer {
  readonly calls: Array<{ message: B2CCancel; idempotencyKey: string }> = [];
  readonly withdrawn = new Map<string, B2CCancel>();
  private failures = 0;

  failNext(count: number): void {
    this.failures = count;
  }

  async withdraw(message: B2CCancel, idempotencyKey: string): Promise<void> {
    this.calls.push({ message, idempotencyKey });
    if (this.failures > 0) {
      this.failures -= 1;
      throw JobError.transient('DRIVER_APP_UNAVAILABLE', 'Driver-App answered HTTP 503');
    }
    if (!this.withdrawn.has(idempotencyKey)) this.withdrawn.set(idempotencyKey, message);
  }
}

function setup(booking: Booking) {
  const bookings = storeWith(booking);
  const payments = new FakePaymentGateway();
  payments.seedIntent({ id: 'pi_booking', status: booking.status === 'PENDING_PAYMENT' ? 'requires_payment_method' : 'succeeded', amount: booking.priceCents });
  const clock = fixedClock(NOW);
  const withdrawer = new FakeWithdrawer();
  const handler = withdrawalHandlers({ bookings, clock, withdrawer })[TRIP_CANCEL_JOB];
  if (!handler) throw new Error('no trip.cancel handler');
  return { bookings, payments, clock, withdrawer, handler, deps: { bookings, payments, clock } };
}

const accepted = (status: NonNullable<Trips['pickup']>['status'] = 'assigned'): Trips => ({ pickup: { tripId: 'trp_1', status, sequence: 1 } });

/** The `trip.cancel` job as the store queued it. */
const cancelJobOf = (bookings: ReturnType<typeof setup>['bookings']) => {
  const job = bookings.jobs.find((candidate) => candidate.envelope.type === TRIP_CANCEL_JOB);
  if (!job) throw new Error('no trip.cancel job was queued');
  return job;
};

describe('cancelling a booking withdraws its open trip', () => {
  it('marks the accepted pick-up cancelled and queues its b2c_cancel in the cancellation’s own change', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'CONFIRMED', trips: accepted() }));

    const outcome = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(outcome).toMatchObject({ ok: true, booking: { status: 'CANCELLED', trips: { pickup: { tripId: 'trp_1', status: 'cancelled' } } } });
    const [first] = bookings.changes;
    expect(first?.state).toMatchObject({ status: 'CANCELLED', payment: { refund: { status: 'reserved' } }, trips: { pickup: { status: 'cancelled' } } });
    expect(first?.jobs.map((job) => `${job.queue} ${job.envelope.type} ${job.envelope.id}`)).toEqual([
      'notifications booking.cancelled notify:booking.cancelled:bk-1',
      'driver-dispatch trip.cancel trip-cancel:pickup:bk-1',
    ]);
    expect(cancelJobOf(bookings).envelope.payload).toEqual({ bookingId: BOOKING_ID, trip: 'pickup', tripId: 'trp_1' });
    // The cancellation first, then what it did to the trip.
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { from: 'CONFIRMED', to: 'CANCELLED', at: NOW, cause: 'customer' },
      { kind: 'trip', subject: 'trp_1', leg: 'pickup', from: 'assigned', to: 'cancelled', at: NOW, cause: 'customer' },
    ]);
  });

  it.each<[string, Trips | undefined]>([
    ['no trip yet', undefined],
    ['a trip the Driver-App has not given an id', { pickup: { status: 'dispatched' } }],
    ['a jockey assigned by hand (no Driver-App)', { pickup: { status: 'assigned', jockey: { name: 'Jonas' } } }],
  ])('withdraws nothing for a booking with %s', async (_name, trips) => {
    const { bookings, deps } = setup(aBooking({ status: 'CONFIRMED', ...(trips ? { trips } : {}) }));

    expect(await cancelBooking(deps, BOOKING_ID, CUSTOMER)).toMatchObject({ ok: true, booking: { status: 'CANCELLED' } });

    expect(jobsOf(bookings).filter((job) => job.startsWith(TRIP_CANCEL_JOB))).toEqual([]);
    expect((await bookingTimeline(bookings, BOOKING_ID)).map(kindOf)).toEqual(['status']);
  });

  it('withdraws a failed trip too: the Driver-App may still try it again', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'CONFIRMED', trips: accepted('failed') }));

    await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(cancelJobOf(bookings).envelope.id).toBe('trip-cancel:pickup:bk-1');
  });

  it('stays refused after pick-up (NOT_CANCELLABLE): nothing is withdrawn or saved', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'IN_WORKSHOP', trips: accepted('pickup_completed') }));

    expect(await cancelBooking(deps, BOOKING_ID, CUSTOMER)).toEqual({ ok: false, error: { code: 'NOT_CANCELLABLE', status: 'IN_WORKSHOP' } });

    expect(bookings.changes).toEqual([]);
    expect(payments.calls).toEqual([]);
  });

  it('queues the withdrawal once when the booking is cancelled twice', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'CONFIRMED', trips: accepted() }));

    await cancelBooking(deps, BOOKING_ID, CUSTOMER);
    await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(jobsOf(bookings).filter((job) => job.startsWith(TRIP_CANCEL_JOB))).toEqual(['trip.cancel trip-cancel:pickup:bk-1']);
  });
});

describe('the trip.cancel worker', () => {
  it('sends the b2c_cancel naming the trip and the booking, with the job id as Idempotency-Key', async () => {
    const { bookings, deps, withdrawer, handler } = setup(aBooking({ status: 'CONFIRMED', trips: accepted() }));
    await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    await handler(cancelJobOf(bookings).envelope);

    expect(withdrawer.calls).toEqual([{ message: { type: 'b2c_cancel', tripId: 'trp_1', bookingId: BOOKING_ID }, idempotencyKey: 'trip-cancel:pickup:bk-1' }]);
  });

  it('withdraws once when the job is retried after a failure and redelivered after success: same message, same key', async () => {
    const { bookings, deps, withdrawer, handler } = setup(aBooking({ status: 'CONFIRMED', trips: accepted() }));
    await cancelBooking(deps, BOOKING_ID, CUSTOMER);
    const job = cancelJobOf(bookings).envelope;
    withdrawer.failNext(1);

    await expect(handler(job)).rejects.toMatchObject({ kind: 'transient', code: 'DRIVER_APP_UNAVAILABLE' });
    await handler({ ...job, attempt: 2 });
    await handler({ ...job, attempt: 2 });

    expect(new Set(withdrawer.calls.map((call) => `${call.idempotencyKey} ${JSON.stringify(call.message)}`)).size).toBe(1);
    expect([...withdrawer.withdrawn.values()]).toEqual([{ type: 'b2c_cancel', tripId: 'trp_1', bookingId: BOOKING_ID }]);
    // Sending changes nothing on the booking: the withdrawal was recorded with the cancellation.
    expect(bookings.changes).toHaveLength(2);
  });

  it.each<BookingStatus>(['CONFIRMED', 'IN_WORKSHOP'])('sends nothing for a booking that is %s', async (status) => {
    const { withdrawer, handler } = setup(aBooking({ status, trips: accepted() }));

    await handler({ ...aJob(TRIP_CANCEL_JOB, 'trip-cancel:pickup:bk-1'), payload: tripCancelJob({ id: BOOKING_ID }, 'pickup', 'trp_1').payload });

    expect(withdrawer.calls).toEqual([]);
  });

  it('fails permanently for an unknown booking and for a job without a valid trip', async () => {
    const { withdrawer, handler } = setup(aBooking({ status: 'CANCELLED', trips: accepted('cancelled') }));

    await expect(
      handler({ ...aJob(TRIP_CANCEL_JOB, 'trip-cancel:pickup:bk-x', 'bk-x'), payload: tripCancelJob({ id: 'bk-x' }, 'pickup', 'trp_1').payload }),
    ).rejects.toMatchObject({
      kind: 'permanent',
      code: 'BOOKING_NOT_FOUND',
    });
    await expect(handler({ ...aJob(TRIP_CANCEL_JOB, 'trip-cancel:pickup:bk-1'), payload: { bookingId: BOOKING_ID, trip: 'pickup' } })).rejects.toMatchObject({
      kind: 'permanent',
      code: 'INVALID_TRIP_JOB',
    });
    expect(withdrawer.calls).toEqual([]);
  });
});

describe('a trip the Driver-App accepts while the booking is being cancelled', () => {
  it('is withdrawn as soon as its id is known: kept as cancelled, with its trip row and the b2c_cancel job', async () => {
    const { bookings, clock, deps } = setup(aBooking({ status: 'CONFIRMED' }));
    const dispatcher = new FakeDispatcher();
    // The pick-up read the CONFIRMED booking; the customer cancels while the trip is on its way.
    dispatcher.during = async () => {
      expect(await cancelBooking(deps, BOOKING_ID, CUSTOMER)).toMatchObject({ ok: true });
    };

    await dispatchHandlers({ bookings, clock, dispatcher })['trip.pickup']?.(aJob('trip.pickup', 'trip:pickup:bk-1'));

    expect(dispatcher.sent).toHaveLength(1);
    expect(currentOf(bookings)).toMatchObject({ status: 'CANCELLED', trips: { pickup: { tripId: 'trip-1', status: 'cancelled' } } });
    expect(cancelJobOf(bookings).envelope).toMatchObject({
      id: 'trip-cancel:pickup:bk-1',
      payload: { bookingId: BOOKING_ID, trip: 'pickup', tripId: 'trip-1' },
    });
    expect((await bookingTimeline(bookings, BOOKING_ID)).map((row) => `${kindOf(row)} ${row.from}->${row.to} ${row.cause}`)).toEqual([
      'status CONFIRMED->CANCELLED customer',
      'trip dispatched->cancelled system:booking-cancelled',
    ]);
    expect(await bookingHistory(bookings, BOOKING_ID)).toHaveLength(1);
  });

  it('is never sent when its job runs after the cancellation', async () => {
    const { bookings, clock, deps } = setup(aBooking({ status: 'CONFIRMED' }));
    await cancelBooking(deps, BOOKING_ID, CUSTOMER);
    const dispatcher = new FakeDispatcher();

    await dispatchHandlers({ bookings, clock, dispatcher })['trip.pickup']?.(aJob('trip.pickup', 'trip:pickup:bk-1'));

    expect(dispatcher.sent).toEqual([]);
    expect(jobsOf(bookings).filter((job) => job.startsWith(TRIP_CANCEL_JOB))).toEqual([]);
  });
});
