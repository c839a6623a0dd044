import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/config';

const base = {
  SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
  TABLES_CONNECTION: 'UseDevelopmentStorage=true',
};
const hash = 'a'.repeat(64);

describe('loadConfig', () => {
  it('fills the documented defaults', () => {
    const config = loadConfig(base);
    expect(config.jobs).toEqual({ maxAttempts: 6, retryBaseMs: 10_000, retryCapMs: 900_000 });
    expect(config.rateLimit).toEqual({ perKey: 100, windowMs: 900_000, store: 'table' });
    expect(config.apiKeys).toEqual([]);
    expect(config.integrations).toEqual({ stripe: 'unavailable', btcpay: 'unavailable', odoo: 'unavailable', driverApp: 'unavailable' });
  });

  it('parses API keys as name, roles and hash', () => {
    const config = loadConfig({ ...base, API_KEYS: `ops:admin|workshop:${hash}, shop:orders:${hash.toUpperCase()}` });
    expect(config.apiKeys).toEqual([
      { name: 'ops', roles: ['admin', 'workshop'], sha256: hash },
      { name: 'shop', roles: ['orders'], sha256: hash },
    ]);
  });

  it('names every bad variable in one error and never echoes a value', () => {
    const secret = 'Endpoint=sb://secret-namespace;SharedAccessKey=TOPSECRET';
    let error: unknown;
    try {
      loadConfig({ TABLES_CONNECTION: '', JOB_MAX_ATTEMPTS: 'many', API_KEYS: `ops:root:${hash}`, ODOO_URL: secret });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['SERVICEBUS_CONNECTION', 'TABLES_CONNECTION', 'JOB_MAX_ATTEMPTS', 'API_KEYS', 'ODOO_URL']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('TOPSECRET');
    expect(message).not.toContain('secret-namespace');
  });

  it('tells sandboxes from real endpoints', () => {
    const config = loadConfig({
      ...base,
      STRIPE_SECRET_KEY: 'sk_test_x',
      STRIPE_WEBHOOK_SECRET: 'whsec_x',
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
      ODOO_URL: 'https://erp.example.com',
      ODOO_DB: 'prod',
      ODOO_USERNAME: 'sync@example.com',
      ODOO_PASSWORD: 'api-key',
      BTCPAY_URL: 'http://127.0.0.1:14142',
      BTCPAY_API_KEY: 'key',
      BTCPAY_STORE_ID: 'store',
      BTCPAY_WEBHOOK_SECRET: 'secret',
    });
    expect(config.integrations).toEqual({ stripe: 'sandbox', btcpay: 'sandbox', odoo: 'connected', driverApp: 'unavailable' });
    expect(config.stripe).toEqual({ secretKey: 'sk_test_x', webhookSecret: 'whsec_x', apiBase: 'http://127.0.0.1:12111' });
  });

  it('wants Stripe configured with both its secrets, and parses the booking settings', () => {
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_x' })).toThrow(/STRIPE_WEBHOOK_SECRET/);
    const config = loadConfig({ ...base, OPENING_HOURS: 'Mon-Fri 08:00-17:00', BOOKING_RATE_LIMIT_PER_IP: '5' });
    expect(config.bookings.hours.days.mon).toEqual({ open: '08:00', close: '17:00' });
    expect(config.bookings.hours.days.sat).toBeNull();
    expect(config.bookings.rateLimitPerIp).toBe(5);
    expect(config.bookings.catalogue.map((item) => item.code)).toContain('inspection');
    expect(() => loadConfig({ ...base, SERVICE_CATALOGUE: '[not json' })).toThrow(/SERVICE_CATALOGUE/);
    expect(() => loadConfig({ ...base, OPENING_HOURS: 'Someday 25:00-26:00' })).toThrow(/OPENING_HOURS/);
    expect(() => loadConfig({ ...base, ODOO_URL: 'https://erp.example.com' })).toThrow(/ODOO_DB/);
    expect(() => loadConfig({ ...base, DRIVER_APP_WEBHOOK_URL: 'https://drivers.example.com/trips' })).toThrow(/DRIVER_APP_SECRET/);
  });
});
