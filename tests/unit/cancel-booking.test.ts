import { describe, expect, it } from 'vitest';
import { cancelBooking } from '../../slices/bookings/app/cancel-booking';
import type { BookingChange, BookingRepository, SaveResult, StoredBooking } from '../../slices/bookings/app/ports';
import type { PaymentGateway } from '../../shared/platform/payments';
import { type Booking, bookingSchema } from '../../slices/bookings/domain/booking';
import type { BookingStatus, HistoryEntry } from '../../slices/bookings/domain/booking-status';

const AT = '2026-11-24T08:00:00.000Z';

function booking(status: BookingStatus): Booking {
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
    version: 2,
  });
}

/** A repository whose booking changes between reads, as when a pick-up report races a cancellation. */
class SequenceRepository implements BookingRepository {
  saved: BookingChange[] = [];
  constructor(private readonly reads: Booking[]) {}
  async get(): Promise<StoredBooking> {
    const next = this.reads.length > 1 ? (this.reads.shift() as Booking) : (this.reads[0] as Booking);
    return { booking: next, etag: `v${next.version}`, accessTokenHash: 'h' };
  }
  async history(): Promise<HistoryEntry[]> {
    return [];
  }
  async hasEvent(): Promise<boolean> {
    return false;
  }
  async create(): Promise<void> {}
  async update(_current: StoredBooking, change: BookingChange): Promise<SaveResult> {
    this.saved.push(change);
    return 'saved';
  }
}

const refunds: string[] = [];
const payments = {
  refund: async ({ idempotencyKey }: { idempotencyKey: string }) => {
    refunds.push(idempotencyKey);
    return { ok: true as const, value: { id: 're_1', status: 'succeeded' } };
  },
} as unknown as PaymentGateway;

describe('cancelBooking', () => {
  it('refunds and cancels a paid, confirmed booking with an Odoo sync and an e-mail', async () => {
    const repo = new SequenceRepository([booking('CONFIRMED')]);
    const outcome = await cancelBooking({ repo, payments, now: () => new Date(AT), newId: () => 'id' }, 'bk-1', 'customer');
    expect(outcome).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED', payment: { status: 'refunded' } } });
    expect(repo.saved[0]?.jobs.map((job) => job.envelope.type)).toEqual(['booking.sync', 'booking.cancelled']);
  });

  it('flags the booking for an admin when the car was picked up while the refund went out', async () => {
    refunds.length = 0;
    const repo = new SequenceRepository([booking('CONFIRMED'), booking('IN_WORKSHOP')]);
    const outcome = await cancelBooking({ repo, payments, now: () => new Date(AT), newId: () => 'id' }, 'bk-1', 'customer');
    expect(refunds).toEqual(['booking:bk-1:refund']);
    expect(outcome).toEqual({ ok: false, error: { code: 'NOT_CANCELLABLE', status: 'IN_WORKSHOP' } });
    expect(repo.saved).toHaveLength(1);
    expect(repo.saved[0]?.booking).toMatchObject({ status: 'IN_WORKSHOP', payment: { status: 'refunded' }, flags: { needsAttention: true } });
    expect(repo.saved[0]?.jobs.map((job) => job.envelope.type)).toEqual(['booking.sync']);
  });
});
