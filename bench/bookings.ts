// Booking creation and the Stripe webhook under load through the whole local system (HTTP host ->
// pipeline -> zod -> use case -> Stripe sandbox / Azurite / broker), each next to its raw I/O floor:
// the same Stripe, Table Storage and Service Bus calls made directly with the SDKs, at the same
// concurrency, against the same servers, in the same run. A benchmark that prints figures, not a test.
//
// Method (see also the figures' fields):
// - Closed loop: `concurrency` clients, each sending its next request when the previous answered;
//   every phase is bounded by a duration and a request count. Concurrency-1 figures (latency
//   without queueing) follow each pair.
// - The HTTP load generator runs in a worker thread, so its own CPU does not compete with the app;
//   the floors run on the main thread, where the app's SDK calls run too. The servers (Stripe
//   sandbox, Azurite, broker) share the main thread with the app and with the floors alike, so
//   `mainThreadMsPerRequest` is the throughput limit: 1000 / it = requests/s at 100 % busy.
// - Creation runs framework, floor, floor, framework (half the time each), because the Stripe
//   sandbox slows down as its store grows; the webhook runs framework, floor over HTTP, floor over
//   HTTP, framework (half the events each), because this machine's speed drifts within a run; the
//   direct webhook floors follow.
// - Each measured phase starts from a collected heap (`npm run bench` exposes gc): the servers'
//   stores grow in this process, and a major collection would otherwise land in whichever phase
//   crosses the heap limit and make that phase's p99.
// - The Stripe sandbox's own webhook delivery is off for the whole run (creations would otherwise
//   POST customer/payment_intent events to the app in the background), and no queue consumer runs
//   (the e-mails, trip dispatches and syncs a confirmation causes would otherwise run meanwhile).
import { odata, TableClient, type TransactionAction } from '@azure/data-tables';
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusSender } from '@azure/service-bus';
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import Stripe from 'stripe';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { connectionStrings, FREE_PORTS, LOCAL_SECRETS, startLocalRuntime } from '../local/runtime';
import { collectGarbage, percentile } from './stats';

export interface BenchBookingsOptions {
  /** Concurrent clients of every phase (default 16). */
  concurrency?: number;
  /** Measured duration of each creation phase (default 10 s). */
  createSeconds?: number;
  /** Upper bound on requests of each creation phase (default 20 000). */
  maxCreations?: number;
  /** Webhook events posted per webhook phase, warm-up included (default 3000, at most the bookings created). */
  webhookEvents?: number;
  /** Called with each figure as soon as it is measured. */
  onFigure?: (figure: Figure) => void;
}

export type Figure = Record<string, string | number | boolean>;

const TIME_ZONE = 'Europe/Berlin';
const WARMUP_MS = 1500;
const WEBHOOK_WARMUP = 100;
/** Requests of each concurrency-1 figure (latency without queueing), and their time bound. */
const SERIAL_REQUESTS = 100;
const SERIAL_MAX_MS = 5000;
const JOB_QUEUES = ['odoo-sync', 'driver-dispatch', 'notifications'] as const;
const FLOOR_QUEUE = 'bench-floor';

// ---- closed-loop measurement ---------------------------------------------------------------------

interface LoadResult {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  /** Main-thread event-loop busy time during the phase (ms). */
  mainBusyMs: number;
  /** Process CPU (all threads, user + system) during the phase (ms). */
  cpuMs: number;
}

interface HttpLoadSpec {
  origin: string;
  path: string;
  concurrency: number;
  durationMs?: number;
  maxRequests: number;
  /** Either one body template (`placeholder` replaced by the request number + `start`) ... */
  template?: { body: string; placeholder: string; start: number };
  /** ... or one prepared request each. */
  list?: Array<{ body: string; headers: Record<string, string> }>;
}

interface HttpLoadReply {
  seconds: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
  bodies: string[];
  errors: number;
  lastError?: string;
}

// Plain JS so the worker needs no TypeScript loader. node:http with a keep-alive agent per phase.
const LOAD_WORKER = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
parentPort.on('message', async (spec) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const url = new URL(spec.origin);
  const latenciesMs = [], bodies = [], statuses = {};
  let next = 0, errors = 0, lastError;
  const started = performance.now();
  const deadline = spec.durationMs ? started + spec.durationMs : Infinity;
  const one = (n) => new Promise((resolve) => {
    let body, headers = {};
    if (spec.list) ({ body, headers } = spec.list[n]);
    else body = spec.template.body.split(spec.template.placeholder).join(String(spec.template.start + n));
    const t0 = performance.now();
    const req = http.request({ host: url.hostname, port: url.port, path: spec.path, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        latenciesMs.push(performance.now() - t0);
        statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        resolve();
      });
      res.on('error', (e) => { errors++; lastError = String(e); resolve(); });
    });
    req.on('error', (e) => { errors++; lastError = String(e); resolve(); });
    req.end(body);
  });
  const client = async () => {
    for (;;) {
      if (performance.now() >= deadline) return;
      const n = next++;
      if (n >= spec.maxRequests) return;
      await one(n);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  parentPort.postMessage({ seconds, latenciesMs, statuses, bodies, errors, lastError });
});
`;

class LoadWorker {
  private readonly worker = new Worker(LOAD_WORKER, { eval: true });

  run(spec: HttpLoadSpec): Promise<HttpLoadReply> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.worker.once('error', onError);
      this.worker.once('message', (reply: HttpLoadReply) => {
        this.worker.off('error', onError);
        resolve(reply);
      });
      this.worker.postMessage(spec);
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Runs `measure` while recording the main thread's busy time and the process CPU. */
async function withUsage<T>(measure: () => Promise<T>): Promise<{ value: T; mainBusyMs: number; cpuMs: number }> {
  collectGarbage();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const value = await measure();
  const busy = performance.eventLoopUtilization(elu);
  const used = process.cpuUsage(cpu);
  return { value, mainBusyMs: busy.active, cpuMs: (used.user + used.system) / 1000 };
}

async function httpLoad(worker: LoadWorker, spec: HttpLoadSpec): Promise<LoadResult & { reply: HttpLoadReply }> {
  const { value: reply, mainBusyMs, cpuMs } = await withUsage(() => worker.run(spec));
  const bad = Object.entries(reply.statuses).filter(([status]) => !status.startsWith('2'));
  if (reply.errors > 0 || bad.length > 0) {
    const sample = reply.bodies.find((body) => !body.includes('"id"') && !body.includes('"received"'));
    throw new Error(
      `${spec.path}: ${reply.errors} network errors (${reply.lastError ?? '-'}), statuses ${JSON.stringify(reply.statuses)}; e.g. ${sample ?? ''}`,
    );
  }
  return { requests: reply.latenciesMs.length, seconds: reply.seconds, latenciesMs: reply.latenciesMs, mainBusyMs, cpuMs, reply };
}

/** The same closed loop on this thread around a direct SDK operation (the floor). */
async function directLoad(
  concurrency: number,
  bound: { durationMs?: number; maxRequests: number },
  operation: (n: number) => Promise<void>,
): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  const {
    value: seconds,
    mainBusyMs,
    cpuMs,
  } = await withUsage(async () => {
    const started = performance.now();
    const deadline = bound.durationMs ? started + bound.durationMs : Number.POSITIVE_INFINITY;
    const client = async () => {
      for (;;) {
        if (performance.now() >= deadline) return;
        const n = next++;
        if (n >= bound.maxRequests) return;
        const t0 = performance.now();
        await operation(n);
        latenciesMs.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    return (performance.now() - started) / 1000;
  });
  return { requests: latenciesMs.length, seconds, latenciesMs, mainBusyMs, cpuMs };
}

/**
 * The floor behind a bare node:http server on this thread, loaded over HTTP by the same worker as the
 * framework: so the floor pays the HTTP hop too (reading the request, parsing its JSON, writing a
 * response), and what is left between the two is the framework alone. `operation(n)` gets the
 * request's number.
 */
async function httpFloorLoad(worker: LoadWorker, spec: Omit<HttpLoadSpec, 'origin' | 'path'>, operation: (n: number) => Promise<void>): Promise<LoadResult> {
  let next = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const n = next++;
      // What any handler does with a JSON request before its I/O.
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      operation(n).then(
        () => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"id":"floor","received":true}');
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        },
      );
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  try {
    const { port } = server.address() as { port: number };
    return await httpLoad(worker, { ...spec, origin: `http://127.0.0.1:${port}`, path: '/floor' });
  } finally {
    server.closeAllConnections();
    await new Promise((closed) => server.close(closed));
  }
}

/** Several runs of one path as one. */
function merge(runs: LoadResult[]): LoadResult {
  const sum = (pick: (run: LoadResult) => number) => runs.reduce((total, run) => total + pick(run), 0);
  return {
    requests: sum((run) => run.requests),
    seconds: sum((run) => run.seconds),
    latenciesMs: runs.flatMap((run) => run.latenciesMs),
    mainBusyMs: sum((run) => run.mainBusyMs),
    cpuMs: sum((run) => run.cpuMs),
  };
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

function summarize(figure: string, path: string, concurrency: number, result: LoadResult): Figure {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return {
    figure,
    path,
    concurrency,
    requests: result.requests,
    seconds: round(result.seconds),
    requestsPerSecond: Math.round(result.requests / result.seconds),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    // Main-thread event-loop time per request: app + sandboxes (or floor + sandboxes); when the
    // main thread is saturated, 1000 / this is the throughput ceiling.
    mainThreadBusyPct: Math.round((100 * result.mainBusyMs) / (result.seconds * 1000)),
    mainThreadMsPerRequest: round(result.mainBusyMs / result.requests, 3),
    cpuMsPerRequest: round(result.cpuMs / result.requests, 3),
  };
}

function ratio(figure: string, framework: Figure, floor: Figure, floorName = 'floor'): Figure {
  const r = (key: string) => round(Number(framework[key]) / Number(floor[key]));
  return {
    figure,
    ratio: `framework/${floorName}`,
    concurrency: framework.concurrency as number,
    requestsPerSecond: r('requestsPerSecond'),
    p50Ms: r('p50Ms'),
    p99Ms: r('p99Ms'),
    mainThreadMsPerRequest: r('mainThreadMsPerRequest'),
  };
}

/** Runs `task(i)` for i < count with `concurrency` in flight (set-up work, not measured). */
async function forEachConcurrently(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

// ---- request bodies -----------------------------------------------------------------------------

/** Offset of `timeZone` from UTC at `instant`, in minutes. */
function offsetMinutes(instant: Date, timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((part) => part.type === 'timeZoneName')?.value;
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? '');
  if (!match) return 0; // plain "GMT"
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

/** 09:00–11:00 Europe/Berlin tomorrow, or on Monday when tomorrow is Sunday (the shop is closed). */
export function benchSlot(now = new Date()): { slotStart: string; slotEnd: string } {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  const [year, month, day] = today.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day + 1, 12));
  if (date.getUTCDay() === 0) date.setUTCDate(date.getUTCDate() + 1);
  const at = (hour: number) => {
    const wall = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), hour);
    return new Date(wall - offsetMinutes(new Date(wall), TIME_ZONE) * 60_000).toISOString();
  };
  return { slotStart: at(9), slotEnd: at(11) };
}

function bookingRequestTemplate(placeholder: string, emailPrefix: string): string {
  const address = { street: 'Torstraße 109', zip: '10119', city: 'Berlin' };
  return JSON.stringify({
    customer: { name: `Ada Bench ${placeholder}`, email: `${emailPrefix}-${placeholder}@example.com`, phone: '+49 171 1234567', language: 'de' },
    vehicle: { brand: 'Volkswagen', model: 'Golf VIII', licensePlate: 'B-OH 1234' },
    serviceType: 'inspection',
    pickup: { address, ...benchSlot() },
    delivery: { address },
    notes: 'Key box at the gate.',
  });
}

// ---- the benchmark ------------------------------------------------------------------------------

export async function benchBookings(options: BenchBookingsOptions = {}): Promise<Figure[]> {
  const concurrency = options.concurrency ?? 16;
  const createMs = (options.createSeconds ?? 10) * 1000;
  const webhookMs = createMs * 1.5; // each webhook phase also stops at this bound
  const maxCreations = options.maxCreations ?? 20_000;
  const figures: Figure[] = [];
  const emit = (figure: Figure) => {
    figure.loadAvg1m = round(loadavg()[0] ?? 0);
    figures.push(figure);
    options.onFigure?.(figure);
  };

  const prefix = 'benchbk';
  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    env: { BOOKING_RATE_LIMIT_PER_IP: '1000000000', TABLE_PREFIX: prefix },
    timers: false,
    log: consoleLogger({ silent: true }),
    // No queue consumer: the jobs a confirmation causes (e-mail, trip dispatch, Odoo sync) would
    // otherwise run on the same thread during the measurement.
    queueConsumers: false,
  });
  const worker = new LoadWorker();
  const serviceBus = new ServiceBusClient(connectionStrings(runtime.config).serviceBus);
  const senders: ServiceBusSender[] = [];
  try {
    if (!runtime.stripe) throw new Error('the bench needs the Stripe sandbox (unset STRIPE_SECRET_KEY / STRIPE_API_BASE)');
    runtime.stripe.setWebhookUrl(undefined);
    emit({ figure: 'setup', cpus: availableParallelism(), node: process.version, concurrency, loadGenerator: 'worker thread, node:http keep-alive' });
    const stripe = new Stripe(LOCAL_SECRETS.stripeSecretKey, {
      host: '127.0.0.1',
      port: runtime.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 1,
      timeout: 10_000,
    });
    const connection = connectionStrings(runtime.config).tables;
    const tableOptions = { allowInsecureConnection: true };
    const appTable = TableClient.fromConnectionString(connection, `${prefix}Bookings`, tableOptions);
    const floorTable = TableClient.fromConnectionString(connection, `${prefix}FloorBookings`, tableOptions);
    await floorTable.createTable();
    const origin = new URL(runtime.url).origin;

    // ---- 1. POST /api/v1/bookings ----------------------------------------------------------------
    const N = '__N__';
    const createPath = '/api/v1/bookings';
    const createLoad = (emailPrefix: string, clients: number, bound: { durationMs?: number; maxRequests: number }) =>
      httpLoad(worker, {
        origin,
        path: createPath,
        concurrency: clients,
        ...bound,
        template: { body: bookingRequestTemplate(N, emailPrefix), placeholder: N, start: 0 },
      });
    const createdIds = (bodies: string[]) =>
      bodies.map((body) => {
        const parsed = JSON.parse(body) as { id: string; payment: { paymentIntentId: string } };
        return { id: parsed.id, paymentIntentId: parsed.payment.paymentIntentId };
      });

    await createLoad('warm', concurrency, { durationMs: WARMUP_MS, maxRequests: maxCreations });
    // The stored booking as the app wrote it: the floor writes a row of the same shape and size.
    const first = createdIds((await createLoad('first', 1, { maxRequests: 1 })).reply.bodies)[0];
    if (!first) throw new Error('no booking was created');
    const template = JSON.parse((await appTable.getEntity<{ data: string }>(first.id, 'booking')).data) as Record<string, unknown>;

    // ---- 1b. creation floor: customers list + create + update, paymentIntents.create, one transaction ----
    const tokenHash = createHash('sha256').update('bench').digest('hex');
    const floorBookings: string[] = [];
    const createFloorOnce = (emailPrefix: string) => async (n: number) => {
      const email = `${emailPrefix}-${n}@example.com`;
      const existing = await stripe.customers.list({ email, limit: 1 });
      // As the app does it: a new customer is created by its e-mail alone (so racing first bookings of
      // one address get one customer), then named; the floor makes the same four Stripe calls.
      const customer = existing.data[0] ?? (await stripe.customers.create({ email }, { idempotencyKey: `customer:${email}` }));
      if (!customer.name) await stripe.customers.update(customer.id, { name: `Ada Bench ${n}`, phone: '+491711234567' });
      const id = randomUUID();
      const intent = await stripe.paymentIntents.create(
        {
          amount: 14_900,
          currency: 'eur',
          customer: customer.id,
          description: `Booking ${id}: inspection`,
          metadata: { bookingId: id },
          automatic_payment_methods: { enabled: true },
          setup_future_usage: 'off_session',
        },
        { idempotencyKey: `booking:${id}:payment` },
      );
      const at = new Date().toISOString();
      const booking = {
        ...template,
        id,
        customer: { ...(template.customer as object), email },
        payment: { status: 'pending', paymentIntentId: intent.id, stripeCustomerId: customer.id },
        createdAt: at,
        updatedAt: at,
      };
      await floorTable.submitTransaction([
        ['create', { partitionKey: id, rowKey: 'booking', status: 'PENDING_PAYMENT', data: JSON.stringify(booking), accessTokenHash: tokenHash, version: 1 }],
        ['create', { partitionKey: id, rowKey: 'history|00000001|00', to: 'PENDING_PAYMENT', at, cause: 'customer' }],
      ]);
      floorBookings.push(id);
    };
    await directLoad(concurrency, { durationMs: WARMUP_MS, maxRequests: maxCreations }, createFloorOnce('floorwarm'));
    floorBookings.length = 0;

    // Framework, floor, floor over HTTP, floor over HTTP, floor, framework (half the time each): the
    // Stripe sandbox gets slower as its store grows (idempotency keys are pruned by a full scan per
    // request; customers are listed by scanning them all), so a fixed order would favour whichever
    // path runs first.
    const segment = { durationMs: createMs / 2, maxRequests: maxCreations };
    const frameworkRuns: Array<LoadResult & { reply: HttpLoadReply }> = [];
    const floorRuns: LoadResult[] = [];
    const httpFloorRuns: LoadResult[] = [];
    const httpFloorSegment = (emailPrefix: string) =>
      httpFloorLoad(
        worker,
        { concurrency, ...segment, template: { body: bookingRequestTemplate(N, emailPrefix), placeholder: N, start: 0 } },
        createFloorOnce(emailPrefix),
      );
    frameworkRuns.push(await createLoad('bench1', concurrency, segment));
    floorRuns.push(await directLoad(concurrency, segment, createFloorOnce('floor1')));
    httpFloorRuns.push(await httpFloorSegment('floorhttp1'));
    httpFloorRuns.push(await httpFloorSegment('floorhttp2'));
    floorRuns.push(await directLoad(concurrency, segment, createFloorOnce('floor2')));
    frameworkRuns.push(await createLoad('bench2', concurrency, segment));
    const createFramework = summarize('create', 'framework', concurrency, merge(frameworkRuns));
    emit(createFramework);
    const createFloor = summarize('create', 'floor', concurrency, merge(floorRuns));
    emit(createFloor);
    emit(ratio('create', createFramework, createFloor));
    const createHttpFloor = summarize('create', 'floor-http', concurrency, merge(httpFloorRuns));
    emit(createHttpFloor);
    emit(ratio('create', createFramework, createHttpFloor, 'floor-http'));
    const floorCreated = floorBookings.length;

    const createdSerial = await createLoad('serial', 1, { durationMs: SERIAL_MAX_MS, maxRequests: SERIAL_REQUESTS });
    const createFramework1 = summarize('create', 'framework', 1, createdSerial);
    emit(createFramework1);
    const createFloor1 = summarize(
      'create',
      'floor',
      1,
      await directLoad(1, { durationMs: SERIAL_MAX_MS, maxRequests: SERIAL_REQUESTS }, createFloorOnce('floorserial')),
    );
    emit(createFloor1);
    emit(ratio('create', createFramework1, createFloor1));
    const bookings = frameworkRuns.flatMap((run) => createdIds(run.reply.bodies));
    const serialBookings = createdIds(createdSerial.reply.bodies);

    // ---- 2. POST /api/v1/webhooks/stripe -----------------------------------------------------------
    // Pay the bookings in the sandbox (delivery off), then fetch their payment_intent.succeeded.
    const M = Math.min(options.webhookEvents ?? 3000, bookings.length);
    const paying = [...bookings.slice(0, M), ...serialBookings];
    const setupStarted = performance.now();
    await forEachConcurrently(paying.length, concurrency, async (i) => {
      await stripe.paymentIntents.confirm((paying[i] as (typeof paying)[number]).paymentIntentId, { payment_method: 'pm_card_visa' });
    });
    const wanted = new Set(paying.map((b) => b.paymentIntentId));
    const events = new Map<string, Stripe.Event>();
    for await (const event of stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 })) {
      const intentId = (event.data.object as { id: string }).id;
      if (wanted.has(intentId)) events.set(intentId, event);
      if (events.size === wanted.size) break;
    }
    if (events.size !== wanted.size) throw new Error(`expected ${wanted.size} payment_intent.succeeded events, found ${events.size}`);
    emit({ figure: 'webhook setup', bookingsPaid: paying.length, seconds: round((performance.now() - setupStarted) / 1000) });

    // Signed just before each phase (the app refuses signatures older than 300 s).
    const sign = (list: typeof paying) =>
      list.map((booking) => {
        // Pretty-printed, as the sandbox (and Stripe) deliver it.
        const payload = JSON.stringify(events.get(booking.paymentIntentId), null, 2);
        const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: LOCAL_SECRETS.stripeWebhookSecret });
        return { body: payload, headers: { 'stripe-signature': signature } };
      });
    // ---- 2b. webhook floor: read + transaction + Service Bus send + 3 deletes ---------------------
    const floorSender = serviceBus.createSender(FLOOR_QUEUE);
    const queueSenders = JOB_QUEUES.map((queue) => serviceBus.createSender(queue));
    senders.push(floorSender, ...queueSenders);
    // Same number of webhooks as the app handled; floor bookings are reused when there are fewer.
    const floorTargets = (n: number) => floorBookings[n % floorCreated] as string;

    /** One webhook's I/O on a floor booking; `sends` = one batch of 3 (the brief's floor) or one message per queue (as the app). */
    const hookFloorOnce = (sends: 'batch' | 'perQueue', offset: number) => async (n: number) => {
      const id = floorTargets(offset + n);
      const row = await floorTable.getEntity<{ data: string; version: number; accessTokenHash: string }>(id, 'booking');
      const version = row.version + 1;
      const at = new Date().toISOString();
      const eventId = `evt_floor_${sends}_${offset + n}_${version}`;
      const envelopes = JOB_QUEUES.map((queue) => ({
        id: `${queue}:${id}:v${version}`,
        type: queue === 'odoo-sync' ? 'booking.sync' : queue === 'driver-dispatch' ? 'trip.pickup' : 'booking.confirmed',
        subject: id,
        attempt: 1,
        correlation: { operationId: randomUUID() },
        payload: { bookingId: id },
        errors: [],
        createdAt: at,
      }));
      const outboxKeys = envelopes.map((envelope, i) => `~outbox|${JOB_QUEUES[i] as string}|${envelope.id}`);
      const actions: TransactionAction[] = [
        [
          'update',
          {
            partitionKey: id,
            rowKey: 'booking',
            status: 'CONFIRMED',
            data: row.data.replace('"PENDING_PAYMENT"', '"CONFIRMED"'),
            accessTokenHash: row.accessTokenHash,
            version,
          },
          'Replace',
          { etag: row.etag },
        ],
        [
          'create',
          {
            partitionKey: id,
            rowKey: `history|${String(version).padStart(8, '0')}|00`,
            from: 'PENDING_PAYMENT',
            to: 'CONFIRMED',
            at,
            cause: `stripe:${eventId}`,
          },
        ],
        ['create', { partitionKey: id, rowKey: `event|stripe:${eventId}`, appliedAt: at }],
        ...envelopes.map(
          (envelope, i): TransactionAction => [
            'upsert',
            { partitionKey: id, rowKey: outboxKeys[i] as string, queue: JOB_QUEUES[i] as string, envelope: JSON.stringify(envelope), storedAt: new Date(at) },
            'Replace',
          ],
        ),
      ];
      await floorTable.submitTransaction(actions);
      const messages: ServiceBusMessage[] = envelopes.map((envelope) => ({
        messageId: randomUUID(),
        body: envelope,
        contentType: 'application/json',
        subject: envelope.type,
        correlationId: envelope.correlation.operationId,
        applicationProperties: { jobType: envelope.type, jobSubject: envelope.subject, attempt: 1 },
      }));
      if (sends === 'batch') await floorSender.sendMessages(messages);
      else await Promise.all(queueSenders.map((sender, i) => sender.sendMessages([messages[i] as ServiceBusMessage])));
      await Promise.all(outboxKeys.map((rowKey) => floorTable.deleteEntity(id, rowKey)));
    };
    const hookPath = '/api/v1/webhooks/stripe';
    const warmCount = Math.min(WEBHOOK_WARMUP, Math.floor(M / 2));
    const warmHooks = await httpLoad(worker, { origin, path: hookPath, concurrency, maxRequests: warmCount, list: sign(paying.slice(0, warmCount)) });
    const measuredHooks = sign(paying.slice(warmCount, M));
    // The floor over HTTP posts the same bodies; its I/O runs on floor bookings (see 2b).
    let httpOffset = 0;
    const httpHookOnce = (offset: number) => (n: number) => hookFloorOnce('perQueue', offset)(n);
    await httpFloorLoad(worker, { concurrency, maxRequests: warmCount, list: measuredHooks.slice(0, warmCount) }, httpHookOnce(httpOffset));
    httpOffset += warmCount;
    // Framework, floor over HTTP, floor over HTTP, framework (half the events and half the time each),
    // as for creation: the machine's speed drifts over a run, and a fixed order would hand the drift
    // to whichever path runs in the slow part.
    const half = Math.ceil(measuredHooks.length / 2);
    const halves = [measuredHooks.slice(0, half), measuredHooks.slice(half)];
    const frameworkHalf = (list: typeof measuredHooks) =>
      httpLoad(worker, { origin, path: hookPath, concurrency, durationMs: webhookMs / 2, maxRequests: list.length, list });
    const httpFloorHalf = async (list: typeof measuredHooks) => {
      const run = await httpFloorLoad(worker, { concurrency, durationMs: webhookMs / 2, maxRequests: list.length, list }, httpHookOnce(httpOffset));
      httpOffset += run.requests;
      return run;
    };
    const hookRuns = [await frameworkHalf(halves[0] as typeof measuredHooks)];
    const hookHttpFloorRuns = [await httpFloorHalf(halves[0] as typeof measuredHooks), await httpFloorHalf(halves[1] as typeof measuredHooks)];
    hookRuns.push(await frameworkHalf(halves[1] as typeof measuredHooks));
    const hooks = merge(hookRuns);
    const hookFramework = summarize('webhook', 'framework', concurrency, hooks);
    emit(hookFramework);
    const hooksSerial = await httpLoad(worker, {
      origin,
      path: hookPath,
      concurrency: 1,
      durationMs: SERIAL_MAX_MS,
      maxRequests: serialBookings.length,
      list: sign(serialBookings),
    });
    const hookFramework1 = summarize('webhook', 'framework', 1, hooksSerial);
    emit(hookFramework1);

    // Each event applied once: every answer `applied`, and a few bookings CONFIRMED with two history rows.
    const posted = [
      ...paying.slice(0, warmCount + (hookRuns[0] as LoadResult).requests),
      ...paying.slice(warmCount + half, warmCount + half + (hookRuns[1] as LoadResult).requests),
      ...serialBookings.slice(0, hooksSerial.requests),
    ];
    const outcomes: Record<string, number> = {};
    for (const body of [...warmHooks.reply.bodies, ...hookRuns.flatMap((run) => run.reply.bodies), ...hooksSerial.reply.bodies]) {
      const outcome = (JSON.parse(body) as { outcome: string }).outcome;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const checked = [0, Math.floor(posted.length / 3), Math.floor(posted.length / 2), posted.length - 1].map((i) => (posted[i] as (typeof posted)[number]).id);
    let confirmed = 0;
    for (const id of checked) {
      const row = await appTable.getEntity<{ data: string }>(id, 'booking');
      let historyRows = 0;
      for await (const _ of appTable.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${id} and RowKey ge 'history|' and RowKey lt 'history}'` } }))
        historyRows++;
      if ((JSON.parse(row.data) as { status: string }).status === 'CONFIRMED' && historyRows === 2) confirmed++;
    }
    emit({ figure: 'webhook check', eventsPosted: posted.length, ...outcomes, bookingsChecked: checked.length, confirmedWithTwoHistoryRows: confirmed });
    if (outcomes.applied !== posted.length || confirmed !== checked.length) {
      throw new Error(`webhook events were not each applied once: ${JSON.stringify(outcomes)}, ${confirmed}/${checked.length} confirmed`);
    }

    const floorVariants = [
      { sends: 'batch' as const, path: 'floor', serviceBusSends: 'one batch of 3 messages to one queue' },
      { sends: 'perQueue' as const, path: 'floor-3-queues', serviceBusSends: 'one message to each of 3 queues, in parallel (as the app does)' },
    ];
    for (const variant of floorVariants) {
      await directLoad(concurrency, { maxRequests: warmCount }, hookFloorOnce(variant.sends, 0));
      const floor = summarize(
        'webhook',
        variant.path,
        concurrency,
        await directLoad(concurrency, { durationMs: webhookMs, maxRequests: hooks.requests }, hookFloorOnce(variant.sends, warmCount)),
      );
      floor.serviceBusSends = variant.serviceBusSends;
      emit(floor);
      const floor1 = summarize(
        'webhook',
        variant.path,
        1,
        await directLoad(1, { durationMs: SERIAL_MAX_MS, maxRequests: hooksSerial.requests }, hookFloorOnce(variant.sends, warmCount + hooks.requests)),
      );
      floor1.serviceBusSends = variant.serviceBusSends;
      emit(floor1);
      emit(ratio('webhook', hookFramework, floor, variant.path));
      emit(ratio('webhook', hookFramework1, floor1, variant.path));
    }
    // The app's I/O (one message to each queue) behind a bare HTTP server, with the same bodies,
    // measured between the framework's two halves above.
    const httpFloor = summarize('webhook', 'floor-3-queues-http', concurrency, merge(hookHttpFloorRuns));
    httpFloor.serviceBusSends = 'one message to each of 3 queues, in parallel (as the app does), behind a bare HTTP server';
    emit(httpFloor);
    emit(ratio('webhook', hookFramework, httpFloor, 'floor-3-queues-http'));
    return figures;
  } finally {
    await worker.stop().catch(() => undefined);
    for (const sender of senders) await sender.close().catch(() => undefined);
    await serviceBus.close().catch(() => undefined);
    await runtime.stop();
  }
}
