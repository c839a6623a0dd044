import type { Booking } from '../domain/booking';
import { type Cause, isCancellable, transition } from '../domain/booking-status';
import { notificationJob } from './notifications';
import type { PaymentFailure, PaymentGateway } from '../../../shared/platform/payments';
import { odooSyncJob, toOutgoing } from './jobs';
import type { BookingClock } from './create-booking';
import type { BookingRepository } from './ports';
import { mutateBooking } from '../../../shared/app/bookings/save-with-retry';

export interface CancelBookingDeps extends BookingClock {
  repo: BookingRepository;
  payments: PaymentGateway;
}

export type CancelOutcome =
  | { ok: true; booking: Booking; refunded: boolean }
  | { ok: false; error: { code: 'NOT_FOUND' } | { code: 'NOT_CANCELLABLE'; status: string } | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure } };

/**
 * Cancels a booking until pick-up. A paid booking is refunded first (idempotency key per booking,
 * so a retried cancellation never refunds twice); an unpaid one has its PaymentIntent cancelled so it
 * can no longer be paid. Then CANCELLED is saved with an Odoo sync (the credit note) and an e-mail.
 */
export async function cancelBooking(deps: CancelBookingDeps, id: string, cause: Cause, operationId?: string): Promise<CancelOutcome> {
  const first = await deps.repo.get(id);
  if (!first) return { ok: false, error: { code: 'NOT_FOUND' } };
  if (first.booking.status === 'CANCELLED') return { ok: true, booking: first.booking, refunded: first.booking.payment.status === 'refunded' };
  if (!isCancellable(first.booking.status)) return { ok: false, error: { code: 'NOT_CANCELLABLE', status: first.booking.status } };

  const payment = first.booking.payment;
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

  const outcome = await mutateBooking(deps.repo, id, (current) => {
    const at = deps.now();
    if (current.booking.status === 'CANCELLED') return { kind: 'skip', result: current.booking };
    const cancelled = transition(current.booking, 'CANCELLED', cause, at);
    if (!cancelled.ok) {
      if (!refunded) return { kind: 'skip', result: current.booking };
      // The car was picked up while we refunded: the money is back with the customer, so a human decides.
      const flagged: Booking = {
        ...current.booking,
        payment: { ...current.booking.payment, status: 'refunded' },
        flags: { needsAttention: true, attentionReason: `refunded by a cancellation that lost a race with ${current.booking.status}` },
        updatedAt: at.toISOString(),
      };
      const jobs = toOutgoing([odooSyncJob(current.booking, 'refunded')], { now: at, newId: deps.newId, operationId });
      return { kind: 'save', change: { booking: flagged, history: [], jobs }, result: flagged };
    }
    const booking: Booking = refunded
      ? { ...cancelled.booking, payment: { ...cancelled.booking.payment, status: 'refunded' } }
      : { ...cancelled.booking, payment: { ...cancelled.booking.payment, status: current.booking.payment.status === 'succeeded' ? 'succeeded' : 'canceled' } };
    const jobs = [
      ...(refunded ? [odooSyncJob(current.booking, 'cancelled and refunded')] : []),
      notificationJob('booking.cancelled', current.booking, { refunded }),
    ];
    return {
      kind: 'save',
      change: { booking, history: [cancelled.history], jobs: toOutgoing(jobs, { now: at, newId: deps.newId, operationId }) },
      result: booking,
    };
  });
  if (outcome.kind !== 'done') return { ok: false, error: { code: 'NOT_FOUND' } };
  if (outcome.result.status !== 'CANCELLED') return { ok: false, error: { code: 'NOT_CANCELLABLE', status: outcome.result.status } };
  return { ok: true, booking: outcome.result, refunded };
}
