// Identity-based connections end to end on this machine: the app's table and Service Bus adapters
// with the real ManagedIdentityCredential (App Service's managed identity protocol, served by
// tests/support/identity-endpoint.ts) against Azurite over HTTPS with `--oauth basic` and the local
// broker over AMQPS checking Entra ID tokens. The adapters run in a child process started with the
// test certificate trusted (NODE_EXTRA_CA_CERTS): production code gets no test-only TLS switch.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import rhea from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURITE_ACCOUNT, type AzuriteTables, startAzurite } from '../../local/azurite';
import { ServiceBusBroker } from '../../local/servicebus-broker';
import { type IdentityEndpoint, startIdentityEndpoint, unsignedToken } from '../support/identity-endpoint';
import { runNode } from '../support/run-node';

const _root = resolve(__dirname, '../..');
const CHILD_TIMEOUT_MS = 60_000;
const CLIENT_ID = randomUUID();

type Step = { ok: Record<string, unknown> } | { error: { name: string; code?: unknown; statusCode?: unknown; message: string } };

let dir: string;
let azurite: AzuriteTables;
let broker: ServiceBusBroker;
let endpoint: IdentityEndpoint;
let certificate: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'identity-'));
  // A throw-away certificate for 127.0.0.1, as tests/integration/telemetry.test.ts makes one.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'].concat([
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]),
    { stdio: 'ignore' },
  );
  const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  certificate = tls.cert;
  [azurite, broker, endpoint] = await Promise.all([
    startAzurite({ port: 0, https: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }, oauth: 'basic' }),
    ServiceBusBroker.start({ tls, onError: () => undefined }),
    startIdentityEndpoint(),
  ]);
}, 30_000);

afterAll(async () => {
  await Promise.allSettled([azurite?.stop(), broker?.stop(), endpoint?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs tests/support/identity-client.ts with the identity settings the Bicep sets, pointed at the local
 * parts; `developer` leaves out `__credential` and `__clientId`, as on a developer's machine.
 */
async function runClient(
  queue: string,
  table: string,
  credential: 'managedidentity' | 'developer' = 'managedidentity',
): Promise<{ tables: Step; serviceBus: Step }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (/^(SERVICEBUS_CONNECTION|TABLES_CONNECTION)/.test(name) || name.startsWith('AZURE_')) delete env[name];
  const identity = (name: string) => (credential === 'developer' ? {} : { [`${name}__credential`]: 'managedidentity', [`${name}__clientId`]: CLIENT_ID });
  Object.assign(env, endpoint.env, {
    NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
    SERVICEBUS_CONNECTION__fullyQualifiedNamespace: broker.fullyQualifiedNamespace(),
    ...identity('SERVICEBUS_CONNECTION'),
    TABLES_CONNECTION__tableServiceUri: `https://127.0.0.1:${azurite.port}/${AZURITE_ACCOUNT}`,
    ...identity('TABLES_CONNECTION'),
  });
  const { code, stdout, stderr } = await runNode(['tests/support/identity-client.ts', queue, table], env, CHILD_TIMEOUT_MS);
  if (code !== 0) throw new Error(`identity-client exited with ${code}: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

const names = () => {
  const suffix = randomBytes(4).toString('hex');
  return { queue: `identity-${suffix}`, table: `identity${suffix}` };
};

describe('identity-based connections with ManagedIdentityCredential', () => {
  it('reach the tables and Service Bus with tokens for their audiences, asked for the user-assigned identity', async () => {
    const { queue, table } = names();
    endpoint.audience(undefined);
    const seen = endpoint.requests.length;
    const result = await runClient(queue, table);

    expect(result.tables).toEqual({ ok: { value: 'written with a token', probe: true } });
    expect(result.serviceBus).toEqual({ ok: { sentId: expect.any(String), receivedId: expect.any(String), deadLetters: ['identity-check'] } });
    const ok = result.serviceBus as { ok: { sentId: string; receivedId: string } };
    expect(ok.ok.receivedId).toBe(ok.ok.sentId);
    // The broker holds what the app dead-lettered, received over the identity-based connection.
    expect(broker.messages(queue, { deadLetter: true })).toHaveLength(1);

    // The credential spoke App Service's protocol, for the user-assigned identity, per resource.
    const requests = endpoint.requests.slice(seen);
    expect(requests.every((request) => request.secretMatched && request.apiVersion === '2019-08-01' && request.clientId === CLIENT_ID)).toBe(true);
    expect(new Set(requests.map((request) => request.resource))).toEqual(new Set(['https://storage.azure.com', 'https://servicebus.azure.net/']));
  }, 90_000);

  it('without __credential use DefaultAzureCredential, which finds the same endpoint (a system-assigned identity) in its chain', async () => {
    const { queue, table } = names();
    const seen = endpoint.requests.length;
    const result = await runClient(queue, table, 'developer');
    expect(result.tables).toEqual({ ok: { value: 'written with a token', probe: true } });
    expect(result.serviceBus).toMatchObject({ ok: { deadLetters: ['identity-check'] } });
    const requests = endpoint.requests.slice(seen);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((request) => request.secretMatched && request.clientId === undefined)).toBe(true);
  }, 90_000);

  it('fail with an authorization error when the tokens are for another audience', async () => {
    const { queue, table } = names();
    endpoint.audience('https://vault.azure.net');
    try {
      const result = await runClient(queue, table);
      // Azurite refuses the bearer token (403 AuthenticationFailed); the table adapter keeps the status.
      expect(result.tables).toEqual({ error: expect.objectContaining({ statusCode: 403 }) });
      // The broker answers put-token with 401; the SDK reports it as UnauthorizedAccess.
      expect(result.serviceBus).toEqual({ error: expect.objectContaining({ name: 'ServiceBusError', code: 'UnauthorizedAccess' }) });
      expect(broker.stats(queue).active).toBe(0);
    } finally {
      endpoint.audience(undefined);
    }
  }, 90_000);
});

/** Sends one CBS put-token to the broker over AMQPS and returns the status code it answers with. */
async function putToken(type: string, token: string): Promise<unknown> {
  const connection = rhea
    .create_container()
    .connect({ host: '127.0.0.1', port: broker.port, transport: 'tls', ca: certificate, reconnect: false } as rhea.ConnectionOptions);
  try {
    const replies = connection.open_receiver({ source: { address: '$cbs' }, target: { address: 'cbs-reply' } } as rhea.ReceiverOptions);
    const requests = connection.open_sender('$cbs');
    await once(requests, 'sendable');
    const reply = once(replies, 'message') as Promise<[rhea.EventContext]>;
    requests.send({
      message_id: randomUUID(),
      reply_to: 'cbs-reply',
      application_properties: { operation: 'put-token', type, name: `sb://127.0.0.1:${broker.port}/orders`, expiration: Date.now() + 3_600_000 },
      body: token,
    });
    const [context] = await reply;
    return context.message?.application_properties?.['status-code'];
  } finally {
    connection.close();
  }
}

describe("the local broker's CBS", () => {
  it('accepts a Service Bus token and any SAS token; refuses other audiences, expired tokens and non-JWTs with 401', async () => {
    expect(await putToken('jwt', unsignedToken('https://servicebus.azure.net', CLIENT_ID))).toBe(202);
    expect(await putToken('jwt', unsignedToken('https://servicebus.azure.net/', CLIENT_ID))).toBe(202);
    expect(await putToken('jwt', unsignedToken('https://storage.azure.com', CLIENT_ID))).toBe(401);
    expect(await putToken('jwt', unsignedToken('https://servicebus.azure.net', CLIENT_ID, -60))).toBe(401);
    expect(await putToken('jwt', 'not-a-token')).toBe(401);
    expect(await putToken('servicebus.windows.net:sastoken', 'SharedAccessSignature sr=x&sig=y&se=1&skn=local')).toBe(202);
    expect(await putToken('x-unknown', 'token')).toBe(400);
  });
});
