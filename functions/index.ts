// Azure entry point. It registers every function from the function manifest (written beside this
// bundle by `npm run build`) with a handler that loads the app on first use: parsing the
// configuration, composing the adapters and slices and building every route's schemas happen once,
// in functions/app.ts, which the build bundles on its own (dist/app.js) and this file requires only
// then. A cold instance thus registers in about the time a bare @azure/functions app takes; the load
// starts right after registration, so a bad setting is logged, by name, at start-up.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, type HttpResponseInit } from '@azure/functions';
import type * as App from './app';
import { type HostHandler, MANIFEST_FILE, type ManifestEntry, registerEntries, withScheduleSettings } from './manifest';
import { registerServiceBusExtensionOnDemand } from './servicebus-extension';

// The SDK-binding message factory (settlement actions): the extension loads with the first delivery.
registerServiceBusExtensionOnDemand();

let loaded: App.LoadedApp | undefined;
let failure: unknown;

/** The composed app, loaded once; a load that failed (a bad setting) fails every later call the same way. */
function load(): App.LoadedApp {
  if (loaded) return loaded;
  if (failure !== undefined) throw failure;
  try {
    loaded = (require('./app') as typeof App).loadApp();
    return loaded;
  } catch (error) {
    failure = error;
    throw error;
  }
}

/** What an HTTP call gets while the app cannot load: the reason is in the log, never in the answer. */
const UNAVAILABLE: HttpResponseInit = {
  status: 503,
  headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  body: JSON.stringify({
    type: 'about:blank',
    title: 'Service unavailable',
    status: 503,
    detail: 'The service cannot start: its configuration is invalid (the start-up log names the settings).',
  }),
};

const manifest = withScheduleSettings(JSON.parse(readFileSync(join(__dirname, MANIFEST_FILE), 'utf8')) as ManifestEntry[], process.env);
registerEntries(app, manifest, (entry) => async (trigger) => {
  let handler: HostHandler;
  try {
    handler = load().handler(entry);
  } catch (error) {
    if (entry.kind === 'http') return UNAVAILABLE;
    // A message that arrives while the app cannot load is abandoned (the throw): redelivered, and after
    // the queue's max delivery count dead-lettered, to be replayed once the configuration is fixed.
    throw error;
  }
  return handler(trigger);
});

// Load at once, after registration: the first invocation usually arrives right away on a cold start,
// and a bad setting should be in the start-up log rather than wait for a call.
setImmediate(() => {
  try {
    load();
  } catch (error) {
    console.error(`order-hub cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
});
