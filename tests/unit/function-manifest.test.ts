import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compose } from '../../functions/composition';
import { loadConfig } from '../../functions/config';
import { type ManifestEntry, manifestOf, ScheduleSettingError, withScheduleSettings } from '../../functions/manifest';
import { consoleLogger } from '../../shared/adapters/telemetry/log';

// The Azure entry registers from the manifest `npm run build` writes (the table composed under
// local.settings.example.json) and composes the app only when a function runs: so every function any
// configuration serves must be in that manifest with the same trigger, and a timer whose schedule is
// a setting must be on the schedule the configuration gives it.
const example = (JSON.parse(readFileSync(join(resolve(__dirname, '../..'), 'local.settings.example.json'), 'utf8')) as { Values: Record<string, string> })
  .Values;
const BASE = {
  SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
  TABLES_CONNECTION: 'UseDevelopmentStorage=true',
};

const tableOf = (env: Record<string, string | undefined>) => manifestOf(compose(loadConfig(env), { log: consoleLogger({ silent: true }) }).functions);
const manifest = tableOf(example);

describe('the function manifest (functions/manifest.ts)', () => {
  it('holds every kind of function of the table composed with every integration configured', () => {
    const byName = new Map(manifest.map((entry) => [entry.name, entry]));
    expect(byName.size).toBe(manifest.length);
    expect(byName.get('bookings-create')).toEqual({ kind: 'http', name: 'bookings-create', route: 'v1/bookings', methods: ['POST'] });
    expect(byName.get('jobs-callbacks')).toEqual({ kind: 'queue', name: 'jobs-callbacks', queue: 'callbacks' });
    expect(byName.get('outbox-relay')).toEqual({ kind: 'timer', name: 'outbox-relay', schedule: '0 */1 * * * *' });
    for (const name of ['webhooks-btcpay', 'webhooks-woocommerce', 'jobs-odoo-sync', 'jobs-notifications', 'jobs-driver-dispatch', 'rate-limit-sweep']) {
      expect(byName.has(name), name).toBe(true);
    }
  });

  it.each([
    ['nothing but the two connections (no integration, per-instance limits)', { ...BASE, RATE_LIMIT_STORE: 'memory' }],
    ['every integration', example],
    ['Stripe and mail only', { ...BASE, STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x', SMTP_URL: 'smtp://127.0.0.1:2525' }],
    [
      'other timer schedules',
      { ...BASE, OUTBOX_RELAY_SCHEDULE: '*/20 * * * * *', IDEMPOTENCY_SWEEP_SCHEDULE: '0 15 */2 * * *', PAYMENT_RECONCILE_EVERY: '30s' },
    ],
  ])('covers the table composed with %s: each function by name and trigger, each timer on its schedule', (_label, env) => {
    const registered = new Map(withScheduleSettings(manifest, env).map((entry) => [entry.name, entry]));
    const composed = tableOf(env);
    expect(composed.length).toBeGreaterThan(30);
    for (const entry of composed) expect(registered.get(entry.name), entry.name).toEqual(entry);
  });

  it('reads a timer setting that gives no schedule as an error naming the setting, never its value', () => {
    for (const [setting, value] of [
      ['PAYMENT_RECONCILE_EVERY', '7m'],
      ['PAYMENT_RECONCILE_EVERY', 'soon'],
      ['IDEMPOTENCY_SWEEP_SCHEDULE', '0 * * *'],
      ['OUTBOX_RELAY_SCHEDULE', ''],
    ] as const) {
      const read = () => withScheduleSettings(manifest, { [setting]: value });
      expect(read, `${setting}=${value}`).toThrow(ScheduleSettingError);
      expect(read, setting).toThrow(new RegExp(`^invalid configuration: ${setting}:`));
      // The configuration refuses the same value.
      expect(() => loadConfig({ ...BASE, [setting]: value }), `${setting}=${value}`).toThrow(new RegExp(setting));
    }
  });

  it('is what npm run build writes beside the bundle', async () => {
    const { execFileSync } = await import('node:child_process');
    const printed = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/function-manifest.ts'], { cwd: resolve(__dirname, '../..'), encoding: 'utf8' });
    expect(JSON.parse(printed) as ManifestEntry[]).toEqual(manifest);
  });
});
