/**
 * The system the drills run against: the local runtime in this process on free ports (Azurite, the
 * Service Bus broker, the Stripe and SMTP sandboxes, the local functions host), with an Odoo sandbox
 * and a Driver-App sandbox of the drills' own behind their own credentials, so every secret the app
 * is configured with is one the secrets drill can look for.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { DriverSandbox } from '../local/driver-sandbox';
import { OdooSandbox } from '../local/odoo-sandbox';
import { FREE_PORTS, LOCAL_SECRETS, type LocalRuntime, startLocalRuntime } from '../local/runtime';
import type { ServiceBusBroker } from '../local/servicebus-broker';
import type { SmtpSandbox } from '../local/smtp-sandbox';
import type { StripeSandbox } from '../local/stripe-sandbox';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { RecordingSender } from '../tests/support/requests';
import { QUEUE_NAMES } from '../shared/platform/queues';
import { OdooReader } from '../tests/support/odoo-reader';
import { waitFor } from '../tests/support/wait';
import type { OutputCapture } from './capture';
import { ApiClient } from './client';
import { DriverProxy } from './driver-proxy';

/** The job policy of the drills' runtime: retries within seconds, so outages play out quickly. */
export const JOB_POLICY = { maxAttempts: 5, retryBaseMs: 200, retryCapMs: 2_000 };
/** How long the app waits for the Driver-App; the timeout drill answers slower than this. */
export const DRIVER_TIMEOUT_MS = 1_000;
const ODOO = { db: 'drill', user: 'drill' };

export interface DrillContext {
  runtime: LocalRuntime;
  api: ApiClient;
  keys: { admin: string; workshop: string; orders: string; support: string };
  /** The unmodified stripe SDK on the Stripe sandbox: the customer's side and the drills' reads. */
  stripe: Stripe;
  stripeSandbox: StripeSandbox;
  /** What the app signs Stripe webhooks with (the sandbox signs with it too). */
  stripeWebhookSecret: string;
  odoo: OdooSandbox;
  /** Odoo read back over XML-RPC, as an accountant's script would. */
  odooReader: OdooReader;
  driver: DriverSandbox;
  driverProxy: DriverProxy;
  smtp: SmtpSandbox;
  broker: ServiceBusBroker;
  jobs: RecordingSender;
  output: OutputCapture;
  /** Secrets that must never show up in the output, by what they are. */
  secrets: Map<string, string>;
  quick: boolean;
  seed: number;
  /** A number in [0, 1) from the run's seed. */
  random(): number;
  /** `full` tries in a full run, `quick` with `--quick`. */
  count(full: number, quick: number): number;
  /** Waits until Stripe has delivered every event and no job is waiting, scheduled or running (in these queues; all by default). */
  quiesce(options?: { timeoutMs?: number; queues?: readonly string[] }): Promise<void>;
}

export interface DrillRuntime {
  ctx: DrillContext;
  stop(): Promise<void>;
}

/** Starts everything on free ports; the environment of this shell is not read (no real Stripe, Odoo or queue by accident). */
export async function startDrillRuntime(options: { quick: boolean; seed: number; output: OutputCapture }): Promise<DrillRuntime> {
  const secret = (prefix: string) => `${prefix}${randomBytes(18).toString('hex')}`;
  const stripeWebhookSecret = secret('whsec_drill');
  const driverSecret = secret('drv_');
  const odooPassword = secret('odoo_');

  const odoo = await OdooSandbox.start({ port: 0, db: ODOO.db, users: { [ODOO.user]: odooPassword }, logFile: false });
  const driver = await DriverSandbox.start({ port: 0, secret: driverSecret });
  const driverProxy = await DriverProxy.start(driver.url);
  const stops: Array<() => Promise<void>> = [() => odoo.stop(), () => driver.stop(), () => driverProxy.stop()];
  const stop = async () => {
    for (const part of stops.reverse()) await part().catch(() => undefined);
  };

  try {
    let jobs: RecordingSender | undefined;
    const runtime = await startLocalRuntime({
      ports: FREE_PORTS,
      env: {
        TABLE_PREFIX: 'drill',
        RATE_LIMIT_PER_KEY: '1000000',
        BOOKING_RATE_LIMIT_PER_IP: '1000000',
        JOB_MAX_ATTEMPTS: String(JOB_POLICY.maxAttempts),
        JOB_RETRY_BASE_MS: String(JOB_POLICY.retryBaseMs),
        JOB_RETRY_CAP_MS: String(JOB_POLICY.retryCapMs),
        STRIPE_WEBHOOK_SECRET: stripeWebhookSecret,
        DRIVER_APP_WEBHOOK_URL: `${driverProxy.url}/trips`,
        DRIVER_APP_SECRET: driverSecret,
        DRIVER_APP_TIMEOUT_MS: String(DRIVER_TIMEOUT_MS),
        ODOO_URL: odoo.url,
        ODOO_DB: ODOO.db,
        ODOO_USERNAME: ODOO.user,
        ODOO_PASSWORD: odooPassword,
      },
      timers: false,
      // Every level, through the app's own log formatter onto stdout/stderr, where the capture reads it.
      log: consoleLogger({ minLevel: 'info' }),
      stripeRetryDelaysMs: [50, 100, 200],
      wrapSender: (sender) => (jobs = new RecordingSender(sender)),
    });
    stops.push(() => runtime.stop());
    driver.setStatusWebhookUrl(`${runtime.url}/v1/webhooks/driver-app`);
    const { stripe: stripeSandbox, smtp, broker } = runtime;
    const { admin, workshop, orders, support } = runtime.apiKeys;
    if (!stripeSandbox || !smtp || !broker || !jobs || !admin || !workshop || !orders || !support)
      throw new Error('the drills need the local Stripe, SMTP and Service Bus parts and generated API keys');
    const recorder = jobs;

    const secrets = new Map<string, string>([
      ['Stripe secret key', LOCAL_SECRETS.stripeSecretKey],
      ['Stripe webhook secret', stripeWebhookSecret],
      ['Driver-App secret', driverSecret],
      ['Odoo password', odooPassword],
      ['admin API key', admin],
      ['workshop API key', workshop],
      ['orders API key', orders],
    ]);
    for (const [channel, { secrets: channelSecrets }] of Object.entries(runtime.config.channelCallbacks)) {
      for (const [i, value] of channelSecrets.entries()) secrets.set(`callback secret ${i + 1} of ${channel}`, value);
    }

    let state = options.seed >>> 0 || 1;
    const random = () => {
      // mulberry32: small, fast, and the same sequence for the same --seed.
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };

    const quiesce = async ({ timeoutMs = 30_000, queues = QUEUE_NAMES }: { timeoutMs?: number; queues?: readonly string[] } = {}) => {
      const busy = () =>
        queues.some((queue) => {
          const stats = broker.stats(queue);
          return stats.active + stats.scheduled + stats.locked + stats.deferred > 0;
        });
      let calm = 0;
      await waitFor(
        async () => {
          await stripeSandbox.idle();
          calm = busy() ? 0 : calm + 1;
          return calm >= 3;
        },
        { timeoutMs, intervalMs: 50, message: `jobs still waiting or running in ${queues.join(', ')}` },
      );
    };

    const ctx: DrillContext = {
      runtime,
      api: new ApiClient(runtime.url),
      keys: { admin, workshop, orders, support },
      stripe: new Stripe(LOCAL_SECRETS.stripeSecretKey, { host: '127.0.0.1', port: stripeSandbox.port, protocol: 'http', maxNetworkRetries: 0 }),
      stripeSandbox,
      stripeWebhookSecret,
      odoo,
      odooReader: await OdooReader.login(odoo.url, ODOO.db, ODOO.user, odooPassword),
      driver,
      driverProxy,
      smtp,
      broker,
      jobs: recorder,
      output: options.output,
      secrets,
      quick: options.quick,
      seed: options.seed,
      random,
      count: (full, quick) => (options.quick ? quick : full),
      quiesce,
    };
    return { ctx, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
