// A stand-in for the Functions host's Node.js worker, run as the main script with a deploy package as
// the working directory and nothing else around it. Like the worker it answers
// `require('@azure/functions-core')` itself (the package's own @azure/functions registers through it:
// the binding metadata the host would receive), then loads package.json "main". It then plays the
// host's side of one Service Bus delivery with SDK binding (the extension turns the raw AMQP message
// into `{ messages, actions }`) and loads Application Insights as the app does on demand. Arguments as
// the worker gets them (`--host --port --functions-grpc-max-message-length`, read by the extension).
// Writes `HOST <json report>` to stdout; a failing entry point goes to stderr and exits 1, as the
// worker logs "Worker was unable to load entry point".
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const root = process.cwd();
const report = { registrations: [], outside: [], logs: [] };
let programmingModel;

const coreApi = {
  registerFunction(metadata, handler) {
    report.registrations.push({ metadata, hasHandler: typeof handler === 'function' });
    return { dispose() {} };
  },
  setProgrammingModel(model) {
    programmingModel = model;
  },
  getProgrammingModel: () => programmingModel,
  registerHook: () => ({ dispose() {} }),
  log(level, category, message) {
    report.logs.push({ level, category, message });
  },
};

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === '@azure/functions-core') return coreApi;
  return load.call(this, request, ...rest);
};
// Whatever the app resolves must come from the package: anything else would be missing in Azure.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const resolved = resolveFilename.call(this, request, ...rest);
  if (path.isAbsolute(resolved) && !resolved.startsWith(root + path.sep)) report.outside.push(resolved);
  return resolved;
};

const finish = (code) => {
  fs.writeSync(1, `\nHOST ${JSON.stringify(report)}\n`);
  process.exit(code);
};

async function main() {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const entry = path.join(root, manifest.main);
  report.main = manifest.main;
  try {
    require(entry);
  } catch (error) {
    fs.writeSync(2, `Worker was unable to load entry point "${manifest.main}": ${error instanceof Error ? error.message : String(error)}\n`);
    return finish(1);
  }
  // The worker goes on running after it loaded the entry: start-up work the entry queued runs now.
  await new Promise((resolve) => setImmediate(resolve));
  const appRequire = Module.createRequire(entry);

  // One delivery as the host hands it over with SDK binding: the lock token, then the AMQP message.
  const queue = report.registrations.find((r) => Object.values(r.metadata.bindings).some((b) => b.type === 'serviceBusTrigger'));
  if (queue && programmingModel) {
    try {
      const rhea = Module.createRequire(appRequire.resolve('@azure/functions-extensions-servicebus'))('rhea');
      const [triggerName] = Object.entries(queue.metadata.bindings).find(([, binding]) => binding.type === 'serviceBusTrigger');
      const lockToken = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
      const amqp = rhea.message.encode({ message_id: 'probe-1', content_type: 'application/json', body: '{"probe":true}' });
      const content = Buffer.concat([lockToken, Buffer.from('x-opt-lock-token'), amqp]);
      const invocation = programmingModel.getInvocationModel({
        invocationId: 'probe',
        metadata: { name: queue.metadata.name, bindings: queue.metadata.bindings },
        request: {
          invocationId: 'probe',
          inputData: [
            {
              name: triggerName,
              data: { modelBindingData: { version: '1.0', source: 'AzureServiceBusReceivedMessage', contentType: 'application/octet-stream', content } },
            },
          ],
          triggerMetadata: {},
        },
        log: coreApi.log,
      });
      const { inputs } = await invocation.getArguments();
      const trigger = inputs[0];
      const message = Array.isArray(trigger?.messages) ? trigger.messages[0] : trigger?.messages;
      report.sdkBinding = {
        function: queue.metadata.name,
        messageId: message?.messageId,
        lockToken: message?.lockToken,
        body: message?.body,
        actions: ['complete', 'abandon', 'deadletter'].filter((action) => typeof trigger?.actions?.[action] === 'function'),
      };
    } catch (error) {
      report.sdkBinding = { error: error instanceof Error ? error.message : String(error) };
    }
  }

  try {
    appRequire('applicationinsights');
    report.applicationInsights = 'loaded';
  } catch (error) {
    report.applicationInsights = error instanceof Error ? error.message : String(error);
  }
  finish(0);
}

main().catch((error) => {
  fs.writeSync(2, `${error instanceof Error ? error.stack : String(error)}\n`);
  finish(2);
});
