import { describe, expect, it } from 'vitest';
import { customerRef } from '../../../shared/kernel/customer-ref';
import { JobError } from '../../../shared/platform/jobs';
import { b2cTripSchema } from '../../../slices/bookings/app/driver-app';
import { type DispatchDeps, dispatchHandlers, toTrip } from '../../../slices/bookings/app/dispatch-trip';
import { recordTripUpdate } from '../../../slices/bookings/app/trips';
import type { Booking } from '../../../slices/bookings/domain/booking';
import { type BookingStatus, causes } from '../../../slices/bookings/domain/booking-status';
import { aBooking, aJob, BOOKING_ID, CUSTOMER_EMAIL, currentOf, FakeDispatcher, fixedClock, NOW, storeWith } from '../../support/booking-fixtures';

function setup(booking: Booking = aBooking({ status: 'CONFIRMED' })) {
  const bookings = storeWith(booking);
  const dispatcher = new FakeDispatcher();
  const syncs: string[] = [];
  const logged: Array<{ message: string; data?: Record<string, unknown> }> = [];
  const deps: DispatchDeps = {
    bookings,
    clock: fixedClock(NOW),
    dispatcher,
    recordSync: async (at) => {
      syncs.push(at.toISOString());
    },
    log: { info: (message, data) => logged.push({ message, data }), warn: () => {}, error: () => {} },
  };
  const handlers = dispatchHandlers(deps);
  const run = (type: 'trip.pickup' | 'trip.delivery', id = `trip:${type.slice(5)}:${BOOKING_ID}`, subject = BOOKING_ID) => {
    const handler = handlers[type];
    if (!handler) throw new Error(`no handler for ${type}`);
    return handler(aJob(type, id, subject));
  };
  return { bookings, dispatcher, syncs, logged, deps, run };
}

describe('dispatchHandlers', () => {
  it('handles the pick-up and the delivery trip jobs', () => {
    expect(Object.keys(dispatchHandlers(setup().deps)).sort()).toEqual(['trip.delivery', 'trip.pickup']);
  });

  it('sends the pick-up trip once, with the job id as idempotency key, and keeps the trip id', async () => {
    const { bookings, dispatcher, syncs, run } = setup();

    await run('trip.pickup');

    expect(dispatcher.sent.map((sent) => sent.idempotencyKey)).toEqual(['trip:pickup:bk-1']);
    expect(dispatcher.sent[0]?.trip).toEqual(toTrip(aBooking({ status: 'CONFIRMED' }), 'pickup', new Date(NOW)));
    expect(currentOf(bookings)).toMatchObject({ status: 'CONFIRMED', trips: { pickup: { tripId: 'trip-1', status: 'dispatched' } }, updatedAt: NOW });
    expect(bookings.changes).toHaveLength(1);
    expect(bookings.jobs).toEqual([]);
    expect(syncs).toEqual([NOW]);
  });

  it('does not send a redelivered job again once the trip id is kept', async () => {
    const { bookings, dispatcher, run } = setup();

    await run('trip.pickup');
    await run('trip.pickup');

    expect(dispatcher.sent).toHaveLength(1);
    expect(bookings.changes).toHaveLength(1);
  });

  it('sends the delivery trip of a booking READY_FOR_DELIVERY', async () => {
    const { bookings, dispatcher, run } = setup(
      aBooking({ status: 'READY_FOR_DELIVERY', trips: { pickup: { tripId: 'trip-0', status: 'pickup_completed' } } }),
    );

    await run('trip.delivery');

    expect(dispatcher.sent.map((sent) => [sent.idempotencyKey, sent.trip.type])).toEqual([['trip:delivery:bk-1', 'b2c_delivery']]);
    expect(currentOf(bookings).trips).toEqual({
      pickup: { tripId: 'trip-0', status: 'pickup_completed' },
      delivery: { tripId: 'trip-1', status: 'dispatched' },
    });
  });

  it.each<[string, BookingStatus, 'trip.pickup' | 'trip.delivery']>([
    ['a pick-up of a cancelled booking', 'CANCELLED', 'trip.pickup'],
    ['a pick-up of a car already in the workshop', 'IN_WORKSHOP', 'trip.pickup'],
    ['a pick-up of an unpaid booking', 'PENDING_PAYMENT', 'trip.pickup'],
    ['a delivery of a car still in the workshop', 'IN_WORKSHOP', 'trip.delivery'],
    ['a delivery of a car already delivered', 'DELIVERED', 'trip.delivery'],
  ])('does nothing for %s', async (_name, status, type) => {
    const { bookings, dispatcher, syncs, logged, run } = setup(aBooking({ status }));

    await run(type);

    expect(dispatcher.sent).toEqual([]);
    expect(bookings.changes).toEqual([]);
    expect(syncs).toEqual([]);
    expect(logged).toEqual([{ message: 'trip not dispatched: no longer wanted', data: expect.objectContaining({ bookingId: BOOKING_ID, status }) }]);
  });

  it('fails permanently with BOOKING_NOT_FOUND for an unknown booking', async () => {
    const { dispatcher, run } = setup();

    const error = await run('trip.pickup', 'trip:pickup:bk-unknown', 'bk-unknown').then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({ kind: 'permanent', code: 'BOOKING_NOT_FOUND' });
    expect(dispatcher.sent).toEqual([]);
  });

  it('keeps the trip id a status report recorded while the trip was being sent', async () => {
    const { bookings, dispatcher, deps, run } = setup();
    dispatcher.during = async () => {
      const update = { leg: 'pickup' as const, tripId: 'trip-from-report', status: 'assigned' as const, occurredAt: NOW, sequence: 1 };
      expect(await recordTripUpdate(deps, BOOKING_ID, update, causes.driver('trip-from-report'))).toBe('applied');
    };

    await run('trip.pickup');

    expect(currentOf(bookings).trips?.pickup).toMatchObject({ tripId: 'trip-from-report', status: 'assigned' });
    expect(bookings.changes).toHaveLength(1);
  });

  it('stores the trip id on the booking as it is now when another change landed during the send', async () => {
    const { bookings, dispatcher, run } = setup(aBooking({ status: 'CONFIRMED', notes: 'Key is with the neighbour' }));
    dispatcher.during = () => {
      bookings.seed(
        aBooking({ status: 'CONFIRMED', notes: 'Key is with the neighbour', flags: { needsAttention: true, attentionReason: 'call first' }, version: 4 }),
      );
    };

    await run('trip.pickup');

    expect(currentOf(bookings)).toMatchObject({
      flags: { needsAttention: true, attentionReason: 'call first' },
      trips: { pickup: { tripId: 'trip-1', status: 'dispatched' } },
    });
    expect(bookings.changes).toHaveLength(1);
  });

  // Issue 9: a delivery trip whose first send timed out was sent again under the same key with another
  // body (its scheduled time was "now" at each attempt), refused as a conflicting reuse, dead-lettered.
  it('sends a retried delivery trip byte for byte as the first attempt: its time was fixed when the job was made', async () => {
    const ready = aBooking({ status: 'READY_FOR_DELIVERY', trips: { pickup: { tripId: 'trip-0', status: 'pickup_completed' } } });
    const { bookings, dispatcher, deps } = setup(ready);
    const handler = dispatchHandlers(deps)['trip.delivery'];
    if (!handler) throw new Error('no delivery handler');
    const clock = deps.clock as ReturnType<typeof fixedClock>;
    const job = {
      ...aJob('trip.delivery', 'trip:delivery:bk-1'),
      payload: { bookingId: BOOKING_ID, trip: 'delivery', scheduledPickup: '2026-11-24T07:45:00.000Z' },
    };
    // The first attempt times out after the Driver-App took the trip; the retry runs minutes later.
    dispatcher.during = () => {
      throw JobError.transient('DRIVER_APP_TIMEOUT', 'Driver-App did not answer within 10000 ms');
    };
    await expect(handler(job)).rejects.toMatchObject({ kind: 'transient' });
    dispatcher.during = () => {};
    clock.set('2026-11-24T08:07:00.000Z');
    await handler({ ...job, attempt: 2 });

    const [first, second] = dispatcher.sent;
    expect(first?.trip.scheduledPickup).toBe('2026-11-24T07:45:00.000Z');
    expect(JSON.stringify(second?.trip)).toBe(JSON.stringify(first?.trip));
    expect([first?.idempotencyKey, second?.idempotencyKey]).toEqual(['trip:delivery:bk-1', 'trip:delivery:bk-1']);
    expect(currentOf(bookings).trips?.delivery).toEqual({ tripId: 'trip-1', status: 'dispatched' });
  });

  it('schedules a delivery job queued before it carried its time at the job’s creation, on every attempt', async () => {
    const ready = aBooking({ status: 'READY_FOR_DELIVERY' });
    const { dispatcher, deps } = setup(ready);
    const handler = dispatchHandlers(deps)['trip.delivery'];
    if (!handler) throw new Error('no delivery handler');
    const clock = deps.clock as ReturnType<typeof fixedClock>;
    const job = { ...aJob('trip.delivery', 'trip:delivery:bk-1'), createdAt: '2026-11-24T07:30:00.000Z' };
    dispatcher.answerWithTripId = false;

    await handler(job);
    clock.set('2026-11-24T09:00:00.000Z');
    await handler({ ...job, attempt: 2 });

    expect(dispatcher.sent.map((sent) => sent.trip.scheduledPickup)).toEqual(['2026-11-24T07:30:00.000Z', '2026-11-24T07:30:00.000Z']);
  });

  it('stores nothing when the Driver-App answers without a trip id, but still records the sync', async () => {
    const { bookings, dispatcher, syncs, run } = setup();
    dispatcher.answerWithTripId = false;

    await run('trip.pickup');

    expect(dispatcher.sent).toHaveLength(1);
    expect(bookings.changes).toEqual([]);
    expect(syncs).toEqual([NOW]);
  });
});

describe('toTrip', () => {
  const booking = aBooking({ status: 'CONFIRMED', notes: 'Please ring twice' });

  it("builds a pick-up trip at the booked slot from the customer's address to the delivery address", () => {
    const trip = toTrip(booking, 'pickup', new Date(NOW));

    expect(trip).toEqual({
      type: 'b2c_pickup',
      bookingId: BOOKING_ID,
      customerId: customerRef(CUSTOMER_EMAIL),
      customerName: 'Erika Mustermann',
      customerPhone: '+491711234567',
      pickupAddress: booking.pickup.address,
      deliveryAddress: booking.delivery.address,
      vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'M-AB 1234' },
      scheduledPickup: '2026-11-25T08:00:00.000Z',
      notes: 'Please ring twice',
    });
    expect(() => b2cTripSchema.parse(trip)).not.toThrow();
  });

  it('names the customer by the cust: reference, never by the e-mail address', () => {
    const trip = toTrip(
      aBooking({ customer: { name: 'Erika Mustermann', email: 'Erika.M@Example.com', phone: '+491711234567', language: 'de' } }),
      'pickup',
      new Date(NOW),
    );

    expect(trip.customerId).toMatch(/^cust:[0-9a-f]{32}$/);
    expect(trip.customerId).toBe(customerRef('erika.m@example.com'));
    expect(JSON.stringify(trip).toLowerCase()).not.toContain('erika.m@example.com');
  });

  it('schedules a delivery trip now, and sends an empty plate and no notes when the booking has none', () => {
    const bare = aBooking({ status: 'READY_FOR_DELIVERY', vehicle: { brand: 'VW', model: 'Golf' } });

    const trip = toTrip(bare, 'delivery', new Date('2026-11-27T13:05:00.000Z'));

    expect(trip).toMatchObject({
      type: 'b2c_delivery',
      scheduledPickup: '2026-11-27T13:05:00.000Z',
      vehicle: { brand: 'VW', model: 'Golf', licensePlate: '' },
    });
    expect(trip).not.toHaveProperty('notes');
    expect(() => b2cTripSchema.parse(trip)).not.toThrow();
  });
});
