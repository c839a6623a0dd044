import type { QueueFunctionDef } from '../shared/function-table';
import { createJobConsumer, type JobConsumerDeps, type JobHandler } from '../shared/platform/consume-job';
import type { JobHandlers } from '../shared/platform/job-handlers';

/** One queue function per queue that has handlers, each behind the shared consumer wrapper. */
export function jobFunctions(handlers: JobHandlers, deps: Omit<JobConsumerDeps, 'queue' | 'handlers'>): QueueFunctionDef[] {
  return Object.entries(handlers)
    .filter((entry): entry is [string, Record<string, JobHandler>] => Boolean(entry[1]))
    .map(([queue, byType]) => ({
      kind: 'queue',
      name: `jobs-${queue}`,
      queue,
      handler: createJobConsumer({ ...deps, queue, handlers: byType }),
    }));
}
