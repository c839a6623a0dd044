import type { OutboxRelay } from '../shared/platform/outbox';
import type { TimerFunctionDef } from '../shared/function-table';

/** The timer that relays outbox rows a crash or a failed send left behind. */
export function outboxRelayFunction(relay: OutboxRelay, options: { schedule: string; minAgeMs: number }): TimerFunctionDef {
  return {
    kind: 'timer',
    name: 'outbox-relay',
    schedule: options.schedule,
    handler: async () => {
      await relay.relayPending(new Date(), options.minAgeMs);
    },
  };
}
