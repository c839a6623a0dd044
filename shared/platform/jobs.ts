import * as z from 'zod';

/** One failed attempt, kept with the message so an admin sees every reason. */
export const attemptErrorSchema = z.object({
  attempt: z.number().int().min(1),
  at: z.string(),
  kind: z.enum(['transient', 'permanent']),
  code: z.string(),
  message: z.string(),
});
export type AttemptError = z.infer<typeof attemptErrorSchema>;

/** The job envelope every queue message carries (ARCHITECTURE.md, "Jobs"). */
export const jobEnvelopeSchema = z.object({
  /** Stable across retries and replays: the idempotency key of the job's effect. */
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  /** The aggregate the job is about (booking id, order id, ...). */
  subject: z.string().min(1).max(200),
  attempt: z.number().int().min(1),
  /** Trace context carried across queue hops. */
  correlation: z.object({ operationId: z.string(), parentId: z.string().optional() }),
  payload: z.unknown(),
  errors: z.array(attemptErrorSchema).default([]),
  /** Errors left out of `errors` between the first and the latest ones (see `withAttemptError`). */
  errorsOmitted: z.number().int().min(0).optional(),
  createdAt: z.string(),
});
export type JobEnvelope = z.infer<typeof jobEnvelopeSchema>;

/**
 * How much error history a job carries. A job replayed again and again would otherwise grow without
 * end and one day fail to send (Service Bus refuses messages over 256 KB on Standard): the first
 * attempts (how it started), the latest ones (how it is going) and a count of those in between.
 */
export const ERROR_HISTORY = { first: 2, latest: 8, messageChars: 1_000 } as const;

/** The history with `error` added, bounded as {@link ERROR_HISTORY} says. */
export function withAttemptError(
  history: { errors: readonly AttemptError[]; errorsOmitted?: number },
  error: AttemptError,
): { errors: AttemptError[]; errorsOmitted: number } {
  const message = error.message.length > ERROR_HISTORY.messageChars ? `${error.message.slice(0, ERROR_HISTORY.messageChars - 1)}…` : error.message;
  const errors = [...history.errors, { ...error, message }];
  const keep = ERROR_HISTORY.first + ERROR_HISTORY.latest;
  if (errors.length <= keep) return { errors, errorsOmitted: history.errorsOmitted ?? 0 };
  const dropped = errors.length - keep;
  return {
    errors: [...errors.slice(0, ERROR_HISTORY.first), ...errors.slice(errors.length - ERROR_HISTORY.latest)],
    errorsOmitted: (history.errorsOmitted ?? 0) + dropped,
  };
}

/** What a use case asks for: the envelope minus the bookkeeping the pipeline fills in. */
export interface JobRequest {
  queue: string;
  type: string;
  subject: string;
  payload: unknown;
  /** Deterministic id when the caller has one (e.g. `confirm:<bookingId>`), so re-sends collapse. */
  id?: string;
  correlation?: JobEnvelope['correlation'];
}

/** A job addressed to a queue, ready to send. */
export interface OutgoingJob {
  queue: string;
  envelope: JobEnvelope;
  /** When set, the broker holds the message until then (retry back-off). */
  notBefore?: Date;
}

/** Sends jobs to queues (Service Bus in every environment). */
export interface JobSender {
  send(jobs: OutgoingJob[]): Promise<void>;
}

/**
 * Settles the message that carried a job. Under the Functions host this is the SDK-binding message
 * actions; under the local host the ServiceBusReceiver that received it.
 */
export interface Settlement {
  complete(): Promise<void>;
  /** `properties` are added to the dead letter's application properties (e.g. the error history). */
  deadLetter(reason: string, description: string, properties?: Record<string, string>): Promise<void>;
  /** Gives the message back for redelivery (used only when the pipeline itself cannot proceed). */
  abandon(): Promise<void>;
}

/** Records which jobs have taken effect, so a redelivered job is not applied twice. */
export interface ProcessedJobs {
  has(jobId: string): Promise<boolean>;
  mark(jobId: string, info: { type: string; subject: string }): Promise<void>;
}

/** How a handler reports a failure: transient failures are retried, permanent ones dead-lettered. */
export class JobError extends Error {
  constructor(
    readonly kind: 'transient' | 'permanent',
    readonly code: string,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.name = 'JobError';
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** The earliest the far side asked to be tried again (`Retry-After`); the retry waits at least this long. */
  readonly retryAfterMs?: number;

  static transient(code: string, message: string, cause?: unknown, retryAfterMs?: number): JobError {
    return new JobError('transient', code, message, { cause, retryAfterMs });
  }

  static permanent(code: string, message: string, cause?: unknown): JobError {
    return new JobError('permanent', code, message, { cause });
  }
}

export function newEnvelope(request: JobRequest, now: Date, newId: () => string): JobEnvelope {
  return {
    id: request.id ?? newId(),
    type: request.type,
    subject: request.subject,
    attempt: 1,
    correlation: request.correlation ?? { operationId: newId() },
    payload: request.payload,
    errors: [],
    createdAt: now.toISOString(),
  };
}

/** Addresses job requests for the outbox, carrying the request's operation id across the queue hop. */
export function toOutgoing(requests: JobRequest[], context: { now: Date; newId: () => string; operationId?: string }): OutgoingJob[] {
  return requests.map((request) => ({
    queue: request.queue,
    envelope: newEnvelope(
      { ...request, correlation: request.correlation ?? (context.operationId ? { operationId: context.operationId } : undefined) },
      context.now,
      context.newId,
    ),
  }));
}
