import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import type LongType from 'long';
import type { DeadLetter, DeadLetterQueues } from '../../platform/dead-letters';

const PAGE = 100;
const RECEIVE_WAIT_MS = 1_000;
const LOCK_MARGIN_MS = 10_000;

function toDeadLetter(message: ServiceBusReceivedMessage): DeadLetter {
  return {
    messageId: String(message.messageId ?? ''),
    body: message.body,
    reason: message.deadLetterReason,
    description: message.deadLetterErrorDescription,
    applicationProperties: (message.applicationProperties ?? {}) as Record<string, unknown>,
    enqueuedTime: message.enqueuedTimeUtc,
    sequenceNumber: message.sequenceNumber?.toString(),
  };
}

/** Dead-letter sub-queues through the Service Bus SDK: peek to browse, peek-lock to take. */
export class ServiceBusDeadLetterQueues implements DeadLetterQueues {
  constructor(private readonly client: ServiceBusClient) {}

  async peek(queue: string, max: number, after?: string): Promise<DeadLetter[]> {
    const receiver = this.client.createReceiver(queue, { subQueueType: 'deadLetter' });
    try {
      const letters: DeadLetter[] = [];
      // Required here: only browsing dead letters needs 64-bit sequence numbers.
      const Long = require('long') as typeof LongType;
      // Always from an explicit position: without one the SDK resumes where the connection's last
      // peek of this queue stopped, so a second browse would find nothing.
      let from = after === undefined ? Long.ZERO : Long.fromString(after).add(1);
      while (letters.length < max) {
        const page = await receiver.peekMessages(Math.min(PAGE, max - letters.length), {
          fromSequenceNumber: from,
        });
        if (page.length === 0) break;
        letters.push(...page.map(toDeadLetter));
        const last = page.at(-1)?.sequenceNumber;
        if (last === undefined) break;
        from = Long.fromValue(last).add(1);
      }
      return letters;
    } finally {
      await receiver.close();
    }
  }

  async take(queue: string, select: (letter: DeadLetter) => boolean, act: (letter: DeadLetter) => Promise<void>, max: number): Promise<number> {
    const receiver = this.client.createReceiver(queue, { subQueueType: 'deadLetter', receiveMode: 'peekLock' });
    // Letters we passed over stay locked until the scan ends, so the scan never sees one twice.
    const skipped: ServiceBusReceivedMessage[] = [];
    let taken = 0;
    try {
      while (taken < max) {
        const batch = await receiver.receiveMessages(PAGE, { maxWaitTimeInMs: RECEIVE_WAIT_MS });
        if (batch.length === 0) break;
        for (const message of batch) {
          const letter = toDeadLetter(message);
          if (taken >= max || !select(letter)) {
            skipped.push(message);
            continue;
          }
          taken += await this.settle(receiver, message, () => act(letter), skipped);
        }
      }
    } finally {
      await Promise.allSettled(skipped.map((message) => receiver.abandonMessage(message)));
      await receiver.close();
    }
    return taken;
  }

  private async settle(
    receiver: ServiceBusReceiver,
    message: ServiceBusReceivedMessage,
    act: () => Promise<void>,
    skipped: ServiceBusReceivedMessage[],
  ): Promise<number> {
    // A long scan can eat into the lock; renew it so the completion after `act` does not fail.
    if ((message.lockedUntilUtc?.getTime() ?? 0) - Date.now() < LOCK_MARGIN_MS) await receiver.renewMessageLock(message);
    try {
      await act();
    } catch {
      skipped.push(message);
      return 0;
    }
    await receiver.completeMessage(message);
    return 1;
  }
}
