/**
 * Channel callbacks end to end: order and payment changes over HTTP, the `callbacks` worker posting
 * signed events, the channel sandbox verifying them with its own code; the channel failing and
 * recovering, refusing for good, and an admin replaying.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelSandbox, ReceivedCallback } from '../../local/channel-sandbox';
import type { LocalRuntime } from '../../local/runtime';
import { startBookingRuntime, stripeClient } from '../support/bookings';
import { createOrder, createPayment, hub, orderBody, payInSandbox } from '../support/orders';
import { waitFor } from '../support/wait';

/** A short version of the Standard Webhooks schedule, so retries happen within a test. */
const SCHEDULE_MS = [100, 200, 400, 800];

/** A callback as the channel sandbox records it, with the body the hub sends. */
type Received = ReceivedCallback & { type: string; body: { id: string; type: string; data: { id: string; orderId?: string; version: number } } };

describe('channel callbacks (local host, Stripe and channel sandboxes)', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;
  let channel: ChannelSandbox;

  beforeAll(async () => {
    runtime = await startBookingRuntime({ CALLBACK_RETRY_SCHEDULE: SCHEDULE_MS.map((ms) => `${ms}ms`).join(','), TABLE_PREFIX: 'callbacks' });
    stripe = stripeClient(runtime);
    if (!runtime.channel) throw new Error('the runtime runs no channel sandbox');
    channel = runtime.channel;
  });

  beforeEach(() => channel.clear());

  afterAll(async () => {
    await runtime?.stop();
  });

  /** What the channel received about an order (its own callbacks and its payments'). */
  const callbacksOf = (orderId: string) =>
    (channel.received('pos') as Received[]).filter((callback) => callback.body.data.id === orderId || callback.body.data.orderId === orderId);
  const admin = (method: string, path: string, body?: unknown) => hub(runtime, method, path, { key: runtime.apiKeys.admin, body });

  it('tells the channel about every change of an order and its payment, once each, signed and versioned', async () => {
    const order = await createOrder(runtime);
    const payment = await createPayment(runtime, order.id);
    await payInSandbox(runtime, stripe, payment.providerRef);
    await waitFor(() => callbacksOf(order.id).some((callback) => callback.type === 'order.paid'), { message: 'no order.paid callback' });

    // Callbacks travel side by side, so they may arrive in any order: a channel orders them by `data.version`.
    const received = callbacksOf(order.id).sort((a, b) => a.type.localeCompare(b.type) || a.body.data.version - b.body.data.version);
    expect(received.map((callback) => callback.type).sort()).toEqual([
      'order.paid',
      'order.pending',
      'payment.pending',
      'payment.pending',
      'payment.succeeded',
    ]);
    expect(received.every((callback) => callback.signatureValid)).toBe(true);
    expect(new Set(received.map((callback) => callback.webhookId)).size).toBe(received.length);
    // The data is the resource as its GET shows it, with its version.
    const paid = received.find((callback) => callback.type === 'order.paid');
    const read = await hub(runtime, 'GET', `/v1/orders/${order.id}`);
    expect(paid?.body.data).toEqual(read.body);
    expect(paid?.body.id).toBe(paid?.webhookId);
    const paymentVersions = received.filter((callback) => callback.type.startsWith('payment.')).map((callback) => callback.body.data.version);
    expect(paymentVersions).toEqual([1, 2, 3]);

    // The delivery log has one delivered entry per callback.
    const log = await admin('GET', `/v1/admin/callbacks?subject=${order.id}`);
    expect(log.body.items).toHaveLength(5);
    expect(log.body.items.every((delivery: { status: string; attemptCount: number }) => delivery.status === 'delivered' && delivery.attemptCount === 1)).toBe(
      true,
    );
  });

  it('retries a channel that is down with growing gaps, and delivers once it is back', async () => {
    channel.failNext(3, { kind: 'http500', source: 'pos' });
    const order = await createOrder(runtime, orderBody());
    await waitFor(() => callbacksOf(order.id).length === 1, { message: 'order.pending never arrived' });
    const attempts = channel.attempts('pos').filter((attempt) => attempt.webhookId === `cb_${order.id}_order_v1`);
    expect(attempts.map((attempt) => attempt.status)).toEqual([500, 500, 500, 200]);
    // The gaps follow the schedule (each at least half its planned delay, equal jitter) and grow.
    const at = attempts.map((attempt) => Date.parse(attempt.at));
    const gaps = at.slice(1).map((time, index) => time - (at[index] as number));
    for (const [index, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual((SCHEDULE_MS[index] as number) / 2);
    expect(callbacksOf(order.id)).toHaveLength(1);
    // The log records an attempt once the channel has answered it: wait for the last one.
    let delivery: { status: string; attemptCount: number; attempts: Array<{ statusCode: number }> } | undefined;
    await waitFor(
      async () => {
        delivery = (await admin('GET', `/v1/admin/callbacks?subject=${order.id}`)).body.items[0];
        return delivery?.status !== 'retrying';
      },
      { message: 'the delivery log never recorded the last attempt' },
    );
    expect(delivery).toMatchObject({ status: 'delivered', attemptCount: 4 });
    expect(delivery?.attempts.map((attempt) => attempt.statusCode)).toEqual([500, 500, 500, 200]);
  });

  it('waits as long as a 429 asks, and dead-letters a 410 at once; after the fix a replay delivers it once', async () => {
    channel.failNext(1, { kind: 'rate_limited', source: 'pos', retryAfterSeconds: 1 });
    const limited = await createOrder(runtime, orderBody());
    await waitFor(() => callbacksOf(limited.id).length === 1, { message: 'order.pending never arrived after the 429' });
    const [first, second] = channel.attempts('pos').filter((attempt) => attempt.webhookId === `cb_${limited.id}_order_v1`);
    expect(Date.parse(second?.at as string) - Date.parse(first?.at as string)).toBeGreaterThanOrEqual(1_000);

    channel.failNext(1, { kind: 'gone', source: 'pos' });
    const gone = await createOrder(runtime, orderBody());
    const id = `cb_${gone.id}_order_v1`;
    await waitFor(async () => (await admin('GET', `/v1/admin/callbacks?subject=${gone.id}`)).body.items[0]?.status === 'failed', { message: 'not failed' });
    const deadLetters = await admin('GET', '/v1/admin/dead-letters/callbacks');
    const letter = deadLetters.body.items.find((item: { jobId: string }) => item.jobId === id);
    expect(letter).toMatchObject({ reason: 'PermanentError', attempts: 1 });
    expect(callbacksOf(gone.id)).toHaveLength(0);

    // The channel is fixed; the admin replays what failed since a minute ago.
    const replay = await admin('POST', '/v1/admin/callbacks/replay', { source: 'pos', since: new Date(Date.now() - 60_000).toISOString() });
    expect(replay.body).toEqual({ queued: 1 });
    await waitFor(() => callbacksOf(gone.id).length === 1, { message: 'the replay never arrived' });
    expect(callbacksOf(gone.id)[0]?.webhookId).toBe(id);
    const log = (await admin('GET', `/v1/admin/callbacks?subject=${gone.id}`)).body.items[0];
    expect(log).toMatchObject({ status: 'delivered', attemptCount: 2 });
    expect(log.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([410, 200]);
  });

  it('resends one delivery on request, under the same webhook-id', async () => {
    const order = await createOrder(runtime, orderBody());
    await waitFor(() => callbacksOf(order.id).length === 1);
    const id = `cb_${order.id}_order_v1`;
    expect((await admin('POST', `/v1/admin/callbacks/${id}/resend`)).status).toBe(202);
    await waitFor(() => callbacksOf(order.id).length === 2, { message: 'the resend never arrived' });
    expect(callbacksOf(order.id).map((callback) => callback.webhookId)).toEqual([id, id]);
    expect((await admin('POST', '/v1/admin/callbacks/cb_nothing/resend')).status).toBe(404);
  });
});
