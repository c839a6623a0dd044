// From a card payment to the shop showing it, through the whole local system: the Stripe sandbox
// confirms a PaymentIntent and delivers its signed webhook, the hub records the payment and the paid
// order with the shop update in one transaction, the outbox relays it to the in-memory Service Bus,
// the `callbacks` worker reads the shop order and writes its status and note through the WooCommerce
// REST API (the WooCommerce sandbox). A benchmark that prints figures, not a test.
//
// Figures:
// 1. Latency from the payment's success at Stripe (the sandbox's confirm answered) to the shop order
//    showing `processing` with the hub's note, p50/p90/p99/max over `orders` shop orders paid one
//    after the other (polled in-process every millisecond).
// 2. Its floor, measured in the same run: the two writes alone, straight from this process to the
//    WooCommerce sandbox (`PUT /orders/{id}` with the status, `POST /orders/{id}/notes`), as a ratio.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Stripe from 'stripe';
import { FREE_PORTS, LOCAL_SECRETS, startLocalRuntime } from '../local/runtime';
import type { WooCommerceSandbox } from '../local/woocommerce-sandbox';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { hubCall } from './hub-call';
import { latencySummary } from './stats';

export interface BenchWooCommerceOptions {
  /** Shop orders paid one after the other (default 100). */
  orders?: number;
  onFigure?: (figure: Record<string, unknown>) => void;
}

const checkoutBody = () => ({
  currency: 'EUR',
  payment_method: 'order_hub',
  billing: { first_name: 'Bench', last_name: 'Customer', email: `bench.${randomUUID().slice(0, 8)}@example.com` },
  line_items: [{ sku: 'WIPER-1', name: 'Wiper blades', quantity: 2, price: '12.50' }],
});

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export async function benchWooCommerce(options: BenchWooCommerceOptions = {}): Promise<void> {
  const orders = options.orders ?? 100;
  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    env: { RATE_LIMIT_PER_KEY: '1000000', DRIVER_APP_MANUAL: 'true', ODOO_SANDBOX: 'off', BTCPAY_SANDBOX: 'off', TABLE_PREFIX: 'benchwoo' },
    timers: false,
    log: consoleLogger({ silent: true }),
  });
  try {
    const shop = runtime.woocommerce as WooCommerceSandbox;
    const stripePort = Number(new URL(runtime.stripe?.url ?? '').port);
    const stripe = new Stripe(LOCAL_SECRETS.stripeSecretKey, { host: '127.0.0.1', port: stripePort, protocol: 'http', maxNetworkRetries: 0 });
    const hubNote = (id: number) => shop.notes(id).some((note) => note.author === 'Order Hub');
    const latencies: number[] = [];
    const floors: number[] = [];
    const auth = `Basic ${Buffer.from(`${shop.consumerKey}:${shop.consumerSecret}`).toString('base64')}`;
    for (let i = 0; i < orders; i++) {
      const shopOrder = shop.checkout(checkoutBody()) as { id: number };
      await shop.idle();
      const order = await hubCall(runtime, 'GET', `/v1/orders/by-source/woocommerce/${shopOrder.id}`);
      const payment = await hubCall(runtime, 'POST', '/v1/payments', { orderId: order.id, provider: 'stripe' });
      await stripe.paymentIntents.confirm(payment.providerRef as string, { payment_method: 'pm_card_visa' });
      const paidAt = performance.now();
      await until(() => shop.order(shopOrder.id).status === 'processing' && hubNote(shopOrder.id));
      latencies.push(performance.now() - paidAt);

      // The floor: the same two writes, straight from here to the shop.
      const raw = shop.checkout({ ...checkoutBody(), payment_method: 'bacs' }) as { id: number };
      const started = performance.now();
      const base = `${shop.url}/wp-json/wc/v3/orders/${raw.id}`;
      const headers = { authorization: auth, 'content-type': 'application/json' };
      await (await fetch(base, { method: 'PUT', headers, body: JSON.stringify({ status: 'processing' }) })).text();
      await (await fetch(`${base}/notes`, { method: 'POST', headers, body: JSON.stringify({ note: 'paid', customer_note: false }) })).text();
      floors.push(performance.now() - started);
      await shop.idle();
    }
    const latency = latencySummary(latencies);
    const floor = latencySummary(floors);
    options.onFigure?.({
      figure: 'payment succeeded -> shop order processing with note (ms)',
      orders,
      ...latency,
      floor: { what: 'PUT status + POST note straight to the sandbox', ...floor },
      ratio: { p50: Math.round((latency.p50 / floor.p50) * 10) / 10, p99: Math.round((latency.p99 / floor.p99) * 10) / 10 },
    });
  } finally {
    await runtime.stop();
  }
}
