// `npm start`: the whole system on this machine, offline, until Ctrl-C.
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { ConfigError } from '../shared/config';
import { DEFAULT_PORTS, startLocalRuntime } from './runtime';

const portFrom = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name} must be a port number (0-65535)`);
    process.exit(2);
  }
  return port;
};

async function main(): Promise<void> {
  const started = Date.now();
  const runtime = await startLocalRuntime({
    ports: {
      http: portFrom('PORT', DEFAULT_PORTS.http),
      tables: portFrom('AZURITE_TABLE_PORT', DEFAULT_PORTS.tables),
      serviceBus: portFrom('SERVICEBUS_PORT', DEFAULT_PORTS.serviceBus),
    },
    log: consoleLogger({ minLevel: process.env.LOG_LEVEL === 'info' ? 'info' : 'warn' }),
  });

  const keys = Object.entries(runtime.apiKeys)
    .map(([role, key]) => `  ${role.padEnd(9)} ${key}`)
    .join('\n');
  const admin = runtime.apiKeys.admin ?? '<your admin key>';
  console.log(`
Order Hub is running locally (ready in ${Date.now() - started} ms). Ctrl-C stops everything.

  functions host   ${runtime.parts.http}
  Table storage    ${runtime.parts.tables}
  Service Bus      ${runtime.parts.serviceBus}

API keys for this run (Authorization: Bearer <key>):
${keys || '  from API_KEYS in the environment'}

Try it:
  curl -s ${runtime.url}/health
  curl -s ${runtime.url}/v1/openapi.json | head -c 300; echo
  curl -s -H "Authorization: Bearer ${admin}" ${runtime.url}/v1/admin/dead-letters
`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('start-up failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
