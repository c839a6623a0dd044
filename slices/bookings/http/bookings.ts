import * as z from 'zod';
import { defineHttp, type HttpCall, type HttpFunctionDef, type HttpResponseData } from '../../../shared/function-table';
import { acceptedRoles, bearerToken, callerCause } from '../../../shared/http/auth';
import { conflict, forbidden, notFound, problem, tooManyRequests, unauthorized } from '../../../shared/http/problem';
import type { RateLimiter } from '../../../shared/http/rate-limit';
import type { PaymentFailure } from '../../../shared/platform/payments';
import { type AccessError, type BookingActor, readBooking } from '../app/access';
import { cancelBooking, type CancelBookingDeps } from '../app/cancel-booking';
import { createBooking, type CreateBookingDeps } from '../app/create-booking';
import { addFinding, approveFinding, declineFinding, type FindingDeps, type FindingOutcome } from '../app/findings';
import { type BookingStore, bookingHistoryRowSchema, bookingTimeline } from '../app/ports';
import { type Booking, createBookingRequestSchema, idSchema } from '../domain/booking';
import { bookingStatusSchema } from '../domain/booking-status';
import type { Catalogue } from '../domain/catalogue';
import { findingRequestSchema, findingStatusSchema } from '../domain/finding';
import { REFUND_STATUSES } from '../domain/refund';

export interface BookingFunctionDeps {
  bookings: BookingStore;
  create: CreateBookingDeps;
  cancel: CancelBookingDeps;
  findings: FindingDeps;
  catalogue: Catalogue;
  /** Booking creation per client address (default 60 per 15 min). */
  creationLimiter: RateLimiter;
}

// Ids are ids: text that cannot be one of ours (a control character, a lone surrogate) is 422, never a key.
const idParams = z.object({ id: idSchema });
/** Staff who may read any booking: the workshop, admins, and support (which reads what admins read). */
const READERS = acceptedRoles(['admin', 'workshop'], 'GET') as readonly ('admin' | 'workshop' | 'support')[];
const findingParams = idParams.extend({ findingId: idSchema });

const findingView = z.object({ id: z.string(), description: z.string(), priceCents: z.number().int(), status: findingStatusSchema });
const bookingView = z.object({
  id: z.string(),
  status: bookingStatusSchema,
  priceCents: z.number().int(),
  currency: z.string(),
  serviceType: z.string(),
  customer: z.object({ name: z.string(), email: z.string(), phone: z.string(), language: z.string() }),
  vehicle: z.object({ brand: z.string(), model: z.string(), licensePlate: z.string().optional() }),
  pickup: z.object({ address: z.object({ street: z.string(), zip: z.string(), city: z.string() }), slotStart: z.string(), slotEnd: z.string() }),
  delivery: z.object({ address: z.object({ street: z.string(), zip: z.string(), city: z.string() }) }),
  notes: z.string().optional(),
  payment: z.object({
    status: z.string(),
    paymentIntentId: z.string().optional(),
    failureReason: z.string().optional(),
    /** A cancellation's refund: `reserved` (asked for), `pending` (Stripe finishes it), `succeeded`, `failed` (staff is alerted; cancel again to retry). */
    refund: z.object({ status: z.enum(REFUND_STATUSES), failureReason: z.string().optional() }).optional(),
  }),
  findings: z.array(findingView),
  /** Staff only (an API key's read): why the booking is on the attention list, and since when. */
  attention: z.object({ reason: z.string(), since: z.string() }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const createdView = z.object({
  id: z.string(),
  status: z.literal('PENDING_PAYMENT'),
  priceCents: z.number().int(),
  currency: z.string(),
  accessToken: z.string(),
  payment: z.object({ paymentIntentId: z.string(), clientSecret: z.string() }),
});
// Oldest first. Status rows keep their `{from, to, at, cause}`; trip and finding rows add `kind` and `subject`.
const historyView = z.object({ items: z.array(bookingHistoryRowSchema) });
const findingAnswerView = z.object({ id: z.string(), status: findingStatusSchema, priceCents: z.number().int(), clientSecret: z.string().optional() });

/**
 * What the API shows of a booking: never the Stripe customer, the saved card or the token hash; the
 * attention flag only to staff (`forStaff`), never to the customer's app.
 */
function toView(booking: Booking, forStaff = false) {
  const refund = booking.payment.refund;
  const flagged = forStaff && booking.flags.needsAttention;
  return {
    id: booking.id,
    status: booking.status,
    priceCents: booking.priceCents,
    currency: booking.currency,
    serviceType: booking.serviceType,
    customer: booking.customer,
    vehicle: booking.vehicle,
    pickup: booking.pickup,
    delivery: booking.delivery,
    notes: booking.notes,
    payment: {
      status: booking.payment.status,
      paymentIntentId: booking.payment.paymentIntentId,
      failureReason: booking.payment.failureReason,
      ...(refund ? { refund: { status: refund.status, ...(refund.failureReason ? { failureReason: refund.failureReason } : {}) } } : {}),
    },
    findings: booking.findings.map((finding) => ({ id: finding.id, description: finding.description, priceCents: finding.priceCents, status: finding.status })),
    ...(flagged ? { attention: { reason: booking.flags.attentionReason ?? 'needs attention', since: booking.flags.attentionSince ?? booking.updatedAt } } : {}),
    createdAt: booking.createdAt,
    updatedAt: booking.updatedAt,
  };
}

/** The booking's actor: a staff API key, or whoever presents a bearer token (the booking's own, or not). */
function actorOf(call: HttpCall<unknown, unknown, unknown, unknown>): BookingActor {
  const { caller } = call;
  return caller.kind === 'apiKey' ? { kind: 'staff', name: caller.name, roles: caller.roles } : { kind: 'customer', token: bearerToken(call.request.headers) };
}

/** The answer to a booking the caller may not see: 404, 401 without a credential, 403 with a wrong one. */
function accessProblem(error: AccessError): HttpResponseData {
  switch (error.code) {
    case 'NOT_FOUND':
      return notFound('No booking with this id.');
    case 'UNAUTHENTICATED':
      return unauthorized('The booking access token (or a staff API key) is required: Authorization: Bearer <token>.');
    case 'FORBIDDEN':
      return forbidden('This token does not grant access to this booking.');
  }
}

function paymentProblem(failure: PaymentFailure): HttpResponseData {
  if (failure.code === 'unavailable')
    return {
      ...problem(503, 'Payment provider unavailable', 'Stripe could not be reached; nothing was changed. Try again shortly.'),
      headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '5' },
    };
  return problem(502, 'Payment provider refused the request', 'The payment provider rejected the request; nothing was changed.');
}

/** Stripe did not take a cancellation's refund (or the voiding of its payment): the booking is cancelled all the same. */
function cancelPaymentProblem(failure: PaymentFailure, booking: Booking): HttpResponseData {
  const refund = booking.payment.refund;
  const members = { bookingStatus: booking.status, ...(refund ? { refundStatus: refund.status } : {}) };
  const what = refund ? 'the refund' : 'cancelling the payment';
  // A refund that did not go through is flagged on the booking (recordRefund); an open payment is not money owed.
  const flagged = refund?.status === 'failed' ? ' It is flagged for our staff.' : '';
  if (failure.code === 'unavailable') {
    return problem(
      503,
      'Payment provider unavailable',
      `The booking is cancelled, but Stripe could not be reached for ${what}.${flagged} Cancel again shortly to retry; a booking is refunded at most once.`,
      { members, headers: { 'Retry-After': '5' } },
    );
  }
  return problem(
    502,
    'Payment provider refused the request',
    `The booking is cancelled, but the payment provider refused ${what}.${flagged} Cancelling again retries it.`,
    { members },
  );
}

function findingResponse(outcome: FindingOutcome, created = false): HttpResponseData {
  if (outcome.ok) {
    const { finding, clientSecret } = outcome;
    return {
      status: created ? 201 : 200,
      body: { id: finding.id, status: finding.status, priceCents: finding.priceCents, ...(clientSecret ? { clientSecret } : {}) },
    };
  }
  const error = outcome.error;
  switch (error.code) {
    case 'NOT_FOUND':
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
      return accessProblem(error);
    case 'CARD_DECLINED':
      return problem(402, 'Card declined', 'The saved card was declined; the finding is not paid.', {
        members: { findingId: error.finding.id, findingStatus: error.finding.status },
      });
    case 'FINDING_NOT_FOUND':
      return notFound('No finding with this id on this booking.');
    case 'BOOKING_NOT_IN_WORKSHOP':
      return conflict(`Findings can only be added or answered while the car is in the workshop (booking is ${error.status}).`);
    case 'TOO_MANY_FINDINGS':
      return conflict(`A booking holds at most ${error.limit} findings and this one is full; nothing was added.`);
    case 'ALREADY_DECLINED':
      return conflict('The finding was already declined.');
    case 'ALREADY_APPROVED':
      return conflict('The finding was already approved.');
    case 'NO_SAVED_CARD':
      return conflict('The booking has no saved card to charge: its payment has not succeeded.');
    case 'PAYMENT_PROVIDER':
      return paymentProblem(error.failure);
    default:
      return conflict('The finding cannot change that way.');
  }
}

/** The booking endpoints: catalogue, create, read, history, cancel, findings. */
export function bookingFunctions(deps: BookingFunctionDeps): HttpFunctionDef[] {
  const tags = ['bookings'];

  return [
    defineHttp({
      kind: 'http',
      name: 'services',
      route: 'v1/services',
      methods: ['GET'],
      summary: 'The service catalogue',
      tags,
      responses: {
        200: {
          description: 'Services',
          schema: z.object({ items: z.array(z.object({ code: z.string(), name: z.string(), priceCents: z.number().int(), currency: z.string() })) }),
        },
      },
      handler: async ({ query }) => {
        const language = query.lang === 'en' ? 'en' : 'de';
        return {
          status: 200,
          body: { items: deps.catalogue.map((item) => ({ code: item.code, name: item.name[language], priceCents: item.priceCents, currency: item.currency })) },
        };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'bookings-create',
      route: 'v1/bookings',
      methods: ['POST'],
      summary: 'Book a service with pick-up; returns the access token once and the PaymentIntent client secret',
      tags,
      request: { body: createBookingRequestSchema },
      responses: {
        201: { description: 'Created', schema: createdView },
        422: { description: 'Invalid booking' },
        429: { description: 'Too many bookings from this address' },
        502: { description: 'Stripe refused the payment set-up; nothing was stored' },
        503: { description: 'Stripe is not configured or could not be reached; nothing was stored, try again shortly' },
      },
      handler: async ({ body, request }) => {
        const limit = await deps.creationLimiter.take(`ip:${request.clientIp}`);
        if (!limit.allowed) return tooManyRequests(limit.retryAfterSeconds);
        const created = await createBooking(deps.create, body);
        if (!created.ok) {
          if (created.error.code === 'PAYMENT_PROVIDER') return paymentProblem(created.error.failure);
          return problem(422, 'Invalid booking', 'The booking cannot be accepted as requested.', {
            errors: created.error.problems.map((p) => ({ in: 'body' as const, path: p.path, message: p.message })),
          });
        }
        const { booking, accessToken, clientSecret } = created;
        return {
          status: 201,
          headers: { Location: `/api/v1/bookings/${booking.id}` },
          body: {
            id: booking.id,
            status: booking.status,
            priceCents: booking.priceCents,
            currency: booking.currency,
            accessToken,
            payment: { paymentIntentId: booking.payment.paymentIntentId, clientSecret },
          },
        };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'bookings-get',
      route: 'v1/bookings/{id}',
      methods: ['GET'],
      summary: 'A booking (access token or staff key)',
      tags,
      request: { params: idParams },
      responses: {
        200: { description: 'The booking', schema: bookingView },
        401: { description: 'No booking access token or staff API key' },
        403: { description: "Another booking's token, or an API key without a role that may" },
        404: { description: 'Unknown booking' },
      },
      handler: async (call) => {
        const actor = actorOf(call);
        const read = await readBooking(deps.bookings, call.params.id, actor, READERS);
        return read.ok ? { status: 200, body: toView(read.stored.state, actor.kind === 'staff') } : accessProblem(read.error);
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'bookings-history',
      route: 'v1/bookings/{id}/history',
      methods: ['GET'],
      summary: "A booking's history, oldest first: its status changes, its trips' progress and its findings",
      tags,
      request: { params: idParams },
      responses: {
        200: { description: 'History', schema: historyView },
        401: { description: 'No booking access token or staff API key' },
        403: { description: "Another booking's token, or an API key without a role that may" },
        404: { description: 'Unknown booking' },
      },
      handler: async (call) => {
        const read = await readBooking(deps.bookings, call.params.id, actorOf(call), READERS);
        return read.ok ? { status: 200, body: { items: await bookingTimeline(deps.bookings, call.params.id) } } : accessProblem(read.error);
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'bookings-cancel',
      route: 'v1/bookings/{id}/cancel',
      methods: ['POST'],
      summary: 'Cancel until pick-up; a paid booking is refunded and gets a credit note in Odoo',
      tags,
      request: { params: idParams },
      responses: {
        200: { description: 'Cancelled', schema: bookingView },
        401: { description: 'No booking access token or staff API key' },
        403: { description: "Another booking's token, or an API key without a role that may" },
        404: { description: 'Unknown booking' },
        409: { description: 'Past pick-up' },
        502: { description: 'Cancelled, but Stripe refused the refund (staff alerted; cancelling again retries it)' },
        503: { description: 'Cancelled, but Stripe could not be reached for the refund; cancel again to retry' },
      },
      handler: async (call) => {
        const outcome = await cancelBooking(deps.cancel, call.params.id, actorOf(call), call.operationId);
        if (outcome.ok) return { status: 200, body: toView(outcome.booking) };
        const { error } = outcome;
        if (error.code === 'PAYMENT_PROVIDER') return cancelPaymentProblem(error.failure, error.booking);
        if (error.code === 'NOT_CANCELLABLE') return conflict(`A booking can be cancelled until pick-up; this one is ${error.status}.`);
        return accessProblem(error);
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'findings-add',
      route: 'v1/bookings/{id}/findings',
      methods: ['POST'],
      roles: ['workshop', 'admin'],
      summary: 'The workshop adds a finding (extra work) for the customer to approve',
      tags,
      request: { params: idParams, body: findingRequestSchema },
      responses: {
        201: { description: 'Added', schema: findingAnswerView },
        404: { description: 'Unknown booking' },
        409: { description: 'Not in the workshop, or the booking holds the most findings it may' },
        422: { description: 'Invalid finding' },
      },
      handler: async ({ params, body, caller, operationId }) =>
        findingResponse(await addFinding(deps.findings, params.id, body, callerCause(caller), operationId), true),
    }),
    defineHttp({
      kind: 'http',
      name: 'findings-approve',
      route: 'v1/bookings/{id}/findings/{findingId}/approve',
      methods: ['POST'],
      summary: 'The customer approves a finding: the saved card is charged off-session',
      tags,
      request: { params: findingParams },
      responses: {
        200: { description: 'PAID, or REQUIRES_ACTION with a client secret', schema: findingAnswerView },
        401: { description: 'No booking access token or staff API key' },
        402: { description: 'The saved card was declined: the finding is PAYMENT_FAILED (`findingId`, `findingStatus`)' },
        403: { description: "Another booking's token, or an API key without a role that may" },
        404: { description: 'Unknown booking, or no such finding on it' },
        409: { description: 'Not in the workshop, already approved or declined, or no saved card to charge' },
        502: { description: 'Stripe refused the charge' },
        503: { description: 'Stripe could not be reached; try again shortly' },
      },
      handler: async (call) => findingResponse(await approveFinding(deps.findings, call.params.id, call.params.findingId, actorOf(call), call.operationId)),
    }),
    defineHttp({
      kind: 'http',
      name: 'findings-decline',
      route: 'v1/bookings/{id}/findings/{findingId}/decline',
      methods: ['POST'],
      summary: 'The customer declines a finding',
      tags,
      request: { params: findingParams },
      responses: {
        200: { description: 'Declined', schema: findingAnswerView },
        401: { description: 'No booking access token or staff API key' },
        403: { description: "Another booking's token, or an API key without a role that may" },
        404: { description: 'Unknown booking, or no such finding on it' },
        409: { description: 'Not in the workshop, or already approved or declined' },
      },
      handler: async (call) => findingResponse(await declineFinding(deps.findings, call.params.id, call.params.findingId, actorOf(call))),
    }),
  ];
}
