import { describe, expect, it } from 'vitest';
import {
  attemptsOf,
  backoffDelayMs,
  createJobConsumer,
  DEAD_LETTER_REASONS,
  JOB_ERRORS_OMITTED_PROPERTY,
  JOB_ERRORS_PROPERTY,
  type JobHandler,
} from '../../shared/platform/consume-job';
import { ERROR_HISTORY, JobError, type JobEnvelope, type OutgoingJob, type ProcessedJobs, type Settlement } from '../../shared/platform/jobs';
import type { ReceivedMessage } from '../../shared/function-table';

const policy = { maxAttempts: 3, baseMs: 1_000, capMs: 3_000 };
const silent = { info() {}, warn() {}, error() {} };
const now = new Date('2026-11-24T10:00:00Z');

class RecordingSettlement implements Settlement {
  outcome?: { kind: 'complete' } | { kind: 'deadLetter'; reason: string; description: string; properties?: Record<string, string> } | { kind: 'abandon' };
  async complete() {
    this.outcome = { kind: 'complete' };
  }
  async deadLetter(reason: string, description: string, properties?: Record<string, string>) {
    this.outcome = { kind: 'deadLetter', reason, description, properties };
  }
  async abandon() {
    this.outcome = { kind: 'abandon' };
  }
}

class MemoryProcessedJobs implements ProcessedJobs {
  readonly ids = new Set<string>();
  async has(id: string) {
    return this.ids.has(id);
  }
  async mark(id: string) {
    this.ids.add(id);
  }
}

function setup(handler: JobHandler, random = () => 0.5) {
  const sent: OutgoingJob[] = [];
  const processed = new MemoryProcessedJobs();
  const events: Array<{ name: string; properties?: Record<string, string> }> = [];
  const exceptions: Array<{ error: unknown; properties?: Record<string, string> }> = [];
  const consume = createJobConsumer({
    telemetry: {
      event: (name, properties) => void events.push({ name, properties }),
      exception: (error, properties) => void exceptions.push({ error, properties }),
    },
    queue: 'odoo-sync',
    handlers: { 'booking.sync': handler },
    sender: { send: async (jobs) => void sent.push(...jobs) },
    processed,
    policy,
    log: silent,
    now: () => now,
    random,
  });
  const run = async (body: unknown) => {
    const settlement = new RecordingSettlement();
    const message: ReceivedMessage = { messageId: 'm1', body, deliveryCount: 0, applicationProperties: {} };
    await consume(message, settlement);
    return settlement.outcome;
  };
  return { run, sent, processed, events, exceptions };
}

const job = (overrides: Partial<JobEnvelope> = {}): JobEnvelope => ({
  id: 'job-1',
  type: 'booking.sync',
  subject: 'booking-1',
  attempt: 1,
  correlation: { operationId: 'op-1' },
  payload: {},
  errors: [],
  createdAt: now.toISOString(),
  ...overrides,
});

describe('backoffDelayMs', () => {
  it('doubles from the base, stays within equal-jitter bounds and respects the cap', () => {
    const p = { maxAttempts: 6, baseMs: 10_000, capMs: 15 * 60_000 };
    expect(backoffDelayMs(1, p, () => 0)).toBe(5_000);
    expect(backoffDelayMs(1, p, () => 1)).toBe(10_000);
    expect(backoffDelayMs(3, p, () => 0)).toBe(20_000);
    expect(backoffDelayMs(3, p, () => 1)).toBe(40_000);
    expect(backoffDelayMs(20, p, () => 1)).toBe(15 * 60_000);
    expect(backoffDelayMs(20, p, () => 0)).toBe(7.5 * 60_000);
  });

  it('never shrinks from one attempt to the next, whatever the jitter', () => {
    const p = { maxAttempts: 10, baseMs: 100, capMs: 100_000 };
    for (let attempt = 1; attempt < 10; attempt++) {
      expect(backoffDelayMs(attempt + 1, p, () => 0)).toBeGreaterThanOrEqual(backoffDelayMs(attempt, p, () => 1));
    }
  });
});

describe('createJobConsumer', () => {
  it('runs the handler, marks the job processed and completes', async () => {
    const seen: string[] = [];
    const { run, processed } = setup(async (j) => void seen.push(j.id));
    expect(await run(job())).toEqual({ kind: 'complete' });
    expect(seen).toEqual(['job-1']);
    expect(processed.ids.has('odoo-sync:job-1')).toBe(true);
  });

  it('completes a job already processed without running the handler again', async () => {
    let runs = 0;
    const { run } = setup(async () => void runs++);
    await run(job());
    expect(await run(job({ attempt: 2 }))).toEqual({ kind: 'complete' });
    expect(runs).toBe(1);
  });

  it('schedules a copy with the next attempt, the error history and a back-off delay on a transient error', async () => {
    const { run, sent, processed } = setup(async () => {
      throw JobError.transient('ODOO_DOWN', 'connection refused');
    });
    expect(await run(job())).toEqual({ kind: 'complete' });
    expect(sent).toHaveLength(1);
    const retry = sent[0] as OutgoingJob;
    expect(retry.queue).toBe('odoo-sync');
    expect(retry.envelope).toMatchObject({ id: 'job-1', attempt: 2 });
    expect(retry.envelope.errors).toEqual([{ attempt: 1, at: now.toISOString(), kind: 'transient', code: 'ODOO_DOWN', message: 'connection refused' }]);
    expect(retry.notBefore?.getTime()).toBe(now.getTime() + 750);
    expect(processed.ids.size).toBe(0);
  });

  it('treats an unclassified error as transient', async () => {
    const { run, sent } = setup(async () => {
      throw new Error('socket hang up');
    });
    await run(job());
    expect(sent[0]?.envelope.errors[0]).toMatchObject({ kind: 'transient', code: 'UNEXPECTED', message: 'socket hang up' });
  });

  it('dead-letters at once on a permanent error, with every attempt’s error', async () => {
    const earlier = { attempt: 1, at: 'earlier', kind: 'transient' as const, code: 'X', message: 'blip' };
    const { run, sent } = setup(async () => {
      throw JobError.permanent('ACCESS_DENIED', 'wrong credentials');
    });
    const outcome = await run(job({ attempt: 2, errors: [earlier] }));
    expect(sent).toHaveLength(0);
    expect(outcome).toMatchObject({ kind: 'deadLetter', reason: DEAD_LETTER_REASONS.permanent, description: 'attempt 2: ACCESS_DENIED: wrong credentials' });
    const history = JSON.parse((outcome as { properties: Record<string, string> }).properties[JOB_ERRORS_PROPERTY] as string);
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({ attempt: 2, kind: 'permanent', code: 'ACCESS_DENIED' });
  });

  it('dead-letters after the last attempt', async () => {
    const { run, sent, events, exceptions } = setup(async () => {
      throw JobError.transient('TIMEOUT', 'timed out');
    });
    expect(await run(job({ attempt: 3 }))).toMatchObject({ kind: 'deadLetter', reason: DEAD_LETTER_REASONS.exhausted });
    expect(sent).toHaveLength(0);
    // Telemetry: the failure and the dead letter, under the job's operation id.
    expect(events.map((event) => event.name)).toEqual(['JobFailed', 'JobDeadLettered']);
    // The host sees the settled message as a success: the failure itself is reported as an exception.
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]?.error).toBeInstanceOf(JobError);
    expect(exceptions[0]?.properties).toMatchObject({ queue: 'odoo-sync', type: 'booking.sync', code: 'TIMEOUT' });
    expect(events[1]?.properties).toMatchObject({
      operationId: 'op-1',
      queue: 'odoo-sync',
      type: 'booking.sync',
      reason: 'MaxAttemptsExceeded',
      code: 'TIMEOUT',
    });
  });

  it('bounds the error history a job carries: the first, the latest, a count of the rest, long messages cut', async () => {
    const failed = (attempt: number) => ({ attempt, at: `t${attempt}`, kind: 'transient' as const, code: 'DOWN', message: `attempt ${attempt} failed` });
    const { run, sent } = setup(async () => {
      throw JobError.transient('DOWN', 'x'.repeat(50_000));
    });
    // A job replayed many times: 30 errors carried, 5 already counted out.
    const history = Array.from({ length: 10 }, (_, i) => failed(i + 1));
    await run(job({ attempt: 1, errors: history, errorsOmitted: 25 }));
    const retry = sent[0]?.envelope as JobEnvelope;
    expect(retry.errors.map((e) => e.attempt)).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10, 1]);
    expect(retry.errorsOmitted).toBe(26);
    expect(retry.errors.at(-1)?.message).toHaveLength(ERROR_HISTORY.messageChars);
    expect(JSON.stringify(retry).length).toBeLessThan(16 * 1024);

    // Dead-lettered: the same bounded history in the properties, and the count beside it.
    const last = setup(async () => {
      throw JobError.permanent('BAD', 'no');
    });
    const outcome = (await last.run(job({ attempt: 3, errors: retry.errors, errorsOmitted: retry.errorsOmitted }))) as { properties: Record<string, string> };
    expect(JSON.parse(outcome.properties[JOB_ERRORS_PROPERTY] as string)).toHaveLength(ERROR_HISTORY.first + ERROR_HISTORY.latest);
    expect(outcome.properties[JOB_ERRORS_OMITTED_PROPERTY]).toBe('27');
  });

  it('dead-letters a body that is not a job envelope, naming the bad fields', async () => {
    const { run } = setup(async () => undefined);
    expect(await run({ hello: 'world' })).toMatchObject({ kind: 'deadLetter', reason: DEAD_LETTER_REASONS.invalid });
  });

  it('dead-letters a job type nobody handles', async () => {
    const { run } = setup(async () => undefined);
    expect(await run(job({ type: 'nope' }))).toMatchObject({ kind: 'deadLetter', reason: DEAD_LETTER_REASONS.unknownType });
  });
});

describe('retry policies with a schedule, and Retry-After', () => {
  it('takes the delays from the schedule (with equal jitter) and allows its length + 1 attempts', () => {
    const scheduled = { maxAttempts: 99, baseMs: 1, capMs: 1, schedule: [5_000, 300_000, 1_800_000] };
    expect([1, 2, 3].map((attempt) => backoffDelayMs(attempt, scheduled, () => 0))).toEqual([2_500, 150_000, 900_000]);
    expect([1, 2, 3].map((attempt) => backoffDelayMs(attempt, scheduled, () => 1))).toEqual([5_000, 300_000, 1_800_000]);
    expect(attemptsOf(scheduled)).toBe(4);
  });

  it('waits at least as long as the far side asked (Retry-After), and dead-letters after the schedule', async () => {
    const sent: OutgoingJob[] = [];
    const consume = createJobConsumer({
      queue: 'callbacks',
      handlers: { 'callback.deliver': async () => Promise.reject(JobError.transient('CALLBACK_UNDELIVERED', 'busy', undefined, 60_000)) },
      sender: { send: async (jobs) => void sent.push(...jobs) },
      processed: new MemoryProcessedJobs(),
      policy: { maxAttempts: 99, baseMs: 1, capMs: 1, schedule: [1_000, 2_000] },
      log: silent,
      now: () => now,
      random: () => 1,
    });
    const run = async (attempt: number) => {
      const settlement = new RecordingSettlement();
      await consume({ messageId: 'm', body: job({ type: 'callback.deliver', attempt }), deliveryCount: 0, applicationProperties: {} }, settlement);
      return settlement.outcome;
    };
    expect(await run(1)).toEqual({ kind: 'complete' });
    expect((sent[0]?.notBefore?.getTime() ?? 0) - now.getTime()).toBe(60_000);
    expect(await run(3)).toMatchObject({ kind: 'deadLetter', reason: DEAD_LETTER_REASONS.exhausted });
  });

  it('honours a Retry-After of at most a day: a far side asking for years is tried again after one', async () => {
    const sent: OutgoingJob[] = [];
    const consume = createJobConsumer({
      queue: 'callbacks',
      handlers: { 'callback.deliver': async () => Promise.reject(JobError.transient('CALLBACK_UNDELIVERED', 'busy', undefined, 999_999_999_000)) },
      sender: { send: async (jobs) => void sent.push(...jobs) },
      processed: new MemoryProcessedJobs(),
      policy: { maxAttempts: 99, baseMs: 1, capMs: 1, schedule: [1_000, 2_000] },
      log: silent,
      now: () => now,
      random: () => 1,
    });
    await consume(
      { messageId: 'm', body: job({ type: 'callback.deliver', attempt: 1 }), deliveryCount: 0, applicationProperties: {} },
      new RecordingSettlement(),
    );
    expect((sent[0]?.notBefore?.getTime() ?? 0) - now.getTime()).toBe(24 * 60 * 60 * 1000);
  });
});
