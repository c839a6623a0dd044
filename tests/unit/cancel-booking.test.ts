import { describe, expect, it } from 'vitest';
import type { PaymentGateway } from '../../shared/platform/payments';
import { hashToken } from '../../slices/bookings/app/access';
import { cancelBooking } from '../../slices/bookings/app/cancel-booking';
import { ACCESS_TOKEN_HASH } from '../../slices/bookings/app/ports';
import { type Booking, bookingSchema } from '../../slices/bookings/domain/booking';
import type { BookingStatus } from '../../slices/bookings/domain/booking-status';
import { MemoryAggregateStore } from '../support/memory-store';

const AT = '2026-11-24T08:00:00.000Z';
const TOKEN = 'bat_token';

function booking(status: BookingStatus, version = 2): Booking {
  return bookingSchema.parse({
    id: 'bk-1',
    status,
    customer: { name: 'Erika Mustermann', email: 'erika@example.com', phone: '+491711234567', language: 'de' },
    vehicle: { brand: 'VW', model: 'Golf' },
    serviceType: 'inspection',
    priceCents: 14900,
    currency: 'EUR',
    pickup: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' }, slotStart: AT, slotEnd: AT },
    delivery: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' } },
    payment: { status: 'succeeded', paymentIntentId: 'pi_1', stripeCustomerId: 'cus_1', paymentMethodId: 'pm_1' },
    findings: [],
    flags: {},
    createdAt: AT,
    updatedAt: AT,
    version,
  });
}

/** A store holding booking `bk-1`, and a Stripe whose refund runs `during` before it answers. */
function setup(status: BookingStatus, during: (store: MemoryAggregateStore<Booking>) => void = () => {}) {
  const store = new MemoryAggregateStore<Booking>('booking');
  store.seed(booking(status), { [ACCESS_TOKEN_HASH]: hashToken(TOKEN) });
  const refunds: string[] = [];
  const payments = {
    refund: async ({ idempotencyKey }: { idempotencyKey: string }) => {
      refunds.push(idempotencyKey);
      during(store);
      return { ok: true as const, value: { id: 're_1', status: 'succeeded' } };
    },
  } as unknown as PaymentGateway;
  const deps = { bookings: store, payments, clock: { now: () => new Date(AT), newId: () => 'id' } };
  return { store, refunds, deps };
}

describe('cancelBooking', () => {
  it('refunds and cancels a paid, confirmed booking with an Odoo sync and an e-mail', async () => {
    const { store, deps } = setup('CONFIRMED');
    const outcome = await cancelBooking(deps, 'bk-1', { kind: 'customer', token: TOKEN });
    expect(outcome).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED', payment: { status: 'refunded' } } });
    expect(store.changes[0]?.jobs.map((job) => job.envelope.type)).toEqual(['booking.sync', 'booking.cancelled']);
  });

  it('flags the booking for an admin when the car was picked up while the refund went out', async () => {
    // The pick-up report lands between the refund and the save: the save meets a newer booking.
    const { store, refunds, deps } = setup('CONFIRMED', (bookings) => bookings.seed(booking('IN_WORKSHOP', 3), { [ACCESS_TOKEN_HASH]: hashToken(TOKEN) }));
    const outcome = await cancelBooking(deps, 'bk-1', { kind: 'customer', token: TOKEN });
    expect(refunds).toEqual(['booking:bk-1:refund']);
    expect(outcome).toEqual({ ok: false, error: { code: 'NOT_CANCELLABLE', status: 'IN_WORKSHOP' } });
    expect(store.changes).toHaveLength(1);
    expect(store.changes[0]?.state).toMatchObject({ status: 'IN_WORKSHOP', payment: { status: 'refunded' }, flags: { needsAttention: true } });
    expect(store.changes[0]?.jobs.map((job) => job.envelope.type)).toEqual(['booking.sync']);
  });
});
