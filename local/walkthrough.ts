// The walk-through `npm start` prints: one copy-paste bash session (curl and jq) that runs the
// whole life of a booking and an order against this run's addresses and keys. The same text is
// what tests/e2e/walkthrough.test.ts runs with `bash -euo pipefail`, so every line of it is known to work.
import { createRequire } from 'node:module';
import type { LocalRuntime } from './runtime';

/** Where the walk-through sends its requests, and with which keys: literal values, printed as they are. */
export interface WalkthroughTargets {
  /** The functions host, e.g. `http://127.0.0.1:7071/api`. */
  api: string;
  /** Stripe's base URL and the secret key to show: the local default, or a placeholder for one from the environment. */
  stripe: { url: string; secretKey: string };
  /** API keys by role: this run's, or placeholders when `API_KEYS` came from the environment. */
  keys: { admin: string; workshop: string; orders: string };
  /** Base URLs of the sandboxes that run; the steps that need a missing one are left out, saying why. */
  driver?: string;
  odoo?: string;
  btcpay?: string;
  channel?: string;
  /** The WooCommerce sandbox with its REST API key, when it runs. */
  woocommerce?: { url: string; consumerKey: string; consumerSecret: string };
  /** Whether `npm start` prints every e-mail (the SMTP sandbox runs). */
  mailPrinted: boolean;
  /** The pick-up slot of the bookings (ISO 8601). */
  slot: { start: string; end: string };
  /** Where the `xmlrpc` package is, so the Odoo read runs from any directory. */
  xmlrpcModule: string;
}

/** One numbered step: what it shows, and the shell lines that do it (each fails the step when it fails). */
export interface WalkthroughStep {
  title: string;
  lines: string[];
  /** Set when the step cannot run in this configuration: the walk-through then says why instead. */
  leftOut?: string;
}

/** The last line of the walk-through. */
export const WALKTHROUGH_END = '# end of the walk-through';

/** The targets of a running local runtime, with the slot `nextSlot()` gives. */
export function walkthroughTargets(runtime: LocalRuntime, localStripeKey: string): WalkthroughTargets {
  const stripe = runtime.config.stripe;
  return {
    api: runtime.url,
    stripe: {
      url: stripe?.apiBase ?? 'https://api.stripe.com',
      // Only the local default is printed; a key supplied through the environment never is.
      secretKey: stripe?.secretKey === localStripeKey ? localStripeKey : '<STRIPE_SECRET_KEY>',
    },
    keys: {
      admin: runtime.apiKeys.admin ?? '<admin key>',
      workshop: runtime.apiKeys.workshop ?? '<workshop key>',
      orders: runtime.apiKeys.orders ?? '<orders key>',
    },
    driver: runtime.driver?.url,
    odoo: runtime.odoo?.url,
    btcpay: runtime.btcpay?.url,
    channel: runtime.channel?.url,
    woocommerce: runtime.woocommerce
      ? { url: runtime.woocommerce.url, consumerKey: runtime.woocommerce.consumerKey, consumerSecret: runtime.woocommerce.consumerSecret }
      : undefined,
    mailPrinted: runtime.smtp !== undefined,
    slot: nextSlot(),
    xmlrpcModule: createRequire(import.meta.url).resolve('xmlrpc'),
  };
}

/** Tomorrow (or Monday) 09:00-11:00 Berlin winter time, a slot the default opening hours accept. */
export function nextSlot(now = new Date()): { start: string; end: string } {
  const day = new Date(now.getTime() + 24 * 3600_000);
  if (day.getUTCDay() === 0) day.setUTCDate(day.getUTCDate() + 1);
  const date = day.toISOString().slice(0, 10);
  return { start: `${date}T09:00:00+01:00`, end: `${date}T11:00:00+01:00` };
}

const bookingBody = (t: WalkthroughTargets, customer: { name: string; email: string; plate: string }) => `'{
  "customer": {"name": "${customer.name}", "email": "${customer.email}", "phone": "+49 170 1234567"},
  "vehicle": {"brand": "VW", "model": "Golf", "licensePlate": "${customer.plate}"},
  "serviceType": "inspection",
  "pickup": {"address": {"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin"},
             "slotStart": "${t.slot.start}", "slotEnd": "${t.slot.end}"}}'`;

/** The steps, in order, for these targets. */
export function walkthroughSteps(t: WalkthroughTargets): WalkthroughStep[] {
  const api = t.api;
  const curl = 'curl -sS --fail-with-body';
  const json = "-H 'Content-Type: application/json'";
  const stripeKey = t.stripe.secretKey;
  // A customer's access token or a staff API key: both are bearer credentials.
  const bearer = (credential: string) => `-H "Authorization: Bearer ${credential}"`;
  const noDriver = 'no Driver-App sandbox runs (DRIVER_APP_WEBHOOK_URL or DRIVER_APP_MANUAL=true): its trips are not visible here';
  const noOdoo = 'no Odoo sandbox runs (ODOO_URL names your Odoo, or ODOO_SANDBOX=off): look for the reference there';
  const trips = (booking: string, type: string) => `"${t.driver}/trips?bookingId=$${booking}&type=${type}"`;
  const tripStatus = (trip: string, status: string) =>
    `${curl} -X POST ${t.driver}/trips/$${trip}/status ${json} -d '{"status": "${status}"}' | jq -ce 'select(.delivered) | {status: .update.status, answer: .status}'`;

  return [
    {
      title: `helpers: \`poll FILTER COMMAND...\` repeats COMMAND until the jq FILTER holds for what it prints (the hub works through its queues in the background)${
        t.odoo ? '; `odoo_moves` reads the customer invoices and credit notes in the Odoo sandbox as an accountant would' : ''
      }`,
      lines: [
        `poll() { local filter=$1; shift; for _ in $(seq 150); do "$@" 2>/dev/null | jq -e "$filter" >/dev/null && return 0; sleep 0.2; done; echo "gave up after 30 s waiting for: $filter" >&2; return 1; }`,
        ...(t.odoo
          ? [
              `odoo_moves() { node -e "require('${t.xmlrpcModule}').createClient({url:'${t.odoo}/xmlrpc/2/object'}).methodCall('execute_kw',['sandbox',2,'admin','account.move','search_read',[[['move_type','in',['out_invoice','out_refund']]]],{fields:['name','move_type','ref','invoice_origin','amount_total','payment_state']}],(e,r)=>{if(e){console.error(e.message);process.exit(1)}console.log(JSON.stringify(r))})"; }`,
            ]
          : []),
      ],
    },
    {
      title: 'book a service: the answer carries the booking id, its access token (the customer’s credential) and the Stripe PaymentIntent',
      lines: [
        `BOOKED=$(${curl} -X POST ${api}/v1/bookings ${json} -d ${bookingBody(t, { name: 'Erika Mustermann', email: 'erika@example.com', plate: 'B-EM 123' })})`,
        'BOOKING=$(jq -r .id <<<"$BOOKED"); TOKEN=$(jq -r .accessToken <<<"$BOOKED"); PI=$(jq -r .payment.paymentIntentId <<<"$BOOKED")',
        'export BOOKING TOKEN PI; jq -c \'{id, status, priceCents, paymentIntentId: .payment.paymentIntentId}\' <<<"$BOOKED"',
      ],
    },
    {
      title: 'pay it as the customer’s app would, with Stripe’s test card (Stripe then sends the signed webhook)',
      lines: [
        `${curl} -u ${stripeKey}: ${t.stripe.url}/v1/payment_intents/$PI/confirm -d payment_method=pm_card_visa | jq -ce 'select(.status == "succeeded") | {id, status}'`,
      ],
    },
    {
      title: `the webhook makes it CONFIRMED; its history so far (${t.mailPrinted ? 'the confirmation e-mail is printed by npm start, below its banner: the SMTP sandbox has no HTTP API' : 'the confirmation e-mail goes to SMTP_URL'})`,
      lines: [
        `poll '.status == "CONFIRMED"' curl -sS ${bearer('$TOKEN')} ${api}/v1/bookings/$BOOKING`,
        `${curl} ${bearer('$TOKEN')} ${api}/v1/bookings/$BOOKING/history | jq -c '.items[] | {from, to, cause}'`,
      ],
    },
    {
      title: 'the invoice in Odoo, paid',
      leftOut: t.odoo ? undefined : noOdoo,
      lines: [
        `poll 'any(.[]; .ref == env.BOOKING and .payment_state == "paid")' odoo_moves`,
        `odoo_moves | jq -c '.[] | select(.ref == env.BOOKING) | {name, move_type, ref, amount_total, payment_state}'`,
      ],
    },
    {
      title: 'the pick-up trip reached the Driver-App; play the jockey: assigned, then picked up (the booking is IN_WORKSHOP)',
      leftOut: t.driver ? undefined : noDriver,
      lines: [
        `poll '.items | length == 1' curl -sS ${trips('BOOKING', 'b2c_pickup')}`,
        `PICKUP=$(${curl} ${trips('BOOKING', 'b2c_pickup')} | jq -r '.items[0].tripId'); echo "pick-up trip $PICKUP"`,
        tripStatus('PICKUP', 'assigned'),
        tripStatus('PICKUP', 'pickup_completed'),
        `${curl} ${bearer('$TOKEN')} ${api}/v1/bookings/$BOOKING | jq -ce 'select(.status == "IN_WORKSHOP") | {id, status}'`,
      ],
    },
    {
      title: 'the workshop adds a finding; the customer approves it and the card saved at the first payment is charged off-session',
      leftOut: t.driver ? undefined : `it needs the car in the workshop, and ${noDriver}`,
      lines: [
        `FINDING=$(${curl} -X POST ${api}/v1/bookings/$BOOKING/findings ${bearer(t.keys.workshop)} ${json} -d '{"description": "Bremsbeläge vorne verschlissen", "priceCents": 8900}' | jq -r .id)`,
        `${curl} -X POST ${bearer('$TOKEN')} ${api}/v1/bookings/$BOOKING/findings/$FINDING/approve | jq -ce 'select(.status == "PAID")'`,
      ],
    },
    {
      title: 'the car is ready: the delivery trip goes out; the jockey brings it back (DELIVERED)',
      leftOut: t.driver ? undefined : `it needs the car in the workshop, and ${noDriver}`,
      lines: [
        `${curl} -X POST ${bearer(t.keys.workshop)} ${api}/v1/bookings/$BOOKING/ready | jq -c .`,
        `poll '.items | length == 1' curl -sS ${trips('BOOKING', 'b2c_delivery')}`,
        `DELIVERY=$(${curl} ${trips('BOOKING', 'b2c_delivery')} | jq -r '.items[0].tripId'); echo "delivery trip $DELIVERY"`,
        tripStatus('DELIVERY', 'assigned'),
        tripStatus('DELIVERY', 'delivery_completed'),
        `${curl} ${bearer('$TOKEN')} ${api}/v1/bookings/$BOOKING | jq -ce 'select(.status == "DELIVERED") | {id, status, findings: [.findings[] | {description, priceCents, status}]}'`,
      ],
    },
    {
      title: 'another booking, paid, then cancelled by the customer before pick-up: Stripe refunds it',
      lines: [
        `BOOKED=$(${curl} -X POST ${api}/v1/bookings ${json} -d ${bookingBody(t, { name: 'Max Mustermann', email: 'max@example.com', plate: 'B-MM 456' })})`,
        'BOOKING2=$(jq -r .id <<<"$BOOKED"); TOKEN2=$(jq -r .accessToken <<<"$BOOKED"); PI2=$(jq -r .payment.paymentIntentId <<<"$BOOKED"); export BOOKING2 TOKEN2 PI2',
        `${curl} -u ${stripeKey}: ${t.stripe.url}/v1/payment_intents/$PI2/confirm -d payment_method=pm_card_visa | jq -ce 'select(.status == "succeeded") | {id, status}'`,
        `poll '.status == "CONFIRMED"' curl -sS ${bearer('$TOKEN2')} ${api}/v1/bookings/$BOOKING2`,
        ...(t.driver ? [`poll '.items | length == 1' curl -sS ${trips('BOOKING2', 'b2c_pickup')}`] : []),
        `${curl} -X POST ${bearer('$TOKEN2')} ${api}/v1/bookings/$BOOKING2/cancel | jq -ce 'select(.status == "CANCELLED") | {id, status, payment}'`,
        `poll '.payment.refund.status == "succeeded"' curl -sS ${bearer('$TOKEN2')} ${api}/v1/bookings/$BOOKING2`,
        `${curl} -u ${stripeKey}: "${t.stripe.url}/v1/refunds?payment_intent=$PI2" | jq -ce '.data[] | select(.status == "succeeded") | {id, amount, status}'`,
      ],
    },
    {
      title: 'its credit note in Odoo, beside its invoice',
      leftOut: t.odoo ? undefined : noOdoo,
      lines: [
        `poll 'any(.[]; .move_type == "out_refund" and .invoice_origin == "credit:" + env.BOOKING2)' odoo_moves`,
        `odoo_moves | jq -c '.[] | select(.ref == env.BOOKING2 or .invoice_origin == "credit:" + env.BOOKING2) | {name, move_type, ref, invoice_origin, amount_total, payment_state}'`,
      ],
    },
    {
      title: 'its pick-up trip is withdrawn from the Driver-App',
      leftOut: t.driver ? undefined : noDriver,
      lines: [
        `poll '.items[0].cancelled == true' curl -sS ${trips('BOOKING2', 'b2c_pickup')}`,
        `${curl} ${trips('BOOKING2', 'b2c_pickup')} | jq -c '.items[] | {tripId, type, cancelled}'`,
      ],
    },
    {
      title: 'an order from the POS, paid with Bitcoin through BTCPay (the answer carries the invoice, providerRef, and its checkout link)',
      leftOut: t.btcpay ? undefined : 'no BTCPay sandbox runs (BTCPAY_URL names your BTCPay Server, or BTCPAY_SANDBOX=off)',
      lines: [
        'ORDER_REF=POS-$(date +%s)',
        `ORDER=$(${curl} -X POST ${api}/v1/orders ${bearer(t.keys.orders)} -H "Idempotency-Key: walk-$ORDER_REF" ${json} -d '{"source": "pos", "externalId": "'"$ORDER_REF"'", "currency": "EUR",
  "customer": {"email": "karla@example.com", "name": "Karla Kundin"},
  "items": [{"sku": "WIPER-01", "name": "Wiper blades", "quantity": 2, "unitAmount": 1995}]}' | jq -r .id); export ORDER; echo "order $ORDER"`,
        `PAYMENT=$(${curl} -X POST ${api}/v1/payments ${bearer(t.keys.orders)} -H "Idempotency-Key: walk-$ORDER_REF-btcpay" ${json} -d '{"orderId": "'"$ORDER"'", "provider": "btcpay"}')`,
        'INVOICE=$(jq -r .providerRef <<<"$PAYMENT"); jq -c \'{id, status, amount, currency, providerRef, checkoutLink}\' <<<"$PAYMENT"',
      ],
    },
    {
      title: 'the customer pays the invoice in the sandbox; BTCPay’s signed webhook settles the payment and the order is paid',
      leftOut: t.btcpay ? undefined : 'no BTCPay sandbox runs',
      lines: [
        `${curl} -X POST ${t.btcpay}/sandbox/invoices/$INVOICE/pay | jq -c '{id, status}'`,
        `poll '.status == "paid" and .paymentStatus == "paid"' curl -sS ${bearer(t.keys.orders)} ${api}/v1/orders/$ORDER`,
        `${curl} ${bearer(t.keys.orders)} ${api}/v1/orders/$ORDER/history | jq -c '.items[] | {machine, from, to, cause}'`,
      ],
    },
    {
      title:
        'the callbacks the POS received (order.paid, payment.succeeded, …), each with its signature checked by the channel sandbox, and our log of their deliveries',
      leftOut: t.btcpay ? (t.channel ? undefined : 'no channel sandbox runs (<CHANNEL>_CALLBACK_URL, or CHANNEL_SANDBOX=off)') : 'no BTCPay sandbox runs',
      lines: [
        `poll 'any(.items[]; .type == "order.paid" and .signatureValid and .body.data.id == env.ORDER)' curl -sS '${t.channel}/callbacks?source=pos'`,
        `${curl} '${t.channel}/callbacks?source=pos' | jq -c '.items[] | select(.body.data.id == env.ORDER or .body.data.orderId == env.ORDER) | {type, signatureValid}'`,
        `${curl} ${bearer(t.keys.admin)} "${api}/v1/admin/callbacks?source=pos&subject=$ORDER" | jq -c '.items[] | {type, status, attempts: .attemptCount}'`,
      ],
    },
    {
      title:
        'a customer checks out in the WooCommerce shop (sandbox) choosing Order Hub: its signed order.created webhook makes a hub order of the woocommerce channel; the hub opens a card payment',
      leftOut: t.woocommerce ? undefined : 'no WooCommerce sandbox runs (WOOCOMMERCE_URL names your shop, or WOOCOMMERCE_SANDBOX=off)',
      lines: [
        `SHOP_ORDER=$(${curl} -X POST ${t.woocommerce?.url}/sandbox/orders ${json} -d '{"currency": "EUR", "payment_method": "order_hub",
  "billing": {"first_name": "Wanda", "last_name": "Webshop", "email": "wanda@example.com", "address_1": "Hauptstr. 1", "postcode": "10115", "city": "Berlin", "country": "DE"},
  "line_items": [{"sku": "WIPER-01", "name": "Wiper blades", "quantity": 2, "price": "19.95"}],
  "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "4.95"}]}' | jq -r .id); export SHOP_ORDER; echo "shop order $SHOP_ORDER"`,
        `poll '.status == "pending"' curl -sS ${bearer(t.keys.orders)} ${api}/v1/orders/by-source/woocommerce/$SHOP_ORDER`,
        `SHOP_HUB=$(${curl} ${bearer(t.keys.orders)} ${api}/v1/orders/by-source/woocommerce/$SHOP_ORDER | jq -r .id); export SHOP_HUB`,
        `${curl} ${bearer(t.keys.orders)} ${api}/v1/orders/$SHOP_HUB | jq -c '{id, source, externalId, status, totalAmount, items: [.items[] | {sku, quantity, unitAmount}]}'`,
        `SHOP_PI=$(${curl} -X POST ${api}/v1/payments ${bearer(t.keys.orders)} -H "Idempotency-Key: walk-shop-$SHOP_ORDER" ${json} -d '{"orderId": "'"$SHOP_HUB"'", "provider": "stripe"}' | jq -r .providerRef)`,
      ],
    },
    {
      title: 'the customer pays by card; the hub writes it to the shop through its REST API: the shop order is processing, with a note naming the payment',
      leftOut: t.woocommerce ? undefined : 'no WooCommerce sandbox runs',
      lines: [
        `${curl} -u ${stripeKey}: ${t.stripe.url}/v1/payment_intents/$SHOP_PI/confirm -d payment_method=pm_card_visa | jq -ce 'select(.status == "succeeded") | {id, status}'`,
        `poll '.status == "processing"' curl -sS -u ${t.woocommerce?.consumerKey}:${t.woocommerce?.consumerSecret} ${t.woocommerce?.url}/wp-json/wc/v3/orders/$SHOP_ORDER`,
        `poll 'any(.[]; .author == "Order Hub")' curl -sS -u ${t.woocommerce?.consumerKey}:${t.woocommerce?.consumerSecret} ${t.woocommerce?.url}/wp-json/wc/v3/orders/$SHOP_ORDER/notes`,
        `${curl} -u ${t.woocommerce?.consumerKey}:${t.woocommerce?.consumerSecret} ${t.woocommerce?.url}/wp-json/wc/v3/orders/$SHOP_ORDER/notes | jq -c '.[] | {author, note}'`,
      ],
    },
    {
      title: 'operations: health, and no dead letters',
      lines: [
        `${curl} ${api}/health | jq -c '{status, integrations}'`,
        `${curl} ${bearer(t.keys.admin)} ${api}/v1/admin/dead-letters | jq -ce 'select(all(.queues[]; .count == 0)) | [.queues[] | {name, count}]'`,
      ],
    },
  ];
}

/** The walk-through as one bash session: numbered comments, the lines, and the end marker. */
export function walkthroughScript(targets: WalkthroughTargets): string {
  let number = 0;
  const blocks = walkthroughSteps(targets).map((step, index) => {
    // The helpers come first and carry no number.
    const heading = index === 0 ? `# ${step.title}` : `# ${++number}. ${step.title}`;
    return step.leftOut ? `${heading}: left out, ${step.leftOut}` : [heading, ...step.lines].join('\n');
  });
  return `${blocks.join('\n\n')}\n\n${WALKTHROUGH_END}\n`;
}
