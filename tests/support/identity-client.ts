// Child process for tests/integration/identity-connections.test.ts. It reads the identity-based
// connection settings from its environment with the app's own schema and uses the app's adapters,
// so the real @azure/identity runs: NODE_EXTRA_CA_CERTS (the local TLS certificate) and
// IDENTITY_ENDPOINT / IDENTITY_HEADER (the local token endpoint) are read only at process start.
// It prints one JSON line: what each step did, or the error it failed with.
import { randomUUID } from 'node:crypto';
import { platformConcerns, parseConcerns } from '../../shared/config';
import { createServiceBusClient } from '../../shared/adapters/service-bus/client';
import { ServiceBusDeadLetterQueues } from '../../shared/adapters/service-bus/dead-letters';
import { ServiceBusJobSender } from '../../shared/adapters/service-bus/sender';
import { TableStore } from '../../shared/adapters/table-storage/tables';
import { toOutgoing } from '../../shared/platform/jobs';

const [queue, table] = process.argv.slice(2);
if (!queue || !table) throw new Error('usage: identity-client <queue> <table>');

const config = parseConcerns({ serviceBus: platformConcerns.serviceBus, tables: platformConcerns.tables }, process.env);

/** Runs a step and reports its result or its error (name, code, status), never throwing. */
async function step<T>(run: () => Promise<T>): Promise<{ ok: T } | { error: { name: string; code?: unknown; statusCode?: unknown; message: string } }> {
  try {
    return { ok: await run() };
  } catch (caught) {
    const error = caught as { name?: string; code?: unknown; statusCode?: unknown; message?: string; cause?: { statusCode?: unknown; code?: unknown } };
    return {
      error: {
        name: String(error.name),
        code: error.code ?? error.cause?.code,
        statusCode: error.statusCode ?? error.cause?.statusCode,
        message: String(error.message).slice(0, 300),
      },
    };
  }
}

async function tables() {
  const store = new TableStore(config.tables);
  await store.ensureTables([table as string]);
  const client = store.client(table as string);
  const rowKey = randomUUID();
  await client.createEntity({ partitionKey: 'identity', rowKey, value: 'written with a token' });
  const read = await client.getEntity<{ value: string }>('identity', rowKey);
  return { value: read.value, probe: await store.probe(5_000) };
}

async function serviceBus() {
  const client = createServiceBusClient(config.serviceBus, { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
  const sender = new ServiceBusJobSender(client);
  try {
    const [job] = toOutgoing([{ queue: queue as string, type: 'identity.check', subject: 'identity', payload: { ok: true } }], {
      now: new Date(),
      newId: randomUUID,
    });
    await sender.send(job ? [job] : []);
    const receiver = client.createReceiver(queue as string);
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    if (!message) throw new Error('the job sent was not received');
    // Dead-lettered and browsed as the admin replay does: a link to the dead-letter sub-queue.
    await receiver.deadLetterMessage(message, {
      deadLetterReason: 'identity-check',
      deadLetterErrorDescription: 'dead-lettered over an identity-based connection',
    });
    await receiver.close();
    const letters = await new ServiceBusDeadLetterQueues(client).peek(queue as string, 10);
    return { sentId: job?.envelope.id, receivedId: (message.body as { id?: unknown }).id, deadLetters: letters.map((letter) => letter.reason) };
  } finally {
    await sender.close();
    await client.close();
  }
}

async function main(): Promise<void> {
  const result = { tables: await step(tables), serviceBus: await step(serviceBus) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Exit at once when done: nothing else should keep the child alive.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
