// What the app reports for the alerts: a WebhookCall per webhook call, an exception per failed
// invocation (HTTP handlers, timers, queue messages dead-lettered without a handler error), and the
// Odoo sync latency per milestone. Properties are checked against the registry's dimensions.
import { describe, expect, it } from 'vitest';
import { defineHttp, type FunctionDef, type HttpCall, type HttpFunctionDef, type QueueFunctionDef, type TimerFunctionDef } from '../../shared/function-table';
import { createJobConsumer, DEAD_LETTER_REASONS } from '../../shared/platform/consume-job';
import { DeadLetteredError, invokeQueueFunction } from '../../shared/platform/invoke-queue-function';
import { JobError, newEnvelope, type Settlement } from '../../shared/platform/jobs';
import { type Billable, erpSyncHandler, reconcileBillable } from '../../shared/platform/reconcile-billable';
import { TELEMETRY_EVENTS, TELEMETRY_METRICS, type Telemetry, withInvocationTelemetry } from '../../shared/platform/telemetry';
import type { ApiKeyAuthenticator } from '../../shared/http/auth';
import { createHttpPipeline } from '../../shared/http/pipeline';
import type { RateLimiter } from '../../shared/http/rate-limit';
import { MemoryErp } from '../support/memory-erp';

const silent = { info() {}, warn() {}, error() {} };

function recorder() {
  const events: Array<{ name: string; properties?: Record<string, string> }> = [];
  const exceptions: Array<{ error: unknown; properties?: Record<string, string> }> = [];
  const metrics: Array<{ name: string; value: number; properties?: Record<string, string> }> = [];
  const telemetry: Pick<Telemetry, 'event' | 'exception' | 'metric'> = {
    event: (name, properties) => void events.push({ name, properties }),
    exception: (error, properties) => void exceptions.push({ error, properties }),
    metric: (name, value, properties) => void metrics.push({ name, value, properties }),
  };
  return { telemetry, events, exceptions, metrics };
}

/** The dimensions an event may carry: its registered ones and the operation id. */
const eventDimensions = (name: keyof typeof TELEMETRY_EVENTS) => [...Object.keys(TELEMETRY_EVENTS[name]), 'operationId'];

const call = (operationId = '4bf92f3577b34da6a3ce929d0e0e4736') =>
  ({ operationId }) as HttpCall<unknown, Record<string, string>, Record<string, string>, unknown>;
const request = { method: 'POST', url: 'v1/webhooks/btcpay', params: {}, query: new URLSearchParams(), headers: {}, rawBody: Buffer.from('{}'), clientIp: '' };

function webhook(handler: HttpFunctionDef['handler'], verified = true): HttpFunctionDef {
  return defineHttp<undefined, Record<string, string>, Record<string, string>, unknown>({
    kind: 'http',
    name: 'webhooks-btcpay',
    route: 'v1/webhooks/btcpay',
    methods: ['POST'],
    summary: 'test',
    responses: {},
    verify: () => (verified ? { ok: true, event: {} } : { ok: false, response: { status: 401, body: { title: 'Invalid signature' } } }),
    handler,
  });
}

const wrap = (def: FunctionDef, telemetry: Pick<Telemetry, 'event' | 'exception'>) => withInvocationTelemetry([def], telemetry)[0] as FunctionDef;

describe('withInvocationTelemetry: webhooks', () => {
  it("tracks an answered call as accepted, with the provider, status and the handler's outcome word", async () => {
    const { telemetry, events, exceptions } = recorder();
    const def = wrap(
      webhook(async () => ({ status: 200, body: { received: true, outcome: 'applied' } })),
      telemetry,
    ) as HttpFunctionDef;
    expect(await def.verify?.(request)).toEqual({ ok: true, event: {} });
    expect(await def.handler(call())).toEqual({ status: 200, body: { received: true, outcome: 'applied' } });
    expect(events).toEqual([
      {
        name: 'WebhookCall',
        properties: { provider: 'btcpay', outcome: 'accepted', status: '200', function: 'webhooks-btcpay', operationId: call().operationId, result: 'applied' },
      },
    ]);
    expect(Object.keys(events[0]?.properties ?? {}).filter((key) => !eventDimensions('WebhookCall').includes(key))).toEqual([]);
    expect(exceptions).toEqual([]);
  });

  it('tracks a call its verification refuses as rejected (the handler never runs)', async () => {
    const { telemetry, events, exceptions } = recorder();
    const def = wrap(
      webhook(async () => ({ status: 200 }), false),
      telemetry,
    ) as HttpFunctionDef;
    expect(await def.verify?.(request)).toMatchObject({ ok: false, response: { status: 401 } });
    expect(events).toEqual([{ name: 'WebhookCall', properties: { provider: 'btcpay', outcome: 'rejected', status: '401', function: 'webhooks-btcpay' } }]);
    expect(exceptions).toEqual([]);
  });

  it('counts a handler that throws as a failed call and still throws (the pipeline reports the exception and answers 500)', async () => {
    const { telemetry, events, exceptions } = recorder();
    const boom = new Error('BTCPay unreachable');
    const def = wrap(
      webhook(async () => {
        throw boom;
      }),
      telemetry,
    ) as HttpFunctionDef;
    await expect(def.handler(call())).rejects.toBe(boom);
    expect(exceptions).toEqual([]);
    expect(events).toEqual([
      {
        name: 'WebhookCall',
        properties: { provider: 'btcpay', outcome: 'failed', status: '500', function: 'webhooks-btcpay', operationId: call().operationId },
      },
    ]);
  });

  it('counts a 5xx answer as failed without an exception (an expected failure is a value)', async () => {
    const { telemetry, events, exceptions } = recorder();
    const def = wrap(
      webhook(async () => ({ status: 503 })),
      telemetry,
    ) as HttpFunctionDef;
    await def.handler(call());
    expect(events.map((event) => event.properties?.outcome)).toEqual(['failed']);
    expect(exceptions).toEqual([]);
  });
});

describe('the HTTP pipeline reports every failed invocation once', () => {
  const ordersGet = (handler: HttpFunctionDef['handler'], roles?: HttpFunctionDef['roles']) =>
    defineHttp({ kind: 'http', name: 'orders-get', route: 'v1/orders/{id}', methods: ['GET'], summary: 't', responses: {}, roles, handler });
  const get = {
    ...request,
    method: 'GET',
    url: 'v1/orders/o-1',
    rawBody: Buffer.alloc(0),
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  };
  const pipelineWith = (telemetry: Pick<Telemetry, 'exception' | 'event'>, take: () => Promise<{ allowed: boolean; retryAfterSeconds: number }>) =>
    createHttpPipeline({
      auth: { authenticate: () => ({ kind: 'apiKey', name: 'ops', roles: ['admin'] }) } as unknown as ApiKeyAuthenticator,
      rateLimiter: { take } as unknown as RateLimiter,
      telemetry: { request() {}, exception: telemetry.exception },
    });

  it('a handler that throws: one exception with the function and operation, a 500', async () => {
    const { telemetry, events, exceptions } = recorder();
    const boom = new Error('table down');
    const [def] = withInvocationTelemetry([ordersGet(async () => Promise.reject(boom))], telemetry) as HttpFunctionDef[];
    const response = await pipelineWith(telemetry, async () => ({ allowed: true, retryAfterSeconds: 0 })).handle(def as HttpFunctionDef, get);
    expect(response.status).toBe(500);
    expect(exceptions).toEqual([{ error: boom, properties: { function: 'orders-get', operationId: '0af7651916cd43dd8448eb211c80319c' } }]);
    expect(events).toEqual([]);
  });

  it('a step before the handler that throws (here the rate limiter): an exception too', async () => {
    const { telemetry, exceptions } = recorder();
    const down = new Error('rate limiter bug');
    const def = ordersGet(async () => ({ status: 200 }), ['admin']);
    const response = await pipelineWith(telemetry, async () => Promise.reject(down)).handle(def, get);
    expect(response.status).toBe(500);
    expect(exceptions).toEqual([{ error: down, properties: { function: 'orders-get', operationId: '0af7651916cd43dd8448eb211c80319c' } }]);
  });
});

describe('withInvocationTelemetry: other functions', () => {
  it('leaves answers of functions that are not webhooks alone and tracks no webhook call for them', async () => {
    const { telemetry, events, exceptions } = recorder();
    const fine = wrap(
      defineHttp({ kind: 'http', name: 'health', route: 'health', methods: ['GET'], summary: 't', responses: {}, handler: async () => ({ status: 503 }) }),
      telemetry,
    ) as HttpFunctionDef;
    expect(await fine.handler(call())).toEqual({ status: 503 });
    expect(events).toEqual([]);
    expect(exceptions).toEqual([]);
  });

  it('reports a timer that throws and still throws (the host sees the failure); a quiet run reports nothing', async () => {
    const { telemetry, exceptions } = recorder();
    const boom = new Error('relay failed');
    let fail = true;
    const timer: TimerFunctionDef = {
      kind: 'timer',
      name: 'outbox-relay',
      schedule: '0 */1 * * * *',
      handler: async () => {
        if (fail) throw boom;
      },
    };
    const wrapped = wrap(timer, telemetry) as TimerFunctionDef;
    expect(wrapped).toMatchObject({ name: 'outbox-relay', schedule: '0 */1 * * * *' });
    await expect(wrapped.handler()).rejects.toBe(boom);
    fail = false;
    await wrapped.handler();
    expect(exceptions).toEqual([{ error: boom, properties: { function: 'outbox-relay' } }]);
  });

  it('leaves queue functions as they are (invokeQueueFunction reports them)', () => {
    const queue: QueueFunctionDef = { kind: 'queue', name: 'jobs-odoo-sync', queue: 'odoo-sync', handler: async () => {} };
    expect(wrap(queue, recorder().telemetry)).toBe(queue);
  });
});

describe('invokeQueueFunction with the job consumer: one exception per failed message', () => {
  const settlement = (): Settlement & { reasons: string[] } => {
    const reasons: string[] = [];
    return { reasons, complete: async () => {}, abandon: async () => {}, deadLetter: async (reason) => void reasons.push(reason) };
  };

  function run(body: unknown, handler: () => Promise<void>) {
    const { telemetry, events, exceptions } = recorder();
    const consume = createJobConsumer({
      queue: 'odoo-sync',
      handlers: { 'booking.sync': handler },
      sender: { send: async () => {} },
      processed: { has: async () => false, mark: async () => {} },
      policy: { maxAttempts: 3, baseMs: 1_000, capMs: 3_000 },
      log: silent,
      telemetry,
    });
    const def: QueueFunctionDef = { kind: 'queue', name: 'jobs-odoo-sync', queue: 'odoo-sync', handler: consume };
    const settled = settlement();
    return {
      done: invokeQueueFunction(def, { messageId: 'm1', body, deliveryCount: 1, applicationProperties: {} }, settled, silent, telemetry),
      settled,
      events,
      exceptions,
    };
  }

  const job = newEnvelope({ queue: 'odoo-sync', type: 'booking.sync', subject: 'bk_1', payload: {} }, new Date(), () => 'job-1');

  it('a body that is no job envelope: dead-lettered and reported (no handler ran to report it)', async () => {
    const { done, settled, exceptions } = run({ hello: 'world' }, async () => {});
    await done;
    expect(settled.reasons).toEqual([DEAD_LETTER_REASONS.invalid]);
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]?.error).toBeInstanceOf(DeadLetteredError);
    expect(exceptions[0]?.properties).toEqual({ function: 'jobs-odoo-sync', messageId: 'm1', reason: DEAD_LETTER_REASONS.invalid });
  });

  it('a job of no known type: the same', async () => {
    const { done, exceptions } = run({ ...job, type: 'booking.unknown' }, async () => {});
    await done;
    expect(exceptions.map((exception) => exception.properties?.reason)).toEqual([DEAD_LETTER_REASONS.unknownType]);
  });

  it('a permanent failure: the consumer reports the error and JobDeadLettered; no second exception', async () => {
    const failure = JobError.permanent('ODOO_ACCESS', 'Odoo rejected the credentials');
    const { done, settled, events, exceptions } = run(job, async () => Promise.reject(failure));
    await done;
    expect(settled.reasons).toEqual([DEAD_LETTER_REASONS.permanent]);
    expect(exceptions.map((exception) => exception.error)).toEqual([failure]);
    expect(events.map((event) => event.name)).toEqual(['JobFailed', 'JobDeadLettered']);
    expect(events[1]?.properties).toMatchObject({ queue: 'odoo-sync', reason: DEAD_LETTER_REASONS.permanent });
    expect(Object.keys(events[1]?.properties ?? {}).filter((key) => !eventDimensions('JobDeadLettered').includes(key))).toEqual([]);
  });
});

describe('OdooSyncLatencyMs', () => {
  const billable: Billable = {
    source: 'booking:bk_1',
    customer: { ref: 'cust:1', name: 'Jane Doe', email: 'jane@example.com' },
    currency: 'EUR',
    documents: [
      {
        ref: 'bk_1',
        date: '2026-04-01',
        lines: [{ name: 'Inspektion - VW Golf', quantity: 1, unitAmount: 14900 }],
        payments: [{ memo: 'pi_1', amount: 14900, date: '2026-04-01' }],
        credits: [],
      },
    ],
  };
  const cancelled: Billable = {
    ...billable,
    documents: billable.documents.map((document) => ({
      ...document,
      credits: [{ ref: 'credit:bk_1', reason: 'storniert', date: '2026-04-02', amount: 14900, refund: { memo: 'refund:pi_1', amount: 14900 } }],
    })),
  };

  it('is measured from the change that queued the job to the run that put it on the books, once per milestone', async () => {
    const erp = new MemoryErp();
    const { telemetry, metrics } = recorder();
    let sale = billable;
    const handlers = erpSyncHandler({
      type: 'booking.sync',
      payloadKey: 'bookingId',
      sync: () => reconcileBillable(erp, sale),
      telemetry,
      now: () => new Date('2026-04-01T10:00:42.500Z'),
    });
    const handle = handlers['booking.sync'] as (job: ReturnType<typeof newEnvelope>) => Promise<void>;
    const queued = newEnvelope(
      { queue: 'odoo-sync', type: 'booking.sync', subject: 'bk_1', payload: { bookingId: 'bk_1' } },
      new Date('2026-04-01T10:00:00Z'),
      () => 'odoo:bk_1:v2',
    );

    await handle({ ...queued, attempt: 2 });
    expect(metrics).toEqual([
      { name: 'OdooSyncLatencyMs', value: 42_500, properties: { jobType: 'booking.sync', milestone: 'invoice_posted', attempt: '2' } },
      { name: 'OdooSyncLatencyMs', value: 42_500, properties: { jobType: 'booking.sync', milestone: 'payment_registered', attempt: '2' } },
    ]);
    for (const metric of metrics) expect(Object.keys(metric.properties ?? {}).sort()).toEqual(Object.keys(TELEMETRY_METRICS.OdooSyncLatencyMs).sort());

    // A repeat finds the books right: nothing reached, nothing measured.
    metrics.length = 0;
    await handle(queued);
    expect(metrics).toEqual([]);

    // The cancellation: the credit note and its refund.
    sale = cancelled;
    await handle({ ...queued, id: 'odoo:bk_1:v3' });
    expect(metrics.map((metric) => metric.properties?.milestone)).toEqual(['credit_note_posted', 'refund_registered']);
  });

  it('measures nothing for a sale that owes the books nothing', async () => {
    const { telemetry, metrics } = recorder();
    const handlers = erpSyncHandler({
      type: 'order.sync',
      payloadKey: 'orderId',
      sync: () => reconcileBillable(new MemoryErp(), { ...billable, documents: [] }),
      telemetry,
    });
    const queued = newEnvelope({ queue: 'odoo-sync', type: 'order.sync', subject: 'ord_1', payload: {} }, new Date(), () => 'odoo:ord_1:v1');
    await (handlers['order.sync'] as (job: typeof queued) => Promise<void>)(queued);
    expect(metrics).toEqual([]);
  });
});
