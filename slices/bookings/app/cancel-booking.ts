import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { PaymentFailure, PaymentGateway } from '../../../shared/platform/payments';
import type { Booking } from '../domain/booking';
import { isCancellable, transition } from '../domain/booking-status';
import { type AccessError, type BookingActor, causeOf, readBooking } from './access';
import { odooSyncJob } from './jobs';
import { notificationJob } from './notifications';
import type { BookingContext } from './ports';

export interface CancelBookingDeps extends BookingContext {
  payments: PaymentGateway;
}

export type CancelOutcome =
  | { ok: true; booking: Booking; refunded: boolean }
  | { ok: false; error: AccessError | { code: 'NOT_CANCELLABLE'; status: string } | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure } };

/**
 * Cancels a booking until pick-up (its customer or an admin). A paid booking is refunded first
 * (idempotency key per booking, so a retried cancellation never refunds twice); an unpaid one has its
 * PaymentIntent cancelled so it can no longer be paid. Then CANCELLED is saved with an Odoo sync
 * (the credit note) and an e-mail.
 */
export async function cancelBooking(deps: CancelBookingDeps, id: string, actor: BookingActor, operationId?: string): Promise<CancelOutcome> {
  const read = await readBooking(deps.bookings, id, actor, ['admin']);
  if (!read.ok) return read;
  const first = read.stored.state;
  if (first.status === 'CANCELLED') return { ok: true, booking: first, refunded: first.payment.status === 'refunded' };
  if (!isCancellable(first.status)) return { ok: false, error: { code: 'NOT_CANCELLABLE', status: first.status } };

  const payment = first.payment;
  let refunded = false;
  if (payment.status === 'succeeded' && payment.paymentIntentId) {
    const refund = await deps.payments.refund({ paymentIntentId: payment.paymentIntentId, idempotencyKey: `booking:${id}:refund` });
    if (!refund.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: refund.error } };
    refunded = true;
  } else if (payment.paymentIntentId) {
    const cancelled = await deps.payments.cancelPaymentIntent(payment.paymentIntentId, `booking:${id}:cancel-payment`);
    // An intent that already succeeded cannot be cancelled: the payment raced us, so refund instead.
    if (!cancelled.ok && cancelled.error.code !== 'invalid_request') return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: cancelled.error } };
    if (!cancelled.ok) {
      const refund = await deps.payments.refund({ paymentIntentId: payment.paymentIntentId, idempotencyKey: `booking:${id}:refund` });
      if (!refund.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: refund.error } };
      refunded = true;
    }
  }

  // The ETag of the first read guards the save: a booking changed meanwhile is read again.
  const outcome = await mutate<Booking, Booking>(
    deps.bookings,
    id,
    ({ state: booking }) => {
      const at = deps.clock.now();
      if (booking.status === 'CANCELLED') return skip(booking);
      const cancelled = transition(booking, 'CANCELLED', causeOf(actor), at);
      if (!cancelled.ok) {
        if (!refunded) return skip(booking);
        // The car was picked up while we refunded: the money is back with the customer, so a human decides.
        const flagged: Booking = {
          ...booking,
          payment: { ...booking.payment, status: 'refunded' },
          flags: { needsAttention: true, attentionReason: `refunded by a cancellation that lost a race with ${booking.status}` },
          updatedAt: at.toISOString(),
        };
        return save(flagged, flagged, { jobs: [odooSyncJob(booking, 'refunded')] });
      }
      const next: Booking = refunded
        ? { ...cancelled.booking, payment: { ...cancelled.booking.payment, status: 'refunded' } }
        : { ...cancelled.booking, payment: { ...cancelled.booking.payment, status: booking.payment.status === 'succeeded' ? 'succeeded' : 'canceled' } };
      const jobs = [...(refunded ? [odooSyncJob(booking, 'cancelled and refunded')] : []), notificationJob('booking.cancelled', booking, { refunded })];
      return save(next, next, { history: [cancelled.history], jobs });
    },
    { clock: deps.clock, operationId, first: read.stored },
  );
  if (outcome.kind !== 'done') return { ok: false, error: { code: 'NOT_FOUND' } };
  if (outcome.result.status !== 'CANCELLED') return { ok: false, error: { code: 'NOT_CANCELLABLE', status: outcome.result.status } };
  return { ok: true, booking: outcome.result, refunded };
}
