// Health checks each configured integration's credentials: one that refuses them is `unavailable`
// with a reason, not the `sandbox` / `connected` its configuration alone would say.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BTCPaySandbox, DEFAULT_BTCPAY_STORE_ID } from '../../local/btcpay-sandbox';
import { OdooSandbox } from '../../local/odoo-sandbox';
import { FREE_PORTS, type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { StripeSandbox } from '../../local/stripe-sandbox';
import { consoleLogger } from '../../shared/adapters/telemetry/log';

interface HealthBody {
  status: string;
  integrations: Record<string, string>;
  reasons?: Record<string, string>;
}

const health = async (runtime: LocalRuntime) => {
  const response = await fetch(`${runtime.url}/health`);
  return { status: response.status, body: (await response.json()) as HealthBody };
};

describe('health with credentials the integrations refuse', () => {
  const refused = {
    // The Stripe sandbox takes test-mode keys only, as Stripe refuses a revoked one: 401.
    STRIPE_SECRET_KEY: 'sk_live_revoked_key_4f8a',
    ODOO_PASSWORD: 'not-the-password-7c1d',
    BTCPAY_API_KEY: 'btcpay_key_nobody_issued_2e9b',
  };
  let stripe: StripeSandbox;
  let odoo: OdooSandbox;
  let btcpay: BTCPaySandbox;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    [stripe, odoo, btcpay] = await Promise.all([
      StripeSandbox.start({ port: 0, webhookSecret: 'whsec_health_test' }),
      OdooSandbox.start({ port: 0, logFile: false }),
      BTCPaySandbox.start({ port: 0 }),
    ]);
    runtime = await startLocalRuntime({
      ports: FREE_PORTS,
      env: {
        TABLE_PREFIX: 'health',
        STRIPE_API_BASE: stripe.url,
        STRIPE_SECRET_KEY: refused.STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET: 'whsec_health_test',
        ODOO_URL: odoo.url,
        ODOO_DB: 'sandbox',
        ODOO_USERNAME: 'admin',
        ODOO_PASSWORD: refused.ODOO_PASSWORD,
        BTCPAY_URL: btcpay.url,
        BTCPAY_API_KEY: refused.BTCPAY_API_KEY,
        BTCPAY_STORE_ID: DEFAULT_BTCPAY_STORE_ID,
        BTCPAY_WEBHOOK_SECRET: 'btcpay_health_test_secret',
      },
      timers: false,
      log: consoleLogger({ silent: true }),
    });
  });

  afterAll(async () => {
    await runtime?.stop();
    await Promise.all([stripe?.stop(), odoo?.stop(), btcpay?.stop()]);
  });

  it('shows Stripe, Odoo and BTCPay unavailable with the reason, and stays up: the app itself works', async () => {
    const { status, body } = await health(runtime);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.integrations).toEqual({
      stripe: 'unavailable',
      odoo: 'unavailable',
      btcpay: 'unavailable',
      // No authenticated probe exists for the Driver-App: its configuration speaks.
      driverApp: 'sandbox',
      serviceBus: 'sandbox',
      tables: 'sandbox',
    });
    expect(body.reasons).toEqual({
      stripe: 'Stripe refused the secret key (HTTP 401): check STRIPE_SECRET_KEY',
      odoo: 'Odoo rejected the credentials for user admin on database sandbox (check ODOO_USERNAME / ODOO_PASSWORD)',
      btcpay: 'BTCPay refused the API key (HTTP 401): check BTCPAY_API_KEY',
    });
    for (const secret of Object.values(refused)) expect(JSON.stringify(body)).not.toContain(secret);
  });

  it('answers again from the checks it made, without asking the integrations again', async () => {
    await health(runtime);
    const odooCalls = odoo.calls();
    const started = Date.now();
    const { body } = await health(runtime);
    expect(Date.now() - started).toBeLessThan(500);
    expect(body.integrations).toMatchObject({ stripe: 'unavailable', odoo: 'unavailable', btcpay: 'unavailable' });
    expect(odoo.calls()).toBe(odooCalls);
  });
});
