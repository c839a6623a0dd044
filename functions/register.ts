import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { toReceivedMessage } from '../shared/adapters/service-bus/messages';
import { type MessageActions, MessageActionsSettlement } from '../shared/adapters/service-bus/settlement';
import { invokeQueueFunction } from '../shared/platform/invoke-queue-function';
import type { Logger } from '../shared/platform/log';
import type { Telemetry } from '../shared/platform/telemetry';
import type { FunctionDef, HttpFunctionDef, HttpRequestData, HttpResponseData } from '../shared/function-table';
import { toWire } from '../shared/http/pipeline';

/** The part of `@azure/functions`' `app` the registration uses (tests pass a recorder). */
export interface FunctionsApp {
  http(
    name: string,
    options: { route: string; methods: HttpFunctionDef['methods']; authLevel: 'anonymous'; handler: (request: HttpRequest) => Promise<HttpResponseInit> },
  ): void;
  serviceBusQueue(
    name: string,
    options: {
      connection: string;
      queueName: string;
      sdkBinding: true;
      autoCompleteMessages: false;
      cardinality: 'one';
      handler: (trigger: unknown) => Promise<void>;
    },
  ): void;
  timer(name: string, options: { schedule: string; handler: () => Promise<void> }): void;
}

/** With `sdkBinding: true` the trigger value is the extension's ServiceBusMessageContext. */
export interface SdkBindingTrigger {
  messages: ServiceBusReceivedMessage | ServiceBusReceivedMessage[];
  actions: MessageActions;
}

export interface RegistrationDeps {
  functions: FunctionDef[];
  pipeline: { handle(def: HttpFunctionDef, request: HttpRequestData): Promise<HttpResponseData> };
  log: Logger;
  /** Where a queue function's failure goes when the host would see only a success. */
  telemetry?: Pick<Telemetry, 'exception'>;
  /** Resolves once the instance is ready (tables created); awaited by every invocation. */
  ready: () => Promise<void>;
}

async function toRequestData(request: HttpRequest): Promise<HttpRequestData> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const url = new URL(request.url);
  return {
    method: request.method,
    url: url.pathname.replace(/^\/api\//, ''),
    params: { ...request.params },
    query: url.searchParams,
    headers,
    rawBody: Buffer.from(await request.arrayBuffer()),
    // The front end appends the client address; the first entry is the caller.
    clientIp: headers['x-forwarded-for']?.split(',')[0]?.trim().replace(/:\d+$/, '') ?? '',
  };
}

/** Registers the function table with the Functions host: HTTP, Service Bus (SDK binding) and timers. */
export function registerFunctions(app: FunctionsApp, deps: RegistrationDeps): void {
  for (const def of deps.functions) {
    switch (def.kind) {
      case 'http':
        app.http(def.name, {
          route: def.route,
          methods: def.methods,
          authLevel: 'anonymous',
          handler: async (request) => {
            await deps.ready();
            const wire = toWire(await deps.pipeline.handle(def, await toRequestData(request)), { secure: new URL(request.url).protocol === 'https:' });
            return { status: wire.status, headers: wire.headers, body: wire.body };
          },
        });
        break;
      case 'queue':
        app.serviceBusQueue(def.name, {
          connection: 'SERVICEBUS_CONNECTION',
          queueName: def.queue,
          // The handler settles through the host's message actions (README, "Settlement").
          sdkBinding: true,
          autoCompleteMessages: false,
          cardinality: 'one',
          handler: async (trigger) => {
            await deps.ready();
            const { messages, actions } = trigger as SdkBindingTrigger;
            const message = (Array.isArray(messages) ? messages[0] : messages) as ServiceBusReceivedMessage;
            await invokeQueueFunction(def, toReceivedMessage(message), new MessageActionsSettlement(actions, message), deps.log, deps.telemetry);
          },
        });
        break;
      case 'timer':
        app.timer(def.name, {
          schedule: def.schedule,
          handler: async () => {
            await deps.ready();
            await def.handler();
          },
        });
        break;
    }
  }
}
