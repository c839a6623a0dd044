// Azure entry point: parse the configuration once, compose, and register the one function table.
import { app } from '@azure/functions';
import { loadConfig } from './config';
import { compose } from './composition';
import { registerFunctions } from './register';
import { registerServiceBusExtensionOnDemand } from './servicebus-extension';

// The SDK-binding message factory (settlement actions): the extension loads with the first delivery.
registerServiceBusExtensionOnDemand();

const composition = compose(loadConfig());

// Tables are created once per instance, before the first function runs; a failed attempt is
// retried by the next invocation instead of leaving the instance broken.
let initializing: Promise<void> | undefined;
const ready = (): Promise<void> =>
  (initializing ??= composition.init().catch((error: unknown) => {
    initializing = undefined;
    throw error;
  }));

registerFunctions(app, {
  functions: composition.functions,
  pipeline: composition.pipeline,
  log: composition.services.log,
  telemetry: composition.services.telemetry,
  ready,
});
