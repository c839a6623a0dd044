import { ServiceBusClient } from '@azure/service-bus';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxCommitter } from '../../shared/adapters/table-storage/outbox';
import { consoleLogger } from '../../shared/adapters/telemetry/log';
import { JobError, type JobEnvelope, type JobSender, newEnvelope, type OutgoingJob } from '../../shared/platform/jobs';
import { connectionStrings, FREE_PORTS, startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { peekJobs } from '../support/bookings';
import { waitFor } from '../support/wait';

const QUEUE = 'callbacks';
/** A queue with short locks, for the consumer that dies. */
const SHORT_LOCK_QUEUE = 'driver-dispatch';
const AGGREGATE_TABLE = 'PipelineTest';
/**
 * A retry's delay is measured from its failure's `at` to its `notBefore`: two clock reads a few
 * synchronous statements apart in consume-job, which a busy machine may stretch a little.
 */
const CLOCK_READS_SLACK_MS = 50;

/** A sender that fails while `failing` is set: the fault injected between commit and send. */
class FaultySender implements JobSender {
  failing = false;
  sends = 0;
  /** Every job sent successfully, with its schedule (`notBefore`) for retries. */
  readonly sent: OutgoingJob[] = [];
  constructor(private readonly inner: JobSender) {}
  async send(jobs: OutgoingJob[]): Promise<void> {
    this.sends += 1;
    if (this.failing) throw new Error('injected: Service Bus unreachable');
    await this.inner.send(jobs);
    this.sent.push(...jobs);
  }
}

describe('job pipeline (local host, in-memory broker, Azurite)', () => {
  let runtime: LocalRuntime;
  let faulty: FaultySender;
  const invocations = new Map<string, Date[]>();
  /** Times each job's effect took hold (an idempotent effect holds once however often it runs). */
  const effects = new Map<string, number>();
  const effectRuns = new Map<string, number>();
  let permanentCauseFixed = false;
  let releaseDyingConsumer: () => void = () => undefined;

  const record = (job: JobEnvelope) => {
    invocations.set(job.id, [...(invocations.get(job.id) ?? []), new Date()]);
  };
  /** The job's effect, idempotent by job id as every real effect must be. */
  const applyOnce = (job: JobEnvelope): void => {
    effectRuns.set(job.id, (effectRuns.get(job.id) ?? 0) + 1);
    if (!effects.has(job.id)) effects.set(job.id, 1);
  };
  const calls = (id: string) => invocations.get(id)?.length ?? 0;
  const adminKey = () => runtime.apiKeys.admin as string;
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${runtime.url}/v1/admin/dead-letters${path}`, {
      ...init,
      headers: { authorization: `Bearer ${adminKey()}`, 'content-type': 'application/json', ...init.headers },
    });
  const send = (type: string, queue = QUEUE) => {
    const envelope = newEnvelope({ queue, type, subject: `subject-${randomUUID()}`, payload: {} }, new Date(), randomUUID);
    return runtime.composition.services.sender.send([{ queue, envelope }]).then(() => envelope);
  };

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      ports: FREE_PORTS,
      env: {
        JOB_MAX_ATTEMPTS: '4',
        JOB_RETRY_BASE_MS: '200',
        JOB_RETRY_CAP_MS: '5000',
        OUTBOX_RELAY_MIN_AGE_MS: '0',
        TABLE_PREFIX: 'pipe',
        RATE_LIMIT_PER_KEY: '100000', // the tests poll the admin API
      },
      timers: false,
      lockRenewalMs: 0,
      aggregateTables: [AGGREGATE_TABLE],
      log: consoleLogger({ silent: true }),
      wrapSender: (sender) => (faulty = new FaultySender(sender)),
      jobHandlers: {
        [QUEUE]: {
          'test.flaky': async (job) => {
            record(job);
            if (calls(job.id) <= 3) throw JobError.transient('UPSTREAM_DOWN', `upstream down (call ${calls(job.id)})`);
            applyOnce(job);
          },
          'test.permanent': async (job) => {
            record(job);
            if (!permanentCauseFixed) throw JobError.permanent('BAD_CONFIG', 'the partner has no e-mail address');
            applyOnce(job);
          },
          'test.always-down': async (job) => {
            record(job);
            throw JobError.transient('TIMEOUT', 'upstream timed out');
          },
          'test.effect': async (job) => {
            record(job);
            applyOnce(job);
          },
        },
        [SHORT_LOCK_QUEUE]: {
          'test.dies': async (job) => {
            record(job);
            applyOnce(job);
            if (calls(job.id) === 1) {
              // The consumer "dies" after the effect, before settling: it never answers again and
              // its lock runs out (no renewal in this test).
              await new Promise<void>((resolve) => {
                releaseDyingConsumer = resolve;
              });
              throw new Error('the consumer process is gone');
            }
          },
        },
      },
    });
    // Short locks, so a dead consumer's message comes back within the test.
    runtime.broker?.setQueueOptions(SHORT_LOCK_QUEUE, { lockDurationMs: 1_000 });
  });

  afterAll(async () => {
    releaseDyingConsumer();
    await runtime?.stop();
  });

  it('retries a transient failure with growing delays and applies the effect once', async () => {
    const job = await send('test.flaky');
    await waitFor(() => effects.get(job.id) === 1, { timeoutMs: 15_000 });
    const times = invocations.get(job.id) ?? [];
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((time, i) => time.getTime() - (times[i] as Date).getTime());
    // base 200 ms with equal jitter: [100,200], [200,400], [400,800] ms, plus delivery latency.
    const [first, second, third] = gaps as [number, number, number];
    expect(first).toBeGreaterThanOrEqual(95);
    expect(second).toBeGreaterThanOrEqual(195);
    expect(third).toBeGreaterThanOrEqual(395);
    // The delays the consumer scheduled (load cannot shrink or stretch these): equal jitter on
    // 200 ms * 2^(n-1) after failed attempt n, i.e. within [half, whole] of 200, 400, 800 ms.
    const retries = faulty.sent.filter((sent) => sent.envelope.id === job.id && sent.envelope.attempt > 1);
    expect(retries.map((sent) => sent.envelope.attempt)).toEqual([2, 3, 4]);
    for (const { envelope, notBefore } of retries) {
      const exponential = 200 * 2 ** (envelope.attempt - 2);
      const delayMs = (notBefore?.getTime() ?? Number.NaN) - Date.parse(envelope.errors.at(-1)?.at ?? '');
      expect(delayMs, `delay before attempt ${envelope.attempt}`).toBeGreaterThanOrEqual(exponential / 2);
      expect(delayMs, `delay before attempt ${envelope.attempt}`).toBeLessThanOrEqual(exponential + CLOCK_READS_SLACK_MS);
    }

    // The same job delivered again (a duplicate send) is recognised and not applied twice.
    await runtime.composition.services.sender.send([{ queue: QUEUE, envelope: { ...job, attempt: 1 } }]);
    // Once no copy is left in the queue (locked ones included), the duplicate has been received and settled.
    await waitFor(async () => (await peekJobs(runtime, QUEUE, job.subject)).length === 0, { message: 'the duplicate was not settled' });
    expect(calls(job.id)).toBe(4);
    expect(effectRuns.get(job.id)).toBe(1);
  });

  it('dead-letters a permanent failure at once, then replays it through the admin API after the fix', async () => {
    const job = await send('test.permanent');
    let item: { id: string; type: string; subject: string; reason: string; attempts: number; errors: unknown[] } | undefined;
    await waitFor(async () => {
      const response = await admin(`/${QUEUE}`);
      const list = (await response.json()) as { items: Array<NonNullable<typeof item> & { jobId: string }> };
      item = list.items.find((entry) => entry.jobId === job.id);
      return item !== undefined;
    });
    expect(calls(job.id)).toBe(1);
    expect(item).toMatchObject({ type: 'test.permanent', subject: job.subject, reason: 'PermanentError', attempts: 1 });
    expect(item?.errors).toEqual([
      expect.objectContaining({ attempt: 1, kind: 'permanent', code: 'BAD_CONFIG', message: 'the partner has no e-mail address' }),
    ]);

    const summary = (await (await admin('')).json()) as { queues: Array<{ name: string; count: number; oldest: string | null }> };
    expect(summary.queues.find((queue) => queue.name === QUEUE)).toMatchObject({ count: 1 });
    expect(summary.queues.find((queue) => queue.name === QUEUE)?.oldest).toEqual(expect.any(String));

    permanentCauseFixed = true;
    const replay = await admin(`/${QUEUE}/${encodeURIComponent(item?.id as string)}/replay`, { method: 'POST' });
    expect(replay.status).toBe(200);
    await waitFor(() => effects.get(job.id) === 1);
    expect(calls(job.id)).toBe(2);

    const after = (await (await admin(`/${QUEUE}`)).json()) as { items: Array<{ jobId: string }> };
    expect(after.items.some((entry) => entry.jobId === job.id)).toBe(false);
    const again = await admin(`/${QUEUE}/${encodeURIComponent(item?.id as string)}/replay`, { method: 'POST' });
    expect(again.status).toBe(404);
  });

  it('dead-letters after the last attempt, keeping every attempt’s error; bulk replay and discard with audit', async () => {
    const first = await send('test.always-down');
    const second = await send('test.always-down');
    await waitFor(
      async () => {
        const list = (await (await admin(`/${QUEUE}`)).json()) as { items: Array<{ jobId: string }> };
        return [first, second].every((job) => list.items.some((entry) => entry.jobId === job.id));
      },
      { timeoutMs: 15_000 },
    );
    const list = (await (await admin(`/${QUEUE}`)).json()) as {
      items: Array<{ id: string; jobId: string; reason: string; attempts: number; errors: Array<{ attempt: number }> }>;
    };
    const letter = list.items.find((entry) => entry.jobId === first.id);
    expect(letter).toMatchObject({ reason: 'MaxAttemptsExceeded', attempts: 4 });
    expect(letter?.errors.map((error) => error.attempt)).toEqual([1, 2, 3, 4]);

    // Bulk replay filtered by subject touches only that job.
    const bulk = await admin(`/${QUEUE}/replay`, { method: 'POST', body: JSON.stringify({ subject: second.subject }) });
    expect(await bulk.json()).toEqual({ replayed: 1, more: false });
    await waitFor(() => calls(second.id) >= 5);

    const discard = await admin(`/${QUEUE}/${encodeURIComponent(letter?.id as string)}`, {
      method: 'DELETE',
      body: JSON.stringify({ reason: 'upstream retired; nothing to deliver' }),
    });
    expect(discard.status).toBe(200);
    // The audit trail, newest first: the discard, then the bulk replay before it.
    const audit = (await (
      await fetch(`${runtime.url}/v1/admin/audit?queue=${QUEUE}&limit=2`, { headers: { authorization: `Bearer ${adminKey()}` } })
    ).json()) as {
      items: Array<Record<string, unknown>>;
    };
    expect(audit.items).toMatchObject([
      { action: 'discard', reason: 'upstream retired; nothing to deliver', jobId: first.id, queue: QUEUE, actor: expect.stringContaining('admin') },
      { action: 'replay', reason: 'replayed by admin', jobId: second.id, subject: second.subject },
    ]);
    expect(audit.items[0]?.body).toContain(first.id);

    const badDiscard = await admin(`/${QUEUE}/${encodeURIComponent(letter?.id as string)}`, { method: 'DELETE', body: '{}' });
    expect(badDiscard.status).toBe(422);
  });

  it('delivers a committed job through the outbox when the send after the commit fails', async () => {
    const table = runtime.composition.services.tables.client(AGGREGATE_TABLE);
    const committer = new OutboxCommitter(runtime.composition.services.outboxRelay);
    const envelope = newEnvelope({ queue: QUEUE, type: 'test.effect', subject: 'order-1', payload: {} }, new Date(), randomUUID);

    faulty.failing = true;
    await committer.commit(table, 'order-1', [['create', { partitionKey: 'order-1', rowKey: 'state', status: 'paid' }]], [{ queue: QUEUE, envelope }]);
    faulty.failing = false;

    // The state change is committed, the job is not lost: it waits in the outbox.
    expect((await table.getEntity<{ status: string }>('order-1', 'state')).status).toBe('paid');
    // Nothing reached the queue (the send failed), so nothing can have been delivered.
    expect(await peekJobs(runtime, QUEUE, envelope.subject)).toEqual([]);
    expect(calls(envelope.id)).toBe(0);

    await runtime.host.runTimer('outbox-relay');
    await runtime.host.runTimer('outbox-relay'); // a second sweep finds nothing left to send
    await waitFor(() => effects.get(envelope.id) === 1);
    // Every copy the sweeps sent has been received and settled once none is left in the queue.
    await waitFor(async () => (await peekJobs(runtime, QUEUE, envelope.subject)).length === 0, { message: 'the relayed job was not settled' });
    expect(calls(envelope.id)).toBe(1);
    expect(effectRuns.get(envelope.id)).toBe(1);
    const leftovers = [];
    for await (const row of table.listEntities()) leftovers.push(row.rowKey);
    expect(leftovers).toEqual(['state']);
  });

  it('redelivers a job whose consumer died mid-job (lock expired) and applies its effect once', async () => {
    const job = await send('test.dies', SHORT_LOCK_QUEUE);
    await waitFor(() => calls(job.id) === 2, { timeoutMs: 10_000 });
    await waitFor(async () => {
      const peeker = new ServiceBusClient(connectionStrings(runtime.config).serviceBus);
      try {
        const receiver = peeker.createReceiver(SHORT_LOCK_QUEUE);
        const [waiting] = await receiver.peekMessages(1);
        return waiting === undefined;
      } finally {
        await peeker.close();
      }
    });
    // The handler ran twice with the same job id, so its id-keyed effect took hold once.
    expect(effectRuns.get(job.id)).toBe(2);
    expect(effects.get(job.id)).toBe(1);
    expect(invocations.get(job.id)).toHaveLength(2);
  });
});
