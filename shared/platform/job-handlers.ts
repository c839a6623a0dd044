import type { JobHandler } from './consume-job';
import { QUEUE_NAMES, type QueueName } from './queues';

/** Job handlers by queue, then by job type: what a slice (or the platform) hands the composition root. */
export type JobHandlers = Partial<Record<QueueName, Record<string, JobHandler>>>;

/**
 * Merges handler sets by queue and type. Two handlers for one type on one queue refuse to start:
 * silently letting the later one win would drop the other's jobs. A queue outside the registry is
 * refused too, since nothing would create it.
 */
export function mergeJobHandlers(...sets: Array<JobHandlers | undefined>): JobHandlers {
  const merged: JobHandlers = {};
  for (const set of sets) {
    for (const [queue, byType] of Object.entries(set ?? {}) as Array<[QueueName, Record<string, JobHandler> | undefined]>) {
      if (!QUEUE_NAMES.includes(queue)) throw new Error(`job handlers for unknown queue "${queue}" (known: ${QUEUE_NAMES.join(', ')})`);
      const target = (merged[queue] ??= {});
      for (const [type, handler] of Object.entries(byType ?? {})) {
        if (target[type]) throw new Error(`two handlers for job type "${type}" on queue "${queue}"`);
        target[type] = handler;
      }
    }
  }
  return merged;
}

/** The same handlers, each followed by `after` once it succeeded (e.g. recording the sync time). */
export function afterEach(handlers: Record<string, JobHandler>, after: () => Promise<void>): Record<string, JobHandler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([type, handler]) => [
      type,
      async (job: Parameters<JobHandler>[0]) => {
        await handler(job);
        await after();
      },
    ]),
  );
}
