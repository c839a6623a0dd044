// Preloaded into a child process that requires the built bundle: records what the bundle registers
// with @azure/functions (outside the Functions host `app.*` would register nothing).
const { app } = require('@azure/functions');
const registered = [];
// The handlers by name, for a script that calls one after loading the bundle.
globalThis.__registeredHandlers = new Map();
for (const kind of ['http', 'serviceBusQueue', 'timer']) {
  app[kind] = (name, options) => {
    const { handler, ...rest } = options;
    registered.push({ kind, name, options: rest, hasHandler: typeof handler === 'function' });
    globalThis.__registeredHandlers.set(name, handler);
  };
}
process.on('exit', () => process.stdout.write(`\nREGISTERED ${JSON.stringify(registered)}\n`));
