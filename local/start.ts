// `npm start`: the whole system on this machine, offline, until Ctrl-C.
import { scrubText } from '../shared/adapters/telemetry/app-insights';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../functions/config';
import { FAULT_KINDS as BTCPAY_FAULT_KINDS } from './btcpay-sandbox';
import { FAULT_KINDS as CHANNEL_FAULT_KINDS } from './channel-sandbox';
import { DRIVER_FAULT_KINDS } from './driver-sandbox';
import { FAILURE_KINDS } from './odoo-sandbox/fault-injection';
import { DEFAULT_PORTS, LOCAL_SECRETS, type LocalRuntime, startLocalRuntime } from './runtime';
import { STRIPE_FAULT_KINDS } from './stripe-sandbox';
import { walkthroughScript, walkthroughTargets } from './walkthrough';

const portFrom = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name} must be a port number (0-65535)`);
    process.exit(2);
  }
  return port;
};

/** Where `--persist` keeps the tables: `.data/azurite/` in the repository (git-ignored). */
const DEFAULT_TABLES_LOCATION = fileURLToPath(new URL('../.data/azurite/', import.meta.url));

/** What `npm start -- <args>` asks for: `--persist` keeps the tables on disk (optionally `--persist=<dir>`). */
function parseArgs(args: string[]): { tablesLocation?: string } {
  let tablesLocation: string | undefined;
  for (const arg of args) {
    const persist = /^--persist(?:=(.+))?$/.exec(arg);
    if (!persist) {
      console.error(`unknown argument ${arg}; usage: npm start [-- --persist[=<dir>]]`);
      process.exit(2);
    }
    tablesLocation = persist[1] ?? DEFAULT_TABLES_LOCATION;
  }
  return { tablesLocation };
}

async function main(): Promise<void> {
  const started = Date.now();
  const { tablesLocation } = parseArgs(process.argv.slice(2));
  const runtime = await startLocalRuntime({
    ports: {
      http: portFrom('PORT', DEFAULT_PORTS.http),
      tables: portFrom('AZURITE_TABLE_PORT', DEFAULT_PORTS.tables),
      serviceBus: portFrom('SERVICEBUS_PORT', DEFAULT_PORTS.serviceBus),
      stripe: portFrom('STRIPE_SANDBOX_PORT', DEFAULT_PORTS.stripe),
      smtp: portFrom('SMTP_SANDBOX_PORT', DEFAULT_PORTS.smtp),
      driver: portFrom('DRIVER_SANDBOX_PORT', DEFAULT_PORTS.driver),
      odoo: portFrom('ODOO_SANDBOX_PORT', DEFAULT_PORTS.odoo),
      channel: portFrom('CHANNEL_SANDBOX_PORT', DEFAULT_PORTS.channel),
      btcpay: portFrom('BTCPAY_SANDBOX_PORT', DEFAULT_PORTS.btcpay),
      woocommerce: portFrom('WOOCOMMERCE_SANDBOX_PORT', DEFAULT_PORTS.woocommerce),
    },
    tablesLocation,
    onMail: (mail) =>
      console.log(
        `\n[mail] to ${mail.to.join(', ')}: ${mail.subject}\n${mail.text
          .trim()
          .split('\n')
          .map((line) => `  | ${line}`)
          .join('\n')}`,
      ),
    log: consoleLogger({ minLevel: process.env.LOG_LEVEL === 'info' ? 'info' : 'warn' }),
  });

  const keys = Object.entries(runtime.apiKeys)
    .map(([role, key]) => `  ${role.padEnd(9)} ${key}`)
    .join('\n');
  const webhookSecretLine = secretLine('Stripe', runtime.config.stripe?.webhookSecret, LOCAL_SECRETS.stripeWebhookSecret, 'STRIPE_WEBHOOK_SECRET');
  const btcpaySecretLine = secretLine('BTCPay', runtime.config.btcpay?.webhookSecret, LOCAL_SECRETS.btcpayWebhookSecret, 'BTCPAY_WEBHOOK_SECRET');
  const btcpayKeyLine = runtime.config.btcpay?.apiKey === LOCAL_SECRETS.btcpayApiKey ? `, API key ${LOCAL_SECRETS.btcpayApiKey}` : '';
  const shopSecretLine = secretLine(
    'WooCommerce',
    runtime.config.woocommerce?.webhookSecret,
    LOCAL_SECRETS.woocommerceWebhookSecret,
    'WOOCOMMERCE_WEBHOOK_SECRET',
  );
  const shopKeyLine =
    runtime.config.woocommerce?.consumerKey === LOCAL_SECRETS.woocommerceConsumerKey
      ? `, REST key ${LOCAL_SECRETS.woocommerceConsumerKey} / ${LOCAL_SECRETS.woocommerceConsumerSecret}`
      : '';
  console.log(`
Order Hub is running locally (ready in ${Date.now() - started} ms). Ctrl-C stops everything.

  functions host   ${runtime.parts.http}
  Table storage    ${runtime.parts.tables}
  Service Bus      ${runtime.parts.serviceBus}
  Stripe           ${runtime.parts.stripe}
  SMTP             ${runtime.parts.smtp} (every e-mail is printed here)
  Driver-App       ${runtime.parts.driverApp}
  Odoo             ${runtime.parts.odoo}
  BTCPay           ${runtime.parts.btcpay}
  channels         ${runtime.parts.channels}
  WooCommerce      ${runtime.parts.woocommerce}

API keys for this run (Authorization: Bearer <key>):
${keys || '  from API_KEYS in the environment'}

Operations console: ${runtime.url}/console (sign in with the admin or support key)

Stripe webhook secret: ${webhookSecretLine}
BTCPay webhook secret: ${btcpaySecretLine}${btcpayKeyLine}
WooCommerce webhook secret: ${shopSecretLine}${shopKeyLine}

${dataLines(runtime.tablesLocation, tablesLocation !== undefined)}
${faultLines(runtime)}

Walk-through: paste into bash (it needs curl and jq); it books, pays, picks up, repairs, delivers, cancels and refunds, and sells with Bitcoin.

${walkthroughScript(walkthroughTargets(runtime, LOCAL_SECRETS.stripeSecretKey))}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * How to make a running sandbox fail on purpose (to cause a retry or a dead letter and practise
 * replaying it): each one's `/sandbox/faults` and the fault kinds it plays.
 */
function faultLines(runtime: LocalRuntime): string {
  // The first kind of each list is the sandbox's default.
  const sandboxes: Array<[string, { url: string } | undefined, readonly string[]]> = [
    ['Odoo', runtime.odoo, FAILURE_KINDS],
    ['Driver-App', runtime.driver, DRIVER_FAULT_KINDS],
    ['Stripe', runtime.stripe, STRIPE_FAULT_KINDS],
    ['BTCPay', runtime.btcpay, BTCPAY_FAULT_KINDS],
    ['channels', runtime.channel, CHANNEL_FAULT_KINDS],
  ];
  const running = sandboxes.filter(([, sandbox]) => sandbox !== undefined);
  if (running.length === 0) return '';
  const width = Math.max(...running.map(([name]) => name.length));
  // A validation error is permanent: the next Odoo sync goes to the dead-letter queue at once, ready to replay.
  const example = runtime.odoo
    ? ` E.g. dead-letter the next Odoo sync at once (a refusal is not retried):\n  curl -s -X POST -H 'Content-Type: application/json' -d '{"count": 1, "kind": "validation"}' ${runtime.odoo.url}/sandbox/faults`
    : '';
  const urlWidth = Math.max(...running.map(([, sandbox]) => `${sandbox?.url}/sandbox/faults`.length));
  return `Make a sandbox fail on purpose: POST <sandbox>/sandbox/faults with {"count": n} (the next n calls) or
{"seconds": s} (every call for a while), and "kind" (the first listed is the default); GET shows what is
armed, DELETE clears it.${example}
${running.map(([name, sandbox, kinds]) => `  ${name.padEnd(width)}  ${`${sandbox?.url}/sandbox/faults`.padEnd(urlWidth)}  kinds: ${kinds.join(', ')}`).join('\n')}
`;
}

/** A webhook secret for the banner: only a local default is printed, never one from the environment. */
function secretLine(provider: string, secret: string | undefined, localDefault: string, variable: string): string {
  if (secret === undefined) return `(${provider} not configured)`;
  return secret === localDefault ? localDefault : `from the environment (${variable})`;
}

/** What survives a restart, and what does not. */
function dataLines(location: string | undefined, asked: boolean): string {
  if (!location) {
    return asked
      ? 'Data: --persist does nothing here: TABLES_CONNECTION names the table storage.'
      : 'Data: in memory, gone at Ctrl-C (`npm start -- --persist` keeps the tables in .data/azurite/).';
  }
  return `Data: the tables are kept in ${location} (--persist): bookings, orders, their history and the callback log
  survive a restart. Not kept: jobs still waiting in the in-memory Service Bus broker at Ctrl-C, and
  the sandboxes' own state (Stripe PaymentIntents and refunds, Odoo records, Driver-App trips, BTCPay
  invoices, channel callbacks, e-mails): a booking from before the restart reads as it was, but the
  sandboxes no longer know its payment or its trips. API keys are new each run unless API_KEYS is set.`;
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  // Scrubbed: a connection string in the message must not reach the terminal or a CI log.
  else console.error('start-up failed:', scrubText(error instanceof Error ? error.message : String(error)));
  process.exit(1);
});
