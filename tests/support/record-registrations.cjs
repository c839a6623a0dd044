// Preloaded into a child process that requires the built bundle: records what the bundle registers
// with @azure/functions (outside the Functions host `app.*` would register nothing).
const { app } = require('@azure/functions');
const registered = [];
for (const kind of ['http', 'serviceBusQueue', 'timer']) {
  app[kind] = (name, options) => {
    const { handler, ...rest } = options;
    registered.push({ kind, name, options: rest, hasHandler: typeof handler === 'function' });
  };
}
process.on('exit', () => process.stdout.write(`\nREGISTERED ${JSON.stringify(registered)}\n`));
