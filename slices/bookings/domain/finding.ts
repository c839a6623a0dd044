import * as z from 'zod';
import type { Booking } from './booking';
import type { BookingStatus } from './booking-status';
import type { Cause, HistoryRecord } from '../../../shared/kernel/history';
import { centsSchema, currencySchema, MIN_CHARGE_CENTS } from '../../../shared/kernel/money';
import { canMove, defineMachine } from '../../../shared/kernel/state-machine';
import { textSchema } from '../../../shared/kernel/text';

/**
 * Statuses of a finding (extra work the workshop found). APPROVED means "approved, charge under way":
 * it exists so that a retried or repeated approval never charges twice. PAYMENT_FAILED -> PAID is
 * allowed because the customer may still complete the same PaymentIntent on-session, and Stripe's
 * `succeeded` is final; nothing leaves PAID, so a late failure event cannot undo a payment.
 */
export const FINDING_STATUSES = ['PENDING_APPROVAL', 'APPROVED', 'REQUIRES_ACTION', 'PAID', 'DECLINED', 'PAYMENT_FAILED'] as const;

/** Validates a finding status. */
export const findingStatusSchema = z.enum(FINDING_STATUSES);

/** Where a finding is in its life. */
export type FindingStatus = z.infer<typeof findingStatusSchema>;

/** The finding machine: the only edges a finding may take. */
export const findingMachine = defineMachine<FindingStatus>('finding', {
  PENDING_APPROVAL: ['APPROVED', 'DECLINED'],
  APPROVED: ['PAID', 'REQUIRES_ACTION', 'PAYMENT_FAILED'],
  REQUIRES_ACTION: ['PAID', 'PAYMENT_FAILED'],
  PAYMENT_FAILED: ['PAID'],
  PAID: [],
  DECLINED: [],
});

/**
 * Bounds that keep a booking well inside what its one Table Storage entity holds: findings are the
 * only part of a booking that grows after creation. 20 findings of 1000 characters (at most ~2000
 * in JSON) stay near 50 K characters with the rest of the booking — far below the store's limit —
 * so a booking can never become too big to save, and a charge never waits on a save that cannot be.
 */
export const FINDING_LIMITS = { perBooking: 20, description: 1000 } as const;

/** Body of `POST /api/v1/bookings/{id}/findings`. */
export const findingRequestSchema = z.strictObject({
  // Free text under the text rule; several lines allowed (the workshop lists what it found).
  description: textSchema({ max: FINDING_LIMITS.description, multiline: true }),
  // It is charged off-session by card, so it must be an amount Stripe can charge.
  priceCents: centsSchema.min(MIN_CHARGE_CENTS),
});

/** A validated finding request. */
export type FindingRequest = z.infer<typeof findingRequestSchema>;

/**
 * A finding as stored on its booking. There is deliberately no `clientSecret`: whoever holds it can
 * confirm the payment, Stripe says not to store or log it, and it can always be fetched again from
 * the PaymentIntent (`paymentIntentId`) when the customer has to confirm on-session.
 */
export const findingSchema = z.object({
  id: z.string().min(1).max(100),
  description: z.string().max(FINDING_LIMITS.description),
  priceCents: centsSchema,
  currency: currencySchema,
  status: findingStatusSchema,
  paymentIntentId: z.string().optional(),
  failureReason: z.string().max(500).optional(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});

/** Extra work found during the service, priced by the workshop, approved or declined by the customer. */
export type Finding = z.infer<typeof findingSchema>;

/** Why a finding operation was not applied. */
export type FindingError =
  /** Findings are added and answered only while the car is in the workshop (see `addFinding`). */
  | { code: 'BOOKING_NOT_IN_WORKSHOP'; status: BookingStatus }
  /** The booking holds `FINDING_LIMITS.perBooking` findings already: refused before anything is saved or charged. */
  | { code: 'TOO_MANY_FINDINGS'; limit: number }
  | { code: 'FINDING_NOT_FOUND'; findingId: string }
  /** A repeated approval: `finding` is the current state, so the caller can answer idempotently. */
  | { code: 'ALREADY_APPROVED'; finding: Finding }
  | { code: 'ALREADY_DECLINED'; finding: Finding }
  /** A duplicate payment outcome (e.g. a webhook delivered twice). */
  | { code: 'ALREADY_IN_STATE'; finding: Finding }
  | { code: 'FORBIDDEN_FINDING_TRANSITION'; from: FindingStatus; to: FindingStatus };

/** The changed booking and the finding concerned, or why nothing changed. */
export type FindingResult = { ok: true; booking: Booking; finding: Finding } | { ok: false; error: FindingError };

/**
 * Adds a finding in PENDING_APPROVAL. Only an IN_WORKSHOP booking accepts findings: before pick-up
 * nobody has looked at the car and the booking can still be cancelled (a finding would then need its
 * own refund path); once READY_FOR_DELIVERY the work is done and the delivery trip is on its way.
 * A booking holds at most `FINDING_LIMITS.perBooking` findings. The caller supplies a fresh id;
 * reusing one is a bug and throws.
 */
export function addFinding(booking: Booking, input: FindingRequest, context: { id: string; now: Date }): FindingResult {
  if (booking.status !== 'IN_WORKSHOP') return { ok: false, error: { code: 'BOOKING_NOT_IN_WORKSHOP', status: booking.status } };
  if (booking.findings.length >= FINDING_LIMITS.perBooking) return { ok: false, error: { code: 'TOO_MANY_FINDINGS', limit: FINDING_LIMITS.perBooking } };
  if (booking.findings.some((finding) => finding.id === context.id)) throw new Error(`addFinding: id ${context.id} is already used`);
  const at = context.now.toISOString();
  const finding: Finding = {
    id: context.id,
    description: input.description,
    priceCents: input.priceCents,
    currency: booking.currency,
    status: 'PENDING_APPROVAL',
    createdAt: at,
    updatedAt: at,
  };
  return { ok: true, booking: withFindings(booking, [...booking.findings, finding], at), finding };
}

const APPROVED_OR_LATER: readonly FindingStatus[] = ['APPROVED', 'REQUIRES_ACTION', 'PAID', 'PAYMENT_FAILED'];

/**
 * The customer approves: PENDING_APPROVAL -> APPROVED, after which the caller charges the saved card.
 * A repeated approval is `ALREADY_APPROVED` whatever the booking's status now, so a double tap never
 * charges twice; a fresh approval needs the car still in the workshop.
 */
export function approveFinding(booking: Booking, findingId: string, at: Date): FindingResult {
  return answer(booking, findingId, 'APPROVED', at);
}

/** The customer declines: PENDING_APPROVAL -> DECLINED. Once approved (charging started) it is too late. */
export function declineFinding(booking: Booking, findingId: string, at: Date): FindingResult {
  return answer(booking, findingId, 'DECLINED', at);
}

function answer(booking: Booking, findingId: string, to: 'APPROVED' | 'DECLINED', at: Date): FindingResult {
  const finding = booking.findings.find((candidate) => candidate.id === findingId);
  if (!finding) return { ok: false, error: { code: 'FINDING_NOT_FOUND', findingId } };
  if (APPROVED_OR_LATER.includes(finding.status)) return { ok: false, error: { code: 'ALREADY_APPROVED', finding } };
  if (finding.status === 'DECLINED') return { ok: false, error: { code: 'ALREADY_DECLINED', finding } };
  if (booking.status !== 'IN_WORKSHOP') return { ok: false, error: { code: 'BOOKING_NOT_IN_WORKSHOP', status: booking.status } };
  return update(booking, finding, { status: to }, at);
}

/** What the charge of an approved finding came to, as the payment provider reported it. */
export type FindingPaymentOutcome =
  | { status: 'PAID'; paymentIntentId: string }
  | { status: 'REQUIRES_ACTION'; paymentIntentId: string }
  | { status: 'PAYMENT_FAILED'; paymentIntentId?: string; failureReason: string };

/**
 * Records a charge outcome (from the off-session charge or a later webhook). Not tied to the booking's
 * status: money moved, so the record must follow even after delivery. Stale or repeated outcomes are
 * refused as values and change nothing.
 */
export function recordFindingPayment(booking: Booking, findingId: string, outcome: FindingPaymentOutcome, at: Date): FindingResult {
  const finding = booking.findings.find((candidate) => candidate.id === findingId);
  if (!finding) return { ok: false, error: { code: 'FINDING_NOT_FOUND', findingId } };
  if (finding.status === outcome.status) return { ok: false, error: { code: 'ALREADY_IN_STATE', finding } };
  if (!canMove(findingMachine, finding.status, outcome.status)) {
    return { ok: false, error: { code: 'FORBIDDEN_FINDING_TRANSITION', from: finding.status, to: outcome.status } };
  }
  const next: Finding = { ...finding, status: outcome.status };
  if (outcome.paymentIntentId !== undefined) next.paymentIntentId = outcome.paymentIntentId;
  // A failure reason describes the current failure only; a later success clears it.
  if (outcome.status === 'PAYMENT_FAILED') next.failureReason = outcome.failureReason;
  else delete next.failureReason;
  return update(booking, next, {}, at);
}

/**
 * The history row of a finding's change (added, approved, declined, its charge's outcome), kept in its
 * booking's partition under the finding machine with the finding as subject. `before` is the finding
 * as it was (absent when it was just added).
 */
export function findingHistory(before: Finding | undefined, after: Finding, cause: Cause): HistoryRecord<FindingStatus> {
  return { machine: findingMachine.name, subject: after.id, from: before?.status ?? null, to: after.status, at: after.updatedAt, cause };
}

function update(booking: Booking, finding: Finding, change: Partial<Finding>, at: Date): FindingResult {
  const timestamp = at.toISOString();
  const changed: Finding = { ...finding, ...change, updatedAt: timestamp };
  const findings = booking.findings.map((candidate) => (candidate.id === changed.id ? changed : candidate));
  return { ok: true, booking: withFindings(booking, findings, timestamp), finding: changed };
}

function withFindings(booking: Booking, findings: Finding[], at: string): Booking {
  return { ...booking, findings, updatedAt: at, version: booking.version + 1 };
}
