import * as z from 'zod';
import type { Booking } from '../domain/booking';
import type { BookingStatus } from '../domain/booking-status';
import type { Catalogue } from '../domain/catalogue';
import type { Finding } from '../domain/finding';
import { TRIP_LEGS } from '../domain/trip';
import type { BookingStore } from './ports';
import type { JobHandler } from '../../../shared/platform/consume-job';
import { type JobEnvelope, JobError, type JobRequest } from '../../../shared/platform/jobs';
import { QUEUES } from '../../../shared/platform/queues';
import type { Mailer } from '../../../shared/platform/mailer';
import { languageOf, type Notice, renderNotification } from './notification-templates';
import type { Logger } from '../../../shared/platform/log';

const findingIdSchema = z.string().min(1).max(100);

// Plain (not strict) objects: a newer producer may add a field during a rolling deploy, and an older
// consumer should still send the mail rather than dead-letter it.
/** The payload schema of every notification job type. */
export const notificationPayloadSchemas = {
  'booking.confirmed': z.object({}),
  /** `refunded`: the customer had paid and the money is on its way back. */
  'booking.cancelled': z.object({ refunded: z.boolean() }),
  /** Asks the customer to approve or decline the finding. */
  'finding.added': z.object({ findingId: findingIdSchema }),
  /** Asks the customer to confirm the finding's payment on-session (3-D Secure). */
  'finding.requires-action': z.object({ findingId: findingIdSchema }),
  /** A booking has two trips, so which one the driver was assigned to is part of the notice. */
  'trip.assigned': z.object({ leg: z.enum(TRIP_LEGS) }),
  'trip.pickup-completed': z.object({}),
  'trip.delivered': z.object({}),
  /** A trip failed (e.g. nobody at the door): the customer hears that we will get in touch. */
  'trip.failed': z.object({ leg: z.enum(TRIP_LEGS) }),
} as const;

/** A notification job type. */
export type NotificationType = keyof typeof notificationPayloadSchemas;

/** Every notification job type. */
export const NOTIFICATION_TYPES = Object.keys(notificationPayloadSchemas) as NotificationType[];

/** The payload a notification job type carries. */
export type NotificationPayload<T extends NotificationType> = z.infer<(typeof notificationPayloadSchemas)[T]>;

/**
 * The deterministic job id `notify:<type>:<bookingId>[:<findingId | leg>]`: one notice per booking
 * (per finding, per trip leg), so a state change applied twice queues it once (the outbox collapses
 * equal ids) and the consumer's processed-jobs check sends it once.
 */
export function notificationJobId<T extends NotificationType>(type: T, bookingId: string, payload: NotificationPayload<T>): string {
  const parts = ['notify', type, bookingId];
  if ('findingId' in payload) parts.push(payload.findingId);
  if ('leg' in payload) parts.push(payload.leg);
  return parts.join(':');
}

/** The job that e-mails the customer a notice about the booking; its subject is the booking id. */
export function notificationJob<T extends NotificationType>(
  type: T,
  booking: Pick<Booking, 'id'>,
  payload: NotificationPayload<T>,
  correlation?: JobRequest['correlation'],
): JobRequest {
  // The types already guarantee the shape; parsing drops anything extra a caller spread in.
  const parsed = notificationPayloadSchemas[type].parse(payload) as NotificationPayload<T>;
  const request: JobRequest = {
    queue: QUEUES.notifications,
    type,
    subject: booking.id,
    payload: parsed,
    id: notificationJobId(type, booking.id, parsed),
  };
  if (correlation) request.correlation = correlation;
  return request;
}

/** What the notification handlers need. */
export interface NotificationDeps {
  mailer: Mailer;
  bookings: Pick<BookingStore, 'get'>;
  catalogue: Catalogue;
  /** Told when a stale job is completed without a mail, so "why did no mail go out" has an answer. */
  log?: Pick<Logger, 'info'>;
}

/** A notice to send, or why the job is completed without one. */
type Decision = { send: Notice } | { skip: string };

const send = (notice: Notice): Decision => ({ send: notice });
const skip = (reason: string): Decision => ({ skip: reason });

function inStatus(booking: Booking, statuses: readonly BookingStatus[], notice: Notice): Decision {
  return statuses.includes(booking.status) ? send(notice) : skip(`booking is ${booking.status}`);
}

function findingOf(booking: Booking, findingId: string): Finding {
  const finding = booking.findings.find((candidate) => candidate.id === findingId);
  // Findings are never removed, so one that is missing will not appear on a retry either.
  if (!finding) throw JobError.permanent('FINDING_NOT_FOUND', `booking ${booking.id} has no finding ${findingId}`);
  return finding;
}

/**
 * Whether the notice still holds for the CURRENT booking. A job can run long after it was queued
 * (retries, a backlog, a replay from the dead-letter queue), and telling the customer something the
 * booking has already left behind confuses more than it helps. The rules, one per type:
 * - `booking.confirmed`: only while CONFIRMED. CANCELLED gets the cancellation mail instead; once the
 *   car is picked up, a confirmation with the pick-up slot is moot.
 * - `booking.cancelled`: only when CANCELLED (the job is queued with the cancellation, which is final).
 * - `finding.added`: only while the finding is PENDING_APPROVAL and the car IN_WORKSHOP, i.e. while
 *   the customer can still answer; an answered finding needs no request.
 * - `finding.requires-action`: only while the finding is REQUIRES_ACTION, whatever the booking's
 *   status (the payment follows the money, like `recordFindingPayment`); paid or failed: nothing to confirm.
 * - `trip.assigned`: pick-up leg only while CONFIRMED (not after pick-up or cancellation); delivery leg
 *   only while READY_FOR_DELIVERY (not once delivered).
 * - `trip.pickup-completed`: while IN_WORKSHOP or READY_FOR_DELIVERY; once DELIVERED it would only confuse.
 * - `trip.delivered`: only when DELIVERED.
 * - `trip.failed`: while the booking is still flagged for attention (an admin has not resolved it yet).
 */
function decide(type: NotificationType, payload: unknown, booking: Booking): Decision {
  switch (type) {
    case 'booking.confirmed':
      return inStatus(booking, ['CONFIRMED'], { type });
    case 'booking.cancelled': {
      const { refunded } = notificationPayloadSchemas[type].parse(payload);
      return inStatus(booking, ['CANCELLED'], { type, refunded });
    }
    case 'finding.added': {
      const finding = findingOf(booking, notificationPayloadSchemas[type].parse(payload).findingId);
      if (finding.status !== 'PENDING_APPROVAL') return skip(`finding ${finding.id} is ${finding.status}`);
      return inStatus(booking, ['IN_WORKSHOP'], { type, finding });
    }
    case 'finding.requires-action': {
      const finding = findingOf(booking, notificationPayloadSchemas[type].parse(payload).findingId);
      return finding.status === 'REQUIRES_ACTION' ? send({ type, finding }) : skip(`finding ${finding.id} is ${finding.status}`);
    }
    case 'trip.assigned': {
      const { leg } = notificationPayloadSchemas[type].parse(payload);
      return inStatus(booking, leg === 'pickup' ? ['CONFIRMED'] : ['READY_FOR_DELIVERY'], { type, leg });
    }
    case 'trip.pickup-completed':
      return inStatus(booking, ['IN_WORKSHOP', 'READY_FOR_DELIVERY'], { type });
    case 'trip.delivered':
      return inStatus(booking, ['DELIVERED'], { type });
    case 'trip.failed': {
      const { leg } = notificationPayloadSchemas[type].parse(payload);
      return booking.flags.needsAttention ? send({ type, leg }) : skip('the failed trip was already resolved');
    }
  }
}

function validPayload(job: JobEnvelope, type: NotificationType): unknown {
  const parsed = notificationPayloadSchemas[type].safeParse(job.payload);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(payload)').join(', ');
  throw JobError.permanent('INVALID_PAYLOAD', `invalid ${type} payload: ${fields}`, parsed.error);
}

/**
 * The handlers of the notifications queue, one per type. Each reads the current booking, decides
 * whether the notice still holds (see `decide`), and sends it in the customer's language with the
 * job id as the mail's idempotency key. Mailer failures propagate: they are JobErrors already.
 */
export function notificationHandlers(deps: NotificationDeps): Record<NotificationType, JobHandler> {
  const handle = (type: NotificationType): JobHandler =>
    async function notify(job) {
      // The payload first: a malformed job fails the same way whatever the booking's state.
      const payload = validPayload(job, type);
      const stored = await deps.bookings.get(job.subject);
      if (!stored) throw JobError.permanent('BOOKING_NOT_FOUND', `booking ${job.subject} does not exist`);
      const booking = stored.state;
      const decision = decide(type, payload, booking);
      if ('skip' in decision) {
        deps.log?.info('notification not sent: no longer applies', { jobId: job.id, type, bookingId: booking.id, reason: decision.skip });
        return;
      }
      const mail = renderNotification(decision.send, booking, deps.catalogue);
      await deps.mailer.send({ to: booking.customer.email, ...mail, key: job.id, language: languageOf(booking) });
    };
  return Object.fromEntries(NOTIFICATION_TYPES.map((type) => [type, handle(type)])) as Record<NotificationType, JobHandler>;
}
