import { describe, expect, it } from 'vitest';
import type { Change, SaveResult, Stored } from '../../../shared/platform/aggregate';
import type { PaymentEvent, PaymentGateway } from '../../../shared/platform/payments';
import { hashToken } from '../../../slices/bookings/app/access';
import { cancelBooking, type CancelBookingDeps } from '../../../slices/bookings/app/cancel-booking';
import { handleStripeEvent } from '../../../slices/bookings/app/handle-stripe-event';
import { ACCESS_TOKEN_HASH, bookingHistory } from '../../../slices/bookings/app/ports';
import type { Booking } from '../../../slices/bookings/domain/booking';
import { bookingMachine } from '../../../slices/bookings/domain/booking-status';
import { aBooking, BOOKING_ID, currentOf, FakePaymentGateway, fixedClock, jobsOf, NOW, TOKEN } from '../../support/booking-fixtures';
import { MemoryAggregateStore } from '../../support/memory-store';

// What becomes of a cancellation's refund after the cancellation is saved: recorded by the request,
// or — when the request cannot — by Stripe's webhook; a refund Stripe does not take is flagged for a
// person, and cancelling again asks again under the same key.

/** A booking store that is down for the saves `down` picks (the cancellation itself, or the refund's record). */
class FailingStore extends MemoryAggregateStore<Booking> {
  down: (change: Change<Booking>) => boolean = () => false;

  override async update(current: Stored<Booking>, change: Change<Booking>): Promise<SaveResult> {
    if (this.down(change)) throw new Error('storage unavailable');
    return super.update(current, change);
  }
}

const CUSTOMER = { kind: 'customer', token: TOKEN } as const;
const isRecord = (change: Change<Booking>) => change.state.payment.refund !== undefined && change.state.payment.refund.status !== 'reserved';

function setup(booking: Booking = aBooking({ status: 'CONFIRMED' })) {
  const bookings = new FailingStore(bookingMachine.name);
  bookings.seed(booking, { [ACCESS_TOKEN_HASH]: hashToken(TOKEN) });
  const payments = new FakePaymentGateway();
  payments.seedIntent({ id: 'pi_booking', status: 'succeeded', amount: booking.priceCents, metadata: { bookingId: booking.id } });
  const clock = fixedClock(NOW);
  const deps: CancelBookingDeps = { bookings, payments, clock };
  return { bookings, payments, clock, deps };
}

/** A refund event as the Stripe adapter reduces it: the refund, and its intent with the refund's metadata. */
function refundEvent(
  id: string,
  type: string,
  refund: { id: string; status: string },
  metadata: Record<string, string> = { bookingId: BOOKING_ID },
): PaymentEvent {
  return {
    id,
    type,
    created: 1_800_000_000,
    refund: { ...refund, amount: 14900 },
    paymentIntent: { id: 'pi_booking', clientSecret: '', status: 'succeeded', amount: 14900, currency: 'eur', metadata },
  };
}

/** Stripe answering refunds as `pending` (e.g. a payment method that refunds slowly). */
function pendingRefunds(payments: FakePaymentGateway): PaymentGateway['refund'] {
  const refund = payments.refund.bind(payments);
  return async (input) => {
    const answer = await refund(input);
    return answer.ok ? { ok: true, value: { ...answer.value, status: 'pending' } } : answer;
  };
}

describe('cancelBooking: recording fails after Stripe refunded', () => {
  it('lets the error go up with the refund reserved; charge.refunded then completes the record, once', async () => {
    const { bookings, payments, clock, deps } = setup();
    bookings.down = isRecord;

    await expect(cancelBooking(deps, BOOKING_ID, CUSTOMER)).rejects.toThrow('storage unavailable');

    expect(payments.refunds).toHaveLength(1);
    // Cancelled (no pick-up goes out), the refund reserved: nothing is lost, only its outcome is unrecorded.
    expect(currentOf(bookings)).toMatchObject({ status: 'CANCELLED', payment: { status: 'succeeded', refund: { status: 'reserved' } } });

    bookings.down = () => false;
    const event = { ...payments.event('evt_refunded', 'charge.refunded', 'pi_booking'), amountRefunded: 14900 };
    expect(await handleStripeEvent({ bookings, clock }, event)).toBe('applied');
    expect(await handleStripeEvent({ bookings, clock }, event)).toBe('duplicate');

    expect(currentOf(bookings)).toMatchObject({ status: 'CANCELLED', payment: { status: 'refunded', refund: { status: 'succeeded' } }, flags: {} });
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v5']);
    expect(bookings.jobs[1]?.envelope.payload).toEqual({ bookingId: BOOKING_ID, reason: 'cancelled and refunded' });
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([{ from: 'CONFIRMED', to: 'CANCELLED', at: NOW, cause: 'customer' }]);

    // The customer's retry finds it all done: no second refund, nothing saved.
    const changes = bookings.changes.length;
    expect(await cancelBooking(deps, BOOKING_ID, CUSTOMER)).toMatchObject({ ok: true, refunded: true, booking: { payment: { status: 'refunded' } } });
    expect(payments.refunds).toHaveLength(1);
    expect(bookings.changes).toHaveLength(changes);
  });

  it("completes the record from the refund's own refund.updated too, and ignores a refund that is not ours", async () => {
    const { bookings, payments, clock, deps } = setup();
    bookings.down = isRecord;
    await expect(cancelBooking(deps, BOOKING_ID, CUSTOMER)).rejects.toThrow('storage unavailable');
    bookings.down = () => false;
    const refundId = payments.refunds[0]?.id as string;

    expect(await handleStripeEvent({ bookings, clock }, refundEvent('evt_u1', 'refund.updated', { id: refundId, status: 'succeeded' }))).toBe('applied');
    expect(currentOf(bookings)).toMatchObject({ payment: { status: 'refunded', refund: { status: 'succeeded', refundId } } });
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v5']);

    // A late charge.refunded and another refund's failure change nothing.
    expect(await handleStripeEvent({ bookings, clock }, payments.event('evt_late', 'charge.refunded', 'pi_booking'))).toBe('unchanged');
    expect(await handleStripeEvent({ bookings, clock }, refundEvent('evt_u2', 'refund.failed', { id: 're_other', status: 'failed' }))).toBe('unchanged');
    expect(currentOf(bookings).payment.refund?.status).toBe('succeeded');
  });

  it('answers a retry with the refund Stripe already made, recorded this time', async () => {
    const { bookings, payments, deps } = setup();
    bookings.down = isRecord;
    await expect(cancelBooking(deps, BOOKING_ID, CUSTOMER)).rejects.toThrow('storage unavailable');
    bookings.down = () => false;

    const retried = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(retried).toMatchObject({ ok: true, refunded: true, booking: { status: 'CANCELLED', payment: { status: 'refunded' } } });
    expect(payments.keysOf('refund')).toEqual(['booking:bk-1:refund', 'booking:bk-1:refund']);
    expect(payments.refunds).toHaveLength(1);
  });
});

describe('cancelBooking: a refund Stripe does not take', () => {
  it('flags the cancelled booking when Stripe is down, and a retry refunds once under the same key', async () => {
    const { bookings, payments, deps } = setup();
    payments.goDown();

    const failed = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(failed).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable' }, booking: { status: 'CANCELLED' } } });
    expect(currentOf(bookings)).toMatchObject({
      status: 'CANCELLED',
      payment: { status: 'succeeded', refund: { status: 'failed' } },
      flags: { needsAttention: true, attentionReason: expect.stringMatching(/^refund failed: unavailable/) },
    });
    expect(payments.refunds).toEqual([]);
    // No credit note yet: the books follow the money.
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1']);

    payments.goDown(false);
    const retried = await cancelBooking(deps, BOOKING_ID, CUSTOMER);
    const again = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    expect(retried).toMatchObject({ ok: true, refunded: true, booking: { payment: { status: 'refunded', refund: { status: 'succeeded' } }, flags: {} } });
    expect(again).toMatchObject({ ok: true, refunded: true });
    expect(payments.keysOf('refund')).toEqual(['booking:bk-1:refund', 'booking:bk-1:refund']);
    expect(payments.refunds).toHaveLength(1);
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v6']);
    expect(await bookingHistory(bookings, BOOKING_ID)).toHaveLength(1);
  });

  it('keeps a refused refund flagged through retries (same key), until the refund made by hand is reported by charge.refunded', async () => {
    const { bookings, payments, clock, deps } = setup();
    // Stripe refuses: here it finds no successful charge to refund.
    payments.intent('pi_booking').status = 'processing';

    const failed = await cancelBooking(deps, BOOKING_ID, CUSTOMER);
    const retried = await cancelBooking(deps, BOOKING_ID, CUSTOMER);

    for (const outcome of [failed, retried]) {
      expect(outcome).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'invalid_request' } } });
    }
    expect(payments.keysOf('refund')).toEqual(['booking:bk-1:refund', 'booking:bk-1:refund']);
    expect(currentOf(bookings)).toMatchObject({
      status: 'CANCELLED',
      payment: { status: 'succeeded', refund: { status: 'failed', failureReason: expect.stringContaining('invalid_request') } },
      flags: { needsAttention: true },
    });

    // A person sorts it out at Stripe and refunds there; the webhook records it and lowers the flag.
    payments.pay('pi_booking');
    expect(await payments.refund({ paymentIntentId: 'pi_booking', idempotencyKey: 'dashboard-1' })).toMatchObject({ ok: true });
    const event = { ...payments.event('evt_dashboard', 'charge.refunded', 'pi_booking'), amountRefunded: 14900 };
    expect(await handleStripeEvent({ bookings, clock }, event)).toBe('applied');

    expect(currentOf(bookings)).toMatchObject({ payment: { status: 'refunded', refund: { status: 'succeeded' } }, flags: {} });
    expect(jobsOf(bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v6']);
  });

  it('records a pending refund, which refund.updated finishes (or fails, flagged)', async () => {
    const finished = setup();
    finished.payments.refund = pendingRefunds(finished.payments);

    const outcome = await cancelBooking(finished.deps, BOOKING_ID, CUSTOMER);

    expect(outcome).toMatchObject({ ok: true, refunded: true, booking: { payment: { status: 'succeeded', refund: { status: 'pending' } } } });
    expect(jobsOf(finished.bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1']);
    // A retry while it is pending asks nothing.
    await cancelBooking(finished.deps, BOOKING_ID, CUSTOMER);
    expect(finished.payments.keysOf('refund')).toHaveLength(1);

    const refundId = finished.payments.refunds[0]?.id as string;
    const events = { bookings: finished.bookings, clock: finished.clock };
    // charge.refunded leaves a pending refund to the refund's own events.
    expect(await handleStripeEvent(events, finished.payments.event('evt_c', 'charge.refunded', 'pi_booking'))).toBe('unchanged');
    expect(await handleStripeEvent(events, refundEvent('evt_ok', 'refund.updated', { id: refundId, status: 'succeeded' }))).toBe('applied');
    expect(currentOf(finished.bookings)).toMatchObject({ payment: { status: 'refunded', refund: { status: 'succeeded' } } });
    expect(jobsOf(finished.bookings)).toEqual(['booking.cancelled notify:booking.cancelled:bk-1', 'booking.sync odoo:bk-1:v6']);

    const lost = setup();
    lost.payments.refund = pendingRefunds(lost.payments);
    await cancelBooking(lost.deps, BOOKING_ID, CUSTOMER);
    const lostId = lost.payments.refunds[0]?.id as string;
    const failedEvent = refundEvent('evt_fail', 'refund.failed', { id: lostId, status: 'failed' });
    expect(await handleStripeEvent({ bookings: lost.bookings, clock: lost.clock }, failedEvent)).toBe('applied');
    expect(currentOf(lost.bookings)).toMatchObject({
      payment: { status: 'succeeded', refund: { status: 'failed', failureReason: 'Stripe reports the refund failed' } },
      flags: { needsAttention: true, attentionReason: 'refund failed: Stripe reports the refund failed' },
    });
  });
});

describe('handleStripeEvent: a refund the hub did not make', () => {
  it('flags a booking whose pick-up is still ahead, since its trip would go out for money that went back', async () => {
    const { bookings, payments, clock } = setup(aBooking({ status: 'CONFIRMED' }));

    expect(await handleStripeEvent({ bookings, clock }, payments.event('evt_r', 'charge.refunded', 'pi_booking'))).toBe('applied');

    expect(currentOf(bookings)).toMatchObject({
      status: 'CONFIRMED',
      payment: { status: 'refunded' },
      flags: { needsAttention: true, attentionReason: 'payment refunded outside the hub while CONFIRMED' },
    });
    expect(currentOf(bookings).payment.refund).toBeUndefined();
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v4']);
  });

  it('ignores refund events for a booking without a reserved refund (charge.refunded records those)', async () => {
    const { bookings, clock } = setup(aBooking({ status: 'CONFIRMED' }));

    expect(await handleStripeEvent({ bookings, clock }, refundEvent('evt_x', 'refund.updated', { id: 're_x', status: 'succeeded' }))).toBe('unchanged');
    expect(bookings.changes).toEqual([]);
  });
});
