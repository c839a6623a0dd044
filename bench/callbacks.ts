// From a BTCPay settlement to the channel's verified callback, through the whole local system: the
// BTCPay sandbox settles an invoice and delivers its signed webhook, the hub reads the invoice back,
// records the payment (and the order) with their callback jobs in one transaction, the outbox relays
// them to the in-memory Service Bus, the `callbacks` worker signs and posts them, the channel sandbox
// verifies the signature. A benchmark that prints figures, not a test.
//
// Figures:
// 1. Latency from `POST /sandbox/invoices/{id}/pay` to the channel sandbox holding the verified
//    `payment.succeeded` callback (and `order.paid`), p50/p90/p99/max over `orders` orders paid one
//    after the other (wall clock: the sandbox stamps each callback when it arrives); next to its floor, measured in the same run: one signed POST from this process
//    straight to the channel sandbox (the last hop alone), as a ratio.
// 2. Callbacks per change: for every order, each order and payment version the hub produced must
//    reach the channel exactly once (distinct `webhook-id`s, none twice, none missing), every
//    signature valid.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import type { ReceivedCallback } from '../local/channel-sandbox';
import { FREE_PORTS, startLocalRuntime } from '../local/runtime';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { hubCall } from './hub-call';
import { latencySummary } from './stats';

interface Body {
  type: string;
  data: { id: string; orderId?: string; version: number; status: string };
}

export interface BenchCallbacksOptions {
  /** Orders paid one after the other (default 100). */
  orders?: number;
  onFigure?: (figure: Record<string, unknown>) => void;
}

/**
 * When (wall clock, ms) the channel sandbox received the first verified callback of each type about
 * a subject, polling every 10 ms: the sandbox stamps each callback on arrival, so the poll interval
 * does not enter the figure (and reading the sandbox's copies stays cheap).
 */
async function arrivals(read: () => Array<ReceivedCallback & { body: Body }>, types: string[], timeoutMs = 30_000): Promise<number[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const received = read();
    const found = types.map((type) => received.find((callback) => callback.type === type && callback.signatureValid));
    if (found.every((callback) => callback !== undefined)) return found.map((callback) => Date.parse((callback as ReceivedCallback).receivedAt));
    if (Date.now() > until) throw new Error(`timed out waiting for ${types.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function benchCallbacks(options: BenchCallbacksOptions = {}): Promise<void> {
  const orders = options.orders ?? 100;
  const report = options.onFigure ?? ((figure) => console.log(JSON.stringify(figure)));
  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    env: { RATE_LIMIT_PER_KEY: '1000000', DRIVER_APP_MANUAL: 'true', ODOO_SANDBOX: 'off', CHANNELS: 'pos' },
    timers: false,
    log: consoleLogger({ silent: true }),
  });
  try {
    const channel = runtime.channel;
    const btcpay = runtime.btcpay;
    if (!channel || !btcpay) throw new Error('the runtime runs no channel or BTCPay sandbox');
    const of = (subject: string) =>
      (channel.received('pos') as Array<ReceivedCallback & { body: Body }>).filter(
        (callback) => callback.body.data.id === subject || callback.body.data.orderId === subject,
      );

    // The floor: one signed callback posted straight to the channel sandbox.
    const secret = runtime.config.channelCallbacks.pos?.secrets[0] as string;
    const signer = new Webhook(secret);
    const floor: number[] = [];
    for (let i = 0; i < orders; i++) {
      const id = `floor_${i}_${randomUUID()}`;
      const body = JSON.stringify({ id, type: 'order.pending', createdAt: new Date().toISOString(), data: { id, version: 1 } });
      const at = new Date();
      const started = performance.now();
      const response = await fetch(channel.callbackUrl('pos'), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signer.sign(id, at, body),
        },
        body,
      });
      await response.arrayBuffer();
      floor.push(performance.now() - started);
    }
    channel.clear();

    // Settlement to callback, one order after the other.
    const toPayment: number[] = [];
    const toOrder: number[] = [];
    const made: Array<{ orderId: string; paymentId: string }> = [];
    for (let i = 0; i < orders; i++) {
      const order = await hubCall(runtime, 'POST', '/v1/orders', {
        source: 'pos',
        externalId: `BENCH-${randomUUID()}`,
        currency: 'EUR',
        customer: { email: `bench.${i}@example.com`, name: 'Bench Kunde' },
        items: [{ sku: 'WIPER-01', name: 'Wiper blades', quantity: 2, unitAmount: 1995 }],
      });
      const payment = await hubCall(runtime, 'POST', '/v1/payments', { orderId: order.id, provider: 'btcpay' });
      const orderId = order.id as string;
      const paymentId = payment.id as string;
      made.push({ orderId, paymentId });
      const started = Date.now();
      const paid = await fetch(`${btcpay.url}/sandbox/invoices/${payment.providerRef}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      await paid.arrayBuffer();
      const [paymentAt, orderAt] = await arrivals(() => of(orderId), ['payment.succeeded', 'order.paid']);
      toPayment.push((paymentAt as number) - started);
      toOrder.push((orderAt as number) - started);
    }
    const floorStats = latencySummary(floor);
    const settled = latencySummary(toPayment);
    report({
      figure: 'BTCPay settlement -> verified channel callback (ms)',
      orders,
      paymentSucceeded: settled,
      orderPaid: latencySummary(toOrder),
      floorDirectSignedPost: floorStats,
      ratioP50: Math.round((settled.p50 / floorStats.p50) * 10) / 10,
    });

    // Every change exactly once: wait for the queue to drain, then compare with what the hub holds.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    let changes = 0;
    let callbacks = 0;
    let duplicates = 0;
    let missing = 0;
    let invalid = 0;
    for (const { orderId, paymentId } of made) {
      const received = of(orderId);
      callbacks += received.length;
      invalid += received.filter((callback) => !callback.signatureValid).length;
      const ids = received.map((callback) => callback.webhookId);
      duplicates += ids.length - new Set(ids).size;
      // Every payment version 1..n is one change of the payment; every distinct order status reached is one change of the order.
      const payment = await hubCall(runtime, 'GET', `/v1/payments/${paymentId}`);
      const paymentVersions = received.filter((callback) => callback.type?.startsWith('payment.')).map((callback) => callback.body.data.version);
      for (let version = 1; version <= (payment.version as number); version++) {
        changes++;
        if (!paymentVersions.includes(version)) missing++;
      }
      const history = (await hubCall(runtime, 'GET', `/v1/orders/${orderId}/history`)).items as Array<{ machine: string }>;
      const orderChanges = history.filter((row) => row.machine === 'order').length;
      changes += orderChanges;
      missing += Math.max(0, orderChanges - received.filter((callback) => callback.type?.startsWith('order.')).length);
    }
    report({
      figure: 'callbacks per change',
      orders,
      changes,
      callbacks,
      perChange: Math.round((callbacks / changes) * 1000) / 1000,
      duplicates,
      missing,
      invalidSignatures: invalid,
    });
  } finally {
    await runtime.stop();
  }
}
