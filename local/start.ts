// `npm start`: the whole system on this machine, offline, until Ctrl-C.
import { scrubText } from '../shared/adapters/telemetry/app-insights';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { ConfigError } from '../functions/config';
import { DEFAULT_PORTS, LOCAL_SECRETS, startLocalRuntime } from './runtime';

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

async function main(): Promise<void> {
  const started = Date.now();
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
    },
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
  const admin = runtime.apiKeys.admin ?? '<your admin key>';
  const stripeBase = runtime.config.stripe?.apiBase ?? 'https://api.stripe.com';
  // Only the local defaults are printed; a secret supplied through the environment never is.
  const secret = runtime.config.stripe?.secretKey === LOCAL_SECRETS.stripeSecretKey ? LOCAL_SECRETS.stripeSecretKey : '<STRIPE_SECRET_KEY>';
  const webhookSecretLine = secretLine('Stripe', runtime.config.stripe?.webhookSecret, LOCAL_SECRETS.stripeWebhookSecret, 'STRIPE_WEBHOOK_SECRET');
  const btcpaySecretLine = secretLine('BTCPay', runtime.config.btcpay?.webhookSecret, LOCAL_SECRETS.btcpayWebhookSecret, 'BTCPAY_WEBHOOK_SECRET');
  const btcpayKeyLine = runtime.config.btcpay?.apiKey === LOCAL_SECRETS.btcpayApiKey ? `, API key ${LOCAL_SECRETS.btcpayApiKey}` : '';
  const ordersKey = runtime.apiKeys.orders ?? '<orders key>';
  const btcpayUrl = runtime.btcpay?.url ?? '<btcpay-sandbox>';
  const channelUrl = runtime.channel?.url ?? '<channel-sandbox>';
  const slot = nextSlot();
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

API keys for this run (Authorization: Bearer <key>):
${keys || '  from API_KEYS in the environment'}

Stripe webhook secret: ${webhookSecretLine}
BTCPay webhook secret: ${btcpaySecretLine}${btcpayKeyLine}

Walk-through:
  # 1. book a service (the answer has the booking id, its access token and the PaymentIntent)
  curl -s -X POST ${runtime.url}/v1/bookings -H 'Content-Type: application/json' -d '{
    "customer": {"name": "Erika Mustermann", "email": "erika@example.com", "phone": "+49 170 1234567"},
    "vehicle": {"brand": "VW", "model": "Golf", "licensePlate": "B-EM 123"},
    "serviceType": "inspection",
    "pickup": {"address": {"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin"},
               "slotStart": "${slot.start}", "slotEnd": "${slot.end}"}}'
  # 2. pay it as the customer's app would (the sandbox then sends the signed webhook)
  curl -s -u ${secret}: ${stripeBase}/v1/payment_intents/<paymentIntentId>/confirm -d payment_method=pm_card_visa
  # 3. watch it become CONFIRMED, with its history (the confirmation e-mail appears below)
  curl -s -H "Authorization: Bearer <accessToken>" ${runtime.url}/v1/bookings/<id>
  curl -s -H "Authorization: Bearer <accessToken>" ${runtime.url}/v1/bookings/<id>/history
  # 3b. the invoice and payment in Odoo, as an accountant would read them
  node -e "require('xmlrpc').createClient({url:'${runtime.odoo?.url ?? 'http://127.0.0.1:8069'}/xmlrpc/2/object'}).methodCall('execute_kw',['sandbox',2,'admin','account.move','search_read',[[['move_type','in',['out_invoice','out_refund']]]],{fields:['name','ref','amount_total','payment_state']}],(e,r)=>console.log(e||r))"
  # 4. the jockey: the pick-up trip is in the Driver-App sandbox; play its status updates
  curl -s ${runtime.driver?.url ?? '<driver-app>'}/trips
  curl -s -X POST ${runtime.driver?.url ?? '<driver-app>'}/trips/<tripId>/status -H 'Content-Type: application/json' -d '{"status":"assigned"}'
  curl -s -X POST ${runtime.driver?.url ?? '<driver-app>'}/trips/<tripId>/status -H 'Content-Type: application/json' -d '{"status":"pickup_completed"}'
  # 5. the workshop marks the car ready: the delivery trip goes out
  curl -s -X POST -H "Authorization: Bearer ${runtime.apiKeys.workshop ?? '<workshop key>'}" ${runtime.url}/v1/bookings/<id>/ready
  # 6. an order from the POS, paid with Bitcoin through BTCPay (the answer has the checkout link)
  curl -s -X POST ${runtime.url}/v1/orders -H "Authorization: Bearer ${ordersKey}" -H 'Idempotency-Key: walk-order-1' \
    -H 'Content-Type: application/json' -d '{"source": "pos", "externalId": "POS-1001", "currency": "EUR",
    "customer": {"email": "karla@example.com", "name": "Karla Kundin"},
    "items": [{"sku": "WIPER-01", "name": "Wiper blades", "quantity": 2, "unitAmount": 1995}]}'
  curl -s -X POST ${runtime.url}/v1/payments -H "Authorization: Bearer ${ordersKey}" -H 'Idempotency-Key: walk-payment-1' \
    -H 'Content-Type: application/json' -d '{"orderId": "<orderId>", "provider": "btcpay"}'
  # 7. the customer pays the invoice (providerRef) in the sandbox; BTCPay's signed webhook settles the payment
  curl -s -X POST ${btcpayUrl}/sandbox/invoices/<providerRef>/pay
  curl -s -H "Authorization: Bearer ${ordersKey}" ${runtime.url}/v1/orders/<orderId>/history
  # 8. the callbacks the POS received (payment.succeeded, order.paid, ...), each with its verified signature
  curl -s '${channelUrl}/callbacks?source=pos'
  curl -s -H "Authorization: Bearer ${admin}" '${runtime.url}/v1/admin/callbacks?source=pos'
  # operations
  curl -s ${runtime.url}/health
  curl -s -H "Authorization: Bearer ${admin}" ${runtime.url}/v1/admin/dead-letters
`);

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

/** A webhook secret for the banner: only a local default is printed, never one from the environment. */
function secretLine(provider: string, secret: string | undefined, localDefault: string, variable: string): string {
  if (secret === undefined) return `(${provider} not configured)`;
  return secret === localDefault ? localDefault : `from the environment (${variable})`;
}

/** Tomorrow (or Monday) 09:00-11:00 Berlin time, a slot the default opening hours accept. */
function nextSlot(): { start: string; end: string } {
  const day = new Date(Date.now() + 24 * 3600_000);
  if (day.getUTCDay() === 0) day.setUTCDate(day.getUTCDate() + 1);
  const date = day.toISOString().slice(0, 10);
  return { start: `${date}T09:00:00+01:00`, end: `${date}T11:00:00+01:00` };
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  // Scrubbed: a connection string in the message must not reach the terminal or a CI log.
  else console.error('start-up failed:', scrubText(error instanceof Error ? error.message : String(error)));
  process.exit(1);
});
