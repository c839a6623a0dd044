import { HttpRequest } from '@azure/functions';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadApp } from '../../functions/app';
import type { ManifestEntry } from '../../functions/manifest';
import { type AzuriteTables, startAzurite } from '../../local/azurite';

// functions/app.ts is what the Azure entry loads on first use. The manifest holds every function any
// configuration serves; here nothing but the two connections is configured, so the BTCPay webhook, the
// notifications consumer and the rate-limit sweep (per-instance limits) are in the manifest and not served.
describe('the app behind the Azure entry, for functions this configuration does not serve', () => {
  let azurite: AzuriteTables;
  beforeAll(async () => {
    azurite = await startAzurite({ port: 0 });
  });
  afterAll(async () => {
    await azurite.stop();
  });
  beforeEach(() => {
    // The broker is never reached here: no served function sends a job.
    vi.stubEnv('SERVICEBUS_CONNECTION', 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true');
    vi.stubEnv('TABLES_CONNECTION', azurite.connectionString);
    vi.stubEnv('TABLE_PREFIX', 'azureapp');
    vi.stubEnv('RATE_LIMIT_STORE', 'memory');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('answers an HTTP call with 404 problem+json', async () => {
    const handler = loadApp().handler({ kind: 'http', name: 'webhooks-btcpay', route: 'v1/webhooks/btcpay', methods: ['POST'] });
    const response = (await handler(new HttpRequest({ method: 'POST', url: 'https://hub.example/api/v1/webhooks/btcpay', body: { string: '{}' } }))) as {
      status: number;
      headers: Record<string, string>;
      body: string;
    };
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({ status: 404, title: 'Not found' });
  });

  it('dead-letters a message at once, saying no configured integration consumes its queue', async () => {
    const entry: ManifestEntry = { kind: 'queue', name: 'jobs-notifications', queue: 'notifications' };
    const message = { messageId: 'm-1', body: { type: 'booking.confirmed' }, applicationProperties: {} } as unknown as ServiceBusReceivedMessage;
    const actions = { complete: vi.fn(), abandon: vi.fn(), deadletter: vi.fn(async () => undefined) };
    await loadApp().handler(entry)({ messages: message, actions });
    expect(actions.complete).not.toHaveBeenCalled();
    expect(actions.abandon).not.toHaveBeenCalled();
    expect(actions.deadletter).toHaveBeenCalledTimes(1);
    expect(actions.deadletter.mock.calls[0]).toEqual(
      expect.arrayContaining([message, 'UnknownJobType', 'no integration configured here consumes queue notifications']),
    );
  });

  it('skips a timer tick, and serves what it does serve through the composed table', async () => {
    const app = loadApp();
    await expect(app.handler({ kind: 'timer', name: 'rate-limit-sweep', schedule: '0 30 * * * *' })(undefined)).resolves.toBeUndefined();
    const openapi = (await app.handler({ kind: 'http', name: 'openapi', route: 'v1/openapi.json', methods: ['GET'] })(
      new HttpRequest({ method: 'GET', url: 'https://hub.example/api/v1/openapi.json' }),
    )) as { status: number; body: string };
    expect(openapi.status).toBe(200);
    expect(JSON.parse(openapi.body).openapi).toMatch(/^3\.1/);
  });
});
