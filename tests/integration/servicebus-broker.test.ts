/**
 * Conformance suite for local/servicebus-broker.ts. Every case drives the broker with the
 * unmodified @azure/service-bus SDK, and the same cases run against a real namespace or the
 * official emulator when SERVICEBUS_CONNECTION is set, so a difference between the broker and
 * the service (or an SDK update that changes the wire protocol) fails here.
 *
 * Real namespace: the queues must exist (the broker creates queues on first use, the service
 * does not). Set SERVICEBUS_CONFORMANCE_QUEUE to a comma-separated list; each test empties the
 * queue it gets first. SERVICEBUS_CONFORMANCE_LOCK_MS and SERVICEBUS_CONFORMANCE_MAX_DELIVERY
 * describe those queues (defaults: the service defaults, 60000 and 10); the lock tests need
 * a lock duration of at most 5 s and skip otherwise.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import {
  ServiceBusClient,
  type ServiceBusMessage,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusReceiverOptions,
  type ServiceBusSender,
} from '@azure/service-bus';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { ServiceBusBroker } from '../../local/servicebus-broker';

// --- targets -------------------------------------------------------------------------------------

interface QueueUnderTest {
  name: string;
  lockDurationMs: number;
  maxDeliveryCount: number;
}

/** Lock behaviour a test asks for; the broker applies it, a real queue reports its own. */
interface QueueRequest {
  lockDurationMs?: number;
}

interface Target {
  /** True for the in-process broker: some checks only hold there (see each use). */
  readonly local: boolean;
  readonly connectionString: string;
  /** An empty queue for one test. */
  queue(request?: QueueRequest): Promise<QueueUnderTest>;
}

/** Test defaults for the broker: short locks keep lock tests fast; >= 1 s so SDK auto-renewal is sane. */
const LOCAL_LOCK_MS = 1500;
const LOCAL_MAX_DELIVERY = 3;

function localTarget(broker: ServiceBusBroker): Target {
  let counter = 0;
  return {
    local: true,
    connectionString: broker.connectionString(),
    async queue(request = {}) {
      const queue = {
        name: `conformance-${++counter}-${randomUUID().slice(0, 8)}`,
        lockDurationMs: request.lockDurationMs ?? LOCAL_LOCK_MS,
        maxDeliveryCount: LOCAL_MAX_DELIVERY,
      };
      broker.setQueueOptions(queue.name, queue);
      return queue;
    },
  };
}

function realTarget(connectionString: string, client: () => ServiceBusClient, names: string[]): Target {
  let next = 0;
  return {
    local: false,
    connectionString,
    async queue() {
      const name = names[next++ % names.length] as string;
      await purge(client(), name);
      return {
        name,
        lockDurationMs: Number(process.env.SERVICEBUS_CONFORMANCE_LOCK_MS ?? 60_000),
        maxDeliveryCount: Number(process.env.SERVICEBUS_CONFORMANCE_MAX_DELIVERY ?? 10),
      };
    },
  };
}

/** Empties a pre-existing queue and its dead-letter queue, including deferred and scheduled messages. */
async function purge(client: ServiceBusClient, name: string): Promise<void> {
  const sender = client.createSender(name);
  try {
    for (const subQueueType of [undefined, 'deadLetter'] as const) {
      const receiver = client.createReceiver(name, { receiveMode: 'receiveAndDelete', subQueueType });
      try {
        const peeked = await receiver.peekMessages(250, { fromSequenceNumber: Long.ZERO });
        const scheduled = peeked.filter((m) => m.state === 'scheduled').map(sequenceOf);
        const deferred = peeked.filter((m) => m.state === 'deferred').map(sequenceOf);
        if (scheduled.length > 0) await sender.cancelScheduledMessages(scheduled);
        if (deferred.length > 0) await receiver.receiveDeferredMessages(deferred);
        while ((await receiver.receiveMessages(100, { maxWaitTimeInMs: 1000 })).length > 0) {
          // keep draining
        }
      } finally {
        await receiver.close();
      }
    }
  } finally {
    await sender.close();
  }
}

// --- helpers -------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sequenceOf(message: ServiceBusReceivedMessage) {
  if (message.sequenceNumber === undefined) throw new Error(`no sequence number on ${String(message.messageId)}`);
  return message.sequenceNumber;
}

/** Receives until `count` messages arrived or the time is up (receiveMessages may return fewer). */
async function receiveExactly(receiver: ServiceBusReceiver, count: number, timeoutMs = 5000) {
  const received: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const wait = Math.max(100, deadline - Date.now());
    received.push(...(await receiver.receiveMessages(count - received.length, { maxWaitTimeInMs: wait })));
  }
  expect(received).toHaveLength(count);
  return received;
}

async function expectNothingToReceive(receiver: ServiceBusReceiver, waitMs = 400): Promise<void> {
  expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: waitMs })).toEqual([]);
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Closes SDK objects when the test ends, pass or fail. */
function closeAfter<T extends { close(): Promise<void> }>(ctx: TestContext, closable: T): T {
  ctx.onTestFinished(() => closable.close());
  return closable;
}

// --- the conformance cases -----------------------------------------------------------------------

function conformanceCases(target: () => Target, sharedClient: () => ServiceBusClient): void {
  /** A queue plus a sender and peek-lock receiver on it, closed after the test. */
  async function setUp(ctx: TestContext, request?: QueueRequest, receiverOptions?: ServiceBusReceiverOptions) {
    const client = sharedClient();
    const queue = await target().queue(request);
    const sender: ServiceBusSender = closeAfter(ctx, client.createSender(queue.name));
    const receiver = closeAfter(ctx, client.createReceiver(queue.name, receiverOptions));
    const deadLetters = closeAfter(ctx, client.createReceiver(queue.name, { subQueueType: 'deadLetter' }));
    /**
     * Everything in the queue (or its dead-letter queue) from the start, without locking. Always
     * from sequence number 0: without it the SDK continues from the last message any receiver of
     * this client peeked on the entity (the cursor lives in the per-entity management client).
     */
    const peekAll = async (subQueue: 'main' | 'deadLetter' = 'main') => {
      const peeker = client.createReceiver(queue.name, subQueue === 'deadLetter' ? { subQueueType: 'deadLetter' } : {});
      try {
        return await peeker.peekMessages(100, { fromSequenceNumber: Long.ZERO });
      } finally {
        await peeker.close();
      }
    };
    return { client, queue, sender, receiver, deadLetters, peekAll };
  }

  function requireShortLock(ctx: TestContext, queue: QueueUnderTest): void {
    ctx.skip(queue.lockDurationMs > 5000, `queue lock duration ${queue.lockDurationMs} ms is too long for this test (needs <= 5000 ms)`);
  }

  it('sends one message and receives it with body and properties intact', async (ctx) => {
    const { queue, sender, receiver, peekAll } = await setUp(ctx);
    const sent: ServiceBusMessage = {
      body: { orderId: 'o-1', total: 12.5, lines: [{ sku: 'a', qty: 2 }] },
      applicationProperties: { tenant: 't-1', attempt: 2, urgent: true },
      messageId: 'msg-1',
      correlationId: 'corr-1',
      subject: 'order.created',
      contentType: 'application/json',
    };
    await sender.sendMessages(sent);

    const [received] = await receiveExactly(receiver, 1);
    expect(received).toMatchObject({ ...sent, deliveryCount: 0 });
    expect(received?.lockToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // Broker timestamps only: the lock runs a full lock duration from (at the earliest) the enqueue; 5 ms for rounding.
    expect((received?.lockedUntilUtc?.getTime() ?? 0) - (received?.enqueuedTimeUtc?.getTime() ?? Number.NaN)).toBeGreaterThanOrEqual(queue.lockDurationMs - 5);
    expect(Math.abs((received?.enqueuedTimeUtc?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

    await receiver.completeMessage(received as ServiceBusReceivedMessage);
    expect(await peekAll()).toEqual([]);
  });

  it('sends arrays and batches, in order, with increasing sequence numbers', async (ctx) => {
    const { sender, receiver, peekAll } = await setUp(ctx);
    await sender.sendMessages([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    const batch = await sender.createMessageBatch();
    for (const body of ['d', 'e']) expect(batch.tryAddMessage({ body, applicationProperties: { body } })).toBe(true);
    await sender.sendMessages(batch);

    const received = await receiveExactly(receiver, 5);
    expect(received.map((m) => m.body)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(received.slice(3).map((m) => m.applicationProperties?.body)).toEqual(['d', 'e']);
    const sequence = received.map(sequenceOf);
    for (const [i, current] of sequence.slice(1).entries()) expect(current.greaterThan(sequence[i] ?? current)).toBe(true);
    expect(new Set(received.map((m) => m.messageId)).size).toBe(5); // assigned when the sender gave none

    for (const message of received) await receiver.completeMessage(message);
    expect(await peekAll()).toEqual([]);
  });

  it('carries a 200 KiB message (split over several AMQP frames) both ways', async (ctx) => {
    const { sender, receiver } = await setUp(ctx);
    const body = 'x'.repeat(200 * 1024);
    await sender.sendMessages({ body });
    const [received] = await receiveExactly(receiver, 1);
    expect(received?.body).toBe(body);
    await receiver.completeMessage(received as ServiceBusReceivedMessage);
  });

  it('receive-and-delete removes messages as they are delivered', async (ctx) => {
    const { client, queue, sender, peekAll } = await setUp(ctx);
    await sender.sendMessages([{ body: 1 }, { body: 2 }]);
    const receiver = closeAfter(ctx, client.createReceiver(queue.name, { receiveMode: 'receiveAndDelete' }));

    const received = await receiveExactly(receiver, 2);
    expect(received.map((m) => m.body)).toEqual([1, 2]);
    expect(received.map((m) => m.lockToken)).toEqual([undefined, undefined]);
    expect(await peekAll()).toEqual([]);
  });

  it('subscribe() streams messages and auto-completes them', async (ctx) => {
    const { sender, receiver, peekAll } = await setUp(ctx);
    await sender.sendMessages([{ body: 'x' }, { body: 'y' }, { body: 'z' }]);
    const bodies: unknown[] = [];
    const errors: Error[] = [];
    const subscription = receiver.subscribe({
      processMessage: async (message) => void bodies.push(message.body),
      processError: async ({ error }) => void errors.push(error),
    });
    try {
      await waitFor(() => bodies.length === 3);
      // auto-complete runs after processMessage resolves: poll until the queue is empty (asserted below)
      const deadline = Date.now() + 5_000;
      while ((await peekAll()).length > 0 && Date.now() < deadline) await sleep(50);
    } finally {
      await subscription.close();
    }
    expect(bodies).toEqual(['x', 'y', 'z']);
    expect(errors).toEqual([]);
    expect(await peekAll()).toEqual([]);
  });

  it('abandon increments the delivery count and dead-letters after the max delivery count', async (ctx) => {
    const { queue, sender, receiver, deadLetters, peekAll } = await setUp(ctx);
    await sender.sendMessages({ body: 'poison', messageId: 'poison-1' });

    for (let attempt = 0; attempt < queue.maxDeliveryCount; attempt++) {
      const [message] = await receiveExactly(receiver, 1);
      expect(message?.deliveryCount).toBe(attempt);
      // properties passed to abandon are applied to the message
      expect(message?.applicationProperties?.lastAttempt).toBe(attempt === 0 ? undefined : attempt - 1);
      await receiver.abandonMessage(message as ServiceBusReceivedMessage, { lastAttempt: attempt });
    }

    expect(await peekAll()).toEqual([]);
    const [dead] = await receiveExactly(deadLetters, 1);
    expect(dead).toMatchObject({ body: 'poison', messageId: 'poison-1', deadLetterReason: 'MaxDeliveryCountExceeded' });
    await deadLetters.completeMessage(dead as ServiceBusReceivedMessage);
  });

  it('dead-letters with reason and description; completing in the dead-letter queue removes it', async (ctx) => {
    const { queue, sender, receiver, deadLetters, peekAll } = await setUp(ctx);
    await sender.sendMessages({ body: { orderId: 'o-9' }, applicationProperties: { tenant: 't-9' } });
    const [message] = await receiveExactly(receiver, 1);
    await receiver.deadLetterMessage(message as ServiceBusReceivedMessage, {
      deadLetterReason: 'ValidationFailed',
      deadLetterErrorDescription: 'total must be positive',
    });
    expect(await peekAll()).toEqual([]);

    const [peeked] = await peekAll('deadLetter');
    expect(peeked?.deadLetterReason).toBe('ValidationFailed');
    const [dead] = await receiveExactly(deadLetters, 1);
    expect(dead).toMatchObject({
      body: { orderId: 'o-9' },
      deadLetterReason: 'ValidationFailed',
      deadLetterErrorDescription: 'total must be positive',
      applicationProperties: {
        tenant: 't-9',
        DeadLetterReason: 'ValidationFailed',
        DeadLetterErrorDescription: 'total must be positive',
      },
    });
    // The service documents x-opt-deadletter-source only for auto-forwarded dead letters; the
    // broker always sets it, which the SDK exposes as deadLetterSource.
    if (target().local) expect(dead?.deadLetterSource).toBe(queue.name);

    await deadLetters.completeMessage(dead as ServiceBusReceivedMessage);
    expect(await peekAll('deadLetter')).toEqual([]);
  });

  it('defers a message and receives it again by sequence number', async (ctx) => {
    const { sender, receiver, peekAll } = await setUp(ctx);
    await sender.sendMessages({ body: 'later please' });
    const [message] = await receiveExactly(receiver, 1);
    await receiver.deferMessage(message as ServiceBusReceivedMessage);

    await expectNothingToReceive(receiver);
    expect((await peekAll()).map((m) => m.state)).toEqual(['deferred']);

    const [deferred] = await receiver.receiveDeferredMessages([sequenceOf(message as ServiceBusReceivedMessage)]);
    expect(deferred).toMatchObject({ body: 'later please', state: 'deferred' });
    await receiver.completeMessage(deferred as ServiceBusReceivedMessage);
    expect(await peekAll()).toEqual([]);
  });

  it('renews a message lock', async (ctx) => {
    const { receiver, sender } = await setUp(ctx, {}, { maxAutoLockRenewalDurationInMs: 0 });
    await sender.sendMessages({ body: 'renew me' });
    const [message] = await receiveExactly(receiver, 1);
    const before = message?.lockedUntilUtc?.getTime() ?? 0;
    await sleep(300);
    const renewed = await receiver.renewMessageLock(message as ServiceBusReceivedMessage);
    expect(renewed.getTime()).toBeGreaterThan(before);
    await receiver.completeMessage(message as ServiceBusReceivedMessage);
  });

  it('an expired lock makes the message available again and settling it fails with lock lost', async (ctx) => {
    const noRenewal = { maxAutoLockRenewalDurationInMs: 0 };
    const { queue, sender, receiver } = await setUp(ctx, { lockDurationMs: 600 }, noRenewal);
    requireShortLock(ctx, queue);
    await sender.sendMessages({ body: 'slow consumer', messageId: 'slow-1' });
    const [first] = await receiveExactly(receiver, 1);
    expect(first?.deliveryCount).toBe(0);

    await sleep(queue.lockDurationMs + 400);
    const [second] = await receiveExactly(receiver, 1);
    expect(second).toMatchObject({ messageId: 'slow-1', deliveryCount: 1 });

    await expect(receiver.completeMessage(first as ServiceBusReceivedMessage)).rejects.toMatchObject({
      code: 'MessageLockLost',
    });
    await receiver.completeMessage(second as ServiceBusReceivedMessage);
  });

  it('auto-renews locks while a message is held longer than the lock duration', async (ctx) => {
    const { queue, sender, receiver } = await setUp(ctx, {}, { maxAutoLockRenewalDurationInMs: 60_000 });
    requireShortLock(ctx, queue);
    await sender.sendMessages({ body: 'long job' });
    const [message] = await receiveExactly(receiver, 1);
    await sleep(queue.lockDurationMs * 1.7);
    await receiver.completeMessage(message as ServiceBusReceivedMessage);
    await expectNothingToReceive(receiver, 200);
  });

  it('peeks without locking, from a sequence number, on the queue and its dead-letter queue', async (ctx) => {
    const { sender, receiver, peekAll } = await setUp(ctx);
    await sender.sendMessages([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);

    const all = await receiver.peekMessages(10);
    expect(all.map((m) => m.body)).toEqual(['a', 'b', 'c']);
    const second = sequenceOf(all[1] as ServiceBusReceivedMessage);
    const fromSecond = await receiver.peekMessages(10, { fromSequenceNumber: second });
    expect(fromSecond.map((m) => m.body)).toEqual(['b', 'c']);

    const received = await receiveExactly(receiver, 3);
    expect(received.map((m) => [m.body, m.deliveryCount])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ]);
    await receiver.deadLetterMessage(received[0] as ServiceBusReceivedMessage, {
      deadLetterReason: 'peek-test',
      deadLetterErrorDescription: 'dead-lettered by the peek test',
    });
    for (const message of received.slice(1)) await receiver.completeMessage(message);

    const deadLetters = await peekAll('deadLetter');
    expect(deadLetters.map((m) => [m.body, m.deadLetterReason])).toEqual([['a', 'peek-test']]);
  });

  it('schedules messages: invisible until due, cancellable', async (ctx) => {
    const { sender, receiver, peekAll } = await setUp(ctx);
    const due = new Date(Date.now() + 5_000);
    const [kept] = await sender.scheduleMessages({ body: 'due soon' }, due);
    const [cancelled] = await sender.scheduleMessages({ body: 'never' }, due);
    expect(kept).toBeDefined();
    expect(cancelled?.greaterThan(kept ?? 0)).toBe(true);

    const scheduled = await peekAll();
    expect(scheduled.map((m) => [m.body, m.state])).toEqual([
      ['due soon', 'scheduled'],
      ['never', 'scheduled'],
    ]);
    expect(Math.abs((scheduled[0]?.scheduledEnqueueTimeUtc?.getTime() ?? 0) - due.getTime())).toBeLessThan(1000);

    await sender.cancelScheduledMessages(cancelled ?? []);
    await expectNothingToReceive(receiver, 300);

    const [message] = await receiveExactly(receiver, 1, 10_000);
    expect(message?.body).toBe('due soon');
    expect(Date.now()).toBeGreaterThanOrEqual(due.getTime() - 50);
    await receiver.completeMessage(message as ServiceBusReceivedMessage);
    expect(await peekAll()).toEqual([]);
  });

  it('competing consumers on separate connections each get a share, every message exactly once', async (ctx) => {
    // Locks (10 s here; a real queue's own, renewed by the SDK) outlast the 5 s barrier below.
    const { queue, sender, peekAll } = await setUp(ctx, { lockDurationMs: 10_000 });
    const bodies = Array.from({ length: 20 }, (_, i) => i);
    await sender.sendMessages(bodies.map((body) => ({ body })));

    const seen: Array<{ consumer: string; body: unknown }> = [];
    for (const consumer of ['A', 'B']) {
      const client = closeAfter(ctx, new ServiceBusClient(target().connectionString));
      const receiver = closeAfter(ctx, client.createReceiver(queue.name));
      receiver.subscribe(
        {
          processMessage: async (message) => {
            seen.push({ consumer, body: message.body });
            // Barrier: hold the message until the other consumer has received one too (or 5 s passed),
            // so neither can drain the queue alone: the broker must offer work to both.
            const deadline = Date.now() + 5_000;
            while (!seen.some((s) => s.consumer !== consumer) && Date.now() < deadline) await sleep(10);
          },
          processError: async () => undefined,
        },
        { maxConcurrentCalls: 2 },
      );
    }
    await waitFor(() => seen.length >= bodies.length, 10_000);
    // Once the queue is empty every message is settled: nothing can be delivered twice any more.
    const drained = Date.now() + 10_000;
    while ((await peekAll()).length > 0 && Date.now() < drained) await sleep(50);
    expect(await peekAll()).toEqual([]);

    expect(seen.map((s) => s.body).sort((a, b) => Number(a) - Number(b))).toEqual(bodies);
    expect(seen.filter((s) => s.consumer === 'A').length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.consumer === 'B').length).toBeGreaterThan(0);
  });
}

// --- the in-process broker -----------------------------------------------------------------------

describe('Service Bus conformance: in-process broker', () => {
  let broker: ServiceBusBroker;
  let client: ServiceBusClient;
  let target: Target;

  beforeAll(async () => {
    broker = await ServiceBusBroker.start({
      port: 0,
      lockDurationMs: LOCAL_LOCK_MS,
      maxDeliveryCount: LOCAL_MAX_DELIVERY,
    });
    client = new ServiceBusClient(broker.connectionString());
    target = localTarget(broker);
  });

  afterAll(async () => {
    await client?.close();
    await broker?.stop();
  });

  conformanceCases(
    () => target,
    () => client,
  );

  describe('broker specifics', () => {
    it('creates queues on first use, case-insensitively, and reports their state', async (ctx) => {
      const name = `Inspect-${randomUUID().slice(0, 8)}`;
      const sender = closeAfter(ctx, client.createSender(name));
      const noRenewal = { maxAutoLockRenewalDurationInMs: 0 };
      const receiver = closeAfter(ctx, client.createReceiver(name.toLowerCase(), noRenewal));
      await sender.sendMessages([{ body: 'lock' }, { body: 'defer' }, { body: 'dead' }, { body: 'wait' }]);
      await sender.scheduleMessages({ body: 'future' }, new Date(Date.now() + 60_000));
      expect(broker.queueNames()).toContain(name);

      const [locked, deferred, dead] = await receiveExactly(receiver, 3);
      await receiver.deferMessage(deferred as ServiceBusReceivedMessage);
      await receiver.deadLetterMessage(dead as ServiceBusReceivedMessage, {
        deadLetterReason: 'inspect',
        deadLetterErrorDescription: 'for the stats',
      });

      expect(broker.stats(name)).toEqual({
        active: 2,
        available: 1,
        locked: 1,
        deferred: 1,
        scheduled: 1,
        deadLetter: 1,
      });
      expect(broker.activeCount(name.toUpperCase())).toBe(2);
      expect(broker.messages(name).map((m) => [m.body, m.state, m.locked])).toEqual([
        ['lock', 'active', true],
        ['defer', 'deferred', false],
        ['wait', 'active', false],
        ['future', 'scheduled', false],
      ]);
      expect(broker.messages(name, { deadLetter: true }).map((m) => m.applicationProperties)).toEqual([
        { DeadLetterReason: 'inspect', DeadLetterErrorDescription: 'for the stats' },
      ]);
      expect(Object.values(broker.stats('never-used'))).toEqual([0, 0, 0, 0, 0, 0]);
      await receiver.completeMessage(locked as ServiceBusReceivedMessage);
    });

    it('advertises a 256 KiB max message size, so batches fill up like on the Standard tier', async (ctx) => {
      const sender = closeAfter(ctx, client.createSender(`size-${randomUUID().slice(0, 8)}`));
      const batch = await sender.createMessageBatch();
      expect(batch.maxSizeInBytes).toBe(256 * 1024);
      expect(batch.tryAddMessage({ body: 'x'.repeat(200 * 1024) })).toBe(true);
      expect(batch.tryAddMessage({ body: 'x'.repeat(100 * 1024) })).toBe(false);
    });

    it('refuses session receivers with an error instead of hanging', async () => {
      const noRetry = new ServiceBusClient(broker.connectionString(), { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
      try {
        // Which message the SDK reports depends on whether the refusing attach and detach reach it in
        // one TCP read (our detach reason) or two (the SDK's own "session may be locked"). Both are the
        // broker's refusal; the SDK's timeout ("... within allocated time and retry attempts.") is not.
        await expect(noRetry.acceptSession('sessions', 's-1')).rejects.toThrow(
          /The local Service Bus broker has no sessions|Failed to create a receiver for the requested session 's-1'\. It may be locked by another receiver/,
        );
      } finally {
        await noRetry.close();
      }
    });

    it('drops messages whose time to live has passed', async (ctx) => {
      const name = `ttl-${randomUUID().slice(0, 8)}`;
      const sender = closeAfter(ctx, client.createSender(name));
      await sender.sendMessages([{ body: 'short', timeToLive: 200 }, { body: 'long' }]);
      await sleep(600);
      expect(broker.messages(name).map((m) => m.body)).toEqual(['long']);
    });

    it('stop() ends client connections and frees the port', async () => {
      const own = await ServiceBusBroker.start({ port: 0 });
      const port = own.port;
      const ownClient = new ServiceBusClient(own.connectionString());
      try {
        const sender = ownClient.createSender('q');
        await sender.sendMessages({ body: 'before stop' });
        expect(own.activeCount('q')).toBe(1);
        await own.stop();
        await new Promise<void>((resolve, reject) => {
          const probe = createServer();
          probe.once('error', reject);
          probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
        });
      } finally {
        await ownClient.close();
      }
    });
  });
});

// --- a real namespace or the official emulator ---------------------------------------------------

const realConnection = process.env.SERVICEBUS_CONNECTION;
const realQueues = (process.env.SERVICEBUS_CONFORMANCE_QUEUE ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name.length > 0);

describe.skipIf(!realConnection)(`Service Bus conformance: real namespace${realConnection ? '' : ' (skipped: SERVICEBUS_CONNECTION not set)'}`, () => {
  describe.skipIf(realQueues.length === 0)(
    realQueues.length > 0 || !realConnection
      ? `queues ${realQueues.join(', ')}`.trim()
      : 'queues (skipped: SERVICEBUS_CONFORMANCE_QUEUE not set; list pre-created queues, comma-separated)',
    () => {
      let client: ServiceBusClient;
      let target: Target;

      beforeAll(() => {
        client = new ServiceBusClient(realConnection as string);
        target = realTarget(realConnection as string, () => client, realQueues);
      });

      afterAll(async () => {
        await client?.close();
      });

      conformanceCases(
        () => target,
        () => client,
      );
    },
  );
});
