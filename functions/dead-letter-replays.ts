import type { TimerFunctionDef } from '../shared/function-table';
import type { DeadLetterAdmin } from '../shared/platform/dead-letters';
import type { Logger } from '../shared/platform/log';

/** Every minute: a bulk replay started by an admin goes on one batch per minute until it is done. */
export const DEAD_LETTER_REPLAYS_SCHEDULE = '30 */1 * * * *';

/** The timer that carries bulk replays on past their first call (`DeadLetterAdmin.continueReplays`). */
export function deadLetterReplaysFunction(admin: DeadLetterAdmin, log: Pick<Logger, 'info'>): TimerFunctionDef {
  return {
    kind: 'timer',
    name: 'dead-letter-replays',
    schedule: DEAD_LETTER_REPLAYS_SCHEDULE,
    handler: async () => {
      const replayed = await admin.continueReplays();
      if (replayed > 0) log.info('bulk replays continued', { replayed });
    },
  };
}
