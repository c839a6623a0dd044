import type { QueueFunctionDef } from '../shared/function-table';
import { createJobConsumer, type JobConsumerDeps, type JobHandler, type RetryPolicy } from '../shared/platform/consume-job';
import type { JobHandlers } from '../shared/platform/job-handlers';
import type { QueueName } from '../shared/platform/queues';

/**
 * One queue function per queue that has handlers, each behind the shared consumer wrapper; a queue
 * may have its own retry policy (callbacks follow the Standard Webhooks schedule).
 */
export function jobFunctions(
  handlers: JobHandlers,
  deps: Omit<JobConsumerDeps, 'queue' | 'handlers'> & { policies?: Partial<Record<QueueName, RetryPolicy>> },
): QueueFunctionDef[] {
  const { policies, ...shared } = deps;
  return Object.entries(handlers)
    .filter((entry): entry is [QueueName, Record<string, JobHandler>] => Boolean(entry[1]))
    .map(([queue, byType]) => ({
      kind: 'queue',
      name: `jobs-${queue}`,
      queue,
      handler: createJobConsumer({ ...shared, policy: policies?.[queue] ?? shared.policy, queue, handlers: byType }),
    }));
}
