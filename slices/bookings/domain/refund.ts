import * as z from 'zod';
import { flaggedFor } from './attention-flags';
import type { Booking, BookingPayment } from './booking';
import { type Cause, type TransitionResult, transition } from './booking-status';

/**
 * Where a cancellation's refund stands. `reserved`: saved with the cancellation (or on learning the
 * customer paid after all) before Stripe is asked, no answer recorded yet; `pending`: Stripe took it
 * and finishes it later (its webhook records the end); `succeeded`: the money is back, final;
 * `failed`: Stripe refused it or could not be reached — the booking is flagged for a person, and
 * cancelling again asks Stripe again under the same idempotency key.
 */
export const REFUND_STATUSES = ['reserved', 'pending', 'succeeded', 'failed'] as const;

/** A refund's status. */
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** The refund a cancellation owes, kept on the booking's payment: money after storage, never before. */
export const bookingRefundSchema = z.object({
  status: z.enum(REFUND_STATUSES),
  /** Stripe's refund id, once Stripe answered with one. */
  refundId: z.string().max(200).optional(),
  failureReason: z.string().max(500).optional(),
  reservedAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});

/** A cancellation's refund. */
export type BookingRefund = z.infer<typeof bookingRefundSchema>;

/** What Stripe made of a refund: the answer to our request, or a later event about it. */
export type RefundOutcome =
  | { status: 'succeeded' | 'pending'; refundId?: string }
  /** `refundId` names a refund Stripe accepted and then gave up; without it, the request itself failed. */
  | { status: 'failed'; refundId?: string; failureReason: string };

/** What a refund's status at Stripe (`succeeded`, `pending`, `requires_action`, `failed`, `canceled`) means for the booking. */
export function refundOutcomeOf(status: string, refundId: string): RefundOutcome {
  if (status === 'succeeded') return { status: 'succeeded', refundId };
  if (status === 'failed' || status === 'canceled') return { status: 'failed', refundId, failureReason: `Stripe reports the refund ${status}` };
  // Stripe finishes it later and tells us by webhook.
  return { status: 'pending', refundId };
}

/** Why a refund outcome changed nothing. */
export type RefundRecordError = { code: 'NO_REFUND' } | { code: 'ALREADY_RECORDED'; refund: BookingRefund } | { code: 'OTHER_REFUND' };

/** The booking with the outcome recorded, or why nothing changed. */
export type RefundRecordResult = { ok: true; booking: Booking; refund: BookingRefund } | { ok: false; error: RefundRecordError };

/** The attention reasons a refund sets start with this, so its own flag (and only it) is cleared when the refund goes through. */
const ATTENTION_PREFIX = 'refund failed: ';

/** Whether the customer's money came in and has no refund yet: a paid booking's cancellation owes one. */
export function owesRefund(payment: BookingPayment): boolean {
  return payment.status === 'succeeded' && payment.paymentIntentId !== undefined && payment.refund === undefined;
}

/** Whether a refund is back with the customer or on its way (Stripe accepted it). */
export function isRefunded(payment: BookingPayment): boolean {
  return payment.status === 'refunded' || payment.refund?.status === 'succeeded' || payment.refund?.status === 'pending';
}

/**
 * Cancels a booking (the machine decides whether it still may be) and, when it was paid, reserves
 * the refund in the same change: nothing goes to Stripe before this is saved, and once it is, no
 * pick-up is dispatched for the booking (the trip worker only sends for CONFIRMED bookings).
 */
export function cancelBooking(booking: Booking, cause: Cause, at: Date): TransitionResult {
  const cancelled = transition(booking, 'CANCELLED', cause, at);
  if (!cancelled.ok || !owesRefund(booking.payment)) return cancelled;
  return { ...cancelled, booking: { ...cancelled.booking, payment: { ...cancelled.booking.payment, refund: reserved(at) } } };
}

/**
 * Reserves the refund of a cancelled booking whose payment succeeded after all (the customer paid
 * while the cancellation was saved, or before Stripe's webhook told us). Returns the booking
 * unchanged when a refund is reserved already or the booking is not cancelled.
 */
export function reserveRefund(booking: Booking, at: Date): Booking {
  if (booking.status !== 'CANCELLED' || booking.payment.refund || booking.payment.status === 'refunded' || !booking.payment.paymentIntentId) {
    return booking;
  }
  const timestamp = at.toISOString();
  // A failure reason describes a failed attempt; the payment succeeded.
  const { failureReason: _failed, ...payment } = booking.payment;
  return {
    ...booking,
    payment: { ...payment, status: 'succeeded', refund: reserved(at) },
    updatedAt: timestamp,
    version: booking.version + 1,
  };
}

function reserved(at: Date): BookingRefund {
  const timestamp = at.toISOString();
  return { status: 'reserved', reservedAt: timestamp, updatedAt: timestamp };
}

/** The moves a refund may make; `succeeded` is final, so a late or replayed answer never undoes it. */
const NEXT: Record<RefundStatus, readonly RefundStatus[]> = {
  reserved: ['pending', 'succeeded', 'failed'],
  pending: ['succeeded', 'failed'],
  failed: ['pending', 'succeeded'],
  succeeded: [],
};

/**
 * Records what Stripe made of the reserved refund (the request's answer or a webhook). Succeeded:
 * the payment is `refunded`. Failed: the booking is flagged for a person. A failed request that names
 * no refund cannot undo one Stripe accepted (`pending`): a second request racing the first may be
 * refused while the first goes through. An outcome about another refund than ours changes nothing.
 */
export function recordRefund(booking: Booking, outcome: RefundOutcome, at: Date): RefundRecordResult {
  const refund = booking.payment.refund;
  if (!refund) return { ok: false, error: { code: 'NO_REFUND' } };
  if (outcome.refundId && refund.refundId && outcome.refundId !== refund.refundId) return { ok: false, error: { code: 'OTHER_REFUND' } };
  const allowed = NEXT[refund.status].includes(outcome.status) && !(refund.status === 'pending' && outcome.status === 'failed' && !outcome.refundId);
  if (!allowed) return { ok: false, error: { code: 'ALREADY_RECORDED', refund } };

  const timestamp = at.toISOString();
  const next: BookingRefund = { ...refund, status: outcome.status, updatedAt: timestamp };
  if (outcome.refundId) next.refundId = outcome.refundId;
  if (outcome.status === 'failed') next.failureReason = outcome.failureReason.slice(0, 500);
  else delete next.failureReason;

  const ownFlag = booking.flags.attentionReason?.startsWith(ATTENTION_PREFIX) ?? false;
  const flags =
    outcome.status === 'failed' ? flaggedFor(booking.flags, `${ATTENTION_PREFIX}${outcome.failureReason}`, timestamp) : ownFlag ? {} : booking.flags;
  const payment: BookingPayment = { ...booking.payment, refund: next, ...(outcome.status === 'succeeded' ? { status: 'refunded' as const } : {}) };
  return { ok: true, booking: { ...booking, payment, flags, updatedAt: timestamp, version: booking.version + 1 }, refund: next };
}
