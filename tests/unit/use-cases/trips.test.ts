import { describe, expect, it } from 'vitest';
import { type BookingHistoryRow, bookingHistory, bookingTimeline } from '../../../slices/bookings/app/ports';
import { assignJockey, markReady, recordDriverReport, recordTripUpdate, type TripDeps } from '../../../slices/bookings/app/trips';
import type { Booking } from '../../../slices/bookings/domain/booking';
import { type BookingStatus, causes } from '../../../slices/bookings/domain/booking-status';
import type { TripUpdate } from '../../../slices/bookings/domain/trip';
import { aBooking, BOOKING_ID, currentOf, fixedClock, jobsOf, NOW, storeWith } from '../../support/booking-fixtures';

/** What a history row is: a status row has no `kind` (its shape is the one it always had). */
const kindOf = (row: BookingHistoryRow) => ('kind' in row ? row.kind : 'status');

const DRIVER = causes.driver('trip-1');
const ADMIN = causes.api('backoffice');

function setup(booking: Booking = aBooking({ status: 'CONFIRMED', trips: { pickup: { tripId: 'trip-1', status: 'dispatched' } } })) {
  const bookings = storeWith(booking);
  const deps: TripDeps = { bookings, clock: fixedClock(NOW) };
  return { bookings, deps };
}

/** A pick-up report of trip-1, the n-th the Driver-App sends. */
const pickup = (status: TripUpdate['status'], sequence: number, extra: Partial<TripUpdate> = {}): TripUpdate => ({
  leg: 'pickup',
  tripId: 'trip-1',
  status,
  sequence,
  occurredAt: `2026-11-25T08:${String(10 + sequence).padStart(2, '0')}:00.000Z`,
  ...extra,
});

describe('recordTripUpdate', () => {
  it('moves a CONFIRMED booking to IN_WORKSHOP when the pick-up is completed, with a trip row, a status row and an e-mail', async () => {
    const { bookings, deps } = setup();

    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('pickup_completed', 4), DRIVER)).toBe('applied');

    const booking = currentOf(bookings);
    expect(booking).toMatchObject({ status: 'IN_WORKSHOP', updatedAt: NOW });
    expect(booking.trips?.pickup).toMatchObject({ tripId: 'trip-1', status: 'pickup_completed', sequence: 4, occurredAt: '2026-11-25T08:14:00.000Z' });
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([{ from: 'CONFIRMED', to: 'IN_WORKSHOP', at: NOW, cause: 'driver:trip-1' }]);
    // The report, then what it did to the booking: one change, two rows.
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { kind: 'trip', subject: 'trip-1', leg: 'pickup', from: 'dispatched', to: 'pickup_completed', at: NOW, cause: 'driver:trip-1' },
      { from: 'CONFIRMED', to: 'IN_WORKSHOP', at: NOW, cause: 'driver:trip-1' },
    ]);
    expect(jobsOf(bookings)).toEqual(['trip.pickup-completed notify:trip.pickup-completed:bk-1']);
  });

  it('leaves a trip row for every applied report and a status row only when the status moved, and e-mails on assignment and completion only', async () => {
    const { bookings, deps } = setup();
    const reports = [
      pickup('assigned', 1, { jockey: { name: 'Jonas', phone: '+4915112345678' } }),
      pickup('in_progress', 2),
      pickup('arrived', 3),
      pickup('pickup_completed', 4),
    ];

    const outcomes = [];
    for (const report of reports) outcomes.push(await recordTripUpdate(deps, BOOKING_ID, report, DRIVER));

    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);
    // No CONFIRMED -> CONFIRMED rows: trip progress is the trip's history, not the booking's status.
    expect((await bookingHistory(bookings, BOOKING_ID)).map((row) => `${row.from}->${row.to}`)).toEqual(['CONFIRMED->IN_WORKSHOP']);
    expect((await bookingTimeline(bookings, BOOKING_ID)).map((row) => `${kindOf(row)} ${row.from}->${row.to}`)).toEqual([
      'trip dispatched->assigned',
      'trip assigned->in_progress',
      'trip in_progress->arrived',
      'trip arrived->pickup_completed',
      'status CONFIRMED->IN_WORKSHOP',
    ]);
    expect(bookings.changes.map((change) => change.history.length)).toEqual([1, 1, 1, 2]);
    expect(jobsOf(bookings)).toEqual(['trip.assigned notify:trip.assigned:bk-1:pickup', 'trip.pickup-completed notify:trip.pickup-completed:bk-1']);
    // The jockey reported first stays known after later reports without one.
    expect(currentOf(bookings).trips?.pickup?.jockey).toEqual({ name: 'Jonas', phone: '+4915112345678' });
  });

  it('ignores a repeated report, and answers duplicate for an event id it applied already', async () => {
    const { bookings, deps } = setup();
    const report = pickup('arrived', 3);

    expect(await recordTripUpdate(deps, BOOKING_ID, report, DRIVER, 'driver:trip-1:3:arrived')).toBe('applied');
    expect(await recordTripUpdate(deps, BOOKING_ID, report, DRIVER, 'driver:trip-1:3:arrived')).toBe('duplicate');
    expect(await recordTripUpdate(deps, BOOKING_ID, report, DRIVER)).toBe('ignored');

    expect(bookings.changes).toHaveLength(1);
  });

  it('ignores reports older than the last applied one by sequence, even when their clock says later', async () => {
    const { bookings, deps } = setup();
    await recordTripUpdate(deps, BOOKING_ID, pickup('arrived', 3), DRIVER);

    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('in_progress', 2, { occurredAt: '2026-11-25T09:00:00.000Z' }), DRIVER)).toBe('ignored');
    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('assigned', 1), DRIVER)).toBe('ignored');

    expect(currentOf(bookings).trips?.pickup).toMatchObject({ status: 'arrived', sequence: 3 });
    expect(bookings.changes).toHaveLength(1);
  });

  it('orders reports without sequence numbers by when they happened', async () => {
    const { bookings, deps } = setup();
    const at = (status: TripUpdate['status'], occurredAt: string): TripUpdate => ({ leg: 'pickup', tripId: 'trip-1', status, occurredAt });

    expect(await recordTripUpdate(deps, BOOKING_ID, at('arrived', '2026-11-25T08:30:00.000Z'), DRIVER)).toBe('applied');
    expect(await recordTripUpdate(deps, BOOKING_ID, at('in_progress', '2026-11-25T08:20:00.000Z'), DRIVER)).toBe('ignored');

    expect(currentOf(bookings).trips?.pickup?.status).toBe('arrived');
  });

  it('never moves a completed pick-up back', async () => {
    const { bookings, deps } = setup();
    await recordTripUpdate(deps, BOOKING_ID, pickup('pickup_completed', 4), DRIVER);

    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('in_progress', 5), DRIVER)).toBe('ignored');
    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('failed', 6, { reason: 'late failure' }), DRIVER)).toBe('ignored');

    expect(currentOf(bookings)).toMatchObject({ status: 'IN_WORKSHOP', trips: { pickup: { status: 'pickup_completed' } }, flags: {} });
    expect(bookings.changes).toHaveLength(1);
  });

  it('ignores reports about another trip than the one the booking knows', async () => {
    const { bookings, deps } = setup();

    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('pickup_completed', 4, { tripId: 'trip-9' }), DRIVER)).toBe('ignored');

    expect(currentOf(bookings).status).toBe('CONFIRMED');
    expect(bookings.changes).toEqual([]);
  });

  it('flags the booking for an admin when a trip failed, and tells the customer', async () => {
    const { bookings, deps } = setup();

    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('failed', 3, { reason: 'nobody at home' }), DRIVER)).toBe('applied');

    const booking = currentOf(bookings);
    expect(booking).toMatchObject({
      status: 'CONFIRMED',
      flags: { needsAttention: true, attentionReason: 'pickup trip failed: nobody at home' },
      trips: { pickup: { status: 'failed', failureReason: 'nobody at home' } },
    });
    // The booking's status did not move: a trip row only.
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([]);
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { kind: 'trip', subject: 'trip-1', leg: 'pickup', from: 'dispatched', to: 'failed', at: NOW, cause: 'driver:trip-1' },
    ]);
    expect(jobsOf(bookings)).toEqual(['trip.failed notify:trip.failed:bk-1:pickup']);
  });

  it('names a failure without a reason as such', async () => {
    const { bookings, deps } = setup();

    await recordTripUpdate(deps, BOOKING_ID, pickup('failed', 3), DRIVER);

    expect(currentOf(bookings).flags).toEqual({ needsAttention: true, attentionReason: 'pickup trip failed: no reason given', attentionSince: NOW });
  });

  it.each<[string, BookingStatus, TripUpdate]>([
    ['a delivery report while CONFIRMED', 'CONFIRMED', { leg: 'delivery', status: 'delivery_completed', occurredAt: NOW }],
    ['a delivery report while IN_WORKSHOP', 'IN_WORKSHOP', { leg: 'delivery', status: 'assigned', occurredAt: NOW }],
    ['a pick-up report while PENDING_PAYMENT', 'PENDING_PAYMENT', { leg: 'pickup', status: 'pickup_completed', occurredAt: NOW }],
    ['a pick-up report while CANCELLED', 'CANCELLED', { leg: 'pickup', status: 'pickup_completed', occurredAt: NOW }],
  ])('answers wrong-state for %s and changes nothing', async (_name, status, update) => {
    const { bookings, deps } = setup(aBooking({ status }));

    expect(await recordTripUpdate(deps, BOOKING_ID, update, DRIVER)).toBe('wrong-state');

    expect(currentOf(bookings).status).toBe(status);
    expect(bookings.changes).toEqual([]);
  });

  it('answers not-found for an unknown booking', async () => {
    const { deps } = setup();

    expect(await recordTripUpdate(deps, 'bk-unknown', pickup('arrived', 3), DRIVER)).toBe('not-found');
  });

  it('moves a booking READY_FOR_DELIVERY to DELIVERED when the delivery is completed', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'READY_FOR_DELIVERY' }));

    expect(await recordTripUpdate(deps, BOOKING_ID, { leg: 'delivery', tripId: 'trip-2', status: 'delivery_completed', occurredAt: NOW }, DRIVER)).toBe(
      'applied',
    );

    expect(currentOf(bookings)).toMatchObject({ status: 'DELIVERED', trips: { delivery: { tripId: 'trip-2', status: 'delivery_completed' } } });
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([{ from: 'READY_FOR_DELIVERY', to: 'DELIVERED', at: NOW, cause: 'driver:trip-1' }]);
    expect(
      (await bookingTimeline(bookings, BOOKING_ID)).map((row) => ('leg' in row ? `${row.leg} ${row.subject} ${row.from}->${row.to}` : kindOf(row))),
    ).toEqual(['delivery trip-2 null->delivery_completed', 'status']);
    expect(jobsOf(bookings)).toEqual(['trip.delivered notify:trip.delivered:bk-1']);
  });
});

describe('markReady', () => {
  it('moves a car in the workshop to READY_FOR_DELIVERY and queues the delivery trip', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'IN_WORKSHOP' }));

    const outcome = await markReady(deps, BOOKING_ID, ADMIN, 'op-9');

    expect(outcome).toEqual({ ok: true, booking: { ...aBooking({ status: 'READY_FOR_DELIVERY' }), updatedAt: NOW, version: 4 } });
    expect(currentOf(bookings).status).toBe('READY_FOR_DELIVERY');
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([{ from: 'IN_WORKSHOP', to: 'READY_FOR_DELIVERY', at: NOW, cause: 'api:backoffice' }]);
    expect(jobsOf(bookings)).toEqual(['trip.delivery trip:delivery:bk-1']);
    expect(bookings.jobs[0]).toMatchObject({
      queue: 'driver-dispatch',
      envelope: { subject: BOOKING_ID, payload: { bookingId: BOOKING_ID, trip: 'delivery' }, correlation: { operationId: 'op-9' } },
    });
  });

  it('fixes the delivery trip’s scheduled time in its job when the car is marked ready', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'IN_WORKSHOP' }));

    await markReady(deps, BOOKING_ID, ADMIN);

    expect(bookings.jobs[0]?.envelope.payload).toEqual({ bookingId: BOOKING_ID, trip: 'delivery', scheduledPickup: NOW });
  });

  it('queues the delivery trip once, however often the car is marked ready, also at once', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'IN_WORKSHOP' }));

    const [one, two] = await Promise.all([markReady(deps, BOOKING_ID, ADMIN), markReady(deps, BOOKING_ID, ADMIN)]);
    const three = await markReady(deps, BOOKING_ID, ADMIN);

    for (const outcome of [one, two, three]) expect(outcome).toMatchObject({ ok: true, booking: { status: 'READY_FOR_DELIVERY' } });
    expect(bookings.changes).toHaveLength(1);
    expect(jobsOf(bookings)).toEqual(['trip.delivery trip:delivery:bk-1']);
  });

  it.each<BookingStatus>(['PENDING_PAYMENT', 'CONFIRMED', 'DELIVERED', 'CANCELLED'])('refuses a booking that is %s', async (status) => {
    const { bookings, deps } = setup(aBooking({ status }));

    expect(await markReady(deps, BOOKING_ID, ADMIN)).toEqual({ ok: false, error: 'WRONG_STATE', status });
    expect(bookings.changes).toEqual([]);
  });

  it('answers NOT_FOUND for an unknown booking', async () => {
    const { deps } = setup();

    expect(await markReady(deps, 'bk-unknown', ADMIN)).toEqual({ ok: false, error: 'NOT_FOUND' });
  });
});

describe('assignJockey', () => {
  it("records the jockey as the trip's assigned report, now, and tells the customer", async () => {
    const { bookings, deps } = setup();

    expect(await assignJockey(deps, BOOKING_ID, 'pickup', { name: 'Jonas', phone: '+4915112345678' }, ADMIN)).toBe('applied');

    expect(currentOf(bookings)).toMatchObject({
      status: 'CONFIRMED',
      trips: { pickup: { tripId: 'trip-1', status: 'assigned', occurredAt: NOW, jockey: { name: 'Jonas', phone: '+4915112345678' } } },
    });
    // A jockey assignment is trip progress: a trip row, no status row.
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([]);
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { kind: 'trip', subject: 'trip-1', leg: 'pickup', from: 'dispatched', to: 'assigned', at: NOW, cause: 'api:backoffice' },
    ]);
    expect(jobsOf(bookings)).toEqual(['trip.assigned notify:trip.assigned:bk-1:pickup']);
  });

  it('names a trip without a Driver-App id by its leg in the history', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'CONFIRMED' }));

    expect(await assignJockey(deps, BOOKING_ID, 'pickup', { name: 'Jonas' }, ADMIN)).toBe('applied');

    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { kind: 'trip', subject: 'pickup', leg: 'pickup', from: null, to: 'assigned', at: NOW, cause: 'api:backoffice' },
    ]);
  });

  it('assigns the delivery jockey once the car is ready, and not before', async () => {
    const inWorkshop = setup(aBooking({ status: 'IN_WORKSHOP' }));
    expect(await assignJockey(inWorkshop.deps, BOOKING_ID, 'delivery', { name: 'Jonas' }, ADMIN)).toBe('wrong-state');
    expect(inWorkshop.bookings.changes).toEqual([]);

    const ready = setup(aBooking({ status: 'READY_FOR_DELIVERY' }));
    expect(await assignJockey(ready.deps, BOOKING_ID, 'delivery', { name: 'Jonas' }, ADMIN)).toBe('applied');
    expect(currentOf(ready.bookings).trips?.delivery).toMatchObject({ status: 'assigned', jockey: { name: 'Jonas' } });
    expect(jobsOf(ready.bookings)).toEqual(['trip.assigned notify:trip.assigned:bk-1:delivery']);
  });

  it('answers not-found for an unknown booking', async () => {
    const { deps } = setup();

    expect(await assignJockey(deps, 'bk-unknown', 'pickup', { name: 'Jonas' }, ADMIN)).toBe('not-found');
  });
});

describe('recordDriverReport', () => {
  const cancelled = (flags: Booking['flags'] = {}) =>
    aBooking({ status: 'CANCELLED', trips: { pickup: { tripId: 'trip-1', status: 'cancelled' } }, flags, payment: { status: 'refunded' } });

  it('applies a report to a booking that is not cancelled exactly as recordTripUpdate does', async () => {
    const { bookings, deps } = setup();

    expect(await recordDriverReport(deps, BOOKING_ID, pickup('pickup_completed', 4), DRIVER, 'driver:trip-1:4:pickup_completed')).toBe('applied');

    expect(currentOf(bookings).status).toBe('IN_WORKSHOP');
  });

  it('acknowledges a report about the withdrawn trip of a cancelled booking as late, changes nothing else and flags the booking', async () => {
    const { bookings, deps } = setup(cancelled());

    expect(await recordDriverReport(deps, BOOKING_ID, pickup('pickup_completed', 4), DRIVER, 'driver:trip-1:4:pickup_completed')).toBe('late');

    expect(currentOf(bookings)).toEqual({
      ...cancelled({
        needsAttention: true,
        attentionReason: 'pickup trip trip-1 reported pickup_completed after the booking was cancelled',
        attentionSince: NOW,
      }),
      updatedAt: NOW,
      version: 4,
    });
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([]);
    expect(bookings.jobs).toEqual([]);
    // The same report again is a duplicate; the same status under another event flags nothing new.
    expect(await recordDriverReport(deps, BOOKING_ID, pickup('pickup_completed', 4), DRIVER, 'driver:trip-1:4:pickup_completed')).toBe('duplicate');
    expect(await recordDriverReport(deps, BOOKING_ID, pickup('pickup_completed', 5), DRIVER, 'driver:trip-1:5:pickup_completed')).toBe('late');
    expect(bookings.changes).toHaveLength(1);
  });

  it('keeps a reason the booking is flagged for already, and adds the late report after it', async () => {
    const { bookings, deps } = setup(cancelled({ needsAttention: true, attentionReason: 'refund failed: card_declined' }));

    expect(await recordDriverReport(deps, BOOKING_ID, pickup('assigned', 1), DRIVER, 'driver:trip-1:1:assigned')).toBe('late');

    expect(currentOf(bookings).flags).toEqual({
      needsAttention: true,
      attentionReason: 'refund failed: card_declined; pickup trip trip-1 reported assigned after the booking was cancelled',
    });
  });

  it('leaves the admin’s manual report for a cancelled booking refused (wrong-state), without a flag', async () => {
    const { bookings, deps } = setup(cancelled());

    expect(await recordTripUpdate(deps, BOOKING_ID, pickup('assigned', 1), ADMIN)).toBe('wrong-state');

    expect(bookings.changes).toEqual([]);
  });
});
