// The app behind the Azure entry: parse the configuration once, compose, and build each function's
// host handler through the one registration code (functions/register.ts `hostHandlers`). The entry registers from
// the function manifest and requires this module when the first invocation (or the start-up right
// after registration) asks for it, so a cold start does not evaluate it before it registers.
import './zod-setup';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { MessageActionsSettlement } from '../shared/adapters/service-bus/settlement';
import { problem } from '../shared/http/problem';
import { DEAD_LETTER_REASONS } from '../shared/platform/consume-job';
import type { Logger } from '../shared/platform/log';
import { toWire } from '../shared/http/pipeline';
import { compose } from './composition';
import { loadConfig } from './config';
import type { HostHandler, ManifestEntry } from './manifest';
import { hostHandlers, type SdkBindingTrigger } from './register';

/** The composed app as the entry uses it. */
export interface LoadedApp {
  /** The handler of a manifest entry; one the configuration does not serve answers as `unserved` says. */
  handler(entry: ManifestEntry): HostHandler;
}

/** Composes the app from the environment (throws ConfigError naming every bad setting) and builds its handlers. */
export function loadApp(): LoadedApp {
  const composition = compose(loadConfig());
  // Tables are created once per instance, before the first function runs; a failed attempt is
  // retried by the next invocation instead of leaving the instance broken.
  let initializing: Promise<void> | undefined;
  const ready = (): Promise<void> =>
    (initializing ??= composition.init().catch((error: unknown) => {
      initializing = undefined;
      throw error;
    }));
  // Started now, not by the first invocation: the tables' check (and Application Insights, when
  // configured) then runs while that invocation is still on its way or being parsed. A failure here is
  // retried by the next invocation, which awaits ready() anyway.
  ready().catch(() => undefined);
  const handlers = hostHandlers({
    functions: composition.functions,
    pipeline: composition.pipeline,
    log: composition.services.log,
    telemetry: composition.services.telemetry,
    ready,
  });
  return { handler: (entry) => handlers.get(entry.name) ?? unserved(entry, composition.services.log) };
}

/**
 * A function of the manifest that this configuration does not serve (the manifest holds every
 * function any configuration serves: a webhook of a provider not configured here, the consumer of a
 * queue no configured integration handles, the sweep of a store not in use): an HTTP call gets 404, a
 * message is dead-lettered at once with the reason (an admin replays it once the integration is
 * configured), a timer tick does nothing.
 */
function unserved(entry: ManifestEntry, log: Logger): HostHandler {
  switch (entry.kind) {
    case 'http':
      return async (request): Promise<HttpResponseInit> => {
        const wire = toWire(problem(404, 'Not found', 'This endpoint is not served by this installation (its integration is not configured).'), {
          secure: new URL((request as HttpRequest).url).protocol === 'https:',
        });
        return { status: wire.status, headers: wire.headers, body: wire.body };
      };
    case 'queue':
      return async (trigger) => {
        const { messages, actions } = trigger as SdkBindingTrigger;
        const message = (Array.isArray(messages) ? messages[0] : messages) as ServiceBusReceivedMessage;
        log.warn(`no consumer is configured for queue ${entry.queue}: message dead-lettered`, { queue: entry.queue, messageId: message.messageId });
        await new MessageActionsSettlement(actions, message).deadLetter(
          DEAD_LETTER_REASONS.unknownType,
          `no integration configured here consumes queue ${entry.queue}`,
        );
      };
    case 'timer':
      return async () => undefined;
  }
}
