import { type CompositionOptions, compose, type Composition } from '../functions/composition';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import type { Logger } from '../shared/platform/log';
import { type Config, loadConfig } from '../functions/config';
import { callbackVariable, WOOCOMMERCE_CHANNEL } from '../slices/orders/config';
import type { Role } from '../shared/function-table';
import { formatApiKeyEntry, generateApiKey } from '../shared/http/auth';
import { CorsOrigins } from '../shared/http/cors';
import { startAzurite } from './azurite';
import { startLocalHost, type LocalHost } from './host';
import { ServiceBusBroker } from './servicebus-broker';
import { BTCPaySandbox, DEFAULT_BTCPAY_API_KEY, DEFAULT_BTCPAY_STORE_ID, DEFAULT_BTCPAY_WEBHOOK_SECRET } from './btcpay-sandbox';
import { ChannelSandbox, generateChannelSecret } from './channel-sandbox';
import { DriverSandbox } from './driver-sandbox';
import { OdooSandbox } from './odoo-sandbox';
import { type ReceivedMail, SmtpSandbox } from './smtp-sandbox';
import { StripeSandbox } from './stripe-sandbox';
import {
  DEFAULT_WOOCOMMERCE_CONSUMER_KEY,
  DEFAULT_WOOCOMMERCE_CONSUMER_SECRET,
  DEFAULT_WOOCOMMERCE_WEBHOOK_SECRET,
  WooCommerceSandbox,
} from './woocommerce-sandbox';

/** Ports of the local runtime (README, "The local runtime"); 0 picks a free port (tests). */
export interface LocalPorts {
  http: number;
  tables: number;
  serviceBus: number;
  stripe: number;
  smtp: number;
  driver: number;
  odoo: number;
  channel: number;
  btcpay: number;
  woocommerce: number;
}

export const DEFAULT_PORTS: LocalPorts = {
  http: 7071,
  tables: 10002,
  serviceBus: 5672,
  stripe: 12111,
  smtp: 2525,
  driver: 7072,
  odoo: 8069,
  channel: 7073,
  btcpay: 14142,
  woocommerce: 8088,
};

/** Every part on a free port: what tests and benchmarks use. */
export const FREE_PORTS: LocalPorts = { http: 0, tables: 0, serviceBus: 0, stripe: 0, smtp: 0, driver: 0, odoo: 0, channel: 0, btcpay: 0, woocommerce: 0 };

/** Secrets the sandboxes and the app share when the environment gives none (printed by npm start). */
export const LOCAL_SECRETS = {
  stripeSecretKey: 'sk_test_local_sandbox',
  stripeWebhookSecret: 'whsec_local_sandbox',
  driverAppSecret: 'driver_local_sandbox',
  btcpayApiKey: DEFAULT_BTCPAY_API_KEY,
  btcpayWebhookSecret: DEFAULT_BTCPAY_WEBHOOK_SECRET,
  woocommerceConsumerKey: DEFAULT_WOOCOMMERCE_CONSUMER_KEY,
  woocommerceConsumerSecret: DEFAULT_WOOCOMMERCE_CONSUMER_SECRET,
  woocommerceWebhookSecret: DEFAULT_WOOCOMMERCE_WEBHOOK_SECRET,
};

export interface LocalRuntimeOptions extends CompositionOptions {
  ports?: Partial<LocalPorts>;
  /** Environment the app's configuration is read from; local defaults fill the gaps. */
  env?: NodeJS.ProcessEnv;
  timers?: boolean;
  /** How long the host renews a handler's lock (0 = never: tests let locks expire). */
  lockRenewalMs?: number;
  log?: Logger;
  /** Broker settings (tests shorten locks). */
  broker?: { maxDeliveryCount?: number; lockDurationMs?: number };
  /** Stripe sandbox webhook retry delays (tests shorten them). */
  stripeRetryDelaysMs?: number[];
  /** BTCPay sandbox webhook retry delays (tests shorten them). */
  btcpayRetryDelaysMs?: number[];
  /** Called for each e-mail the SMTP sandbox catches. */
  onMail?: (mail: ReceivedMail) => void;
  /** Keep Azurite's tables in this directory across runs (`npm start -- --persist`); default: in memory. */
  tablesLocation?: string;
}

export interface LocalRuntime {
  url: string;
  config: Config;
  composition: Composition;
  host: LocalHost;
  /** Plain API keys generated for this run, by role (empty when API_KEYS came from the environment). */
  apiKeys: Partial<Record<Role, string>>;
  /** The directory Azurite keeps the tables in; undefined when they live in memory (or elsewhere: TABLES_CONNECTION). */
  tablesLocation?: string;
  /** What runs where: a local part or the endpoint configured in the environment. */
  parts: Record<'http' | 'tables' | 'serviceBus' | 'stripe' | 'btcpay' | 'smtp' | 'driverApp' | 'odoo' | 'channels' | 'woocommerce', string>;
  broker?: ServiceBusBroker;
  stripe?: StripeSandbox;
  smtp?: SmtpSandbox;
  driver?: DriverSandbox;
  odoo?: OdooSandbox;
  channel?: ChannelSandbox;
  btcpay?: BTCPaySandbox;
  woocommerce?: WooCommerceSandbox;
  stop(): Promise<void>;
}

const LOCAL_ROLES: Role[] = ['admin', 'workshop', 'orders', 'support'];

/** The sales channels `npm start` takes orders from unless `CHANNELS` says otherwise. */
export const LOCAL_CHANNELS = 'woocommerce,pos,b2b';

/**
 * The connection strings of a runtime's Service Bus and tables, for tests and benchmarks that build
 * their own clients; a runtime started with identity-based connections has none and is refused.
 */
export function connectionStrings(config: Config): { serviceBus: string; tables: string } {
  const { serviceBus, tables } = config;
  if (serviceBus.connectionString === undefined || tables.connectionString === undefined) {
    throw new Error('this runtime connects with identities (SERVICEBUS_CONNECTION__* / TABLES_CONNECTION__*), not connection strings');
  }
  return { serviceBus: serviceBus.connectionString, tables: tables.connectionString };
}

function localApiKeys(): { entries: string; keys: Partial<Record<Role, string>> } {
  const keys: Partial<Record<Role, string>> = {};
  const entries = LOCAL_ROLES.map((role) => {
    const key = generateApiKey();
    keys[role] = key;
    return formatApiKeyEntry(`local-${role}`, [role], key);
  });
  return { entries: entries.join(','), keys };
}

/**
 * Starts the whole system on this machine: Azurite (Table service), the in-memory Service Bus
 * broker, the composition and the local functions host. A connection given in the environment
 * replaces its local part.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const env = options.env ?? process.env;
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const log = options.log ?? consoleLogger();
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };

  try {
    // The Stripe sandbox runs unless Stripe (a key) or another Stripe-compatible server (a base) is configured.
    const stripeSandboxed = !env.STRIPE_SECRET_KEY && !env.STRIPE_API_BASE;
    const webhookSecret = env.STRIPE_WEBHOOK_SECRET ?? LOCAL_SECRETS.stripeWebhookSecret;
    const driverSecret = env.DRIVER_APP_SECRET ?? LOCAL_SECRETS.driverAppSecret;
    // DRIVER_APP_WEBHOOK_URL names a real Driver-App; DRIVER_APP_MANUAL=true runs without any (the manual fallback).
    const driverSandboxed = !env.DRIVER_APP_WEBHOOK_URL && env.DRIVER_APP_MANUAL !== 'true';
    // ODOO_URL names a real Odoo; ODOO_SANDBOX=off runs without one (sync jobs then wait in odoo-sync).
    const odooSandboxed = !env.ODOO_URL && env.ODOO_SANDBOX !== 'off';
    // BTCPAY_URL names a real BTCPay Server; BTCPAY_SANDBOX=off runs without one (orders take Stripe only).
    const btcpaySandboxed = !env.BTCPAY_URL && env.BTCPAY_SANDBOX !== 'off';
    const btcpay = {
      apiKey: env.BTCPAY_API_KEY ?? LOCAL_SECRETS.btcpayApiKey,
      storeId: env.BTCPAY_STORE_ID ?? DEFAULT_BTCPAY_STORE_ID,
      webhookSecret: env.BTCPAY_WEBHOOK_SECRET ?? LOCAL_SECRETS.btcpayWebhookSecret,
    };
    // Every channel without a callback URL of its own calls back to the channel sandbox (CHANNEL_SANDBOX=off: none).
    const channels = (env.CHANNELS ?? LOCAL_CHANNELS)
      .split(',')
      .map((channel) => channel.trim())
      .filter(Boolean);
    // WOOCOMMERCE_URL names a real shop; WOOCOMMERCE_SANDBOX=off runs without one. The shop's API then takes
    // the woocommerce channel's updates, so that channel has no callback URL.
    const woocommerceSandboxed = !env.WOOCOMMERCE_URL && env.WOOCOMMERCE_SANDBOX !== 'off' && channels.includes(WOOCOMMERCE_CHANNEL);
    const shopChannel = woocommerceSandboxed || Boolean(env.WOOCOMMERCE_URL);
    const woocommerce = {
      consumerKey: env.WOOCOMMERCE_CONSUMER_KEY ?? LOCAL_SECRETS.woocommerceConsumerKey,
      consumerSecret: env.WOOCOMMERCE_CONSUMER_SECRET ?? LOCAL_SECRETS.woocommerceConsumerSecret,
      webhookSecret: env.WOOCOMMERCE_WEBHOOK_SECRET ?? LOCAL_SECRETS.woocommerceWebhookSecret,
    };
    const sandboxedChannels =
      env.CHANNEL_SANDBOX === 'off'
        ? []
        : channels.filter((channel) => !env[callbackVariable(channel, 'URL')] && !(shopChannel && channel === WOOCOMMERCE_CHANNEL));
    const channelSecrets = Object.fromEntries(
      sandboxedChannels.map((channel) => [channel, (env[callbackVariable(channel, 'SECRET')] ?? generateChannelSecret()).split(',')[0]?.trim() as string]),
    );
    const [azurite, broker, stripe, smtp, driver, odoo, channel, btcpaySandbox, shop] = await Promise.all([
      // A connection in the environment, by connection string or identity, replaces its local part.
      env.TABLES_CONNECTION || env.TABLES_CONNECTION__tableServiceUri ? undefined : startAzurite({ port: ports.tables, location: options.tablesLocation }),
      env.SERVICEBUS_CONNECTION || env.SERVICEBUS_CONNECTION__fullyQualifiedNamespace
        ? undefined
        : ServiceBusBroker.start({ port: ports.serviceBus, ...options.broker }),
      stripeSandboxed
        ? StripeSandbox.start({ port: ports.stripe, webhookSecret, retry: options.stripeRetryDelaysMs ? { delaysMs: options.stripeRetryDelaysMs } : undefined })
        : undefined,
      env.SMTP_URL ? undefined : SmtpSandbox.start({ port: ports.smtp, onMessage: options.onMail }),
      driverSandboxed ? DriverSandbox.start({ port: ports.driver, secret: driverSecret }) : undefined,
      // Tests (port 0) keep no write log; `npm start` writes logs/odoo-sandbox.jsonl.
      odooSandboxed ? OdooSandbox.start({ port: ports.odoo, logFile: ports.odoo === 0 ? false : undefined }) : undefined,
      sandboxedChannels.length > 0 ? ChannelSandbox.start({ port: ports.channel, channels: channelSecrets }) : undefined,
      btcpaySandboxed
        ? BTCPaySandbox.start({
            port: ports.btcpay,
            ...btcpay,
            // The hub prices invoices in the order's currency; EUR is its default.
            defaultCurrency: 'EUR',
            ...(options.btcpayRetryDelaysMs ? { retry: { delaysMs: options.btcpayRetryDelaysMs } } : {}),
          })
        : undefined,
      woocommerceSandboxed ? WooCommerceSandbox.start({ port: ports.woocommerce, ...woocommerce }) : undefined,
    ]);
    if (shop) stops.push(() => shop.stop());
    if (btcpaySandbox) stops.push(() => btcpaySandbox.stop());
    if (channel) stops.push(() => channel.stop());
    if (azurite) stops.push(() => azurite.stop());
    if (broker) stops.push(() => broker.stop());
    if (stripe) stops.push(() => stripe.stop());
    if (smtp) stops.push(() => smtp.stop());
    if (driver) stops.push(() => driver.stop());
    if (odoo) stops.push(() => odoo.stop());

    const generated = env.API_KEYS ? undefined : localApiKeys();
    const config = loadConfig({
      ...env,
      TABLES_CONNECTION: env.TABLES_CONNECTION ?? azurite?.connectionString,
      SERVICEBUS_CONNECTION: env.SERVICEBUS_CONNECTION ?? broker?.connectionString(),
      API_KEYS: env.API_KEYS ?? generated?.entries,
      CHANNELS: channels.join(','),
      // The local channel sandbox listens on plain HTTP at 127.0.0.1.
      CALLBACK_ALLOW_PRIVATE: env.CALLBACK_ALLOW_PRIVATE ?? 'true',
      ...Object.fromEntries(
        Object.entries(channelSecrets).flatMap(([name, secret]) => [
          [callbackVariable(name, 'URL'), channel?.callbackUrl(name)],
          [callbackVariable(name, 'SECRET'), env[callbackVariable(name, 'SECRET')] ?? secret],
        ]),
      ),
      STRIPE_SECRET_KEY: env.STRIPE_SECRET_KEY ?? LOCAL_SECRETS.stripeSecretKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_API_BASE: env.STRIPE_API_BASE ?? stripe?.url,
      SMTP_URL: env.SMTP_URL ?? smtp?.url,
      DRIVER_APP_WEBHOOK_URL: env.DRIVER_APP_WEBHOOK_URL ?? (driver ? `${driver.url}/trips` : undefined),
      DRIVER_APP_SECRET: driverSecret,
      ...(odoo ? { ODOO_URL: odoo.url, ODOO_DB: 'sandbox', ODOO_USERNAME: 'admin', ODOO_PASSWORD: 'admin' } : {}),
      ...(btcpaySandbox
        ? { BTCPAY_URL: btcpaySandbox.url, BTCPAY_API_KEY: btcpay.apiKey, BTCPAY_STORE_ID: btcpay.storeId, BTCPAY_WEBHOOK_SECRET: btcpay.webhookSecret }
        : {}),
      ...(shop
        ? {
            WOOCOMMERCE_URL: shop.url,
            WOOCOMMERCE_CONSUMER_KEY: woocommerce.consumerKey,
            WOOCOMMERCE_CONSUMER_SECRET: woocommerce.consumerSecret,
            WOOCOMMERCE_WEBHOOK_SECRET: woocommerce.webhookSecret,
          }
        : {}),
    });

    const composition = compose(config, { ...options, log });
    stops.push(() => composition.close());
    await composition.init();

    const host = await startLocalHost({
      functions: composition.functions,
      pipeline: composition.pipeline,
      cors: new CorsOrigins(config.cors.origins),
      serviceBus: config.serviceBus,
      port: ports.http,
      concurrency: config.serviceBus.concurrency,
      timers: options.timers,
      maxLockRenewalMs: options.lockRenewalMs,
      log,
      telemetry: composition.services.telemetry,
    });
    stops.push(() => host.stop());
    // Like `stripe listen --forward-to`: the sandbox delivers its events to our webhook.
    stripe?.setWebhookUrl(`${host.url}/v1/webhooks/stripe`);
    driver?.setStatusWebhookUrl(`${host.url}/v1/webhooks/driver-app`);
    // As a store's webhook in BTCPay's settings: every invoice event goes to our endpoint.
    btcpaySandbox?.setWebhookUrl(`${host.url}/v1/webhooks/btcpay`);
    // As the shop's webhooks (order created / updated) in WooCommerce → Settings → Advanced → Webhooks.
    shop?.setWebhookUrl(`${host.url}/v1/webhooks/woocommerce`);

    return {
      url: host.url,
      config,
      composition,
      host,
      apiKeys: generated?.keys ?? {},
      tablesLocation: azurite?.location,
      parts: {
        http: host.url,
        tables: azurite ? `Azurite on 127.0.0.1:${azurite.port} (${azurite.location ? `kept in ${azurite.location}` : 'in memory'})` : 'TABLES_CONNECTION',
        serviceBus: broker ? `in-memory broker on 127.0.0.1:${broker.port}` : 'SERVICEBUS_CONNECTION',
        stripe: stripe ? `Stripe sandbox on ${stripe.url}` : 'Stripe (STRIPE_SECRET_KEY)',
        btcpay: btcpaySandbox ? `BTCPay sandbox on ${btcpaySandbox.url}` : env.BTCPAY_URL ? 'BTCPAY_URL' : 'none (orders take Stripe only)',
        smtp: smtp ? `SMTP sandbox on ${smtp.url}` : 'SMTP_URL',
        odoo: odoo ? `Odoo sandbox on ${odoo.url} (db sandbox, admin/admin; writes logged to logs/)` : env.ODOO_URL ? 'ODOO_URL' : 'none (sync jobs wait)',
        driverApp: driver ? `Driver-App sandbox on ${driver.url}` : env.DRIVER_APP_WEBHOOK_URL ? 'DRIVER_APP_WEBHOOK_URL' : 'none (manual jockey assignment)',
        channels: channel ? `channel sandbox on ${channel.url} (callbacks of ${sandboxedChannels.join(', ')})` : 'the <CHANNEL>_CALLBACK_URL of each channel',
        woocommerce: shop ? `WooCommerce sandbox on ${shop.url}` : env.WOOCOMMERCE_URL ? 'WOOCOMMERCE_URL' : 'none',
      },
      broker,
      stripe,
      smtp,
      driver,
      odoo,
      channel,
      btcpay: btcpaySandbox,
      woocommerce: shop,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
