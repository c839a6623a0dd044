import type { ServiceBusClient, ServiceBusReceiver } from '@azure/service-bus';
import { Cron } from 'croner';
import type { ServiceBusSettings } from '../shared/config';
import { createServiceBusClient } from '../shared/adapters/service-bus/client';
import { toReceivedMessage } from '../shared/adapters/service-bus/messages';
import { ReceiverSettlement } from '../shared/adapters/service-bus/settlement';
import { invokeQueueFunction } from '../shared/platform/invoke-queue-function';
import type { Logger } from '../shared/platform/log';
import type { Telemetry } from '../shared/platform/telemetry';
import type { FunctionDef, HttpFunctionDef, HttpRequestData, HttpResponseData, QueueFunctionDef, TimerFunctionDef } from '../shared/function-table';
import type { CorsOrigins } from '../shared/http/cors';
import { startHttpHost } from './http-host';

export interface LocalHostOptions {
  functions: FunctionDef[];
  pipeline: { handle(def: HttpFunctionDef, request: HttpRequestData): Promise<HttpResponseData> };
  /** The CORS list the Functions platform would be given (`CORS_ORIGINS`). */
  cors?: CorsOrigins;
  /** The Service Bus whose queues are pumped, as the app's SERVICEBUS_CONNECTION settings name it. */
  serviceBus: ServiceBusSettings;
  port: number;
  host?: string;
  /** Messages each queue function handles at once (host.json maxConcurrentCalls). */
  concurrency: number;
  /** How long a handler's message lock is renewed (host.json maxAutoLockRenewalDuration). */
  maxLockRenewalMs?: number;
  /** Run timers on their schedules; tests turn this off and call `runTimer`. */
  timers?: boolean;
  log: Logger;
  /** Where a queue function's failure goes when the host would see only a success. */
  telemetry?: Pick<Telemetry, 'exception'>;
}

export interface LocalHost {
  url: string;
  port: number;
  /** Runs a timer function now (what the schedule would do). */
  runTimer(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The local functions host: serves the function table's HTTP functions, pumps each queue function's
 * queue with peek-lock receivers (settlement as under the Functions host), and runs timers.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { log } = options;
  const http = await startHttpHost({
    port: options.port,
    host: options.host,
    functions: options.functions,
    pipeline: options.pipeline,
    cors: options.cors,
  });

  const client = createServiceBusClient(options.serviceBus);
  const receivers: ServiceBusReceiver[] = [];
  for (const def of options.functions.filter((f): f is QueueFunctionDef => f.kind === 'queue')) {
    receivers.push(pumpQueue(client, def, options));
  }

  const timerDefs = options.functions.filter((f): f is TimerFunctionDef => f.kind === 'timer');
  const runTimer = async (def: TimerFunctionDef) => {
    try {
      await def.handler();
    } catch (error) {
      log.error('timer function failed', { function: def.name, error });
    }
  };
  const crons = options.timers === false ? [] : timerDefs.map((def) => new Cron(def.schedule, { protect: true }, () => runTimer(def)));

  return {
    url: http.url,
    port: http.port,
    runTimer: async (name) => {
      const def = timerDefs.find((timer) => timer.name === name);
      if (!def) throw new Error(`no timer function named ${name}`);
      await def.handler();
    },
    stop: async () => {
      for (const cron of crons) cron.stop();
      await http.stop();
      await Promise.allSettled(receivers.map((receiver) => receiver.close()));
      await client.close();
    },
  };
}

function pumpQueue(client: ServiceBusClient, def: QueueFunctionDef, options: LocalHostOptions): ServiceBusReceiver {
  const receiver = client.createReceiver(def.queue, {
    receiveMode: 'peekLock',
    maxAutoLockRenewalDurationInMs: options.maxLockRenewalMs ?? 5 * 60_000,
  });
  receiver.subscribe(
    {
      processMessage: (message) =>
        invokeQueueFunction(def, toReceivedMessage(message), new ReceiverSettlement(receiver, message), options.log, options.telemetry),
      processError: async ({ error, errorSource }) => {
        options.log.warn('queue receiver error', { function: def.name, errorSource, error });
      },
    },
    { autoCompleteMessages: false, maxConcurrentCalls: options.concurrency },
  );
  return receiver;
}
