import type { ReceivedMessage } from '../function-table';
import {
  type AttemptError,
  type JobEnvelope,
  JobError,
  type JobSender,
  jobEnvelopeSchema,
  type ProcessedJobs,
  type Settlement,
  withAttemptError,
} from './jobs';
import type { Logger } from './log';
import type { Telemetry } from './telemetry';

/** Retry with exponential back-off; defaults 6 attempts, 10 s base, 15 min cap. */
export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  /**
   * Delays before attempt 2, 3, … instead of the exponential series (e.g. the Standard Webhooks
   * schedule for channel callbacks); each gets the same equal jitter. Its length + 1 bounds the attempts.
   */
  schedule?: readonly number[];
}

/** Does the work of one job type; throws JobError (or anything: treated as transient). */
export type JobHandler = (job: JobEnvelope) => Promise<void>;

/** Dead-letter reasons an admin sees in the dead-letter API. */
export const DEAD_LETTER_REASONS = {
  permanent: 'PermanentError',
  exhausted: 'MaxAttemptsExceeded',
  invalid: 'InvalidEnvelope',
  unknownType: 'UnknownJobType',
} as const;

/** Application property carrying the attempts' errors as JSON on a dead letter (bounded: `withAttemptError`). */
export const JOB_ERRORS_PROPERTY = 'JobErrors';
/** Application property counting the errors left out of `JobErrors` between the first and the latest. */
export const JOB_ERRORS_OMITTED_PROPERTY = 'JobErrorsOmitted';

const MAX_DESCRIPTION = 1024;
/** The longest a `Retry-After` is honoured: a far side asking for years is retried after a day. */
const MAX_ASKED_DELAY_MS = 24 * 60 * 60 * 1000;

/**
 * Delay before attempt `failedAttempt + 1`: exponential, capped, with "equal jitter" (half fixed,
 * half random) so retries of many jobs spread out while each job's delays still never shrink.
 */
export function backoffDelayMs(failedAttempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const planned = policy.schedule
    ? (policy.schedule[Math.min(failedAttempt, policy.schedule.length) - 1] ?? policy.baseMs)
    : Math.min(policy.capMs, policy.baseMs * 2 ** (failedAttempt - 1));
  return Math.round(planned / 2 + (random() * planned) / 2);
}

/** How many attempts a policy allows: its schedule's length + 1, or `maxAttempts`. */
export const attemptsOf = (policy: RetryPolicy) => (policy.schedule ? policy.schedule.length + 1 : policy.maxAttempts);

export interface JobConsumerDeps {
  queue: string;
  handlers: Record<string, JobHandler>;
  sender: JobSender;
  processed: ProcessedJobs;
  policy: RetryPolicy;
  /** Job types that retry on a policy of their own (callbacks follow the Standard Webhooks schedule). */
  typePolicies?: Readonly<Record<string, RetryPolicy>>;
  log: Logger;
  now?: () => Date;
  random?: () => number;
  /**
   * Failed attempts and dead letters as custom events (the alerts on sync failures and dead letters
   * read them), and each failure as an exception: the host sees a handled failure as a success.
   */
  telemetry?: Pick<Telemetry, 'event' | 'exception'>;
}

function describeError(error: unknown): { kind: AttemptError['kind']; code: string; message: string } {
  if (error instanceof JobError) return { kind: error.kind, code: error.code, message: error.message };
  // An error nobody classified might heal (a network blip); the attempt limit bounds the cost if not.
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'transient', code: 'UNEXPECTED', message };
}

const truncate = (text: string) => (text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text);

/**
 * The one consumer wrapper every queue function uses: parses the envelope, skips jobs already
 * applied, runs the handler, and settles — complete, retry as a scheduled copy, or dead-letter.
 */
export function createJobConsumer(deps: JobConsumerDeps) {
  const now = deps.now ?? (() => new Date());

  async function retryOrDeadLetter(job: JobEnvelope, settlement: Settlement, error: unknown): Promise<void> {
    const failure = describeError(error);
    const { errors, errorsOmitted } = withAttemptError(job, { attempt: job.attempt, at: now().toISOString(), ...failure });
    const description = truncate(`attempt ${job.attempt}: ${failure.code}: ${failure.message}`);
    const properties = { [JOB_ERRORS_PROPERTY]: JSON.stringify(errors), [JOB_ERRORS_OMITTED_PROPERTY]: String(errorsOmitted) };
    const about = { operationId: job.correlation.operationId, queue: deps.queue, type: job.type, subject: job.subject, code: failure.code, kind: failure.kind };
    deps.telemetry?.event('JobFailed', about, { attempt: job.attempt });
    deps.telemetry?.exception(error, about);
    const deadLettered = (reason: string) => deps.telemetry?.event('JobDeadLettered', { ...about, reason }, { attempt: job.attempt });

    if (failure.kind === 'permanent') {
      deps.log.warn('job failed permanently; dead-lettered', { jobId: job.id, type: job.type, code: failure.code });
      await settlement.deadLetter(DEAD_LETTER_REASONS.permanent, description, properties);
      deadLettered(DEAD_LETTER_REASONS.permanent);
      return;
    }
    const policy = deps.typePolicies?.[job.type] ?? deps.policy;
    if (job.attempt >= attemptsOf(policy)) {
      deps.log.warn('job exhausted its attempts; dead-lettered', { jobId: job.id, type: job.type, attempt: job.attempt });
      await settlement.deadLetter(DEAD_LETTER_REASONS.exhausted, description, properties);
      deadLettered(DEAD_LETTER_REASONS.exhausted);
      return;
    }
    // Never sooner than the far side asked for (a 429 or 503 with Retry-After), but never later than a day.
    const asked = Math.min(error instanceof JobError ? (error.retryAfterMs ?? 0) : 0, MAX_ASKED_DELAY_MS);
    const delayMs = Math.max(backoffDelayMs(job.attempt, policy, deps.random), asked);
    const retry: JobEnvelope = { ...job, attempt: job.attempt + 1, errors, ...(errorsOmitted > 0 ? { errorsOmitted } : {}) };
    // Schedule the copy before completing the original: a crash in between duplicates the job
    // (the processed-jobs check absorbs it) but never loses it.
    await deps.sender.send([{ queue: deps.queue, envelope: retry, notBefore: new Date(now().getTime() + delayMs) }]);
    await settlement.complete();
    deps.log.info('job scheduled for retry', { jobId: job.id, type: job.type, nextAttempt: retry.attempt, delayMs });
  }

  return async function consume(message: ReceivedMessage, settlement: Settlement): Promise<void> {
    const parsed = jobEnvelopeSchema.safeParse(message.body);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)').join(', ');
      await settlement.deadLetter(DEAD_LETTER_REASONS.invalid, truncate(`not a job envelope: ${fields}`));
      return;
    }
    const job = parsed.data;
    const handler = deps.handlers[job.type];
    if (!handler) {
      await settlement.deadLetter(DEAD_LETTER_REASONS.unknownType, `no handler for job type ${job.type} on ${deps.queue}`);
      return;
    }
    // Keyed by queue too: one job id may name related work on two queues (e.g. sync and e-mail).
    const processedKey = `${deps.queue}:${job.id}`;
    if (await deps.processed.has(processedKey)) {
      await settlement.complete();
      return;
    }
    try {
      await handler(job);
    } catch (error) {
      await retryOrDeadLetter(job, settlement, error);
      return;
    }
    await deps.processed.mark(processedKey, { type: job.type, subject: job.subject });
    await settlement.complete();
  };
}
