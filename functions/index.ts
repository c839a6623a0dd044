// Azure entry point: parse the configuration once, compose, and register the one function table.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { toReceivedMessage } from '../shared/adapters/service-bus/messages';
import { type MessageActions, MessageActionsSettlement } from '../shared/adapters/service-bus/settlement';
import { invokeQueueFunction } from '../shared/app/invoke-queue-function';
import { loadConfig } from '../shared/config';
import type { HttpRequestData } from '../shared/function-table';
import { toWire } from '../shared/http/pipeline';
import { compose } from './composition';

// Registers the SDK-binding message factory (settlement actions). Loaded with require because the
// package's typings pull in its TypeScript sources, which do not compile under our strict settings.
require('@azure/functions-extensions-servicebus');

const composition = compose(loadConfig());
const { pipeline, services } = composition;
// Tables are created once per instance, before the first function runs; a failed attempt is
// retried by the next invocation instead of leaving the instance broken.
let initializing: Promise<void> | undefined;
const ready = (): Promise<void> =>
  (initializing ??= composition.init().catch((error: unknown) => {
    initializing = undefined;
    throw error;
  }));

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

for (const def of composition.functions) {
  switch (def.kind) {
    case 'http':
      app.http(def.name, {
        route: def.route,
        methods: def.methods,
        authLevel: 'anonymous',
        handler: async (request: HttpRequest): Promise<HttpResponseInit> => {
          await ready();
          const wire = toWire(await pipeline.handle(def, await toRequestData(request)));
          return { status: wire.status, headers: wire.headers, body: wire.body };
        },
      });
      break;
    case 'queue':
      app.serviceBusQueue(def.name, {
        connection: 'SERVICEBUS_CONNECTION',
        queueName: def.queue,
        // SDK binding: the handler settles through the host's message actions (see README, "Settlement").
        sdkBinding: true,
        autoCompleteMessages: false,
        cardinality: 'one',
        handler: async (trigger: unknown, _context: InvocationContext) => {
          await ready();
          // With sdkBinding the trigger value is the extension's ServiceBusMessageContext.
          const { messages, actions } = trigger as {
            messages: ServiceBusReceivedMessage | ServiceBusReceivedMessage[];
            actions: MessageActions;
          };
          const message = (Array.isArray(messages) ? messages[0] : messages) as ServiceBusReceivedMessage;
          await invokeQueueFunction(def, toReceivedMessage(message), new MessageActionsSettlement(actions, message), services.log);
        },
      });
      break;
    case 'timer':
      app.timer(def.name, {
        schedule: def.schedule,
        handler: async () => {
          await ready();
          await def.handler();
        },
      });
      break;
  }
}
