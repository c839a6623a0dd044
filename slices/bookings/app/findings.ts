import type { Booking } from '../domain/booking';
import { addFinding as addInDomain, approveFinding as approveInDomain, declineFinding as declineInDomain, type Finding, type FindingError, type FindingPaymentOutcome, type FindingRequest, recordFindingPayment } from '../domain/finding';
import { notificationJob } from './notifications';
import type { PaymentFailure, PaymentGateway } from '../../../shared/platform/payments';
import { odooSyncJob, toOutgoing } from './jobs';
import type { BookingClock } from './create-booking';
import type { BookingRepository } from './ports';
import { mutateBooking } from '../../../shared/app/bookings/save-with-retry';

export interface FindingDeps extends BookingClock {
  repo: BookingRepository;
  payments: PaymentGateway;
}

export type FindingOutcome =
  | { ok: true; finding: Finding; clientSecret?: string }
  | { ok: false; error: FindingError | { code: 'BOOKING_NOT_FOUND' } | { code: 'NO_SAVED_CARD' } | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure } };

type Mutation = { ok: true; booking: Booking; finding: Finding } | { ok: false; error: FindingError };

async function mutateFinding(deps: FindingDeps, bookingId: string, mutate: (booking: Booking, at: Date) => Mutation, jobsFor: (before: Booking, finding: Finding) => ReturnType<typeof notificationJob>[], operationId?: string): Promise<FindingOutcome> {
  const outcome = await mutateBooking<Mutation>(deps.repo, bookingId, (current) => {
    const at = deps.now();
    const result = mutate(current.booking, at);
    if (!result.ok) return { kind: 'skip', result };
    const jobs = toOutgoing(jobsFor(current.booking, result.finding), { now: at, newId: deps.newId, operationId });
    return { kind: 'save', change: { booking: result.booking, history: [], jobs }, result };
  });
  if (outcome.kind !== 'done') return { ok: false, error: { code: 'BOOKING_NOT_FOUND' } };
  return outcome.result.ok ? { ok: true, finding: outcome.result.finding } : outcome.result;
}

/** The workshop adds a finding; the customer is asked by e-mail to approve it. */
export function addFinding(deps: FindingDeps, bookingId: string, input: FindingRequest, operationId?: string): Promise<FindingOutcome> {
  const id = deps.newId();
  return mutateFinding(
    deps,
    bookingId,
    (booking, now) => addInDomain(booking, input, { id, now }),
    (before, finding) => [notificationJob('finding.added', before, { findingId: finding.id })],
    operationId,
  );
}

/** The customer declines a finding. */
export function declineFinding(deps: FindingDeps, bookingId: string, findingId: string): Promise<FindingOutcome> {
  return mutateFinding(deps, bookingId, (booking, at) => declineInDomain(booking, findingId, at), () => []);
}

/**
 * The customer approves: APPROVED is saved first (with the ETag, so of two approvals at once only
 * one gets past this point), then the saved card is charged off-session with an idempotency key per
 * finding, and the outcome recorded: PAID (with an Odoo sync), REQUIRES_ACTION (with the client
 * secret for an on-session confirmation, completed by the webhook) or PAYMENT_FAILED.
 */
export async function approveFinding(deps: FindingDeps, bookingId: string, findingId: string, operationId?: string): Promise<FindingOutcome> {
  const current = await deps.repo.get(bookingId);
  if (!current) return { ok: false, error: { code: 'BOOKING_NOT_FOUND' } };
  const { stripeCustomerId, paymentMethodId } = current.booking.payment;
  if (!stripeCustomerId || !paymentMethodId) {
    const finding = current.booking.findings.find((candidate) => candidate.id === findingId);
    if (!finding) return { ok: false, error: { code: 'FINDING_NOT_FOUND', findingId } };
    return { ok: false, error: { code: 'NO_SAVED_CARD' } };
  }

  const approved = await mutateFinding(deps, bookingId, (booking, at) => approveInDomain(booking, findingId, at), () => [], operationId);
  let finding: Finding;
  if (approved.ok) finding = approved.finding;
  else if (approved.error.code === 'ALREADY_APPROVED' && approved.error.finding.status === 'APPROVED') {
    // Still APPROVED: another approval is charging right now, or an earlier charge got no answer
    // (Stripe unreachable). Charge with the same idempotency key: Stripe answers with the same
    // PaymentIntent, so the card is charged once and this caller learns the outcome too.
    finding = approved.error.finding;
  } else if (approved.error.code === 'ALREADY_APPROVED') {
    // The outcome is recorded already: answer with the finding as it stands, never charge again.
    return { ok: true, finding: approved.error.finding, ...(await secretFor(deps, approved.error.finding)) };
  } else return approved;

  const charge = await deps.payments.chargeOffSession({
    amountCents: finding.priceCents,
    currency: finding.currency,
    customerId: stripeCustomerId,
    paymentMethodId,
    metadata: { bookingId, findingId },
    description: `Booking ${bookingId}: ${finding.description}`.slice(0, 300),
    idempotencyKey: `finding:${findingId}:charge`,
  });

  const charged = chargeOutcome(charge);
  // Stripe unreachable or refused the request: the finding stays APPROVED; approving again retries
  // the same idempotent charge.
  if ('failure' in charged) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: charged.failure } };
  const { outcome, clientSecret } = charged;

  const recorded = await mutateFinding(
    deps,
    bookingId,
    (booking, at) => recordFindingPayment(booking, findingId, outcome, at),
    (before, updated) =>
      updated.status === 'PAID'
        ? [odooSyncJob(before, `finding ${findingId} paid`)]
        : updated.status === 'REQUIRES_ACTION'
          ? [notificationJob('finding.requires-action', before, { findingId })]
          : [],
    operationId,
  );
  // The webhook may have recorded the outcome first; either way the finding is as Stripe says.
  if (!recorded.ok && 'finding' in recorded.error) return { ok: true, finding: recorded.error.finding, ...(clientSecret ? { clientSecret } : {}) };
  if (!recorded.ok) return recorded;
  return { ok: true, finding: recorded.finding, ...(clientSecret ? { clientSecret } : {}) };
}

type ChargeResult = Awaited<ReturnType<PaymentGateway['chargeOffSession']>>;

/** What an off-session charge means for the finding; anything short of success needs the customer. */
function chargeOutcome(charge: ChargeResult): { outcome: FindingPaymentOutcome; clientSecret?: string } | { failure: PaymentFailure } {
  if (charge.ok) {
    const { id, status, clientSecret } = charge.value;
    return status === 'succeeded' ? { outcome: { status: 'PAID', paymentIntentId: id } } : { outcome: { status: 'REQUIRES_ACTION', paymentIntentId: id }, clientSecret };
  }
  const error = charge.error;
  if (error.code === 'authentication_required' && error.paymentIntentId) {
    return { outcome: { status: 'REQUIRES_ACTION', paymentIntentId: error.paymentIntentId }, clientSecret: error.clientSecret };
  }
  if (error.code === 'card_declined') {
    return { outcome: { status: 'PAYMENT_FAILED', paymentIntentId: error.paymentIntentId, failureReason: error.declineCode ?? 'card_declined' } };
  }
  return { failure: error };
}

/** A finding waiting for 3-D Secure: its client secret is fetched again, never stored. */
async function secretFor(deps: FindingDeps, finding: Finding): Promise<{ clientSecret?: string }> {
  if (finding.status !== 'REQUIRES_ACTION' || !finding.paymentIntentId) return {};
  const intent = await deps.payments.retrievePaymentIntent(finding.paymentIntentId);
  return intent.ok ? { clientSecret: intent.value.clientSecret } : {};
}
