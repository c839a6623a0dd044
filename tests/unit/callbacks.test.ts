/**
 * shared/platform/callbacks.ts: the `callbacks` worker (callbackHandlers) over a fake transport and
 * an in-memory delivery log, and CallbackAdmin's resend and replay.
 */
import { describe, expect, it } from 'vitest';
import {
  CALLBACK_JOB,
  type CallbackEvent,
  CallbackAdmin,
  type CallbackTransport,
  callbackHandlers,
  callbackJob,
  type ChannelEndpoint,
  type Delivery,
  type DeliveryAttempt,
  type DeliveryLog,
  type DeliveryStatus,
} from '../../shared/platform/callbacks';
import { type JobEnvelope, JobError, type JobRequest } from '../../shared/platform/jobs';
import { QUEUES } from '../../shared/platform/queues';

const T0 = '2030-01-01T12:00:00.000Z';
const ENDPOINT: ChannelEndpoint = { url: 'https://pos.example.com/hooks', secrets: ['whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ='] };

/** A delivery log in memory with the rules of the Table one: one entry per event id, every attempt counted. */
class MemoryDeliveryLog implements DeliveryLog {
  readonly entries = new Map<string, Delivery>();
  readonly records: Array<{ channel: string; subject: string; event: CallbackEvent; attempt: DeliveryAttempt; status: DeliveryStatus }> = [];
  readonly listed: Array<Parameters<DeliveryLog['list']>[0]> = [];

  async record(delivery: { channel: string; subject: string; event: CallbackEvent }, attempt: DeliveryAttempt, status: DeliveryStatus): Promise<void> {
    this.records.push({ ...delivery, attempt, status });
    const current = this.entries.get(delivery.event.id);
    this.entries.set(delivery.event.id, {
      id: delivery.event.id,
      channel: delivery.channel,
      subject: delivery.subject,
      type: delivery.event.type,
      status,
      attempts: [...(current?.attempts ?? []), attempt],
      attemptCount: (current?.attemptCount ?? 0) + 1,
      event: delivery.event,
      createdAt: current?.createdAt ?? attempt.at,
      updatedAt: attempt.at,
    });
  }

  async get(id: string): Promise<Delivery | undefined> {
    return this.entries.get(id);
  }

  async list(filter: Parameters<DeliveryLog['list']>[0]): Promise<Delivery[]> {
    this.listed.push(filter);
    return [...this.entries.values()]
      .filter(
        (delivery) =>
          (filter.channel === undefined || delivery.channel === filter.channel) &&
          (filter.status === undefined || delivery.status === filter.status) &&
          (filter.subject === undefined || delivery.subject === filter.subject) &&
          (filter.since === undefined || Date.parse(delivery.updatedAt) >= filter.since.getTime()),
      )
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, filter.limit);
  }

  /** Puts a delivery as if logged earlier. */
  seed(delivery: Partial<Delivery> & { id: string; channel: string; status: DeliveryStatus; updatedAt: string }): void {
    const event = anEvent(delivery.id);
    this.entries.set(delivery.id, {
      subject: 'ord_1',
      type: event.type,
      attempts: [],
      attemptCount: 1,
      event,
      createdAt: delivery.updatedAt,
      ...delivery,
    });
  }
}

/** Answers each post with the next planned attempt (the last one repeats) and keeps what it was given. */
class FakeTransport implements CallbackTransport {
  readonly posts: Array<{ endpoint: ChannelEndpoint; event: CallbackEvent; body: string }> = [];
  constructor(private readonly answers: Array<Omit<DeliveryAttempt, 'at' | 'durationMs'>>) {}

  async post(endpoint: ChannelEndpoint, event: CallbackEvent, body: string): Promise<DeliveryAttempt> {
    this.posts.push({ endpoint, event, body });
    const answer = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
    return { at: T0, durationMs: 12, ...answer };
  }
}

function anEvent(id = 'cb_ord_1_order_v1', overrides: Partial<CallbackEvent> = {}): CallbackEvent {
  return { id, type: 'order.pending', createdAt: T0, data: { id: 'ord_1', status: 'pending', version: 1, note: 'Grüße' }, ...overrides };
}

function aJob(event: CallbackEvent = anEvent(), attempt = 1, channel = 'pos', payload?: unknown): JobEnvelope {
  return {
    id: event.id,
    type: CALLBACK_JOB,
    subject: 'ord_1',
    attempt,
    correlation: { operationId: 'op-1' },
    payload: payload ?? { channel, event },
    errors: [],
    createdAt: T0,
  };
}

function worker(
  answers: Array<Omit<DeliveryAttempt, 'at' | 'durationMs'>>,
  options: { maxAttempts?: number; endpoints?: Record<string, ChannelEndpoint> } = {},
) {
  const transport = new FakeTransport(answers);
  const log = new MemoryDeliveryLog();
  const endpoints = options.endpoints ?? { pos: ENDPOINT };
  const handle = callbackHandlers({ endpoints: (channel) => endpoints[channel], transport, log, maxAttempts: options.maxAttempts ?? 8 })[CALLBACK_JOB];
  if (!handle) throw new Error(`no handler for ${CALLBACK_JOB}`);
  return { transport, log, handle };
}

/** The JobError a handler failed with; fails the test when it succeeded or threw something else. */
async function jobError(run: Promise<void>): Promise<JobError> {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(JobError);
  return error as JobError;
}

describe('callbackJob', () => {
  it('addresses the callbacks queue with the event id as job id, or the one given', () => {
    const event = anEvent();
    expect(callbackJob('pos', 'ord_1', event)).toEqual({
      queue: QUEUES.callbacks,
      type: CALLBACK_JOB,
      subject: 'ord_1',
      id: event.id,
      payload: { channel: 'pos', event },
    });
    expect(callbackJob('pos', 'ord_1', event, 'other').id).toBe('other');
  });
});

describe('callbackHandlers', () => {
  it('delivers on 2xx: posts the event as JSON to the channel endpoint and logs it delivered', async () => {
    for (const statusCode of [200, 201, 202, 204, 299]) {
      const { transport, log, handle } = worker([{ statusCode, response: 'ok' }]);
      const event = anEvent();
      await expect(handle(aJob(event))).resolves.toBeUndefined();
      expect(transport.posts).toEqual([{ endpoint: ENDPOINT, event, body: JSON.stringify(event) }]);
      expect(log.records).toEqual([
        { channel: 'pos', subject: 'ord_1', event, attempt: { at: T0, durationMs: 12, statusCode, response: 'ok' }, status: 'delivered' },
      ]);
    }
  });

  it('tells a channel with a transport of its own (a shop’s API) through that one, the others through the default', async () => {
    const shopEndpoint: ChannelEndpoint = { url: 'https://shop.example.com', secrets: [] };
    const standard = new FakeTransport([{ statusCode: 204 }]);
    const shop = new FakeTransport([{ statusCode: 200, response: 'note' }]);
    const log = new MemoryDeliveryLog();
    const endpoints: Record<string, ChannelEndpoint> = { pos: ENDPOINT, woocommerce: shopEndpoint };
    const handle = callbackHandlers({
      endpoints: (channel) => endpoints[channel],
      transport: standard,
      transports: { woocommerce: shop },
      log,
      maxAttempts: 8,
    })[CALLBACK_JOB];
    const event = anEvent('shop_ord_1_v4_processing', { type: 'shop.processing' });
    await handle?.(aJob(event, 1, 'woocommerce'));
    await handle?.(aJob(anEvent(), 1, 'pos'));
    expect(shop.posts).toEqual([{ endpoint: shopEndpoint, event, body: JSON.stringify(event) }]);
    expect(standard.posts.map((post) => post.endpoint)).toEqual([ENDPOINT]);
    expect(log.records.map((record) => [record.channel, record.status])).toEqual([
      ['woocommerce', 'delivered'],
      ['pos', 'delivered'],
    ]);
  });

  it('sends the same bytes on every attempt of a job', async () => {
    const { transport, handle } = worker([{ statusCode: 500 }, { statusCode: 500 }, { statusCode: 200 }]);
    const event = anEvent();
    for (const attempt of [1, 2, 3]) await handle(aJob(event, attempt)).catch(() => undefined);
    expect(new Set(transport.posts.map((post) => post.body))).toEqual(new Set([JSON.stringify(event)]));
    expect(transport.posts).toHaveLength(3);
  });

  it('fails a 410 Gone permanently (dead-lettered at once) and logs it failed', async () => {
    const { log, handle } = worker([{ statusCode: 410, response: 'gone' }]);
    const error = await jobError(handle(aJob()));
    expect(error.kind).toBe('permanent');
    expect(error.code).toBe('CALLBACK_REFUSED');
    expect(error.message).toContain('410');
    expect(log.records.map((record) => record.status)).toEqual(['failed']);
    expect(log.entries.get('cb_ord_1_order_v1')).toMatchObject({ status: 'failed', attemptCount: 1 });
  });

  it('fails the other refusals (400, 401, 403, 404, 413, 422) permanently on the first attempt', async () => {
    for (const statusCode of [400, 401, 403, 404, 413, 422]) {
      const { log, handle } = worker([{ statusCode }]);
      const error = await jobError(handle(aJob(anEvent(), 1)));
      expect({ statusCode, kind: error.kind, code: error.code }).toEqual({ statusCode, kind: 'permanent', code: 'CALLBACK_REFUSED' });
      expect(log.records.map((record) => record.status)).toEqual(['failed']);
    }
  });

  it('retries a 5xx, passing Retry-After through, and logs it retrying', async () => {
    for (const statusCode of [500, 502, 503]) {
      const { log, handle } = worker([{ statusCode, retryAfterMs: 30_000 }]);
      const error = await jobError(handle(aJob(anEvent(), 2)));
      expect(error.kind).toBe('transient');
      expect(error.code).toBe('CALLBACK_UNDELIVERED');
      expect(error.retryAfterMs).toBe(30_000);
      expect(error.message).toContain(String(statusCode));
      expect(log.records.map((record) => record.status)).toEqual(['retrying']);
    }
  });

  it('retries 408 and 429 (they are no refusal), with the Retry-After of a 429', async () => {
    const limited = worker([{ statusCode: 429, retryAfterMs: 120_000 }]);
    const error = await jobError(limited.handle(aJob()));
    expect({ kind: error.kind, retryAfterMs: error.retryAfterMs }).toEqual({ kind: 'transient', retryAfterMs: 120_000 });
    expect(limited.log.records[0]?.status).toBe('retrying');
    const timeout = worker([{ statusCode: 408 }]);
    expect((await jobError(timeout.handle(aJob()))).kind).toBe('transient');
  });

  it('retries a callback that got no answer (timeout, refused connection), naming what happened', async () => {
    const { log, handle } = worker([{ error: 'no answer within 15000 ms' }]);
    const error = await jobError(handle(aJob()));
    expect(error.kind).toBe('transient');
    expect(error.code).toBe('CALLBACK_UNDELIVERED');
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.message).toContain('no answer within 15000 ms');
    expect(log.records).toEqual([
      { channel: 'pos', subject: 'ord_1', event: anEvent(), attempt: { at: T0, durationMs: 12, error: 'no answer within 15000 ms' }, status: 'retrying' },
    ]);
  });

  it('logs the last allowed attempt as failed (the consumer dead-letters it), the ones before as retrying', async () => {
    const { log, handle } = worker([{ statusCode: 500 }], { maxAttempts: 3 });
    for (const attempt of [1, 2, 3]) expect((await jobError(handle(aJob(anEvent(), attempt)))).kind).toBe('transient');
    expect(log.records.map((record) => record.status)).toEqual(['retrying', 'retrying', 'failed']);
    expect(log.entries.get('cb_ord_1_order_v1')).toMatchObject({ status: 'failed', attemptCount: 3 });
  });

  it('logs a late success as delivered, also on the last attempt', async () => {
    const { log, handle } = worker([{ statusCode: 200 }], { maxAttempts: 3 });
    await handle(aJob(anEvent(), 3));
    expect(log.records.map((record) => record.status)).toEqual(['delivered']);
  });

  it('fails permanently when the channel has no callback URL, posting and logging nothing', async () => {
    const { transport, log, handle } = worker([{ statusCode: 200 }], { endpoints: { pos: ENDPOINT } });
    const error = await jobError(handle(aJob(anEvent(), 1, 'woocommerce')));
    expect(error.kind).toBe('permanent');
    expect(error.code).toBe('CALLBACK_NOT_CONFIGURED');
    expect(error.message).toContain('woocommerce');
    expect(transport.posts).toEqual([]);
    expect(log.records).toEqual([]);
  });

  it('fails permanently on a payload that is no callback, posting and logging nothing', async () => {
    const payloads: unknown[] = [
      undefined,
      'pos',
      { channel: 'pos' },
      { event: anEvent() },
      { channel: '', event: anEvent() },
      { channel: 'pos', event: { ...anEvent(), id: '' } },
      { channel: 'pos', event: { type: 'order.pending', createdAt: T0, data: {} } },
      { channel: 'pos', event: { ...anEvent(), id: 'x'.repeat(201) } },
    ];
    for (const payload of payloads) {
      const { transport, log, handle } = worker([{ statusCode: 200 }]);
      const job = { ...aJob(), payload };
      const error = await jobError(handle(job));
      expect({ payload, kind: error.kind, code: error.code }).toEqual({ payload, kind: 'permanent', code: 'INVALID_PAYLOAD' });
      expect(transport.posts).toEqual([]);
      expect(log.records).toEqual([]);
    }
  });
});

describe('CallbackAdmin', () => {
  function admin(log: MemoryDeliveryLog, maxBatch?: number) {
    const sent: JobRequest[][] = [];
    let ids = 0;
    const callbackAdmin = new CallbackAdmin({
      log,
      send: async (jobs) => {
        sent.push(jobs);
      },
      newId: () => `new-${++ids}`,
      maxBatch,
    });
    return { callbackAdmin, sent };
  }

  it('resends one delivery as a fresh job carrying the same event (the same webhook id)', async () => {
    const log = new MemoryDeliveryLog();
    log.seed({ id: 'cb_ord_1_order_v1', channel: 'pos', subject: 'ord_1', status: 'delivered', updatedAt: T0 });
    const { callbackAdmin, sent } = admin(log);
    expect(await callbackAdmin.resend('cb_ord_1_order_v1')).toBe(true);
    expect(await callbackAdmin.resend('cb_ord_1_order_v1')).toBe(true);
    expect(sent).toHaveLength(2);
    const [first, second] = sent.map((jobs) => jobs[0]) as [JobRequest, JobRequest];
    const event = log.entries.get('cb_ord_1_order_v1')?.event;
    for (const job of [first, second]) {
      expect(job).toMatchObject({ queue: QUEUES.callbacks, type: CALLBACK_JOB, subject: 'ord_1', payload: { channel: 'pos', event } });
      expect(job.id).not.toBe('cb_ord_1_order_v1');
    }
    expect(first.id).not.toBe(second.id);
    expect((first.payload as { event: CallbackEvent }).event.id).toBe('cb_ord_1_order_v1');
  });

  it('answers false for an unknown delivery and sends nothing', async () => {
    const { callbackAdmin, sent } = admin(new MemoryDeliveryLog());
    expect(await callbackAdmin.resend('cb_nothing')).toBe(false);
    expect(sent).toEqual([]);
  });

  it('replays only the failed deliveries of that channel since the time, each as a fresh job with its own event', async () => {
    const log = new MemoryDeliveryLog();
    log.seed({ id: 'cb_a', channel: 'pos', subject: 'ord_a', status: 'failed', updatedAt: '2030-01-01T12:05:00.000Z' });
    log.seed({ id: 'cb_b', channel: 'pos', subject: 'ord_b', status: 'failed', updatedAt: '2030-01-01T12:00:00.000Z' });
    log.seed({ id: 'cb_old', channel: 'pos', status: 'failed', updatedAt: '2030-01-01T11:59:59.999Z' });
    log.seed({ id: 'cb_delivered', channel: 'pos', status: 'delivered', updatedAt: '2030-01-01T12:10:00.000Z' });
    log.seed({ id: 'cb_retrying', channel: 'pos', status: 'retrying', updatedAt: '2030-01-01T12:10:00.000Z' });
    log.seed({ id: 'cb_other', channel: 'woocommerce', status: 'failed', updatedAt: '2030-01-01T12:10:00.000Z' });
    const { callbackAdmin, sent } = admin(log);

    expect(await callbackAdmin.replayFailed('pos', new Date(T0))).toBe(2);
    expect(log.listed.at(-1)).toMatchObject({ channel: 'pos', status: 'failed', since: new Date(T0) });
    expect(sent).toHaveLength(1);
    const jobs = sent[0] as JobRequest[];
    expect(jobs.map((job) => (job.payload as { event: CallbackEvent }).event.id).sort()).toEqual(['cb_a', 'cb_b']);
    for (const job of jobs) {
      const delivery = log.entries.get((job.payload as { event: CallbackEvent }).event.id);
      expect(job).toMatchObject({
        queue: QUEUES.callbacks,
        type: CALLBACK_JOB,
        subject: delivery?.subject,
        payload: { channel: 'pos', event: delivery?.event },
      });
      expect(job.id).not.toBe(delivery?.id);
    }
    expect(new Set(jobs.map((job) => job.id)).size).toBe(2);
  });

  it('replays nothing and sends nothing when nothing failed', async () => {
    const log = new MemoryDeliveryLog();
    log.seed({ id: 'cb_ok', channel: 'pos', status: 'delivered', updatedAt: T0 });
    const { callbackAdmin, sent } = admin(log);
    expect(await callbackAdmin.replayFailed('pos', new Date(0))).toBe(0);
    expect(sent).toEqual([]);
  });

  it('replays and lists at most maxBatch deliveries', async () => {
    const log = new MemoryDeliveryLog();
    for (let i = 0; i < 5; i++) log.seed({ id: `cb_${i}`, channel: 'pos', status: 'failed', updatedAt: `2030-01-01T12:0${i}:00.000Z` });
    const { callbackAdmin, sent } = admin(log, 3);
    expect(await callbackAdmin.replayFailed('pos', new Date(0))).toBe(3);
    expect(sent[0]).toHaveLength(3);
    expect(await callbackAdmin.list({ limit: 50 })).toHaveLength(3);
    expect(log.listed.at(-1)?.limit).toBe(3);
    expect((await callbackAdmin.list({ channel: 'pos', limit: 2 })).map((delivery) => delivery.id)).toEqual(['cb_4', 'cb_3']);
  });

  it('lists through the log with its filter, 100 at most by default', async () => {
    const log = new MemoryDeliveryLog();
    const { callbackAdmin } = admin(log);
    await callbackAdmin.list({ channel: 'pos', status: 'failed', subject: 'ord_1', since: new Date(T0) });
    expect(log.listed.at(-1)).toEqual({ channel: 'pos', status: 'failed', subject: 'ord_1', since: new Date(T0), limit: 100 });
    await callbackAdmin.list({ limit: 10_000 });
    expect(log.listed.at(-1)?.limit).toBe(500);
  });
});
