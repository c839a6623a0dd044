// Jobs per second through the whole pipeline (send -> broker -> local host pump -> consumer wrapper
// with its processed-jobs check and mark in Azurite -> settle) with a no-op handler, and the latency
// from send to handler start. A benchmark that prints figures, not a test.
import { randomUUID } from 'node:crypto';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { newEnvelope, type OutgoingJob } from '../shared/platform/jobs';
import { FREE_PORTS, startLocalRuntime } from '../local/runtime';
import { percentile } from './stats';

const QUEUE = 'notifications';

export async function benchPipeline(concurrency: number, jobs: number): Promise<Record<string, number>> {
  const latencies: number[] = [];
  let handled = 0;
  let jobsTarget = jobs;
  let allHandled: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allHandled = resolve));

  const runtime = await startLocalRuntime({
    ports: FREE_PORTS,
    env: { QUEUE_CONCURRENCY: String(concurrency), TABLE_PREFIX: `bench${concurrency}` },
    timers: false,
    log: consoleLogger({ silent: true }),
    jobHandlers: {
      [QUEUE]: {
        'bench.noop': async (job) => {
          latencies.push(Date.now() - (job.payload as { sentAt: number }).sentAt);
          if (++handled === jobsTarget) allHandled();
        },
      },
    },
  });
  try {
    const sender = runtime.composition.services.sender;
    const started = Date.now();
    // Sent in batches of 50, as a burst of committed state changes would reach the queue.
    for (let sent = 0; sent < jobs; sent += 50) {
      const batch: OutgoingJob[] = [];
      for (let i = sent; i < Math.min(jobs, sent + 50); i++) {
        const envelope = newEnvelope({ queue: QUEUE, type: 'bench.noop', subject: `s-${i}`, payload: { sentAt: Date.now() } }, new Date(), randomUUID);
        batch.push({ queue: QUEUE, envelope });
      }
      await sender.send(batch);
    }
    await done;
    const seconds = (Date.now() - started) / 1000;
    const burst = [...latencies].sort((a, b) => a - b);

    // Latency without a backlog: one job every 20 ms, so send-to-start is the pipeline's own delay.
    latencies.length = 0;
    handled = 0;
    const paced = 200;
    const pacedDone = new Promise<void>((resolve) => (allHandled = resolve));
    jobsTarget = paced;
    for (let i = 0; i < paced; i++) {
      const envelope = newEnvelope({ queue: QUEUE, type: 'bench.noop', subject: `p-${i}`, payload: { sentAt: Date.now() } }, new Date(), randomUUID);
      await sender.send([{ queue: QUEUE, envelope }]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await pacedDone;
    const steady = [...latencies].sort((a, b) => a - b);
    return {
      concurrency,
      jobs,
      jobsPerSecond: Math.round(jobs / seconds),
      burstP50Ms: percentile(burst, 50),
      burstP99Ms: percentile(burst, 99),
      pacedJobs: paced,
      pacedP50Ms: percentile(steady, 50),
      pacedP99Ms: percentile(steady, 99),
    };
  } finally {
    await runtime.stop();
  }
}
