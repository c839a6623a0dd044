// The same consumer wrapper must behave the same under the Functions host (SDK-binding settlement
// actions) and under the local host (a ServiceBusReceiver). This suite runs each scenario through
// both registrations against the broker and compares what ends up on the queues.
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import { randomUUID } from 'node:crypto';
import { types } from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFunctions } from '../../functions/jobs';
import { type FunctionsApp, registerFunctions } from '../../functions/register';
import { toReceivedMessage } from '../../shared/adapters/service-bus/messages';
import { ServiceBusJobSender } from '../../shared/adapters/service-bus/sender';
import { type MessageActions, ReceiverSettlement } from '../../shared/adapters/service-bus/settlement';
import { invokeQueueFunction } from '../../shared/platform/invoke-queue-function';
import { JobError, newEnvelope, type ProcessedJobs } from '../../shared/platform/jobs';
import type { QueueFunctionDef } from '../../shared/function-table';
import { ServiceBusBroker } from '../../local/servicebus-broker';

const silent = { info() {}, warn() {}, error() {} };

class MemoryProcessedJobs implements ProcessedJobs {
  private readonly ids = new Set<string>();
  async has(id: string) {
    return this.ids.has(id);
  }
  async mark(id: string) {
    this.ids.add(id);
  }
}

/**
 * What the Functions host's settlement service does with the actions' gRPC calls: settle on the
 * receiver that holds the lock, decoding the modified properties from their AMQP map encoding.
 */
function hostActions(receiver: ServiceBusReceiver): MessageActions {
  const decode = (bytes?: Uint8Array): Record<string, string> => {
    if (!bytes || bytes.length === 0) return {};
    const reader = new (types as unknown as { Reader: new (buffer: Buffer) => { read(): { value: unknown } } }).Reader(Buffer.from(bytes));
    return types.unwrap_map_simple(reader.read()) as Record<string, string>;
  };
  return {
    complete: (message) => receiver.completeMessage(message),
    abandon: (message) => receiver.abandonMessage(message),
    deadletter: (message, properties, reason, description) =>
      receiver.deadLetterMessage(message, {
        ...decode(properties),
        deadLetterReason: reason ?? '',
        deadLetterErrorDescription: description ?? '',
      }),
  };
}

type Host = 'azure' | 'local';

describe('settlement parity: Functions host (SDK binding) vs local host (receiver)', () => {
  let broker: ServiceBusBroker;
  let client: ServiceBusClient;
  let sender: ServiceBusJobSender;

  beforeAll(async () => {
    broker = await ServiceBusBroker.start({ port: 0 });
    client = new ServiceBusClient(broker.connectionString());
    sender = new ServiceBusJobSender(client);
  });

  afterAll(async () => {
    await sender?.close();
    await client?.close();
    await broker?.stop();
  });

  /** Sends one job, receives it and runs it through the chosen host's registration. */
  async function runThrough(host: Host, queue: string, type: string, body?: unknown) {
    const def = jobFunctions(
      {
        [queue]: {
          'parity.ok': async () => undefined,
          'parity.transient': async () => {
            throw JobError.transient('UPSTREAM_DOWN', 'upstream down');
          },
          'parity.permanent': async () => {
            throw JobError.permanent('REJECTED', 'upstream rejected the record');
          },
        },
      },
      { sender, processed: new MemoryProcessedJobs(), policy: { maxAttempts: 3, baseMs: 20, capMs: 100 }, log: silent },
    )[0] as QueueFunctionDef;

    const envelope = newEnvelope({ queue, type, subject: 's-1', payload: {} }, new Date(), randomUUID);
    if (body === undefined) await sender.send([{ queue, envelope }]);
    else await client.createSender(queue).sendMessages({ body });

    const receiver = client.createReceiver(queue);
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    expect(message).toBeDefined();
    if (host === 'local') {
      await invokeQueueFunction(
        def,
        toReceivedMessage(message as ServiceBusReceivedMessage),
        new ReceiverSettlement(receiver, message as ServiceBusReceivedMessage),
        silent,
      );
    } else {
      const handlers = new Map<string, (trigger: unknown) => Promise<void>>();
      const app: FunctionsApp = {
        http: () => undefined,
        timer: () => undefined,
        serviceBusQueue: (name, options) => {
          expect(options).toMatchObject({ sdkBinding: true, autoCompleteMessages: false, queueName: queue });
          handlers.set(name, options.handler);
        },
      };
      registerFunctions(app, { functions: [def], pipeline: { handle: async () => ({ status: 500 }) }, log: silent, ready: async () => undefined });
      await handlers.get(def.name)?.({ messages: [message], actions: hostActions(receiver) });
    }
    await receiver.close();
    return { envelope, outcome: await outcomeOf(queue) };
  }

  /** Everything left on the queue and its dead-letter queue after a run. */
  async function outcomeOf(queue: string) {
    const main = client.createReceiver(queue);
    const dead = client.createReceiver(queue, { subQueueType: 'deadLetter' });
    const retried = await main.receiveMessages(10, { maxWaitTimeInMs: 600 });
    const deadLettered = await dead.receiveMessages(10, { maxWaitTimeInMs: 300 });
    await Promise.all([...retried.map((m) => main.completeMessage(m)), ...deadLettered.map((m) => dead.completeMessage(m))]);
    await Promise.all([main.close(), dead.close()]);
    return {
      retried: retried.map((m) => {
        const { attempt, errors } = m.body as { attempt: number; errors: Array<{ code: string; kind: string }> };
        return { attempt, errors: errors.map((e) => `${e.kind}:${e.code}`) };
      }),
      deadLettered: deadLettered.map((m) => ({
        reason: m.deadLetterReason,
        description: m.deadLetterErrorDescription,
        jobErrors: JSON.parse(String(m.applicationProperties?.JobErrors ?? '[]')).map((e: { code: string }) => e.code),
      })),
    };
  }

  const scenarios: Array<[string, string, unknown?]> = [
    ['success', 'parity.ok'],
    ['transient failure', 'parity.transient'],
    ['permanent failure', 'parity.permanent'],
    ['unknown job type', 'parity.nobody'],
    ['not a job envelope', 'parity.ok', { hello: 'world' }],
  ];

  it.each(scenarios)('%s: both hosts leave the same queues behind', async (_name, type, body) => {
    // One queue for both: each run drains what it left behind before the next starts.
    const queue = `parity-${randomUUID().slice(0, 8)}`;
    const azure = await runThrough('azure', queue, type, body);
    const local = await runThrough('local', queue, type, body);
    expect(azure.outcome).toEqual(local.outcome);
  });

  it('the outcomes are the ones the wrapper promises', async () => {
    const queue = () => `parity-${randomUUID().slice(0, 8)}`;
    expect((await runThrough('azure', queue(), 'parity.ok')).outcome).toEqual({ retried: [], deadLettered: [] });
    expect((await runThrough('azure', queue(), 'parity.transient')).outcome).toEqual({
      retried: [{ attempt: 2, errors: ['transient:UPSTREAM_DOWN'] }],
      deadLettered: [],
    });
    expect((await runThrough('azure', queue(), 'parity.permanent')).outcome).toEqual({
      retried: [],
      deadLettered: [{ reason: 'PermanentError', description: 'attempt 1: REJECTED: upstream rejected the record', jobErrors: ['REJECTED'] }],
    });
  });
});
