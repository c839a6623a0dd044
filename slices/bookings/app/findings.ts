import type { Cause } from '../../../shared/kernel/history';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { PaymentFailure, PaymentGateway } from '../../../shared/platform/payments';
import type { Booking } from '../domain/booking';
import {
  addFinding as addInDomain,
  approveFinding as approveInDomain,
  declineFinding as declineInDomain,
  type Finding,
  findingHistory,
  type FindingError,
  type FindingPaymentOutcome,
  type FindingRequest,
  recordFindingPayment,
} from '../domain/finding';
import { type AccessError, type BookingActor, causeOf, readBooking } from './access';
import { odooSyncJob } from './jobs';
import { notificationJob } from './notifications';
import type { BookingContext, StoredBooking } from './ports';

export interface FindingDeps extends BookingContext {
  payments: PaymentGateway;
}

export type FindingOutcome =
  | { ok: true; finding: Finding; clientSecret?: string }
  | {
      ok: false;
      error:
        | FindingError
        | AccessError
        | { code: 'NO_SAVED_CARD' }
        | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure }
        /** The saved card was declined: the finding is PAYMENT_FAILED (the customer may still pay it on-session). */
        | { code: 'CARD_DECLINED'; finding: Finding };
    };

type Mutation = { ok: true; booking: Booking; finding: Finding } | { ok: false; error: FindingError };

/** Applies a finding change with its history row (machine `finding`, the finding as subject) and the jobs it causes. */
async function mutateFinding(
  deps: FindingDeps,
  bookingId: string,
  change: (booking: Booking, at: Date) => Mutation,
  jobsFor: (before: Booking, finding: Finding) => ReturnType<typeof notificationJob>[],
  cause: Cause,
  context: { operationId?: string; first?: StoredBooking } = {},
): Promise<FindingOutcome> {
  const outcome = await mutate<Booking, Mutation>(
    deps.bookings,
    bookingId,
    ({ state }) => {
      const result = change(state, deps.clock.now());
      if (!result.ok) return skip(result);
      const before = state.findings.find((finding) => finding.id === result.finding.id);
      return save(result.booking, result, { history: [findingHistory(before, result.finding, cause)], jobs: jobsFor(state, result.finding) });
    },
    { clock: deps.clock, ...context },
  );
  if (outcome.kind !== 'done') return { ok: false, error: { code: 'NOT_FOUND' } };
  return outcome.result.ok ? { ok: true, finding: outcome.result.finding } : outcome.result;
}

/** The workshop (`cause`: its API key) adds a finding; the customer is asked by e-mail to approve it. */
export function addFinding(deps: FindingDeps, bookingId: string, input: FindingRequest, cause: Cause, operationId?: string): Promise<FindingOutcome> {
  const id = deps.clock.newId();
  return mutateFinding(
    deps,
    bookingId,
    (booking, now) => addInDomain(booking, input, { id, now }),
    (before, finding) => [notificationJob('finding.added', before, { findingId: finding.id })],
    cause,
    { operationId },
  );
}

/** The customer (or an admin) declines a finding. */
export async function declineFinding(deps: FindingDeps, bookingId: string, findingId: string, actor: BookingActor): Promise<FindingOutcome> {
  const read = await readBooking(deps.bookings, bookingId, actor, ['admin']);
  if (!read.ok) return read;
  return mutateFinding(
    deps,
    bookingId,
    (booking, at) => declineInDomain(booking, findingId, at),
    () => [],
    causeOf(actor),
    { first: read.stored },
  );
}

/**
 * The customer (or an admin) approves: APPROVED is saved first (with the ETag, so of two approvals at once only
 * one gets past this point), then the saved card is charged off-session with an idempotency key per
 * finding, and the outcome recorded: PAID (with an Odoo sync), REQUIRES_ACTION (with the client
 * secret for an on-session confirmation, completed by the webhook) or PAYMENT_FAILED.
 *
 * Money before storage, never after: nothing is charged unless APPROVED was saved (a booking is
 * bounded, see `FINDING_LIMITS`, so that save and the one recording the outcome always fit). When
 * recording the outcome fails after the charge (storage down), the error goes up and the finding
 * stays APPROVED — reserved, so no new charge can start — and the charge is not lost: Stripe's
 * `payment_intent.succeeded` (metadata `bookingId` and `findingId`) records it, and approving again
 * replays the same idempotent charge and records its answer.
 */
export async function approveFinding(
  deps: FindingDeps,
  bookingId: string,
  findingId: string,
  actor: BookingActor,
  operationId?: string,
): Promise<FindingOutcome> {
  const read = await readBooking(deps.bookings, bookingId, actor, ['admin']);
  if (!read.ok) return read;
  const { stripeCustomerId, paymentMethodId } = read.stored.state.payment;
  if (!stripeCustomerId || !paymentMethodId) {
    const finding = read.stored.state.findings.find((candidate) => candidate.id === findingId);
    if (!finding) return { ok: false, error: { code: 'FINDING_NOT_FOUND', findingId } };
    return { ok: false, error: { code: 'NO_SAVED_CARD' } };
  }

  const approved = await mutateFinding(
    deps,
    bookingId,
    (booking, at) => approveInDomain(booking, findingId, at),
    () => [],
    causeOf(actor),
    { operationId, first: read.stored },
  );
  let finding: Finding;
  if (approved.ok) finding = approved.finding;
  else if (approved.error.code === 'ALREADY_APPROVED' && approved.error.finding.status === 'APPROVED') {
    // Still APPROVED: another approval is charging right now, or an earlier charge got no answer
    // (Stripe unreachable). Charge with the same idempotency key: Stripe answers with the same
    // PaymentIntent, so the card is charged once and this caller learns the outcome too.
    finding = approved.error.finding;
  } else if (approved.error.code === 'ALREADY_APPROVED') {
    // The outcome is recorded already: answer with the finding as it stands, never charge again.
    return answer(approved.error.finding, await secretFor(deps, approved.error.finding));
  } else return approved;

  const charge = await deps.payments.chargeOffSession({
    amount: finding.priceCents,
    currency: finding.currency,
    customerId: stripeCustomerId,
    paymentMethodId,
    metadata: { bookingId, findingId },
    description: truncate(`Booking ${bookingId}: ${finding.description}`, 300),
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
    // The approval caused the charge; Stripe's webhook, when it records the outcome first, is its own cause.
    causeOf(actor),
    { operationId },
  );
  // The webhook may have recorded the outcome first; either way the finding is as Stripe says.
  if (!recorded.ok && 'finding' in recorded.error) return answer(recorded.error.finding, clientSecret);
  if (!recorded.ok) return recorded;
  return answer(recorded.finding, clientSecret);
}

/** At most `max` UTF-16 units, never cutting a surrogate pair in two (a lone half is not text Stripe takes). */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** The approval's answer: the finding as it stands, a declined card as an error value. */
function answer(finding: Finding, clientSecret: string | undefined): FindingOutcome {
  if (finding.status === 'PAYMENT_FAILED') return { ok: false, error: { code: 'CARD_DECLINED', finding } };
  return { ok: true, finding, ...(clientSecret ? { clientSecret } : {}) };
}

type ChargeResult = Awaited<ReturnType<PaymentGateway['chargeOffSession']>>;

/** What an off-session charge means for the finding; anything short of success needs the customer. */
function chargeOutcome(charge: ChargeResult): { outcome: FindingPaymentOutcome; clientSecret?: string } | { failure: PaymentFailure } {
  if (charge.ok) {
    const { id, status, clientSecret } = charge.value;
    return status === 'succeeded'
      ? { outcome: { status: 'PAID', paymentIntentId: id } }
      : { outcome: { status: 'REQUIRES_ACTION', paymentIntentId: id }, clientSecret };
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
async function secretFor(deps: FindingDeps, finding: Finding): Promise<string | undefined> {
  if (finding.status !== 'REQUIRES_ACTION' || !finding.paymentIntentId) return undefined;
  const intent = await deps.payments.retrievePaymentIntent(finding.paymentIntentId);
  return intent.ok ? intent.value.clientSecret : undefined;
}
