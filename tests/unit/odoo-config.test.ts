// ODOO_API: which of Odoo's external APIs the sync uses, and what each needs configured.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/config';

const base = {
  SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
  TABLES_CONNECTION: 'UseDevelopmentStorage=true',
};
const xmlrpc = { ODOO_URL: 'https://erp.example.com', ODOO_DB: 'prod', ODOO_USERNAME: 'sync@example.com', ODOO_PASSWORD: 'api-key-1' };

/** The ConfigError `env` fails with. */
function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('ODOO_API', () => {
  it('is xmlrpc by default (also when empty), with database, user and password', () => {
    for (const api of [{}, { ODOO_API: '' }]) {
      expect(loadConfig({ ...base, ...xmlrpc, ...api }).odoo).toEqual({
        api: 'xmlrpc',
        url: 'https://erp.example.com',
        db: 'prod',
        username: 'sync@example.com',
        password: 'api-key-1',
        timeoutMs: 15_000,
        paymentJournalId: undefined,
        lineTaxIds: undefined,
      });
    }
  });

  it('json2 needs only the URL and the API key; the database and user are kept when given', () => {
    expect(loadConfig({ ...base, ODOO_API: 'json2', ODOO_URL: 'https://erp.example.com', ODOO_PASSWORD: 'api-key-1' }).odoo).toEqual({
      api: 'json2',
      url: 'https://erp.example.com',
      db: undefined,
      username: undefined,
      password: 'api-key-1',
      timeoutMs: 15_000,
      paymentJournalId: undefined,
      lineTaxIds: undefined,
    });
    expect(loadConfig({ ...base, ...xmlrpc, ODOO_API: ' JSON2 ' }).odoo).toMatchObject({ api: 'json2', db: 'prod', username: 'sync@example.com' });
  });

  it('refuses another API, and a json2 setup without the key, naming the variable and never the value', () => {
    const other = refusal({ ...xmlrpc, ODOO_API: 'jsonrpc-secret-ish' });
    expect(other.message).toMatch(/ODOO_API/);
    expect(other.message).toMatch(/xmlrpc/);
    expect(other.message).not.toContain('jsonrpc-secret-ish');

    const keyless = refusal({ ODOO_API: 'json2', ODOO_URL: 'https://erp.example.com', ODOO_DB: 'prod' });
    expect(keyless.message).toMatch(/ODOO_PASSWORD.*ODOO_API=json2 needs ODOO_PASSWORD/);

    // XML-RPC still needs all four.
    expect(refusal({ ODOO_URL: 'https://erp.example.com', ODOO_PASSWORD: 'api-key-1' }).message).toMatch(
      /ODOO_DB.*ODOO_URL needs ODOO_DB, ODOO_USERNAME and ODOO_PASSWORD/,
    );
  });

  it('is no Odoo at all without ODOO_URL, whatever the API', () => {
    expect(loadConfig({ ...base, ODOO_API: 'json2' }).odoo).toBeUndefined();
    expect(loadConfig({ ...base, ODOO_API: 'json2' }).integrations.odoo).toBe('unavailable');
  });
});
