// Bulk replay of dead letters through the admin API, against the local runtime (in-memory broker,
// Azurite, local host). A benchmark that prints figures, not a test.
//
// The dead letters are made the honest way: jobs of a bench type whose handler fails permanently
// are sent and dead-lettered by the real consumer (reason PermanentError, error history attached);
// then the handler is "fixed", so every replayed job succeeds and leaves.
//
// Figures:
// 1. `POST /api/v1/admin/dead-letters/{queue}/replay` (admin key): the call replays one batch (500)
//    and answers 202 with a run; the `dead-letter-replays` timer (run here back to back instead of once
//    a minute) replays the rest batch by batch: batches, wall time, messages per second, per batch; and the
//    time until every replayed job was processed (its handler succeeded). Next to it the floor,
//    measured in the same run on a second set of dead letters: the raw SDK cost of receiving
//    (peekLock) and completing them plus sending as many messages, per message as the replay does
//    (send one, complete one) and batched (one send per page of 100, completions concurrently).
// 2. One poisoned job among healthy ones: 1 job that still fails permanently + 200 that now succeed,
//    one bulk replay call: how many it replayed, whether each healthy one was processed once and
//    whether the poisoned one is back in the dead-letter queue exactly once (replayed once, not twice).
import { type ServiceBusReceivedMessage, ServiceBusClient } from '@azure/service-bus';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connectionStrings, FREE_PORTS, startLocalRuntime } from '../local/runtime';
import { toServiceBusMessage } from '../shared/adapters/service-bus/messages';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import type { TimerFunctionDef } from '../shared/function-table';
import { JobError, type JobEnvelope, newEnvelope, type OutgoingJob } from '../shared/platform/jobs';

const QUEUE = 'notifications';
const TYPE = 'bench.replayable';
/** Dead letters the floor receives at once (the page the admin's adapter receives too). */
const PAGE = 100;

export interface BenchDeadLettersOptions {
  /** Dead letters replayed in the main figure (default 1,000). */
  letters?: number;
  /** Healthy jobs beside the one poisoned job in the second figure (default 200). */
  healthy?: number;
  onFigure?: (figure: Record<string, unknown>) => void;
}

interface Payload {
  /** Fails permanently whatever the switch says. */
  poison?: boolean;
}

const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export async function benchDeadLetters(options: BenchDeadLettersOptions = {}): Promise<void> {
  const letters = options.letters ?? 1_000;
  const healthy = options.healthy ?? 200;
  const report = options.onFigure ?? ((figure) => console.log(JSON.stringify(figure)));

  /** While set, every job of the bench type fails permanently (the cause not yet fixed). */
  let broken = true;
  /** When (performance.now()) each job's handler succeeded, by job id. */
  const processedAt = new Map<string, number>();
  /** Handler runs by job id. */
  const runs = new Map<string, number>();

  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    env: { RATE_LIMIT_PER_KEY: '1000000', TABLE_PREFIX: 'benchdl', DRIVER_APP_MANUAL: 'true', ODOO_SANDBOX: 'off' },
    timers: false,
    log: consoleLogger({ silent: true }),
    jobHandlers: {
      [QUEUE]: {
        [TYPE]: async (job) => {
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
          if (broken || (job.payload as Payload).poison) throw JobError.permanent('BENCH_BROKEN', 'the bench handler is broken for this job');
          processedAt.set(job.id, performance.now());
        },
      },
    },
  });
  const broker = runtime.broker;
  if (!broker) throw new Error('the bench needs the in-memory broker (unset SERVICEBUS_CONNECTION)');
  const stats = () => broker.stats(QUEUE);

  /** Sends `count` jobs while the handler is broken and waits until the consumer has dead-lettered them all. */
  const deadLetter = async (count: number, poisoned = 0): Promise<{ jobs: JobEnvelope[]; ms: number }> => {
    broken = true;
    const before = stats().deadLetter;
    const jobs: JobEnvelope[] = [];
    const started = performance.now();
    for (let sent = 0; sent < count; sent += 50) {
      const batch: OutgoingJob[] = [];
      for (let i = sent; i < Math.min(count, sent + 50); i++) {
        const payload: Payload = i < poisoned ? { poison: true } : {};
        const envelope = newEnvelope({ queue: QUEUE, type: TYPE, subject: `dl-${randomUUID()}`, payload }, new Date(), randomUUID);
        jobs.push(envelope);
        batch.push({ queue: QUEUE, envelope });
      }
      await runtime.composition.services.sender.send(batch);
    }
    await until(() => stats().deadLetter === before + count, `${count} dead letters`);
    const ms = performance.now() - started;
    broken = false;
    return { jobs, ms };
  };

  const headers = { authorization: `Bearer ${runtime.apiKeys.admin}`, 'content-type': 'application/json' };
  const timer = runtime.composition.functions.find((fn) => fn.name === 'dead-letter-replays') as TimerFunctionDef;
  const runOf = async (id: string) => (await (await fetch(`${runtime.url}/v1/admin/replays/${id}`, { headers })).json()) as { replayed: number; done: boolean };

  const replayCall = async (): Promise<{ replayed: number; ms: number; runId?: string }> => {
    const started = performance.now();
    const response = await fetch(`${runtime.url}/v1/admin/dead-letters/${QUEUE}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runtime.apiKeys.admin}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await response.json()) as { replayed?: number; runId?: string };
    if (![200, 202].includes(response.status) || typeof body.replayed !== 'number')
      throw new Error(`bulk replay answered ${response.status}: ${JSON.stringify(body)}`);
    return { replayed: body.replayed, ms: performance.now() - started, runId: body.runId };
  };

  try {
    // 1. Replay `letters` dead letters until the dead-letter queue is empty.
    const filled = await deadLetter(letters);
    const calls: Array<{ replayed: number; ms: number }> = [];
    const started = performance.now();
    const first = await replayCall();
    calls.push(first);
    // The rest is the timer's: one batch per run of it, until the run says it is done.
    for (let run = first.runId ? await runOf(first.runId) : { replayed: first.replayed, done: true }; !run.done; ) {
      const batchStarted = performance.now();
      await timer.handler();
      const after = await runOf(first.runId as string);
      calls.push({ replayed: after.replayed - run.replayed, ms: performance.now() - batchStarted });
      if (after.replayed === run.replayed) break; // nothing it could take: report what is left rather than loop
      run = after;
    }
    const answered = performance.now();
    await until(() => filled.jobs.every((job) => processedAt.has(job.id)), 'every replayed job processed');
    const lastProcessed = Math.max(...filled.jobs.map((job) => processedAt.get(job.id) as number));
    const replayed = calls.reduce((sum, call) => sum + call.replayed, 0);
    const replayMs = answered - started;

    // The floor: a second set of dead letters taken with the SDK alone, in the same two shapes.
    const client = new ServiceBusClient(connectionStrings(runtime.config).serviceBus);
    const floorSequential = await sdkFloor(client, deadLetter, letters, 'sequential');
    const floorBatched = await sdkFloor(client, deadLetter, letters, 'batched');
    await client.close();
    await until(() => stats().active === 0, 'the floor messages consumed');

    report({
      figure: 'bulk replay of dead letters (admin API, until the queue is empty)',
      letters,
      deadLetteringMs: round(filled.ms),
      calls: calls.length,
      replayed,
      left: stats().deadLetter,
      replayWallMs: round(replayMs),
      messagesPerSecond: round(replayed / (replayMs / 1000)),
      perCall: calls.map((call) => ({ replayed: call.replayed, ms: round(call.ms), perMessageMs: round(call.ms / Math.max(1, call.replayed), 2) })),
      allProcessedMs: round(lastProcessed - started),
      lastProcessedAfterLastAnswerMs: round(Math.max(0, lastProcessed - answered)),
      handlerRunsPerJob: round(filled.jobs.reduce((sum, job) => sum + (runs.get(job.id) ?? 0), 0) / letters, 3),
      floorSdkSequentialMs: round(floorSequential),
      floorSdkBatchedMs: round(floorBatched),
      ratioToSequentialFloor: round(replayMs / floorSequential, 1),
      ratioToBatchedFloor: round(replayMs / floorBatched, 1),
    });

    // 2. One poisoned job among healthy ones, one call.
    const mixed = await deadLetter(healthy + 1, 1);
    const poison = mixed.jobs[0] as JobEnvelope;
    const healthyJobs = mixed.jobs.slice(1);
    const runsBefore = runs.get(poison.id) ?? 0;
    const call = await replayCall();
    await until(() => healthyJobs.every((job) => processedAt.has(job.id)), 'the healthy jobs processed');
    await until(() => stats().active === 0 && stats().locked === 0 && stats().deadLetter >= 1, 'the poisoned job settled', 30_000);
    // Let a second copy (if the call replayed it twice) reach the dead-letter queue too before counting.
    await sleep(500);
    const poisonCopies = broker.messages(QUEUE, { deadLetter: true }).filter((message) => (message.body as JobEnvelope | undefined)?.id === poison.id).length;
    report({
      figure: 'bulk replay, 1 permanently failing + healthy (one call)',
      healthy,
      poisoned: 1,
      replayed: call.replayed,
      callMs: round(call.ms),
      healthyProcessed: healthyJobs.filter((job) => processedAt.has(job.id)).length,
      healthyRunsPerJob: round(healthyJobs.reduce((sum, job) => sum + (runs.get(job.id) ?? 0), 0) / healthy, 3),
      poisonRunsDuringReplay: (runs.get(poison.id) ?? 0) - runsBefore,
      poisonCopiesInDeadLetterQueue: poisonCopies,
      deadLettersLeft: stats().deadLetter,
      poisonBackOnce: poisonCopies === 1 && (runs.get(poison.id) ?? 0) - runsBefore === 1,
    });
  } finally {
    await runtime.stop();
  }
}

/**
 * The raw SDK cost of what a replay does to `count` dead letters: receive them (peekLock), send a
 * fresh copy of each to the main queue, complete them. `sequential` goes message by message as the
 * admin does; `batched` sends each page of 100 at once and completes its messages concurrently.
 * The dead letters are made first (not timed); the copies are jobs the (now fixed) handler accepts.
 */
async function sdkFloor(
  client: ServiceBusClient,
  deadLetter: (count: number) => Promise<unknown>,
  count: number,
  shape: 'sequential' | 'batched',
): Promise<number> {
  await deadLetter(count);
  const receiver = client.createReceiver(QUEUE, { subQueueType: 'deadLetter', receiveMode: 'peekLock' });
  const sender = client.createSender(QUEUE);
  const fresh = (message: ServiceBusReceivedMessage) => toServiceBusMessage({ ...(message.body as JobEnvelope), attempt: 1 });
  try {
    const started = performance.now();
    let taken = 0;
    while (taken < count) {
      const page = await receiver.receiveMessages(PAGE, { maxWaitTimeInMs: 1_000 });
      if (page.length === 0) throw new Error(`the floor found ${taken} of ${count} dead letters`);
      if (shape === 'sequential') {
        for (const message of page) {
          await sender.sendMessages(fresh(message));
          await receiver.completeMessage(message);
        }
      } else {
        await sender.sendMessages(page.map(fresh));
        await Promise.all(page.map((message) => receiver.completeMessage(message)));
      }
      taken += page.length;
    }
    return performance.now() - started;
  } finally {
    await receiver.close();
    await sender.close();
  }
}
