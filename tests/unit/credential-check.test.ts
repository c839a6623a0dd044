import { describe, expect, it } from 'vitest';
import { type CredentialCheck, cachedCredentialCheck, checkHealth, type HealthDeps } from '../../shared/platform/health';

const deps = (credentials: HealthDeps['credentials']): HealthDeps => ({
  probes: { serviceBus: async () => true, tables: async () => true },
  local: { serviceBus: false, tables: false },
  integrations: { stripe: 'connected', btcpay: 'connected', odoo: 'sandbox', driverApp: 'connected' },
  credentials,
  timeoutMs: 100,
});

describe('cachedCredentialCheck', () => {
  it('asks once per ttl, and callers that come while it runs share that answer', async () => {
    let clock = 0;
    let asked = 0;
    const check = cachedCredentialCheck(
      'Stripe',
      async () => {
        asked += 1;
        return { ok: true };
      },
      { timeoutMs: 100, ttlMs: 1_000, now: () => clock },
    );
    await Promise.all([check(), check()]);
    clock = 999;
    expect(await check()).toEqual({ ok: true });
    expect(asked).toBe(1);
    clock = 1_000;
    await check();
    expect(asked).toBe(2);
  });

  it('reads a probe that does not answer in time, or throws, as a refusal naming the integration, and aborts the late one', async () => {
    let aborted = false;
    const slow = cachedCredentialCheck(
      'Odoo',
      (signal) =>
        new Promise<CredentialCheck>((resolve) => {
          signal.addEventListener('abort', () => (aborted = true));
          setTimeout(() => resolve({ ok: true }), 1_000).unref();
        }),
      { timeoutMs: 20 },
    );
    expect(await slow()).toEqual({ ok: false, reason: 'Odoo did not answer within 20 ms' });
    expect(aborted).toBe(true);
    const broken = cachedCredentialCheck('BTCPay', async () => Promise.reject(new Error('ECONNREFUSED')), { timeoutMs: 20 });
    expect(await broken()).toEqual({ ok: false, reason: 'BTCPay could not be reached' });
  });
});

describe('checkHealth with credential checks', () => {
  it('marks a refused integration unavailable with its reason and leaves the others as configured', async () => {
    const report = await checkHealth(
      deps({ stripe: async () => ({ ok: false, reason: 'Stripe refused the secret key (HTTP 401)' }), odoo: async () => ({ ok: true }) }),
    );
    expect(report.status).toBe('ok');
    expect(report.integrations).toMatchObject({ stripe: 'unavailable', odoo: 'sandbox', btcpay: 'connected', driverApp: 'connected' });
    expect(report.reasons).toEqual({ stripe: 'Stripe refused the secret key (HTTP 401)' });
  });

  it('says no reasons when every check passed', async () => {
    const report = await checkHealth(deps({ stripe: async () => ({ ok: true }) }));
    expect(report.integrations.stripe).toBe('connected');
    expect(report).not.toHaveProperty('reasons');
  });
});
