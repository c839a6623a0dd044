import { type HistoryInput, mutate, save, skip } from '../../../shared/platform/aggregate';
import type { JobRequest } from '../../../shared/platform/jobs';
import type { PaymentEvent } from '../../../shared/platform/payments';
import type { Telemetry } from '../../../shared/platform/telemetry';
import { flaggedFor } from '../domain/attention-flags';
import { type Booking, isId, type PaymentStatus } from '../domain/booking';
import { causes, transition } from '../domain/booking-status';
import { findingHistory, recordFindingPayment } from '../domain/finding';
import { type RefundOutcome, recordRefund, refundOutcomeOf } from '../domain/refund';
import { odooSyncJob, tripJob } from './jobs';
import { notificationJob } from './notifications';
import type { BookingContext } from './ports';

export interface StripeEventDeps extends BookingContext {
  /** `BookingConfirmed` and `PaymentFailed` events (the alerts on Stripe payment failures read them). */
  telemetry?: Pick<Telemetry, 'event'>;
}

/** What became of an event: applied, a repeat, or not ours to act on (all are acknowledged). */
export type StripeEventOutcome = 'applied' | 'duplicate' | 'unchanged' | 'ignored';

/** Payment states no later "open" event may overwrite: Stripe does not keep event order. */
const SETTLED: readonly PaymentStatus[] = ['succeeded', 'refunded', 'canceled'];

/** Events about one refund object (ours carry the booking id in their metadata). */
const REFUND_EVENTS = ['refund.created', 'refund.updated', 'refund.failed', 'charge.refund.updated'];

/** Statuses in which the pick-up is still ahead. */
const PICKUP_AHEAD: readonly Booking['status'][] = ['PENDING_PAYMENT', 'CONFIRMED'];

const OPEN_STATUS: Record<string, PaymentStatus | undefined> = {
  'payment_intent.processing': 'processing',
  'payment_intent.requires_action': 'requires_action',
  'payment_intent.payment_failed': 'failed',
};

/**
 * Applies a verified Stripe event to the booking it names (`metadata.bookingId`, plus `findingId`
 * for a finding's charge). The event id is stored with the change in the booking's partition, so
 * concurrent deliveries of one event apply it once; events for unknown intents and types we do not
 * handle are acknowledged and ignored.
 */
export async function handleStripeEvent(deps: StripeEventDeps, event: PaymentEvent): Promise<StripeEventOutcome> {
  const intent = event.paymentIntent;
  const bookingId = intent?.metadata.bookingId;
  // Metadata is ours, but a signature proves only who sent it: what cannot be one of our ids (a lone
  // surrogate, a control character) names no booking of ours and is acknowledged, never looked up.
  if (!intent || !isId(bookingId)) return 'ignored';
  const findingId = intent.metadata.findingId;
  if (findingId !== undefined && !isId(findingId)) return 'ignored';
  const outcome = await mutate<Booking, { confirmed: boolean }>(
    deps.bookings,
    bookingId,
    ({ state }) => {
      const at = deps.clock.now();
      const decision = findingId ? decideFinding(state, findingId, event, at) : decideBooking(state, event, at);
      if (!decision) return skip({ confirmed: false });
      const confirmed = decision.history.some((entry) => entry.machine === undefined && entry.to === 'CONFIRMED');
      return save(decision.booking, { confirmed }, decision);
    },
    { clock: deps.clock, eventId: `stripe:${event.id}` },
  );
  if (outcome.kind === 'not-found') return 'ignored';
  if (outcome.kind === 'duplicate-event') return 'duplicate';
  // Only a booking this event confirmed: a payment that raced a cancellation leaves it CANCELLED.
  if (outcome.result.confirmed) deps.telemetry?.event('BookingConfirmed', { bookingId, stripeEvent: event.id });
  if (outcome.saved && event.type === 'payment_intent.payment_failed') {
    // No card data: the decline code only.
    deps.telemetry?.event('PaymentFailed', { bookingId, code: intent.lastError?.declineCode ?? intent.lastError?.code ?? 'unknown' });
  }
  return outcome.saved ? 'applied' : 'unchanged';
}

interface EventEffect {
  booking: Booking;
  /** The booking's own rows, and a finding's (machine `finding`). */
  history: HistoryInput[];
  jobs: JobRequest[];
}

function decideBooking(booking: Booking, event: PaymentEvent, at: Date): EventEffect | undefined {
  const intent = event.paymentIntent;
  if (!intent || (booking.payment.paymentIntentId && booking.payment.paymentIntentId !== intent.id)) return undefined;
  const payment = booking.payment;

  if (event.type === 'payment_intent.succeeded') {
    if (payment.status === 'succeeded' || payment.status === 'refunded') return undefined;
    const paid: Booking = {
      ...booking,
      payment: { ...payment, status: 'succeeded', paymentMethodId: intent.paymentMethodId ?? payment.paymentMethodId, failureReason: undefined },
      updatedAt: at.toISOString(),
    };
    if (booking.status !== 'PENDING_PAYMENT') {
      // Paid after a cancellation raced it: keep the money visible to an admin rather than guess.
      // The ERP still has to show the money that came in.
      return {
        booking: { ...paid, flags: flaggedFor(booking.flags, `payment succeeded while ${booking.status}`, at.toISOString()) },
        history: [],
        jobs: [odooSyncJob(booking, 'payment succeeded after cancellation')],
      };
    }
    const confirmed = transition(paid, 'CONFIRMED', causes.stripe(event.id), at);
    if (!confirmed.ok) return undefined;
    return {
      booking: confirmed.booking,
      history: [confirmed.history],
      jobs: [odooSyncJob(booking, 'payment succeeded'), tripJob(booking, 'pickup'), notificationJob('booking.confirmed', booking, {})],
    };
  }

  if (event.type === 'charge.refunded') {
    if (payment.refund) {
      // Our cancellation's refund went through: this completes its record when the request could not.
      // A pending one is finished by the refund's own events; a partial refund is not ours (we refund all).
      const whole = event.amountRefunded === undefined || event.amountRefunded >= intent.amount;
      return payment.refund.status === 'pending' || !whole ? undefined : refundEffect(booking, { status: 'succeeded' }, at);
    }
    if (payment.status === 'refunded') return undefined;
    // A refund made outside our cancellation (e.g. in the Stripe dashboard) still needs its credit note,
    // and before pick-up a person must decide about the booking: its trip would go out for money that went back.
    const flags = PICKUP_AHEAD.includes(booking.status)
      ? flaggedFor(booking.flags, `payment refunded outside the hub while ${booking.status}`, at.toISOString())
      : booking.flags;
    return {
      booking: { ...booking, payment: { ...payment, status: 'refunded' }, flags, updatedAt: at.toISOString() },
      history: [],
      jobs: [odooSyncJob(booking, 'refunded')],
    };
  }

  if (REFUND_EVENTS.includes(event.type) && event.refund) {
    // Only a refund our cancellation reserved (its metadata names the booking); others are charge.refunded's.
    if (!payment.refund) return undefined;
    return refundEffect(booking, refundOutcomeOf(event.refund.status, event.refund.id), at);
  }

  if (event.type === 'payment_intent.canceled') {
    if (SETTLED.includes(payment.status)) return undefined;
    return { booking: { ...booking, payment: { ...payment, status: 'canceled' }, updatedAt: at.toISOString() }, history: [], jobs: [] };
  }

  const open = OPEN_STATUS[event.type];
  if (!open || SETTLED.includes(payment.status) || payment.status === open) return undefined;
  const failureReason =
    open === 'failed' ? (intent.lastError?.declineCode ?? intent.lastError?.code ?? intent.lastError?.message ?? 'payment failed') : undefined;
  return {
    booking: { ...booking, payment: { ...payment, status: open, failureReason }, updatedAt: at.toISOString() },
    history: [],
    jobs: [],
  };
}

/** The reserved refund's outcome recorded; once the money is back, the Odoo sync of the credit note. */
function refundEffect(booking: Booking, outcome: RefundOutcome, at: Date): EventEffect | undefined {
  const recorded = recordRefund(booking, outcome, at);
  if (!recorded.ok) return undefined;
  // The same reason as the cancellation's own record: whichever records first queues the sync.
  const jobs = recorded.refund.status === 'succeeded' ? [odooSyncJob(booking, 'cancelled and refunded')] : [];
  return { booking: recorded.booking, history: [], jobs };
}

function decideFinding(booking: Booking, findingId: string, event: PaymentEvent, at: Date): EventEffect | undefined {
  const intentId = event.paymentIntent?.id as string;
  const outcome =
    event.type === 'payment_intent.succeeded'
      ? ({ status: 'PAID', paymentIntentId: intentId } as const)
      : event.type === 'payment_intent.requires_action'
        ? ({ status: 'REQUIRES_ACTION', paymentIntentId: intentId } as const)
        : event.type === 'payment_intent.payment_failed'
          ? event.paymentIntent?.lastError?.code === 'authentication_required'
            ? // The off-session charge needs 3-D Secure: not a failure, the customer confirms on-session.
              ({ status: 'REQUIRES_ACTION', paymentIntentId: intentId } as const)
            : ({ status: 'PAYMENT_FAILED', paymentIntentId: intentId, failureReason: event.paymentIntent?.lastError?.code ?? 'payment failed' } as const)
          : undefined;
  if (!outcome) return undefined;
  const recorded = recordFindingPayment(booking, findingId, outcome, at);
  if (!recorded.ok) return undefined;
  const before = booking.findings.find((finding) => finding.id === findingId);
  // Whichever of the approval and this event records the outcome first queues its job (same job ids).
  const jobs =
    outcome.status === 'PAID'
      ? [odooSyncJob(booking, `finding ${findingId} paid`)]
      : outcome.status === 'REQUIRES_ACTION'
        ? [notificationJob('finding.requires-action', booking, { findingId })]
        : [];
  return { booking: recorded.booking, history: [findingHistory(before, recorded.finding, causes.stripe(event.id))], jobs };
}
