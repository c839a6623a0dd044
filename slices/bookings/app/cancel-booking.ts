import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { PaymentFailure, PaymentGateway } from '../../../shared/platform/payments';
import type { Booking } from '../domain/booking';
import { type BookingStatus, isCancellable } from '../domain/booking-status';
import { cancelBooking as cancelInDomain, isRefunded, owesRefund, type RefundOutcome, recordRefund, refundOutcomeOf, reserveRefund } from '../domain/refund';
import { withdrawTrips } from '../domain/trip';
import { type AccessError, type BookingActor, causeOf, readBooking } from './access';
import { odooSyncJob, tripCancelJob } from './jobs';
import { notificationJob } from './notifications';
import type { BookingContext } from './ports';

export interface CancelBookingDeps extends BookingContext {
  payments: PaymentGateway;
}

export type CancelOutcome =
  | { ok: true; booking: Booking; refunded: boolean }
  | {
      ok: false;
      error:
        | AccessError
        | { code: 'NOT_CANCELLABLE'; status: BookingStatus }
        /** The booking IS cancelled (`booking`), but Stripe did not take the refund or the voiding: cancelling again retries it. */
        | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure; booking: Booking };
    };

/** Stripe's idempotency key of a booking's refund: one refund per booking, however often it is asked for. */
const refundKey = (bookingId: string) => `booking:${bookingId}:refund`;

/**
 * Cancels a booking until pick-up (its customer or an admin). Money after storage, never before:
 *
 * 1. CANCELLED is saved with its history row and the e-mail, and a paid booking's refund is reserved
 *    in that same change, as is the withdrawal of a trip the Driver-App accepted (marked `cancelled`
 *    with its trip row, and a `trip.cancel` job). From then on no pick-up is dispatched, and nothing
 *    is asked of Stripe unless this save went through (a refused cancellation changes nothing and calls nothing).
 * 2. Stripe is asked: a paid booking is refunded (key `booking:<id>:refund`, metadata `bookingId`),
 *    an unpaid one has its PaymentIntent cancelled — and refunded instead when the customer paid
 *    meanwhile (the refund is reserved first in that case too).
 * 3. The answer is recorded: refunded (with the Odoo sync of the credit note), pending (Stripe's
 *    `refund.updated` finishes it), or failed (the booking is flagged for a person).
 *
 * When recording fails after Stripe refunded (storage down), the error goes up and the refund stays
 * reserved; Stripe's `charge.refunded` / `refund.updated` records it (handle-stripe-event.ts). Cancelling
 * a cancelled booking again finishes what is left: a reserved or failed refund is asked for again
 * under the same key (Stripe refunds once), an intent still open is cancelled again.
 */
export async function cancelBooking(deps: CancelBookingDeps, id: string, actor: BookingActor, operationId?: string): Promise<CancelOutcome> {
  const read = await readBooking(deps.bookings, id, actor, ['admin']);
  if (!read.ok) return read;
  const first = read.stored.state;
  if (first.status !== 'CANCELLED' && !isCancellable(first.status)) return { ok: false, error: { code: 'NOT_CANCELLABLE', status: first.status } };

  // The ETag of the first read guards the save: of two cancellations at once, one saves, the other
  // reads the cancelled booking again and goes on from there.
  const cancelled = await mutate<Booking, BookingStatus>(
    deps.bookings,
    id,
    ({ state: booking }) => {
      if (booking.status === 'CANCELLED') return skip(booking.status);
      const cause = causeOf(actor);
      const change = cancelInDomain(booking, cause, deps.clock.now());
      if (!change.ok) return skip(booking.status);
      const refunded = change.booking.payment.refund !== undefined;
      // The trip the Driver-App accepted is withdrawn with the cancellation: marked here, its message queued here.
      const withdrawal = withdrawTrips(change.booking.trips, cause, change.history.at);
      const next = withdrawal.trips ? { ...change.booking, trips: withdrawal.trips } : change.booking;
      return save(next, next.status, {
        history: [change.history, ...withdrawal.history],
        jobs: [
          notificationJob('booking.cancelled', booking, { refunded }),
          ...withdrawal.withdrawn.map((trip) => tripCancelJob(booking, trip.leg, trip.tripId)),
        ],
      });
    },
    { clock: deps.clock, operationId, first: read.stored },
  );
  if (cancelled.kind !== 'done') return { ok: false, error: { code: 'NOT_FOUND' } };
  if (cancelled.result !== 'CANCELLED') return { ok: false, error: { code: 'NOT_CANCELLABLE', status: cancelled.result } };
  return settle(deps, cancelled.state, operationId);
}

/** Brings the money of a cancelled booking where the cancellation says: refunded, or the payment voided. */
async function settle(deps: CancelBookingDeps, booking: Booking, operationId: string | undefined): Promise<CancelOutcome> {
  const { payment } = booking;
  if (payment.refund) return payment.refund.status === 'reserved' || payment.refund.status === 'failed' ? refund(deps, booking, operationId) : answer(booking);
  // Paid after the cancellation was saved (Stripe's webhook said so): the customer is owed the money.
  if (owesRefund(payment)) return reserveAndRefund(deps, booking.id, operationId);
  const intentId = payment.paymentIntentId;
  if (!intentId || payment.status === 'refunded' || payment.status === 'canceled') return answer(booking);

  const voided = await deps.payments.cancelPaymentIntent(intentId, `booking:${booking.id}:cancel-payment`);
  if (voided.ok) return recordVoided(deps, booking.id, operationId);
  if (voided.error.code !== 'invalid_request') return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: voided.error, booking } };
  // Stripe will not cancel the intent: it moved on. Most likely the customer paid while we cancelled.
  const intent = await deps.payments.retrievePaymentIntent(intentId);
  if (!intent.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: intent.error, booking } };
  if (intent.value.status === 'succeeded') return reserveAndRefund(deps, booking.id, operationId);
  if (intent.value.status === 'canceled') return recordVoided(deps, booking.id, operationId);
  // E.g. `processing`: neither cancellable nor refundable yet. Its webhook flags a late success.
  return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: voided.error, booking } };
}

/** Records the voided PaymentIntent (unless a webhook settled the payment first). */
async function recordVoided(deps: CancelBookingDeps, id: string, operationId: string | undefined): Promise<CancelOutcome> {
  const recorded = await mutate<Booking, undefined>(
    deps.bookings,
    id,
    ({ state }) => {
      if (['succeeded', 'refunded', 'canceled'].includes(state.payment.status)) return skip(undefined);
      return save({ ...state, payment: { ...state.payment, status: 'canceled' }, updatedAt: deps.clock.now().toISOString() }, undefined);
    },
    { clock: deps.clock, operationId },
  );
  return recorded.kind === 'done' ? answer(recorded.state) : { ok: false, error: { code: 'NOT_FOUND' } };
}

/** Reserves the refund of a cancelled booking found paid, then asks for it. */
async function reserveAndRefund(deps: CancelBookingDeps, id: string, operationId: string | undefined): Promise<CancelOutcome> {
  const reserved = await mutate<Booking, undefined>(
    deps.bookings,
    id,
    ({ state }) => {
      const next = reserveRefund(state, deps.clock.now());
      return next === state ? skip(undefined) : save(next, undefined);
    },
    { clock: deps.clock, operationId },
  );
  if (reserved.kind !== 'done') return { ok: false, error: { code: 'NOT_FOUND' } };
  const booking = reserved.state;
  // Another request reserved it and may have its answer already: go on from what is stored.
  if (booking.payment.refund?.status === 'reserved' || booking.payment.refund?.status === 'failed') return refund(deps, booking, operationId);
  return answer(booking);
}

/** Asks Stripe for the reserved refund (same key every time, so at most one refund) and records the answer. */
async function refund(deps: CancelBookingDeps, booking: Booking, operationId: string | undefined): Promise<CancelOutcome> {
  const intentId = booking.payment.paymentIntentId as string;
  const asked = await deps.payments.refund({ paymentIntentId: intentId, idempotencyKey: refundKey(booking.id), metadata: { bookingId: booking.id } });
  const outcome: RefundOutcome = asked.ok
    ? refundOutcomeOf(asked.value.status, asked.value.id)
    : { status: 'failed', failureReason: `${asked.error.code}: ${asked.error.message}` };

  // Throws when storage is down: the refund stays reserved and Stripe's webhook records it.
  const recorded = await mutate<Booking, undefined>(
    deps.bookings,
    booking.id,
    ({ state }) => {
      const result = recordRefund(state, outcome, deps.clock.now());
      if (!result.ok) return skip(undefined);
      // The books follow the money: the credit note with the refund paid out against it.
      const jobs = result.refund.status === 'succeeded' ? [odooSyncJob(state, 'cancelled and refunded')] : [];
      return save(result.booking, undefined, { jobs });
    },
    { clock: deps.clock, operationId },
  );
  if (recorded.kind !== 'done') return { ok: false, error: { code: 'NOT_FOUND' } };
  const stored = recorded.state;
  // A racing request or the webhook may have recorded Stripe's answer first; the stored refund decides.
  if (isRefunded(stored.payment)) return answer(stored);
  const failure: PaymentFailure = asked.ok ? { code: 'invalid_request', message: stored.payment.refund?.failureReason ?? 'refund failed' } : asked.error;
  return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure, booking: stored } };
}

function answer(booking: Booking): CancelOutcome {
  return { ok: true, booking, refunded: isRefunded(booking.payment) };
}
