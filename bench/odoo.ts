// The Odoo sync through the whole local system: bookings created over HTTP and paid in the Stripe
// sandbox with the real stripe SDK, their `booking.sync` jobs held back, then released at once to
// the odoo-sync worker talking to the Odoo sandbox over each of Odoo's APIs in turn (ODOO_API=xmlrpc,
// then json2; one runtime each). A benchmark that prints figures, not a test.
//
// Figures (one JSON line each, `api` naming the transport):
// - `calls`: requests the sandbox received (XML-RPC execute_kw + authenticate, or JSON-2 calls) for one
//   first sync of a new customer (the worker's first: over XML-RPC its login, and the one look-up of the
//   currency included), a repeat (nothing to do), a first sync of a returning customer (partner found),
//   and the sync of a cancellation after payment (a credit note, posted, and the refund paid out against it).
// - `throughput` per worker concurrency (QUEUE_CONCURRENCY): bookings synced per second with the
//   sandbox answering each call after `latencyMs`, from the release of all jobs until the worker has
//   finished every sync (counted from its log line; the processed-job marks are checked after);
//   every booking a new customer, so each sync is a full first sync. `mainThreadBusy`: the app,
//   the sandboxes, Azurite and the broker share one thread, and the Odoo sandbox's reads get slower
//   as its store grows, so larger runs show fewer bookings per second.
import { odata } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Stripe from 'stripe';
import { ODOO_APIS, type OdooApi } from '../shared/adapters/odoo/odoo-transport';
import type { Logger } from '../shared/platform/log';
import { newEnvelope, type JobSender, type OutgoingJob } from '../shared/platform/jobs';
import { FREE_PORTS, LOCAL_SECRETS, type LocalRuntime, startLocalRuntime } from '../local/runtime';

const QUEUE = 'odoo-sync';

export interface BenchOdooOptions {
  /** Odoo APIs to measure, each with a runtime of its own (default both: xmlrpc, json2). */
  apis?: readonly OdooApi[];
  /** Worker concurrencies to measure (default 1 and 16). */
  concurrencies?: number[];
  /** Sandbox latency per call, either API (default 50 ms). */
  latencyMs?: number;
  /** Bookings synced per concurrency (default max(16, 10 × concurrency)). */
  bookings?: (concurrency: number) => number;
  /** Called with each figure; default prints `odoo <json>`. */
  onFigure?: (figure: Record<string, string | number>) => void;
}

/** Holds back odoo-sync jobs (the outbox considers them sent) until released; passes the rest on. */
class HoldingSender implements JobSender {
  held: OutgoingJob[] = [];
  constructor(private readonly inner: JobSender) {}

  async send(jobs: OutgoingJob[]): Promise<void> {
    this.held.push(...jobs.filter((job) => job.queue === QUEUE));
    const rest = jobs.filter((job) => job.queue !== QUEUE);
    if (rest.length > 0) await this.inner.send(rest);
  }

  /** Sends every held job, in batches of 50 as a burst of commits would. */
  async release(): Promise<number> {
    const jobs = this.held;
    this.held = [];
    for (let i = 0; i < jobs.length; i += 50) await this.inner.send(jobs.slice(i, i + 50));
    return jobs.length;
  }
}

function slotTomorrow(): { slotStart: string; slotEnd: string } {
  const day = new Date(Date.now() + 24 * 3600_000);
  if (day.getUTCDay() === 0) day.setUTCDate(day.getUTCDate() + 1);
  const date = day.toISOString().slice(0, 10);
  // 10:00-12:00 UTC is within the default opening hours in Berlin, summer or winter.
  return { slotStart: `${date}T10:00:00Z`, slotEnd: `${date}T12:00:00Z` };
}

async function bookAndPay(
  runtime: LocalRuntime,
  stripe: Stripe,
  email = `bench.${randomUUID().slice(0, 12)}@example.de`,
): Promise<{ id: string; accessToken: string }> {
  const response = await fetch(`${runtime.url}/v1/bookings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customer: { name: 'Erika Mustermann', email, phone: '+49 171 1234567' },
      vehicle: { brand: 'VW', model: 'Golf' },
      serviceType: 'inspection',
      pickup: { address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' }, ...slotTomorrow() },
    }),
  });
  if (response.status !== 201) throw new Error(`booking not created: ${response.status} ${await response.text()}`);
  const booking = (await response.json()) as { id: string; accessToken: string; payment: { paymentIntentId: string } };
  await stripe.paymentIntents.confirm(booking.payment.paymentIntentId, { payment_method: 'pm_card_visa' });
  return { id: booking.id, accessToken: booking.accessToken };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`bench odoo: ${what} (after ${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A silent logger that counts finished syncs (the handler logs one line per sync it ran to the end). */
function countingLogger(): Logger & { synced: number } {
  const logger = {
    synced: 0,
    info: (message: string) => {
      if (message.startsWith('odoo sync')) logger.synced += 1;
    },
    warn: (message: string) => {
      if (message.startsWith('odoo sync needs a look')) logger.synced += 1;
    },
    error: () => undefined,
  };
  return logger;
}

async function start(
  api: OdooApi,
  concurrency: number,
): Promise<{ runtime: LocalRuntime; holding: HoldingSender; stripe: Stripe; log: ReturnType<typeof countingLogger> }> {
  let holding: HoldingSender | undefined;
  const log = countingLogger();
  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    env: {
      QUEUE_CONCURRENCY: String(concurrency),
      ODOO_API: api,
      TABLE_PREFIX: `benchodoo${api}${concurrency}`,
      DRIVER_APP_MANUAL: 'true',
      RATE_LIMIT_PER_KEY: '1000000',
      BOOKING_RATE_LIMIT_PER_IP: '1000000',
    },
    timers: false,
    log,
    stripeRetryDelaysMs: [50, 100],
    wrapSender: (sender) => (holding = new HoldingSender(sender)),
  });
  if (!runtime.odoo || !runtime.stripe || !holding) throw new Error('bench odoo: the runtime runs no Odoo or Stripe sandbox');
  const stripe = new Stripe(LOCAL_SECRETS.stripeSecretKey, { host: '127.0.0.1', port: runtime.stripe.port, protocol: 'http', maxNetworkRetries: 0 });
  return { runtime, holding, stripe, log };
}

/** Jobs of odoo-sync marked processed. */
async function processedSyncs(runtime: LocalRuntime): Promise<number> {
  let count = 0;
  const rows = runtime.composition.services.tables
    .client('ProcessedJobs')
    .listEntities({ queryOptions: { filter: odata`type eq 'booking.sync'`, select: ['PartitionKey'] } });
  for await (const _ of rows) count += 1;
  return count;
}

/** Calls per sync (no latency): first sync of a new and of a returning customer, and a repeat. */
async function measureCalls(api: OdooApi): Promise<Record<string, string | number>> {
  const { runtime, holding, stripe } = await start(api, 1);
  const odoo = runtime.odoo as NonNullable<LocalRuntime['odoo']>;
  try {
    let done = 0;
    /** Releases the held job(s), waits until processed, returns the calls made meanwhile. */
    const sync = async () => {
      const before = odoo.calls();
      done += await holding.release();
      await until(async () => (await processedSyncs(runtime)) >= done, 10_000, 'sync not processed');
      return odoo.calls() - before;
    };
    const email = `bench.${randomUUID().slice(0, 12)}@example.de`;
    const first = await bookAndPay(runtime, stripe, email);
    await until(() => holding.held.length === 1, 10_000, 'sync job not queued');
    const firstSync = await sync();
    const repeat = newEnvelope(
      { queue: QUEUE, type: 'booking.sync', subject: first.id, payload: { bookingId: first.id, reason: 'bench repeat' } },
      new Date(),
      randomUUID,
    );
    await runtime.composition.services.sender.send([{ queue: QUEUE, envelope: repeat }]);
    const repeatSync = await sync();
    await bookAndPay(runtime, stripe, email);
    await until(() => holding.held.length === 1, 10_000, 'sync job not queued');
    const returningCustomer = await sync();
    // The first booking cancelled after payment: refunded at once, one sync job for the credit note and the refund.
    const cancelled = await fetch(`${runtime.url}/v1/bookings/${first.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.accessToken}` },
    });
    if (cancelled.status !== 200) throw new Error(`booking not cancelled: ${cancelled.status} ${await cancelled.text()}`);
    await until(() => holding.held.length >= 1, 10_000, 'cancellation sync job not queued');
    const cancellationJobs = holding.held.length;
    const cancellationWithRefund = await sync();
    const notes = odoo.records('account.move').filter((move) => move.move_type === 'out_refund' && move.invoice_origin === `credit:${first.id}`);
    if (notes.length !== 1 || notes[0]?.state !== 'posted' || notes[0]?.amount_residual !== 0)
      throw new Error('bench odoo: the cancellation left no refunded credit note');
    return {
      figure: 'calls',
      api,
      firstSyncNewCustomer: firstSync,
      firstSyncReturningCustomer: returningCustomer,
      repeatSync,
      cancellationWithRefund,
      cancellationJobs,
    };
  } finally {
    await runtime.stop();
  }
}

async function measureThroughput(api: OdooApi, concurrency: number, bookings: number, latencyMs: number): Promise<Record<string, string | number>> {
  const { runtime, holding, stripe, log } = await start(api, concurrency);
  const odoo = runtime.odoo as NonNullable<LocalRuntime['odoo']>;
  try {
    // Create and pay, 8 at a time; every confirmation holds its sync job here.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < bookings) {
          next += 1;
          await bookAndPay(runtime, stripe);
        }
      }),
    );
    await until(() => holding.held.length === bookings, 30_000, `${holding.held.length} of ${bookings} sync jobs queued`);

    odoo.setLatency(latencyMs);
    const calls = odoo.calls();
    const synced = log.synced;
    const elu = performance.eventLoopUtilization();
    const started = performance.now();
    await holding.release();
    await until(() => log.synced - synced >= bookings, 600_000, 'syncs not finished', 10);
    const seconds = (performance.now() - started) / 1000;
    const busy = performance.eventLoopUtilization(elu).utilization;
    await until(async () => (await processedSyncs(runtime)) >= bookings, 30_000, 'syncs not marked processed', 50);
    const invoices = odoo.records('account.move').filter((move) => move.move_type === 'out_invoice' && move.state === 'posted').length;
    if (invoices !== bookings) throw new Error(`bench odoo: ${invoices} posted invoices for ${bookings} bookings`);
    return {
      figure: 'throughput',
      api,
      concurrency,
      latencyMs,
      bookings,
      seconds: Number(seconds.toFixed(2)),
      bookingsPerSecond: Number((bookings / seconds).toFixed(2)),
      callsPerBooking: Number(((odoo.calls() - calls) / bookings).toFixed(2)),
      // Share of the time the one thread (app, sandboxes, Azurite and broker alike) was busy.
      mainThreadBusy: Number(busy.toFixed(2)),
    };
  } finally {
    await runtime.stop();
  }
}

/** Measures and prints the Odoo sync figures; returns them too. */
export async function benchOdoo(options: BenchOdooOptions = {}): Promise<Array<Record<string, string | number>>> {
  const onFigure = options.onFigure ?? ((figure) => console.log('odoo', JSON.stringify(figure)));
  const latencyMs = options.latencyMs ?? 50;
  const count = options.bookings ?? ((concurrency: number) => Math.max(16, 10 * concurrency));
  const figures: Array<Record<string, string | number>> = [];
  const report = (figure: Record<string, string | number>) => {
    figures.push(figure);
    onFigure(figure);
  };
  for (const api of options.apis ?? ODOO_APIS) {
    report(await measureCalls(api));
    for (const concurrency of options.concurrencies ?? [1, 16]) report(await measureThroughput(api, concurrency, count(concurrency), latencyMs));
  }
  return figures;
}
