import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrub, scrubText, toTraceId } from '../../shared/adapters/telemetry/app-insights';
import { runNode } from '../support/run-node';
import { waitFor } from '../support/wait';

const _root = resolve(__dirname, '../..');
const CHILD_TIMEOUT_MS = 15_000;

/** Runs `node --import tsx <args>` without the connection string of this process. */
function runClean(args: string[], env: NodeJS.ProcessEnv = {}) {
  const baseEnv = { ...process.env };
  delete baseEnv.APPLICATIONINSIGHTS_CONNECTION_STRING;
  return runNode(args, { ...baseEnv, ...env }, CHILD_TIMEOUT_MS);
}

describe('Application Insights adapter against a local ingestion endpoint', () => {
  // The exporter upgrades http:// to https://, so the catcher serves TLS with a throw-away certificate.
  let dir: string;
  let server: Server;
  let port: number;
  const bodies: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'telemetry-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (req.method === 'POST' && req.url === '/v2.1/track') bodies.push(body);
        const count = req.url === '/v2.1/track' ? (JSON.parse(body) as unknown[]).length : 0;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ itemsReceived: count, itemsAccepted: count, errors: [] }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers event, dependency, request and metric (the metric with its dimensions), under one operation id, without secrets', async () => {
    const operationId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const connectionString = `InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:${port}/`;
    const result = await runClean(['tests/support/telemetry-client.ts', connectionString, operationId], {
      NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
      APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
    });
    expect(result.code, result.stderr).toBe(0);

    type Item = { name: string; tags: Record<string, string>; data: { baseData: Record<string, unknown> } };
    const items = () => bodies.flatMap((body) => JSON.parse(body) as Item[]);
    const ofType = (type: string) => items().filter((item) => item.name === `Microsoft.ApplicationInsights.${type}`);
    await waitFor(() => ['Event', 'RemoteDependency', 'Request', 'Exception'].every((t) => ofType(t).length > 0), {
      timeoutMs: 5_000,
      message: 'telemetry items did not arrive',
    });

    const [event] = ofType('Event');
    expect(event?.data.baseData.name).toBe('BookingConfirmed');
    expect(event?.tags['ai.operation.id']).toBe(operationId);
    expect(event?.data.baseData.properties).toEqual({ operationId, bookingId: 'bk_1', note: 'paid with [redacted]' });

    const [dependency] = ofType('RemoteDependency');
    expect(dependency?.data.baseData).toMatchObject({ name: 'paymentIntents.create', target: 'stripe', type: 'HTTP', success: true });
    expect(dependency?.tags['ai.operation.id']).toBe(operationId);

    const [request] = ofType('Request');
    expect(request?.data.baseData).toMatchObject({ name: 'POST /api/bookings', responseCode: '201', success: true });
    expect(request?.tags['ai.operation.id']).toBe(operationId);

    expect(ofType('Exception')[0]?.tags['ai.operation.id']).toBe(operationId);
    expect(bodies.join('\n')).not.toContain('sk_test_x');

    // customMetrics: the sync latency with its dimensions (what the odoo-sync-latency alert reads); no operation id.
    await waitFor(() => ofType('Metric').length > 0, { timeoutMs: 5_000, message: 'the metric did not arrive' });
    const metric = ofType('Metric')
      .map((item) => item.data.baseData as { metrics: Array<{ name: string; value: number; max?: number }>; properties: Record<string, string> })
      .find((data) => data.metrics.some((point) => point.name === 'OdooSyncLatencyMs'));
    expect(metric?.metrics[0]).toMatchObject({ name: 'OdooSyncLatencyMs', value: 250, max: 250 });
    expect(metric?.properties).toMatchObject({ jobType: 'booking.sync', milestone: 'invoice_posted', attempt: '1' });
    expect(metric?.properties).not.toHaveProperty('operationId');
  });
});

describe('loading', () => {
  it('does not load applicationinsights until the adapter is called', async () => {
    // A fresh process: this worker may already hold the SDK. The second check proves the probe can see it.
    const script = `
      const loaded = () => Object.keys(require.cache).some((p) => p.includes('/node_modules/applicationinsights/'));
      const adapter = require('./shared/adapters/telemetry/app-insights.ts');
      const before = loaded();
      import('applicationinsights').then(() =>
        console.log(JSON.stringify({ exported: typeof adapter.loadAppInsightsTelemetry, before, after: loaded() })));`;
    const result = await runClean(['-e', script]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ exported: 'function', before: false, after: true });
  });
});

describe('scrubbing', () => {
  it('drops credential-named properties and masks tokens and card numbers in values', () => {
    expect(
      scrub({
        stripeKey: 'x',
        webhookSecret: 'x',
        authorization: 'x',
        cardLast4: '4242',
        password: 'x',
        apiToken: 'x',
        bookingId: 'bk_1',
        error: 'rejected sk_live_abc and whsec_abc, ohk_abc, bat_abc',
        pan: '4242 4242 4242 4242',
        createdAtMs: '1732420959000',
      }),
    ).toEqual({
      bookingId: 'bk_1',
      error: 'rejected [redacted] and [redacted], [redacted], [redacted]',
      pan: '[redacted]',
      // Not a card number (fails the Luhn check), so it stays.
      createdAtMs: '1732420959000',
    });
    expect(scrubText('https://hooks.example/x?token=bat_123')).toBe('https://hooks.example/x?token=[redacted]');
  });

  it('turns traceparent ids and UUIDs into W3C trace ids and leaves other ids alone', () => {
    expect(toTraceId('4bf92f3577b34da6a3ce929d0e0e4736')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(toTraceId('4BF92F35-77B3-4DA6-A3CE-929D0E0E4736')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(toTraceId('00000000000000000000000000000000')).toBeUndefined();
    expect(toTraceId('job-42')).toBeUndefined();
  });
});
