// Cold start: a new process loads the deploy bundle and answers its first `GET /api/health` and its
// first `POST /api/v1/bookings`, next to a floor process that makes the same calls with no framework.
// A benchmark that prints figures, not a test.
//
// Method:
// - Both processes run the way the Functions worker runs an app: `@azure/functions-core` is answered
//   by a stand-in (as tests/support/functions-host.cjs does), the app registers its functions through
//   @azure/functions, and the bench calls the registered HTTP handler with an `HttpRequest`, as the
//   worker does after its gRPC hop (which both sides would pay alike and is left out).
// - The app is dist/index.js as `npm run build` makes it (minified CommonJS, the deploy bundle).
// - The floor is a bare @azure/functions app of two functions, bundled by esbuild with the same
//   options (the SDKs the app loads on first use come from the same dist/sdk/ bundles), whose handlers make the same I/O calls directly with the same SDKs: health's Service Bus
//   peek of a dead-letter queue, Table service properties, the two sync-state reads and the Stripe key
//   check (in parallel, as health does); a booking's rate-limit window read and write, Stripe's
//   customer look-up, creation and naming, its PaymentIntent, and the one entity-group transaction.
//   It loads each SDK when its first call needs it, too. What the floor does not do is what only the
//   framework does: configuration parsing, the function table, validation, the pipeline, creating
//   the tables on an instance's first invocation (already there: an earlier instance made them).
// - The calls reaching Azurite and the Stripe sandbox are counted per process, so a difference in
//   I/O between the two shows in the figures instead of hiding in a ratio.
// - Servers (Azurite, the Service Bus broker, the Stripe sandbox) run in this process and are warm;
//   runs alternate app, floor, app, floor … and the figures are medians. Times are since the process
//   started (performance.now() in the child), so Node's own start-up is in both.
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { startAzurite } from '../local/azurite';
import { ServiceBusBroker } from '../local/servicebus-broker';
import { StripeSandbox } from '../local/stripe-sandbox';
import { QUEUE_NAMES } from '../shared/platform/queues';
import { benchSlot } from './bookings';
import { percentile } from './stats';

const root = resolve(__dirname, '..');
const functionsPath = require.resolve('@azure/functions', { paths: [root] });
const WEBHOOK_SECRET = 'whsec_cold_start';
const SECRET_KEY = 'sk_test_cold_start';

/** Preloaded into both processes: answers `@azure/functions-core` and keeps each registered handler by name. */
export const CORE_STAND_IN = `
const Module = require('node:module');
let model;
const handlers = (globalThis.__coldHandlers = new Map());
const core = {
  registerFunction(metadata, handler) { handlers.set(metadata.name, handler); return { dispose() {} }; },
  setProgrammingModel(m) { model = m; },
  getProgrammingModel: () => model,
  registerHook: () => ({ dispose() {} }),
  log() {},
};
const load = Module._load;
Module._load = function (request, ...rest) { return request === '@azure/functions-core' ? core : load.call(this, request, ...rest); };
`;

/** Loads the entry, then calls health and one booking as the worker would; prints the times since process start. */
const DRIVER = `
const { performance } = require('node:perf_hooks');
const [entry, bookingBody] = process.argv.slice(2);
const started = performance.now();
require(entry);
const loaded = performance.now();
const { HttpRequest, InvocationContext } = require(${JSON.stringify(functionsPath)});
const call = async (name, method, path, body) => {
  const handler = globalThis.__coldHandlers.get(name);
  if (!handler) throw new Error('no function ' + name);
  const request = new HttpRequest({ method, url: 'http://127.0.0.1:7071' + path, headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' }, ...(body ? { body: { string: body } } : {}) });
  const response = await handler(request, new InvocationContext({ invocationId: 'cold', functionName: name, logHandler: () => {} }));
  if (response.status >= 300) throw new Error(name + ' answered ' + response.status + ': ' + (typeof response.body === 'string' ? response.body : JSON.stringify(response.body)));
};
(async () => {
  await call('health', 'GET', '/api/health');
  const health = performance.now();
  await call('bookings-create', 'POST', '/api/v1/bookings', bookingBody);
  const booking = performance.now();
  process.stdout.write('COLD ' + JSON.stringify({ startedMs: started, importMs: loaded - started, healthMs: health, bookingMs: booking }) + '\\n');
  process.exit(0);
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** The floor app: two functions registered with @azure/functions whose handlers call the SDKs directly. */
const FLOOR_APP = `
const { app } = require(${JSON.stringify(functionsPath)});
const env = process.env;
const tableOptions = { allowInsecureConnection: true };
let tables, serviceBus, stripe;
const dataTables = () => (tables ??= require('@azure/data-tables'));
const sdk = () => (stripe ??= new (require('stripe'))(env.STRIPE_SECRET_KEY, { host: '127.0.0.1', port: Number(new URL(env.STRIPE_API_BASE).port), protocol: 'http', maxNetworkRetries: 1 }));
const table = (name) => dataTables().TableClient.fromConnectionString(env.TABLES_CONNECTION, env.TABLE_PREFIX + name, tableOptions);
const notFound = (error) => { if (error.statusCode === 404) return undefined; throw error; };

app.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: async () => {
  serviceBus ??= new (require('@azure/service-bus').ServiceBusClient)(env.SERVICEBUS_CONNECTION);
  const state = table('IntegrationState');
  const [bus, account, odoo, driver, key] = await Promise.all([
    (async () => { const receiver = serviceBus.createReceiver(env.PROBE_QUEUE, { subQueueType: 'deadLetter' }); try { await receiver.peekMessages(1); return true; } finally { await receiver.close(); } })(),
    dataTables().TableServiceClient.fromConnectionString(env.TABLES_CONNECTION, { ...tableOptions, retryOptions: { maxRetries: 0 } }).getProperties().then(() => true),
    state.getEntity('sync', 'odoo').catch(notFound),
    state.getEntity('sync', 'driverApp').catch(notFound),
    fetch(env.STRIPE_API_BASE + '/v1/customers?limit=1', { headers: { authorization: 'Bearer ' + env.STRIPE_SECRET_KEY } }).then(async (r) => { await r.body?.cancel(); return r.ok; }),
  ]);
  return { status: 200, jsonBody: { status: bus && account && key ? 'ok' : 'degraded', lastSync: { odoo: odoo?.lastSyncAt ?? null, driverApp: driver?.lastSyncAt ?? null } } };
} });

app.http('bookings-create', { route: 'v1/bookings', methods: ['POST'], authLevel: 'anonymous', handler: async (request) => {
  const input = JSON.parse(await request.text());
  // The per-address rate limit: read the window, lease from it (create or replace with the ETag).
  const limits = table('RateLimits');
  const key = 'bookings:ip:' + request.headers.get('x-forwarded-for');
  const window = await limits.getEntity(key, '').catch(notFound);
  const entity = { partitionKey: key, rowKey: '', windowEnd: new Date(Date.now() + 60_000), granted: 1 };
  if (window) await limits.updateEntity(entity, 'Replace', { etag: window.etag }); else await limits.createEntity(entity);
  const id = require('node:crypto').randomUUID();
  const email = input.customer.email;
  const found = await sdk().customers.list({ email, limit: 1 });
  const customer = found.data[0] ?? (await sdk().customers.create({ email }, { idempotencyKey: 'customer:' + email }));
  if (!customer.name) await sdk().customers.update(customer.id, { name: input.customer.name, phone: input.customer.phone });
  const intent = await sdk().paymentIntents.create({ amount: 14900, currency: 'eur', customer: customer.id, description: 'Booking ' + id, metadata: { bookingId: id }, automatic_payment_methods: { enabled: true } }, { idempotencyKey: 'booking:' + id + ':payment' });
  const at = new Date().toISOString();
  const booking = { ...input, id, status: 'PENDING_PAYMENT', payment: { status: 'pending', paymentIntentId: intent.id, stripeCustomerId: customer.id }, createdAt: at, updatedAt: at, version: 1 };
  await table('Bookings').submitTransaction([
    ['create', { partitionKey: id, rowKey: 'booking', status: booking.status, data: JSON.stringify(booking), accessTokenHash: 'x'.repeat(64), version: 1 }],
    ['create', { partitionKey: id, rowKey: 'history|00000001|00', to: 'PENDING_PAYMENT', at, cause: 'customer' }],
  ]);
  return { status: 201, jsonBody: { id, payment: { paymentIntentId: intent.id, clientSecret: intent.client_secret } } };
} });
`;

interface ColdRun {
  importMs: number;
  healthMs: number;
  bookingMs: number;
  /** Wall time of the whole process as this bench saw it (spawn to exit). */
  processMs: number;
  calls: Record<string, number>;
}

/** Counts the requests each local server receives (by port), so the bench can print who called what. */
function countRequests(ports: Record<string, number>): { take(): Record<string, number> } {
  const names = new Map(Object.entries(ports).map(([name, port]) => [port, name]));
  let counts: Record<string, number> = {};
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
    if (event === 'request') {
      const server = names.get((this.address() as { port?: number } | null)?.port ?? -1);
      const request = args[0] as http.IncomingMessage;
      if (server) {
        const path = (request.url ?? '').replace(/\?.*/, '').replace(/\(.*\)|\/(cus|pi)_\w+/g, '');
        const key = `${server} ${request.method} ${path}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof emit;
  return {
    take() {
      const taken = counts;
      counts = {};
      return taken;
    },
  };
}

function runOnce(entry: string, env: NodeJS.ProcessEnv, files: { preload: string; driver: string }, body: string): Promise<Omit<ColdRun, 'calls'>> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-r', files.preload, files.driver, entry, body], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('COLD '));
      if (code !== 0 || !line) return fail(new Error(`${entry} exited ${code}: ${err.slice(0, 2000)}`));
      const figures = JSON.parse(line.slice(5)) as { importMs: number; healthMs: number; bookingMs: number };
      done({ ...figures, processMs: performance.now() - started });
    });
  });
}

const round = (value: number) => Number(value.toFixed(1));

/**
 * Medians of `runs` cold starts of the app and of the floor, alternating, with their ratios. `app`
 * names another build of the entry to measure instead of dist/index.js (e.g. one of an earlier commit).
 */
export async function benchColdStart(runs: number, options: { app?: string } = {}): Promise<Array<Record<string, unknown>>> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
  const files = { preload: join(dir, 'core-stand-in.cjs'), driver: join(dir, 'driver.cjs') };
  writeFileSync(files.preload, CORE_STAND_IN);
  writeFileSync(files.driver, DRIVER);
  // The floor is bundled like the app (npm run build's options), so neither loads its SDKs from
  // node_modules, and it loads the same lazy SDK bundles (dist/sdk/) the app does.
  const { lazySdks } = (await import(pathToFileURL(join(root, 'scripts/build.mjs')).href)) as { lazySdks: Plugin };
  const floor = join(root, 'dist', 'cold-start-floor.js');
  await build({
    stdin: { contents: FLOOR_APP, resolveDir: root, loader: 'js' },
    outfile: floor,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    external: ['@azure/functions-core', functionsPath],
    plugins: [lazySdks],
    logLevel: 'warning',
  });

  const [azurite, broker, stripe] = await Promise.all([
    startAzurite({ port: 0 }),
    ServiceBusBroker.start({ port: 0 }),
    StripeSandbox.start({ port: 0, webhookSecret: WEBHOOK_SECRET }),
  ]);
  const counter = countRequests({ tables: Number(new URL(azurite.connectionString.match(/TableEndpoint=([^;]+)/)?.[1] ?? '').port), stripe: stripe.port });
  try {
    stripe.setWebhookUrl(undefined);
    const env = {
      PATH: process.env.PATH ?? '',
      TABLES_CONNECTION: azurite.connectionString,
      SERVICEBUS_CONNECTION: broker.connectionString(),
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: stripe.url,
      TABLE_PREFIX: 'cold',
      PROBE_QUEUE: QUEUE_NAMES[0] as string,
      // Nothing else configured: no Odoo, BTCPay, SMTP, Driver-App or channels, no Application Insights.
      ODOO_SANDBOX: 'off',
      // Every run is a new instance leasing a block of the per-address budget: many runs would spend it.
      BOOKING_RATE_LIMIT_PER_IP: '1000000',
    };
    const address = { street: 'Torstraße 109', zip: '10119', city: 'Berlin' };
    const body = (n: number) =>
      JSON.stringify({
        customer: { name: `Ada Cold ${n}`, email: `cold-${n}-${Date.now()}@example.com`, phone: '+49 171 1234567', language: 'de' },
        vehicle: { brand: 'Volkswagen', model: 'Golf VIII', licensePlate: 'B-OH 1234' },
        serviceType: 'inspection',
        pickup: { address, ...benchSlot() },
        delivery: { address },
      });
    const app = options.app ? resolve(options.app) : join(root, 'dist', 'index.js');
    // One start of each first: the app creates its tables (an earlier instance would have), both warm the servers.
    await runOnce(app, env, files, body(-1));
    await runOnce(floor, env, files, body(-2));
    counter.take();
    const results: Record<'app' | 'floor', ColdRun[]> = { app: [], floor: [] };
    for (let run = 0; run < runs; run++) {
      for (const [name, entry] of [
        ['app', app],
        ['floor', floor],
      ] as const) {
        const figures = await runOnce(entry, env, files, body(run));
        results[name].push({ ...figures, calls: counter.take() });
      }
    }
    const median = (list: ColdRun[], key: 'importMs' | 'healthMs' | 'bookingMs' | 'processMs') =>
      percentile(
        list.map((run) => run[key]).sort((a, b) => a - b),
        50,
      );
    const figure = (name: 'app' | 'floor') => ({
      figure: 'cold start',
      process: name === 'app' ? `${options.app ?? 'dist/index.js'} (framework)` : 'floor (bare @azure/functions app, same SDK calls)',
      runs,
      importMs: round(median(results[name], 'importMs')),
      firstHealthMs: round(median(results[name], 'healthMs')),
      firstBookingMs: round(median(results[name], 'bookingMs')),
      processMs: round(median(results[name], 'processMs')),
      callsPerStart: results[name][0]?.calls ?? {},
    });
    const appFigure = figure('app');
    const floorFigure = figure('floor');
    const ratio = (key: 'importMs' | 'firstHealthMs' | 'firstBookingMs' | 'processMs') => Number((appFigure[key] / floorFigure[key]).toFixed(2));
    return [
      appFigure,
      floorFigure,
      {
        figure: 'cold start',
        ratio: 'app/floor',
        importMs: ratio('importMs'),
        firstHealthMs: ratio('firstHealthMs'),
        firstBookingMs: ratio('firstBookingMs'),
        processMs: ratio('processMs'),
      },
    ];
  } finally {
    await Promise.all([azurite.stop(), broker.stop(), stripe.stop()]);
  }
}
