import type { QueueFunctionDef, ReceivedMessage } from '../function-table';
import { DEAD_LETTER_REASONS } from './consume-job';
import type { Settlement } from './jobs';
import type { Logger } from './log';
import type { Telemetry } from './telemetry';

/**
 * Runs a queue function the same way under both hosts: a handler that returns without settling has
 * its message completed, one that throws without settling has it abandoned (redelivered, counted
 * against the queue's max delivery count) — what the Functions host does with auto-complete.
 */
export async function invokeQueueFunction(
  def: QueueFunctionDef,
  message: ReceivedMessage,
  settlement: Settlement,
  log: Logger,
  /**
   * The host sees an abandoned or dead-lettered message as a success: the failure is reported as an
   * exception (`function`, `messageId`; a dead letter also `reason`).
   */
  telemetry?: Pick<Telemetry, 'exception'>,
): Promise<void> {
  const about = { function: def.name, messageId: message.messageId };
  let settled = false;
  const once =
    <A extends unknown[]>(settle: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      if (settled) throw new Error(`message ${message.messageId} is already settled`);
      settled = true;
      await settle(...args);
    };
  const tracked: Settlement = {
    complete: once(() => settlement.complete()),
    deadLetter: once(async (reason: string, description: string, properties?: Record<string, string>) => {
      await settlement.deadLetter(reason, description, properties);
      // The job consumer reports the error behind these two itself; the others (not an envelope, no
      // handler for the type) never reached a handler, so nothing else reports them.
      if (!REPORTED_BY_CONSUMER.has(reason)) telemetry?.exception(new DeadLetteredError(reason, description), { ...about, reason });
    }),
    abandon: once(() => settlement.abandon()),
  };
  try {
    await def.handler(message, tracked);
  } catch (error) {
    log.error('queue function failed', { function: def.name, messageId: message.messageId, error });
    telemetry?.exception(error, about);
    if (!settled) await settlement.abandon();
    return;
  }
  if (!settled) await settlement.complete();
}

/** Dead-letter reasons whose failure the job consumer reports as an exception (the handler's error). */
const REPORTED_BY_CONSUMER: ReadonlySet<string> = new Set([DEAD_LETTER_REASONS.permanent, DEAD_LETTER_REASONS.exhausted]);

/** A message dead-lettered without a thrown error (e.g. a body that is not a job envelope). */
export class DeadLetteredError extends Error {
  constructor(
    readonly reason: string,
    description: string,
  ) {
    super(`dead-lettered (${reason}): ${description}`);
    this.name = 'DeadLetteredError';
  }
}
