import type { QueueFunctionDef, ReceivedMessage } from '../function-table';
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
  /** The host sees an abandoned message as a success: the failure is reported as an exception. */
  telemetry?: Pick<Telemetry, 'exception'>,
): Promise<void> {
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
    deadLetter: once((reason: string, description: string, properties?: Record<string, string>) => settlement.deadLetter(reason, description, properties)),
    abandon: once(() => settlement.abandon()),
  };
  try {
    await def.handler(message, tracked);
  } catch (error) {
    log.error('queue function failed', { function: def.name, messageId: message.messageId, error });
    telemetry?.exception(error, { function: def.name, messageId: message.messageId });
    if (!settled) await settlement.abandon();
    return;
  }
  if (!settled) await settlement.complete();
}
