import { createJobConsumer, type JobConsumerDeps, type JobHandler } from '../shared/platform/consume-job';
import type { QueueFunctionDef } from '../shared/function-table';

/** Job handlers by queue, then by job type. */
export type JobHandlers = Partial<Record<string, Record<string, JobHandler>>>;

/** One queue function per queue that has handlers, each behind the shared consumer wrapper. */
export function jobFunctions(
  handlers: JobHandlers,
  deps: Omit<JobConsumerDeps, 'queue' | 'handlers'>,
): QueueFunctionDef[] {
  return Object.entries(handlers)
    .filter((entry): entry is [string, Record<string, JobHandler>] => Boolean(entry[1]))
    .map(([queue, byType]) => ({
      kind: 'queue',
      name: `jobs-${queue}`,
      queue,
      handler: createJobConsumer({ ...deps, queue, handlers: byType }),
    }));
}
