import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose } from '../../functions/composition';
import { type Config, ConfigError, loadConfig } from '../../functions/config';
import { type FunctionsApp, registerFunctions } from '../../functions/register';
import { consoleLogger } from '../../shared/adapters/telemetry/log';
import { connectionStrings, DEFAULT_PORTS, FREE_PORTS, type LocalRuntime, startLocalRuntime } from '../../local/runtime';

/** `func start` reads local.settings.json: a copy of this file (README, "Build and deploy"). */
const example = JSON.parse(readFileSync(join(resolve(__dirname, '../..'), 'local.settings.example.json'), 'utf8')) as {
  IsEncrypted: boolean;
  Host?: { LocalHttpPort?: number };
  Values: Record<string, string>;
};
const values = example.Values;

/** The local API keys README documents; local.settings.example.json configures their hashes. */
const LOCAL_API_KEYS = { admin: 'ohk_local_admin', workshop: 'ohk_local_workshop', orders: 'ohk_local_orders' } as const;

/**
 * How the Functions host resolves a Service Bus trigger's `connection` name: a connection string under
 * the name itself, else the identity-based form `<name>__fullyQualifiedNamespace`.
 */
function resolveConnection(settings: Record<string, string>, name: string): 'connectionString' | 'identity' | undefined {
  if (/^Endpoint=sb:\/\//.test(settings[name] ?? '')) return 'connectionString';
  if (/^[A-Za-z0-9.-]+(:\d+)?$/.test(settings[`${name}__fullyQualifiedNamespace`] ?? '')) return 'identity';
  return undefined;
}

/** Every `connection` setting name the registered triggers refer to. */
function triggerConnections(config: Config): string[] {
  const composition = compose(config, { log: consoleLogger({ silent: true }) });
  const connections = new Set<string>();
  const app = {
    http: () => {},
    timer: () => {},
    serviceBusQueue: (_name: string, options: { connection: string }) => connections.add(options.connection),
  } as unknown as FunctionsApp;
  registerFunctions(app, { functions: composition.functions, pipeline: composition.pipeline, log: composition.services.log, ready: async () => {} });
  void composition.close();
  return [...connections];
}

describe('local.settings.example.json (func start next to npm start)', () => {
  it('is what Core Tools reads: the Node worker, the host storage, an HTTP port npm start leaves free', () => {
    expect(example.IsEncrypted).toBe(false);
    expect(values.FUNCTIONS_WORKER_RUNTIME).toBe('node');
    // Azurite's development account: the host keeps its timer leases and keys there (Blob service).
    expect(values.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    expect(Object.values(DEFAULT_PORTS)).not.toContain(example.Host?.LocalHttpPort);
    for (const [name, value] of Object.entries(values)) {
      expect(typeof value, name).toBe('string');
      expect(value.trim(), name).not.toBe('');
      expect(value, `${name} is a placeholder`).not.toMatch(/[<>]|TODO|changeme|your[-_ ]/i);
    }
  });

  it('passes the app’s configuration schema with every integration configured', () => {
    const config = loadConfig(values);
    expect(config.integrations).toEqual({ stripe: 'sandbox', btcpay: 'sandbox', odoo: 'sandbox', driverApp: 'sandbox' });
    expect(config.stripe).toBeDefined();
    expect(config.btcpay).toBeDefined();
    expect(config.odoo).toBeDefined();
    expect(config.mail).toBeDefined();
    expect(config.driverApp.webhookUrl).toBeDefined();
    expect(config.woocommerce).toBeDefined();
    // Every channel is told about its orders: the shop through its own API, the others by signed callbacks.
    expect([...Object.keys(config.channelCallbacks), 'woocommerce'].sort()).toEqual([...config.orders.channels].sort());
    expect(config.orders.channels.length).toBeGreaterThan(0);
  });

  it('holds the hashes of the documented local API keys, one per role', () => {
    const config = loadConfig(values);
    expect(config.apiKeys).toEqual(
      Object.entries(LOCAL_API_KEYS).map(([role, key]) => ({ name: `local-${role}`, roles: [role], sha256: createHash('sha256').update(key).digest('hex') })),
    );
  });

  it('names every connection setting the triggers refer to', () => {
    const connections = triggerConnections(loadConfig(values));
    expect(connections).toEqual(['SERVICEBUS_CONNECTION']);
    for (const name of connections) expect(resolveConnection(values, name), name).toBe('connectionString');
  });

  it('resolves the identity-based form of the connection too, which the app accepts instead of the string', () => {
    const { SERVICEBUS_CONNECTION: _string, ...rest } = values;
    const identity = {
      ...rest,
      SERVICEBUS_CONNECTION__fullyQualifiedNamespace: 'sb-orderhub.servicebus.windows.net',
      SERVICEBUS_CONNECTION__credential: 'managedidentity',
      SERVICEBUS_CONNECTION__clientId: '6f1c3a52-58a4-4d8e-9f1e-0c7b2a9d4e11',
    };
    const connections = triggerConnections(loadConfig(identity));
    expect(connections).toEqual(['SERVICEBUS_CONNECTION']);
    for (const name of connections) expect(resolveConnection(identity, name), name).toBe('identity');
    expect(resolveConnection(rest, 'SERVICEBUS_CONNECTION')).toBeUndefined();
  });

  describe('points the app where npm start runs its parts on their default ports', () => {
    let runtime: LocalRuntime;

    beforeAll(async () => {
      // npm start with the example's API keys and channel secrets (otherwise it makes them up per run).
      const secrets = Object.fromEntries(Object.entries(values).filter(([name]) => name === 'API_KEYS' || name.endsWith('_CALLBACK_SECRET')));
      runtime = await startLocalRuntime({ ports: FREE_PORTS, env: secrets, timers: false, log: consoleLogger({ silent: true }) });
    });

    afterAll(async () => {
      await runtime?.stop();
    });

    it('the configuration npm start hands its host, on the default ports, is the example’s', () => {
      const portOf = (url: string | undefined) => Number(new URL(url ?? 'http://x').port);
      const actual: Record<string, number> = {
        tables: Number(/:(\d+)\/devstoreaccount1/.exec(connectionStrings(runtime.config).tables)?.[1]),
        serviceBus: runtime.broker?.port ?? 0,
        stripe: portOf(runtime.stripe?.url),
        smtp: portOf(runtime.smtp?.url),
        driver: portOf(runtime.driver?.url),
        odoo: portOf(runtime.odoo?.url),
        channel: portOf(runtime.channel?.url),
        btcpay: portOf(runtime.btcpay?.url),
        woocommerce: portOf(runtime.woocommerce?.url),
      };
      let text = JSON.stringify(runtime.config);
      for (const [part, port] of Object.entries(actual)) {
        expect(port, part).toBeGreaterThan(0);
        text = text.replaceAll(`127.0.0.1:${port}`, `127.0.0.1:${DEFAULT_PORTS[part as keyof typeof DEFAULT_PORTS]}`);
      }
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(loadConfig(values))));
    });
  });

  // Each bad setting stops start-up with a ConfigError naming the variable, never echoing the value.
  it.each([
    ['SERVICEBUS_CONNECTION', '', 'SERVICEBUS_CONNECTION'],
    ['TABLES_CONNECTION', '', 'TABLES_CONNECTION'],
    ['API_KEYS', 'local-admin:admin:not-a-sha256-hash', 'API_KEYS'],
    ['STRIPE_API_BASE', 'stripe-sandbox', 'STRIPE_API_BASE'],
    ['STRIPE_WEBHOOK_SECRET', '', 'STRIPE_WEBHOOK_SECRET'],
    ['SMTP_URL', 'mail-server', 'SMTP_URL'],
    ['DRIVER_APP_SECRET', '', 'DRIVER_APP_SECRET'],
    ['ODOO_URL', 'odoo-sandbox', 'ODOO_URL'],
    ['ODOO_PASSWORD', '', 'ODOO_DB'],
    ['BTCPAY_STORE_ID', '', 'BTCPAY_STORE_ID'],
    ['CHANNELS', 'woocommerce,Point Of Sale', 'CHANNELS'],
    ['POS_CALLBACK_SECRET', 'plain-text-secret', 'POS_CALLBACK_SECRET'],
    ['CALLBACK_ALLOW_PRIVATE', 'false', 'WOOCOMMERCE_URL'],
    ['WOOCOMMERCE_CONSUMER_SECRET', '', 'WOOCOMMERCE_CONSUMER_SECRET'],
  ])('a bad %s (%j) stops start-up naming %s', (variable, value, named) => {
    let error: unknown;
    try {
      loadConfig({ ...values, [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(named);
    if (value.length > 8) expect((error as ConfigError).message).not.toContain(value);
  });
});
