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

describe('identity-based connections (the Functions host names)', () => {
  const clientId = '6f1c3a52-58a4-4d8e-9f1e-0c7b2a9d4e11';
  const identity = {
    SERVICEBUS_CONNECTION__fullyQualifiedNamespace: 'sb-orderhub.servicebus.windows.net',
    SERVICEBUS_CONNECTION__credential: 'managedidentity',
    SERVICEBUS_CONNECTION__clientId: clientId,
    TABLES_CONNECTION__tableServiceUri: 'https://storderhub.table.core.windows.net',
    TABLES_CONNECTION__credential: 'managedidentity',
    TABLES_CONNECTION__clientId: clientId,
  };
  /** The ConfigError's message for an environment (fails when it loads). */
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error('the configuration loaded');
  };

  it('reads the namespace and table endpoint with the user-assigned identity', () => {
    const config = loadConfig(identity);
    expect(config.serviceBus).toEqual({
      fullyQualifiedNamespace: 'sb-orderhub.servicebus.windows.net',
      credential: { kind: 'managedIdentity', clientId },
      concurrency: 16,
    });
    expect(config.tables).toEqual({
      tableServiceUri: 'https://storderhub.table.core.windows.net',
      credential: { kind: 'managedIdentity', clientId },
      prefix: 'hub',
    });
  });

  it('takes the system-assigned identity without a client id, and a developer sign-in without a credential', () => {
    const config = loadConfig({
      SERVICEBUS_CONNECTION__fullyQualifiedNamespace: 'sb-orderhub.servicebus.windows.net',
      SERVICEBUS_CONNECTION__credential: 'ManagedIdentity', // the host compares without case
      TABLES_CONNECTION__tableServiceUri: 'https://storderhub.table.core.windows.net',
    });
    expect(config.serviceBus).toMatchObject({ credential: { kind: 'managedIdentity' } });
    expect(config.tables).toMatchObject({ credential: { kind: 'developer' } });
  });

  it('keeps the connection strings as they were', () => {
    const config = loadConfig(base);
    expect(config.serviceBus).toEqual({ connectionString: base.SERVICEBUS_CONNECTION, concurrency: 16 });
    expect(config.tables).toEqual({ connectionString: base.TABLES_CONNECTION, prefix: 'hub' });
  });

  it('wants exactly one of the connection string and the identity form, and names the setting', () => {
    expect(problems({ ...identity, SERVICEBUS_CONNECTION: base.SERVICEBUS_CONNECTION })).toMatch(
      /SERVICEBUS_CONNECTION: set either SERVICEBUS_CONNECTION or SERVICEBUS_CONNECTION__fullyQualifiedNamespace, not both/,
    );
    expect(problems({ ...identity, TABLES_CONNECTION: base.TABLES_CONNECTION })).toMatch(/TABLES_CONNECTION: set either/);
    const neither = problems({});
    expect(neither).toMatch(/SERVICEBUS_CONNECTION: a Service Bus connection string or SERVICEBUS_CONNECTION__fullyQualifiedNamespace/);
    expect(neither).toMatch(/TABLES_CONNECTION: a Table Storage connection string or TABLES_CONNECTION__tableServiceUri/);
  });

  it('refuses identity settings that would be ignored or are malformed, naming each', () => {
    expect(problems({ ...base, SERVICEBUS_CONNECTION__credential: 'managedidentity' })).toMatch(
      /SERVICEBUS_CONNECTION__credential: is read only with SERVICEBUS_CONNECTION__fullyQualifiedNamespace/,
    );
    expect(problems({ ...identity, TABLES_CONNECTION__credential: 'clientsecret' })).toMatch(/TABLES_CONNECTION__credential: expected managedidentity/);
    expect(problems({ ...identity, SERVICEBUS_CONNECTION__credential: '' })).toMatch(
      /SERVICEBUS_CONNECTION__clientId: needs SERVICEBUS_CONNECTION__credential=managedidentity/,
    );
    expect(problems({ ...identity, TABLES_CONNECTION__clientId: 'my-identity' })).toMatch(/TABLES_CONNECTION__clientId: expected the identity's client id/);
    expect(problems({ ...identity, SERVICEBUS_CONNECTION__fullyQualifiedNamespace: 'sb://sb-orderhub.servicebus.windows.net/' })).toMatch(
      /SERVICEBUS_CONNECTION__fullyQualifiedNamespace: expected a host name/,
    );
    // A bearer token never travels over plain HTTP.
    expect(problems({ ...identity, TABLES_CONNECTION__tableServiceUri: 'http://127.0.0.1:10002/devstoreaccount1' })).toMatch(
      /TABLES_CONNECTION__tableServiceUri: expected an https URL/,
    );
    expect(problems({ ...identity, SERVICEBUS_CONNECTION__clientId: 'my-identity' })).not.toContain('my-identity');
  });
});
