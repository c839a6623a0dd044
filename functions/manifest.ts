// The function manifest: what the Functions host must know of every function before the app is
// loaded — its name and trigger. `npm run build` writes it beside the bundle (function-manifest.json)
// from the composed function table, so the entry registers every function without composing the app
// (configuration, adapters, every schema of every route) at import; the app is composed when the first
// invocation asks for it. Light on purpose: this module and its imports are all a cold start evaluates
// before it registers.
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { FunctionDef, HttpFunctionDef } from '../shared/function-table';
import { durationMs, everySchedule, NCRONTAB } from '../shared/kernel/schedule';

/** One function as the host registers it. */
export type ManifestEntry =
  | { kind: 'http'; name: string; route: string; methods: HttpFunctionDef['methods'] }
  | { kind: 'queue'; name: string; queue: string }
  | { kind: 'timer'; name: string; schedule: string };

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

/** A host handler, whatever the trigger: an HTTP request, a Service Bus trigger (SDK binding), a timer's tick. */
export type HostHandler = (trigger: unknown) => Promise<unknown>;

/**
 * Registers each function with the host, bound as its kind is bound — anonymous HTTP on its route;
 * Service Bus on the app's connection with SDK binding, so the handler settles through the host's
 * message actions (README, "Settlement"), one message per invocation; a timer on its schedule — and
 * with the handler `handlerOf` gives it. The one place that says how a function binds, for the entry
 * and for `registerFunctions`.
 */
export function registerEntries(app: FunctionsApp, entries: readonly ManifestEntry[], handlerOf: (entry: ManifestEntry) => HostHandler): void {
  for (const entry of entries) {
    const handler = handlerOf(entry);
    if (entry.kind === 'http') {
      app.http(entry.name, {
        route: entry.route,
        methods: entry.methods,
        authLevel: 'anonymous',
        handler: handler as (request: HttpRequest) => Promise<HttpResponseInit>,
      });
    } else if (entry.kind === 'queue') {
      app.serviceBusQueue(entry.name, {
        connection: 'SERVICEBUS_CONNECTION',
        queueName: entry.queue,
        sdkBinding: true,
        autoCompleteMessages: false,
        cardinality: 'one',
        handler: async (trigger) => {
          await handler(trigger);
        },
      });
    } else {
      app.timer(entry.name, {
        schedule: entry.schedule,
        handler: async () => {
          await handler(undefined);
        },
      });
    }
  }
}

/** The file `npm run build` writes beside the entry bundle. */
export const MANIFEST_FILE = 'function-manifest.json';

/** The registration view of a function table. */
export function manifestOf(functions: readonly FunctionDef[]): ManifestEntry[] {
  return functions.map((def): ManifestEntry => {
    if (def.kind === 'http') return { kind: 'http', name: def.name, route: def.route, methods: def.methods };
    if (def.kind === 'queue') return { kind: 'queue', name: def.name, queue: def.queue };
    return { kind: 'timer', name: def.name, schedule: def.schedule };
  });
}

/**
 * Timers whose schedule is a setting. The host needs the schedule at registration, before the
 * configuration's schemas load, so it is read here; the configuration applies the same defaults and
 * checks (tests/unit/function-manifest.test.ts holds the two together).
 */
const SCHEDULE_SETTINGS: Record<string, { setting: string; fallback: string; schedule(value: string): string | undefined }> = {
  'outbox-relay': { setting: 'OUTBOX_RELAY_SCHEDULE', fallback: '0 */1 * * * *', schedule: (value) => value },
  'idempotency-sweep': { setting: 'IDEMPOTENCY_SWEEP_SCHEDULE', fallback: '0 0 * * * *', schedule: (value) => (NCRONTAB.test(value) ? value : undefined) },
  'payments-reconcile': {
    setting: 'PAYMENT_RECONCILE_EVERY',
    fallback: '5m',
    schedule: (value) => {
      const ms = durationMs(value);
      return ms === undefined || ms <= 0 ? undefined : everySchedule(ms);
    },
  },
};

/** Thrown at import when a timer's schedule setting gives no schedule; names the setting, never its value. */
export class ScheduleSettingError extends Error {
  constructor(readonly setting: string) {
    super(`invalid configuration: ${setting}: not a timer schedule (see README, "Configuration")`);
    this.name = 'ScheduleSettingError';
  }
}

/** The manifest with each setting-driven timer on the schedule `env` gives it. */
export function withScheduleSettings(manifest: readonly ManifestEntry[], env: Record<string, string | undefined>): ManifestEntry[] {
  return manifest.map((entry) => {
    const rule = entry.kind === 'timer' ? SCHEDULE_SETTINGS[entry.name] : undefined;
    if (!rule) return entry;
    const schedule = rule.schedule((env[rule.setting] ?? rule.fallback).trim());
    if (!schedule) throw new ScheduleSettingError(rule.setting);
    return { ...entry, schedule };
  });
}
