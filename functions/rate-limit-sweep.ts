import type { TimerFunctionDef } from '../shared/function-table';
import type { Logger } from '../shared/platform/log';
import type { RateBudgetStore } from '../shared/platform/rate-budget';

/** Hourly, at half past (the idempotency sweep runs on the hour). */
export const RATE_LIMIT_SWEEP_SCHEDULE = '0 30 * * * *';

/**
 * The timer that deletes rate-limit windows that have ended: the next request of their key opens a
 * new window anyway, and the table keeps (hashed) client addresses no longer than it needs them.
 */
export function rateLimitSweepFunction(store: RateBudgetStore, options: { now?: () => Date; log?: Logger } = {}): TimerFunctionDef {
  const now = options.now ?? (() => new Date());
  return {
    kind: 'timer',
    name: 'rate-limit-sweep',
    schedule: RATE_LIMIT_SWEEP_SCHEDULE,
    handler: async () => {
      const removed = await store.sweep(now());
      if (removed > 0) options.log?.info('rate limit windows swept', { removed });
    },
  };
}
