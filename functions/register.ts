import { isIP } from 'node:net';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { toReceivedMessage } from '../shared/adapters/service-bus/messages';
import { type MessageActions, MessageActionsSettlement } from '../shared/adapters/service-bus/settlement';
import { invokeQueueFunction } from '../shared/platform/invoke-queue-function';
import type { Logger } from '../shared/platform/log';
import type { Telemetry } from '../shared/platform/telemetry';
import type { FunctionDef, HttpFunctionDef, HttpRequestData, HttpResponseData } from '../shared/function-table';
import { toWire } from '../shared/http/pipeline';
import { type FunctionsApp, type HostHandler, manifestOf, registerEntries } from './manifest';

export type { FunctionsApp } from './manifest';

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
    clientIp: clientAddress(headers),
  };
}

/**
 * The caller's address as the platform saw it, never as the caller claims it. App Service's front end
 * (which Azure Functions apps sit behind) sets `Client-IP` to the address of the connection it took,
 * replacing any `Client-IP` the caller sent, and appends that address to `X-Forwarded-For`; whatever
 * stands before that last hop was sent by the caller (or a proxy of theirs) and proves nothing. So:
 * `Client-IP`, else the last `X-Forwarded-For` hop; ports dropped (`1.2.3.4:5678`, `[::1]:80`).
 * Empty when neither holds an address (requests sharing '' share one per-address limit).
 */
export function clientAddress(headers: Record<string, string>): string {
  const forwarded = headers['x-forwarded-for']?.split(',');
  return addressOf(headers['client-ip']) ?? addressOf(forwarded?.[forwarded.length - 1]) ?? '';
}

/** The IP address of `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`; undefined for anything else. */
function addressOf(value: string | undefined): string | undefined {
  const text = value?.trim() ?? '';
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  const address = (bracketed?.[1] ?? withPort?.[1] ?? text).toLowerCase();
  if (isIP(address) === 0) return undefined;
  // An IPv4 client on a dual-stack socket reads ::ffff:a.b.c.d; the local host strips it the same way.
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/** The Functions host handler of each function of the table, by name: each awaits the instance's set-up first. */
export function hostHandlers(deps: RegistrationDeps): Map<string, HostHandler> {
  const handlers = new Map<string, HostHandler>();
  for (const def of deps.functions) {
    switch (def.kind) {
      case 'http':
        handlers.set(def.name, async (trigger): Promise<HttpResponseInit> => {
          const request = trigger as HttpRequest;
          await deps.ready();
          const wire = toWire(await deps.pipeline.handle(def, await toRequestData(request)), { secure: new URL(request.url).protocol === 'https:' });
          return { status: wire.status, headers: wire.headers, body: wire.body };
        });
        break;
      case 'queue':
        handlers.set(def.name, async (trigger) => {
          await deps.ready();
          const { messages, actions } = trigger as SdkBindingTrigger;
          const message = (Array.isArray(messages) ? messages[0] : messages) as ServiceBusReceivedMessage;
          await invokeQueueFunction(def, toReceivedMessage(message), new MessageActionsSettlement(actions, message), deps.log, deps.telemetry);
        });
        break;
      case 'timer':
        handlers.set(def.name, async () => {
          await deps.ready();
          await def.handler();
        });
        break;
    }
  }
  return handlers;
}

/** Registers the function table with the Functions host: HTTP, Service Bus (SDK binding) and timers. */
export function registerFunctions(app: FunctionsApp, deps: RegistrationDeps): void {
  const handlers = hostHandlers(deps);
  registerEntries(app, manifestOf(deps.functions), (entry) => handlers.get(entry.name) as HostHandler);
}
