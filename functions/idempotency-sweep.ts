import type { TimerFunctionDef } from '../shared/function-table';
import type { IdempotencyStore } from '../shared/platform/idempotency';
import type { Logger } from '../shared/platform/log';

/** The timer that deletes Idempotency-Key records older than the retention (finished or abandoned in flight). */
export function idempotencySweepFunction(
  store: IdempotencyStore,
  options: { schedule: string; retentionHours: number; now?: () => Date; log?: Logger },
): TimerFunctionDef {
  const now = options.now ?? (() => new Date());
  return {
    kind: 'timer',
    name: 'idempotency-sweep',
    schedule: options.schedule,
    handler: async () => {
      const olderThan = new Date(now().getTime() - options.retentionHours * 3_600_000);
      const removed = await store.sweep(olderThan);
      if (removed > 0) options.log?.info('idempotency records swept', { removed, olderThan: olderThan.toISOString() });
    },
  };
}
