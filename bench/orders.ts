// The order hub under load through the whole local system (HTTP host -> pipeline -> Idempotency-Key
// step -> zod -> use case -> Azurite), each path next to its raw I/O floor: the same Table Storage
// operations made directly with @azure/data-tables, at the same concurrency, against the same Azurite,
// in the same run. A benchmark that prints figures, not a test.
//
// Figures:
// 1. `POST /api/v1/orders` (fresh Idempotency-Key, externalId and customer e-mail per request) at
//    `concurrency` clients and at 1, next to its floor: idempotency record insert + index claim
//    insert + customer upsert + order transaction (state row + history row) + idempotency record
//    update (Merge with the insert's ETag).
// 2. The cost of the Idempotency-Key step: the same def served twice by the same pipeline
//    (`runtime.composition.pipeline`), once as it is and once as a copy with `idempotent: false`,
//    each on its own local HTTP host (`local/http-host.ts`); plus both in-process (pipeline.handle
//    with synthetic requests) at 1 client, without HTTP in the way.
// 3. `POST /api/v1/webhooks/stripe` with the paid orders' `payment_intent.succeeded` events (signed
//    with the local webhook secret) at `concurrency` clients and at 1, next to its floor: one read of
//    the order row + one transaction (state row, two history rows, event marker); and next to a
//    second floor with what the app's `order.sync` job adds (an outbox row in the transaction, one
//    Service Bus send, the row's delete). Then a check that every event was applied once.
//
// Method (as bench/bookings.ts): closed loop, every phase bounded by a duration and a request count;
// the HTTP load generator runs in a worker thread; the floors, the app and Azurite share the main
// thread, so `mainThreadMsPerRequest` is the throughput limit. In figures 1 and 2 the two paths
// alternate in short segments (ABBA ABBA) because Azurite slows down as its store grows and other
// processes come and go; the webhook paths run one after the other. Every Table Storage request the
// main thread sends is counted (node:http's diagnostics channel): `tableCallsPerRequest`. Each figure
// also says how many cores other processes kept busy meanwhile (`otherProcessesCores`): on a shared
// 2-core machine they take CPU from the app and from the load generator's thread (the floors have no
// such thread), so figures with a high value are not comparable across runs; the main thread's own
// CPU per request (`mainThreadCpuMsPerRequest`, from /proc) is the figure they disturb least.
// Stripe sandbox delivery is off; no queue consumer runs.
import { odata, TableClient, type TransactionAction } from '@azure/data-tables';
import { ServiceBusClient } from '@azure/service-bus';
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import Stripe from 'stripe';
import { startHttpHost } from '../local/http-host';
import { connectionStrings, FREE_PORTS, LOCAL_SECRETS, startLocalRuntime } from '../local/runtime';
import { IDEMPOTENCY_TABLE } from '../shared/adapters/table-storage/idempotency';
import { safeKey } from '../shared/adapters/table-storage/tables';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import type { HttpFunctionDef, HttpRequestData } from '../shared/function-table';
import { customerRef } from '../shared/kernel/customer-ref';
import { idempotencyToken } from '../shared/platform/idempotency';
import { collectGarbage, percentile } from './stats';

export interface BenchOrdersOptions {
  /** Concurrent clients of the loaded phases (default 16). */
  concurrency?: number;
  /** Measured duration of each creation path at `concurrency` (default 6 s, split in two segments). */
  createSeconds?: number;
  /** Measured duration of each Idempotency-Key variant at `concurrency` (default 4 s, split in two segments). */
  idempotencySeconds?: number;
  /** Orders paid for the webhook phases at `concurrency`, warm-up included (default 1500, at most the orders created). */
  webhookEvents?: number;
  /** Called with each figure as soon as it is measured. */
  onFigure?: (figure: Figure) => void;
}

export type Figure = Record<string, string | number | boolean>;

const WARMUP_MS = 1500;
const WEBHOOK_WARMUP = 100;
/** Requests of each concurrency-1 figure (latency without queueing), and their time bound. */
const SERIAL_REQUESTS = 200;
const SERIAL_MAX_MS = 4000;
/** Events posted a second time to show they are applied once. */
const DUPLICATES = 50;
/** Segments of each path in an alternating phase, and their order (0 = the framework / with the step). */
const SEGMENTS = 4;
const ALTERNATION = [0, 1, 1, 0, 0, 1, 1, 0] as const;
const CHANNEL = 'woocommerce';
const ODOO_QUEUE = 'odoo-sync';

// ---- Table Storage calls, counted ---------------------------------------------------------------

/** Counts HTTP requests this thread sends to one port (Azurite): a batch transaction is one. */
function tableCallCounter(port: number): { count: () => number; stop: () => void } {
  let calls = 0;
  const hostHeader = `127.0.0.1:${port}`;
  const onStart = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    if (request.getHeader('host') === hostHeader) calls++;
  };
  diagnostics.subscribe('http.client.request.start', onStart);
  return { count: () => calls, stop: () => diagnostics.unsubscribe('http.client.request.start', onStart) };
}

// ---- closed-loop measurement ---------------------------------------------------------------------

interface LoadResult {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  /** Main-thread event-loop busy time during the phase (ms). */
  mainBusyMs: number;
  /** Process CPU (all threads, user + system) during the phase (ms). */
  cpuMs: number;
  /** CPU of the main thread alone (ms, 10 ms resolution; NaN where /proc is missing): unlike busy time, not inflated when other processes take the core. */
  mainCpuMs: number;
  /** Table Storage requests the main thread sent during the phase. */
  tableCalls: number;
  /** CPU time of other processes on this machine during the phase (ms; NaN where /proc/stat is missing). */
  othersCpuMs: number;
}

interface HttpLoadSpec {
  origin: string;
  path: string;
  concurrency: number;
  durationMs?: number;
  maxRequests: number;
  /** Either one body and header template (`placeholder` replaced by the request number) ... */
  template?: { body: string; headers: Record<string, string>; placeholder: string };
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
  const fill = (text, n) => text.split(spec.template.placeholder).join(String(n));
  const one = (n) => new Promise((resolve) => {
    let body, headers = {};
    if (spec.list) ({ body, headers } = spec.list[n]);
    else {
      body = fill(spec.template.body, n);
      for (const [name, value] of Object.entries(spec.template.headers)) headers[name] = fill(value, n);
    }
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

type Usage = { mainBusyMs: number; cpuMs: number; mainCpuMs: number; tableCalls: number; othersCpuMs: number };

/** CPU time of this process's main thread so far (ms), from /proc/self/task/<pid>/stat; NaN elsewhere. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name: state is field 3, utime 14, stime 15 (clock ticks, USER_HZ 100).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU time of the whole machine so far (ms, all cores), from /proc/stat; NaN elsewhere. */
function machineBusyMs(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy; USER_HZ is 100.
    const busy = fields.slice(0, 8).reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0);
    return busy * 10;
  } catch {
    return Number.NaN;
  }
}

/**
 * Runs `measure` while recording the main thread's busy time, the process CPU, the Table calls and
 * what other processes took: on a shared machine they compete with the app (and the load generator)
 * for cores, which inflates main-thread busy time and latencies alike.
 */
async function withUsage<T>(tableCalls: () => number, measure: () => Promise<T>): Promise<{ value: T } & Usage> {
  collectGarbage();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const calls = tableCalls();
  const machine = machineBusyMs();
  const mainCpu = mainThreadCpuMs();
  const value = await measure();
  const mainCpuMs = mainThreadCpuMs() - mainCpu;
  const busy = performance.eventLoopUtilization(elu);
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return { value, mainBusyMs: busy.active, cpuMs, mainCpuMs, tableCalls: tableCalls() - calls, othersCpuMs: Math.max(0, machineBusyMs() - machine - cpuMs) };
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
    // Main-thread event-loop time per request: app + Azurite (or floor + Azurite); when the main
    // thread is saturated, 1000 / this is the throughput ceiling.
    mainThreadBusyPct: Math.round((100 * result.mainBusyMs) / (result.seconds * 1000)),
    mainThreadMsPerRequest: round(result.mainBusyMs / result.requests, 3),
    // The main thread's own CPU per request: the app's (or the floor's) work plus Azurite's, the
    // figure least disturbed by other processes on the machine.
    mainThreadCpuMsPerRequest: round(result.mainCpuMs / result.requests, 3),
    cpuMsPerRequest: round(result.cpuMs / result.requests, 3),
    tableCallsPerRequest: round(result.tableCalls / result.requests),
    // Cores other processes kept busy meanwhile (of `cpus`): above ~0.3 the figures are disturbed.
    otherProcessesCores: round(result.othersCpuMs / (result.seconds * 1000)),
  };
}

function ratio(figure: string, framework: Figure, floor: Figure, names = 'framework/floor'): Figure {
  const r = (key: string) => round(Number(framework[key]) / Number(floor[key]));
  return {
    figure,
    ratio: names,
    concurrency: framework.concurrency as number,
    requestsPerSecond: r('requestsPerSecond'),
    p50Ms: r('p50Ms'),
    p99Ms: r('p99Ms'),
    mainThreadMsPerRequest: r('mainThreadMsPerRequest'),
    mainThreadCpuMsPerRequest: r('mainThreadCpuMsPerRequest'),
  };
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
    mainCpuMs: sum((run) => run.mainCpuMs),
    tableCalls: sum((run) => run.tableCalls),
    othersCpuMs: sum((run) => run.othersCpuMs),
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

/** Replaces every `from` by its `to`, in order. */
const substitute = (text: string, pairs: Array<[string, string]>) => pairs.reduce((out, [from, to]) => out.split(from).join(to), text);

// ---- request bodies -----------------------------------------------------------------------------

const externalIdOf = (phase: string, n: number | string) => `WC-${phase}-${n}`;
const emailOf = (phase: string, n: number | string) => `kunde-${phase}-${n}@example.de`;
const idempotencyKeyOf = (phase: string, n: number | string) => `bench-${phase}-${n}`;

/** A WooCommerce order of two lines with a fresh externalId and e-mail per request (`n`). */
function orderBody(phase: string, n: number | string): string {
  return JSON.stringify({
    source: CHANNEL,
    externalId: externalIdOf(phase, n),
    currency: 'EUR',
    customer: {
      email: emailOf(phase, n),
      name: 'Karla Kundin',
      phone: '+49 30 1234567',
      address: { street: 'Torstraße 109', zip: '10119', city: 'Berlin', country: 'DE' },
    },
    items: [
      { sku: 'WIPER-01', name: 'Wischerblätter', quantity: 2, unitAmount: 1_995, taxRatePercent: 19 },
      { sku: 'OIL-5W30', name: 'Motoröl 5W-30, 1 l', quantity: 1, unitAmount: 2_490, taxRatePercent: 19 },
    ],
    totalAmount: 6_480,
    metadata: { wooOrderKey: `wc_order_${n}` },
  });
}

// ---- the benchmark ------------------------------------------------------------------------------

export async function benchOrders(options: BenchOrdersOptions = {}): Promise<Figure[]> {
  const concurrency = options.concurrency ?? 16;
  const createMs = (options.createSeconds ?? 6) * 1000;
  const idempotencyMs = (options.idempotencySeconds ?? 4) * 1000;
  const webhookMs = createMs; // each webhook phase also stops at this bound
  const maxRequests = 50_000;
  const figures: Figure[] = [];
  const emit = (figure: Figure) => {
    figure.loadAvg1m = round(loadavg()[0] ?? 0);
    figures.push(figure);
    options.onFigure?.(figure);
  };

  const prefix = 'benchor';
  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    // CHANNELS stays unset: the local runtime sets it (woocommerce,pos,b2b). Without the WooCommerce
    // sandbox the woocommerce channel keeps its Standard Webhooks callbacks, which the figures count.
    env: { RATE_LIMIT_PER_KEY: '1000000000', TABLE_PREFIX: prefix, WOOCOMMERCE_SANDBOX: 'off' },
    timers: false,
    log: consoleLogger({ silent: true }),
    queueConsumers: false,
  });
  const worker = new LoadWorker();
  const hosts: Array<{ stop(): Promise<void> }> = [];
  const connection = connectionStrings(runtime.config).tables;
  const azuritePort = Number(/TableEndpoint=https?:\/\/[^:/]+:(\d+)/.exec(connection)?.[1]);
  const counter = tableCallCounter(azuritePort);
  const serviceBus = new ServiceBusClient(connectionStrings(runtime.config).serviceBus);
  try {
    if (!runtime.stripe) throw new Error('the bench needs the Stripe sandbox (unset STRIPE_SECRET_KEY / STRIPE_API_BASE)');
    const apiKey = runtime.apiKeys.orders;
    if (!apiKey) throw new Error('the bench needs the generated `orders` API key (unset API_KEYS)');
    runtime.stripe.setWebhookUrl(undefined);
    emit({
      figure: 'setup',
      cpus: availableParallelism(),
      node: process.version,
      concurrency,
      channels: runtime.config.orders.channels.join(','),
      loadGenerator: 'worker thread, node:http keep-alive',
    });
    const stripe = new Stripe(LOCAL_SECRETS.stripeSecretKey, {
      host: '127.0.0.1',
      port: runtime.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 1,
      timeout: 10_000,
    });
    const tableOptions = { allowInsecureConnection: true };
    const table = (name: string) => TableClient.fromConnectionString(connection, `${prefix}${name}`, tableOptions);
    const appOrders = table('Orders');
    const appCustomers = table('Customers');
    const appIdempotency = table(IDEMPOTENCY_TABLE);
    const floor = { idempotency: table('FloorIdempotency'), index: table('FloorOrderIndex'), customers: table('FloorCustomers'), orders: table('FloorOrders') };
    for (const client of Object.values(floor)) await client.createTable();
    const origin = new URL(runtime.url).origin;
    const authorization = `Bearer ${apiKey}`;

    const httpLoad = async (spec: HttpLoadSpec): Promise<LoadResult & { reply: HttpLoadReply }> => {
      const { value: reply, ...usage } = await withUsage(counter.count, () => worker.run(spec));
      const bad = Object.entries(reply.statuses).filter(([status]) => !status.startsWith('2'));
      if (reply.errors > 0 || bad.length > 0) {
        const sample = reply.bodies.find((body) => !body.includes('"id"') && !body.includes('"received"'));
        throw new Error(
          `${spec.path}: ${reply.errors} network errors (${reply.lastError ?? '-'}), statuses ${JSON.stringify(reply.statuses)}; e.g. ${sample ?? ''}`,
        );
      }
      return { requests: reply.latenciesMs.length, seconds: reply.seconds, latenciesMs: reply.latenciesMs, ...usage, reply };
    };
    /** The same closed loop on this thread around a direct operation (the floors, in-process calls). */
    const directLoad = async (clients: number, bound: { durationMs?: number; maxRequests: number }, operation: (n: number) => Promise<void>) => {
      const latenciesMs: number[] = [];
      let next = 0;
      const { value: seconds, ...usage } = await withUsage(counter.count, async () => {
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
        await Promise.all(Array.from({ length: clients }, client));
        return (performance.now() - started) / 1000;
      });
      return { requests: latenciesMs.length, seconds, latenciesMs, ...usage } satisfies LoadResult;
    };

    // ---- 1. POST /api/v1/orders ------------------------------------------------------------------
    const N = '__N__';
    const createPath = '/api/v1/orders';
    const createLoad = (phase: string, clients: number, bound: { durationMs?: number; maxRequests: number }, at = origin) =>
      httpLoad({
        origin: at,
        path: createPath,
        concurrency: clients,
        ...bound,
        template: { body: orderBody(phase, N), headers: { authorization, 'idempotency-key': idempotencyKeyOf(phase, N) }, placeholder: N },
      });
    const createdIds = (bodies: string[]) => bodies.map((body) => (JSON.parse(body) as { id: string }).id);

    await createLoad('warm', concurrency, { durationMs: WARMUP_MS, maxRequests });
    // The rows as the app wrote them for one order: the floor writes rows of the same shape and size.
    const firstReply = await createLoad('first', 1, { maxRequests: 1 });
    const firstId = createdIds(firstReply.reply.bodies)[0] as string;
    const firstEmail = emailOf('first', 0);
    const firstCustomerId = customerRef(firstEmail);
    const firstToken = idempotencyToken({ principal: 'apiKey:local-orders', method: 'POST', path: 'v1/orders' }, idempotencyKeyOf('first', 0));
    const orderRow = await appOrders.getEntity<Record<string, unknown>>(safeKey(firstId), 'order');
    const customerRow = await appCustomers.getEntity<Record<string, unknown>>(safeKey(firstCustomerId), 'customer');
    const idempotencyRow = await appIdempotency.getEntity<Record<string, unknown>>(safeKey(firstToken), '');
    const historyRow = await appOrders.getEntity<Record<string, unknown>>(safeKey(firstId), 'history|00000001|00');
    const firstPairs = [firstId, externalIdOf('first', 0), firstEmail, firstCustomerId];
    const rowsFor = (id: string, externalId: string, email: string, customerId: string) => {
      const pairs = firstPairs.map((from, i) => [from, [id, externalId, email, customerId][i] as string] as [string, string]);
      return {
        order: substitute(String(orderRow.data), pairs),
        customer: substitute(String(customerRow.data), pairs),
        response: substitute(String(idempotencyRow.response), pairs),
      };
    };

    // ---- 1b. creation floor ------------------------------------------------------------------------
    const floorOrders: Array<{ id: string; externalId: string }> = [];
    const createFloorOnce = (phase: string) => async (n: number) => {
      const id = `ord_${randomUUID().replaceAll('-', '')}`;
      const externalId = externalIdOf(phase, n);
      const email = emailOf(phase, n);
      const customerId = customerRef(email);
      const rows = rowsFor(id, externalId, email, customerId);
      const token = randomUUID().replaceAll('-', '');
      const now = new Date();
      const claim = await floor.idempotency.createEntity({ partitionKey: token, rowKey: '', fingerprint: token, state: 'in-flight', lockedAt: now });
      await floor.index.createEntity({ partitionKey: safeKey(`source|${CHANNEL}|${externalId}`), rowKey: '', orderId: id, claimedAt: now });
      await floor.customers.upsertEntity({ partitionKey: safeKey(customerId), rowKey: 'customer', email, version: 1, data: rows.customer }, 'Replace');
      await floor.orders.submitTransaction([
        ['create', { partitionKey: id, rowKey: 'order', status: 'pending', source: CHANNEL, externalId, version: 1, data: rows.order }],
        [
          'create',
          {
            partitionKey: id,
            rowKey: 'history|00000001|00',
            machine: 'order',
            subject: id,
            to: 'pending',
            at: now.toISOString(),
            cause: historyRow.cause as string,
          },
        ],
      ]);
      await floor.idempotency.updateEntity({ partitionKey: token, rowKey: '', state: 'completed', completedAt: new Date(), response: rows.response }, 'Merge', {
        etag: claim.etag as string,
      });
      floorOrders.push({ id, externalId });
    };
    await directLoad(concurrency, { durationMs: WARMUP_MS, maxRequests }, createFloorOnce('floorwarm'));

    // Framework and floor alternate in short segments (ABBA ABBA): other processes on a shared
    // machine and Azurite's growing store then weigh on both paths alike.
    const segment = { durationMs: createMs / SEGMENTS, maxRequests };
    const frameworkRuns: Array<LoadResult & { reply: HttpLoadReply }> = [];
    const floorRuns: LoadResult[] = [];
    for (const [i, path] of ALTERNATION.entries()) {
      if (path === 0) frameworkRuns.push(await createLoad(`bench${i}`, concurrency, segment));
      else floorRuns.push(await directLoad(concurrency, segment, createFloorOnce(`floor${i}`)));
    }
    const createFramework = summarize('create', 'framework', concurrency, merge(frameworkRuns));
    emit(createFramework);
    const createFloor = summarize('create', 'floor', concurrency, merge(floorRuns));
    emit(createFloor);
    emit(ratio('create', createFramework, createFloor));

    const serial = { durationMs: SERIAL_MAX_MS / SEGMENTS, maxRequests: SERIAL_REQUESTS / SEGMENTS };
    const serialRunsCreate: Array<LoadResult & { reply: HttpLoadReply }> = [];
    const serialFloorRuns: LoadResult[] = [];
    for (const [i, path] of ALTERNATION.entries()) {
      if (path === 0) serialRunsCreate.push(await createLoad(`serial${i}`, 1, serial));
      else serialFloorRuns.push(await directLoad(1, serial, createFloorOnce(`floorserial${i}`)));
    }
    const createFramework1 = summarize('create', 'framework', 1, merge(serialRunsCreate));
    emit(createFramework1);
    const createFloor1 = summarize('create', 'floor', 1, merge(serialFloorRuns));
    emit(createFloor1);
    emit(ratio('create', createFramework1, createFloor1));
    const orders = frameworkRuns.flatMap((run) => createdIds(run.reply.bodies));
    const serialOrders = serialRunsCreate.flatMap((run) => createdIds(run.reply.bodies));

    // ---- 2. the Idempotency-Key step: with it and without it, same pipeline --------------------------
    const createDef = runtime.composition.functions.find((def): def is HttpFunctionDef => def.kind === 'http' && def.name === 'orders-create');
    if (!createDef?.idempotent) throw new Error('orders-create is not an idempotent http def');
    const variants = [
      { path: 'with-key-step', def: createDef },
      { path: 'without-key-step', def: { ...createDef, idempotent: false } satisfies HttpFunctionDef },
    ];
    const served = await Promise.all(
      variants.map((variant) =>
        startHttpHost({ port: 0, functions: [variant.def], pipeline: runtime.composition.pipeline, log: runtime.composition.services.log }),
      ),
    );
    hosts.push(...served);
    const variantOrigin = served.map((host) => new URL(host.url).origin);
    const idemSegment = { durationMs: idempotencyMs / SEGMENTS, maxRequests };
    const loaded: LoadResult[][] = [[], []];
    const serialRuns: LoadResult[][] = [[], []];
    const inProcessRuns: LoadResult[][] = [[], []];
    await createLoad('idemwarm0', concurrency, { durationMs: WARMUP_MS / 2, maxRequests }, variantOrigin[0]);
    await createLoad('idemwarm1', concurrency, { durationMs: WARMUP_MS / 2, maxRequests }, variantOrigin[1]);
    /** One synthetic request as the local host would hand it to the pipeline. */
    const request = (phase: string, n: number): HttpRequestData => ({
      method: 'POST',
      url: 'v1/orders',
      params: {},
      query: new URLSearchParams(),
      headers: { authorization, 'content-type': 'application/json', 'idempotency-key': idempotencyKeyOf(phase, n) },
      rawBody: Buffer.from(orderBody(phase, n)),
      clientIp: '127.0.0.1',
    });
    const inProcess = (v: number, phase: string) => async (n: number) => {
      const response = await runtime.composition.pipeline.handle((variants[v] as (typeof variants)[number]).def, request(phase, n));
      if (response.status !== 201) throw new Error(`in-process orders-create answered ${response.status}: ${JSON.stringify(response.body)}`);
    };
    const serialSegment = { durationMs: SERIAL_MAX_MS / SEGMENTS, maxRequests: SERIAL_REQUESTS / SEGMENTS };
    for (const [segmentNo, v] of ALTERNATION.entries()) {
      (loaded[v] as LoadResult[]).push(await createLoad(`idem${v}-${segmentNo}`, concurrency, idemSegment, variantOrigin[v]));
    }
    for (const [segmentNo, v] of ALTERNATION.entries()) {
      (serialRuns[v] as LoadResult[]).push(await createLoad(`idems${v}-${segmentNo}`, 1, serialSegment, variantOrigin[v]));
    }
    for (const [segmentNo, v] of ALTERNATION.entries()) {
      (inProcessRuns[v] as LoadResult[]).push(await directLoad(1, serialSegment, inProcess(v, `idemp${v}-${segmentNo}`)));
    }
    const idem = variants.map((variant, v) => ({
      loaded: summarize('idempotency', variant.path, concurrency, merge(loaded[v] as LoadResult[])),
      serial: summarize('idempotency', variant.path, 1, merge(serialRuns[v] as LoadResult[])),
      inProcess: { ...summarize('idempotency', `${variant.path} in-process`, 1, merge(inProcessRuns[v] as LoadResult[])), transport: 'pipeline.handle' },
    }));
    for (const variant of idem) {
      emit(variant.loaded);
      emit(variant.serial);
      emit(variant.inProcess);
    }
    const [withStep, withoutStep] = idem as [(typeof idem)[number], (typeof idem)[number]];
    const added = (a: Figure, b: Figure, key: string) => round(Number(a[key]) - Number(b[key]), 3);
    emit({
      figure: 'idempotency cost',
      addedP50MsHttp1: added(withStep.serial, withoutStep.serial, 'p50Ms'),
      addedP50MsInProcess1: added(withStep.inProcess, withoutStep.inProcess, 'p50Ms'),
      // At `concurrency` clients p50 is mostly queueing: the step's cost there is main-thread time.
      [`addedMainThreadMsPerRequest${concurrency}`]: added(withStep.loaded, withoutStep.loaded, 'mainThreadMsPerRequest'),
      [`addedMainThreadCpuMsPerRequest${concurrency}`]: added(withStep.loaded, withoutStep.loaded, 'mainThreadCpuMsPerRequest'),
      addedMainThreadCpuMsPerRequestInProcess1: added(withStep.inProcess, withoutStep.inProcess, 'mainThreadCpuMsPerRequest'),
      addedTableCallsPerRequest: added(withStep.loaded, withoutStep.loaded, 'tableCallsPerRequest'),
      [`requestsPerSecondRatio${concurrency}`]: round(Number(withStep.loaded.requestsPerSecond) / Number(withoutStep.loaded.requestsPerSecond)),
    });

    // ---- 3. POST /api/v1/webhooks/stripe ------------------------------------------------------------
    // Open a Stripe payment for each order (through the API, not measured), pay it in the sandbox
    // (delivery off), then fetch the payment_intent.succeeded events.
    const setupStarted = performance.now();
    const M = Math.min(options.webhookEvents ?? 1500, orders.length);
    const paying = [...orders.slice(0, M), ...serialOrders];
    const payments = await httpLoad({
      origin,
      path: '/api/v1/payments',
      concurrency,
      maxRequests: paying.length,
      list: paying.map((orderId) => ({
        body: JSON.stringify({ orderId, provider: 'stripe' }),
        headers: { authorization, 'idempotency-key': `pay-${orderId}` },
      })),
    });
    const intentOf = new Map<string, string>();
    for (const body of payments.reply.bodies) {
      const payment = JSON.parse(body) as { orderId: string; providerRef: string };
      intentOf.set(payment.orderId, payment.providerRef);
    }
    const intentFor = (orderId: string) => intentOf.get(orderId) as string;
    // The order as the webhook finds it (a pending payment): the floor reads and writes rows of this size.
    const pendingRow = await appOrders.getEntity<Record<string, unknown>>(safeKey(paying[0] as string), 'order');
    await forEachConcurrently(paying.length, concurrency, async (i) => {
      await stripe.paymentIntents.confirm(intentFor(paying[i] as string), { payment_method: 'pm_card_visa' });
    });
    const wanted = new Set(paying.map(intentFor));
    const events = new Map<string, Stripe.Event>();
    for await (const event of stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 })) {
      const intentId = (event.data.object as { id: string }).id;
      if (wanted.has(intentId)) events.set(intentId, event);
      if (events.size === wanted.size) break;
    }
    if (events.size !== wanted.size) throw new Error(`expected ${wanted.size} payment_intent.succeeded events, found ${events.size}`);
    emit({ figure: 'webhook setup', ordersPaid: paying.length, seconds: round((performance.now() - setupStarted) / 1000) });

    // Signed just before each phase (the app refuses signatures older than 300 s).
    const sign = (list: string[]) =>
      list.map((orderId) => {
        // Pretty-printed, as the sandbox (and Stripe) deliver it.
        const payload = JSON.stringify(events.get(intentFor(orderId)), null, 2);
        const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: LOCAL_SECRETS.stripeWebhookSecret });
        return { body: payload, headers: { 'stripe-signature': signature } };
      });
    const hookPath = '/api/v1/webhooks/stripe';
    const warmCount = Math.min(WEBHOOK_WARMUP, Math.floor(M / 2));
    const warmHooks = await httpLoad({ origin, path: hookPath, concurrency, maxRequests: warmCount, list: sign(paying.slice(0, warmCount)) });
    const measuredHooks = sign(paying.slice(warmCount, M));
    const hooks = await httpLoad({ origin, path: hookPath, concurrency, durationMs: webhookMs, maxRequests: measuredHooks.length, list: measuredHooks });
    const hookFramework = summarize('webhook', 'framework', concurrency, hooks);
    emit(hookFramework);
    const hooksSerial = await httpLoad({
      origin,
      path: hookPath,
      concurrency: 1,
      durationMs: SERIAL_MAX_MS,
      maxRequests: serialOrders.length,
      list: sign(serialOrders),
    });
    const hookFramework1 = summarize('webhook', 'framework', 1, hooksSerial);
    emit(hookFramework1);
    const posted = [...paying.slice(0, warmCount + hooks.requests), ...serialOrders.slice(0, hooksSerial.requests)];
    // A second delivery of some events: each must answer `duplicate` and change nothing.
    const again = await httpLoad({ origin, path: hookPath, concurrency, maxRequests: DUPLICATES, list: sign(posted.slice(0, DUPLICATES)) });

    // Each event applied once: every first delivery `applied`, every repeat `duplicate`; every order
    // paid with its payment succeeded, one history row per machine transition, one event marker.
    const outcomes: Record<string, number> = {};
    for (const body of [...warmHooks.reply.bodies, ...hooks.reply.bodies, ...hooksSerial.reply.bodies]) {
      const outcome = (JSON.parse(body) as { outcome: string }).outcome;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const repeats: Record<string, number> = {};
    for (const body of again.reply.bodies) {
      const outcome = (JSON.parse(body) as { outcome: string }).outcome;
      repeats[outcome] = (repeats[outcome] ?? 0) + 1;
    }
    const expectedHistory = ['order null->pending', 'payment null->pending', 'payment pending->succeeded', 'order pending->paid'].sort().join(',');
    let good = 0;
    let outboxLeft = 0;
    const bad: string[] = [];
    await forEachConcurrently(posted.length, concurrency, async (i) => {
      const id = posted[i] as string;
      const history: string[] = [];
      let markers = 0;
      let outboxRows = 0;
      let status = '';
      let paymentStatus = '';
      for await (const row of appOrders.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${safeKey(id)}` } })) {
        const rowKey = row.rowKey as string;
        if (rowKey.startsWith('history|')) history.push(`${row.machine} ${row.from ?? null}->${row.to}`);
        else if (rowKey.startsWith('event|')) markers++;
        else if (rowKey.startsWith('~outbox|')) outboxRows++;
        else if (rowKey === 'order') {
          const order = JSON.parse(String(row.data)) as { status: string; payments: Array<{ status: string }> };
          status = order.status;
          paymentStatus = order.payments.map((payment) => payment.status).join(',');
        }
      }
      const ok = status === 'paid' && paymentStatus === 'succeeded' && markers === 1 && history.sort().join(',') === expectedHistory;
      outboxLeft += outboxRows;
      if (ok) good++;
      else if (bad.length < 3) bad.push(`${id}: ${status}/${paymentStatus}, ${markers} markers, history ${history.join(',')}`);
    });
    emit({
      figure: 'webhook check',
      eventsPosted: posted.length,
      ...outcomes,
      repeatsPosted: again.requests,
      ...Object.fromEntries(Object.entries(repeats).map(([outcome, count]) => [`repeats_${outcome}`, count])),
      ordersChecked: posted.length,
      paidWithFourHistoryRowsAndOneMarker: good,
      // order.sync jobs whose relay after the commit failed wait for the timer as outbox rows.
      outboxRowsLeft: outboxLeft,
    });
    if (outcomes.applied !== posted.length || repeats.duplicate !== again.requests || good !== posted.length) {
      throw new Error(`webhook events were not each applied once: ${JSON.stringify({ outcomes, repeats, good, bad })}`);
    }

    // ---- 3b. webhook floors: one read + one transaction (state row, two history rows, event marker) ----
    const paidRow = await appOrders.getEntity<Record<string, unknown>>(safeKey(posted[0] as string), 'order');
    const templateId = posted[0] as string;
    const templateExternalId = String(paidRow.externalId);
    const floorCount = floorOrders.length;
    // The floor orders as the webhook finds them: the app's order with its pending payment, ids substituted.
    await forEachConcurrently(floorCount, concurrency, async (i) => {
      const { id, externalId } = floorOrders[i] as (typeof floorOrders)[number];
      const pending = substitute(String(pendingRow.data), [
        [paying[0] as string, id],
        [String(pendingRow.externalId), externalId],
      ]);
      await floor.orders.updateEntity({ partitionKey: id, rowKey: 'order', status: 'pending', source: CHANNEL, version: 3, data: pending }, 'Merge');
    });
    // The app also commits an `order.sync` job when money comes in: an outbox row in the same
    // transaction, one Service Bus send to odoo-sync after the commit, then the row's delete.
    const odooSender = serviceBus.createSender(ODOO_QUEUE);
    /** One webhook's I/O on a floor order; `outbox` adds what the app's order.sync job costs. */
    const hookFloorOnce = (outbox: boolean, offset: number) => async (n: number) => {
      const { id } = floorOrders[(offset + n) % floorCount] as (typeof floorOrders)[number];
      const row = await floor.orders.getEntity<{ version: number; externalId: string; data: string }>(id, 'order');
      const version = row.version + 1;
      const at = new Date().toISOString();
      const eventId = `evt_floor_${outbox ? 'outbox' : 'plain'}_${offset + n}_${version}`;
      const historyRow = (index: number, machine: string, subject: string, from: string, to: string): TransactionAction => [
        'create',
        { partitionKey: id, rowKey: `history|${String(version).padStart(8, '0')}|0${index}`, machine, subject, from, to, at, cause: `stripe:${eventId}` },
      ];
      const data = substitute(String(paidRow.data), [
        [templateId, id],
        [templateExternalId, row.externalId],
      ]);
      const actions: TransactionAction[] = [
        [
          'update',
          { partitionKey: id, rowKey: 'order', status: 'paid', source: CHANNEL, externalId: row.externalId, version, data },
          'Replace',
          { etag: row.etag },
        ],
        historyRow(0, 'payment', `pay_${id.slice(4)}`, 'pending', 'succeeded'),
        historyRow(1, 'order', id, 'pending', 'paid'),
        ['create', { partitionKey: id, rowKey: `event|stripe:${eventId}`, appliedAt: at }],
      ];
      if (!outbox) {
        await floor.orders.submitTransaction(actions);
        return;
      }
      const envelope = {
        id: `odoo:${id}:v${version}`,
        type: 'order.sync',
        subject: id,
        attempt: 1,
        correlation: { operationId: randomUUID().replaceAll('-', '') },
        payload: { orderId: id, reason: 'payment_intent.succeeded' },
        errors: [],
        createdAt: at,
      };
      const outboxKey = `~outbox|${ODOO_QUEUE}|${envelope.id}`;
      actions.push([
        'upsert',
        { partitionKey: id, rowKey: outboxKey, queue: ODOO_QUEUE, envelope: JSON.stringify(envelope), storedAt: new Date(at) },
        'Replace',
      ]);
      await floor.orders.submitTransaction(actions);
      await odooSender.sendMessages([
        {
          messageId: randomUUID(),
          body: envelope,
          contentType: 'application/json',
          subject: envelope.type,
          correlationId: envelope.correlation.operationId,
          applicationProperties: { jobType: envelope.type, jobSubject: envelope.subject, attempt: 1 },
        },
      ]);
      await floor.orders.deleteEntity(id, outboxKey);
    };
    const floorVariants = [
      { outbox: false, path: 'floor', io: 'read + transaction (state row, 2 history rows, event marker)' },
      {
        outbox: true,
        path: 'floor+outbox',
        io: 'read + transaction (state row, 2 history rows, event marker, outbox row) + Service Bus send + outbox row delete (as the app does since order.sync)',
      },
    ];
    let offset = 0;
    for (const variant of floorVariants) {
      await directLoad(concurrency, { maxRequests: warmCount }, hookFloorOnce(variant.outbox, offset));
      offset += warmCount;
      const loadedFloor = await directLoad(concurrency, { durationMs: webhookMs, maxRequests: hooks.requests }, hookFloorOnce(variant.outbox, offset));
      offset += loadedFloor.requests;
      const hookFloor = { ...summarize('webhook', variant.path, concurrency, loadedFloor), io: variant.io };
      emit(hookFloor);
      const serialFloor = await directLoad(1, { durationMs: SERIAL_MAX_MS, maxRequests: hooksSerial.requests }, hookFloorOnce(variant.outbox, offset));
      offset += serialFloor.requests;
      const hookFloor1 = { ...summarize('webhook', variant.path, 1, serialFloor), io: variant.io };
      emit(hookFloor1);
      emit(ratio('webhook', hookFramework, hookFloor, `framework/${variant.path}`));
      emit(ratio('webhook', hookFramework1, hookFloor1, `framework/${variant.path}`));
    }
    return figures;
  } finally {
    counter.stop();
    await worker.stop().catch(() => undefined);
    for (const host of hosts) await host.stop().catch(() => undefined);
    await serviceBus.close().catch(() => undefined);
    await runtime.stop();
  }
}
