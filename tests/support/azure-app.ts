// The function table as the Functions host would register it in Azure, without Azure: the app is
// composed from the settings of a full deployment and registered with a recorder in place of
// @azure/functions' `app` (nothing connects: the clients are built, never used).
import { compose } from '../../functions/composition';
import { loadConfig } from '../../functions/config';
import { type FunctionsApp, registerFunctions } from '../../functions/register';
import type { FunctionDef } from '../../shared/function-table';
import type { Logger } from '../../shared/platform/log';

/**
 * The settings of a full deployment as Azure hands them to the app: every integration configured,
 * so every queue function and timer is registered (sample values; Key Vault references resolved).
 */
export const AZURE_ENV = {
  SERVICEBUS_CONNECTION: 'Endpoint=sb://sb-orderhub-test.servicebus.windows.net/;SharedAccessKeyName=order-hub-app;SharedAccessKey=c2FtcGxl',
  TABLES_CONNECTION: 'DefaultEndpointsProtocol=https;AccountName=sttest;AccountKey=c2FtcGxl;EndpointSuffix=core.windows.net',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
  STRIPE_SECRET_KEY: 'sk_test_sample',
  STRIPE_WEBHOOK_SECRET: 'whsec_sample',
  ODOO_URL: 'https://erp.example.com',
  ODOO_DB: 'prod',
  ODOO_USERNAME: 'hub@example.com',
  ODOO_PASSWORD: 'sample',
  DRIVER_APP_WEBHOOK_URL: 'https://driver.example.com/api/trips',
  DRIVER_APP_SECRET: 'sample',
  SMTP_URL: 'smtps://user:pass@smtp.example.com:465',
  BTCPAY_URL: 'https://btcpay.example.com',
  BTCPAY_API_KEY: 'sample',
  BTCPAY_STORE_ID: 'store',
  BTCPAY_WEBHOOK_SECRET: 'sample',
  CHANNELS: 'woocommerce,b2b',
  B2B_CALLBACK_URL: 'https://erp.partner.example/hub-callback',
  B2B_CALLBACK_SECRET: 'whsec_c2FtcGxl',
  WOOCOMMERCE_URL: 'https://shop.example.com',
  WOOCOMMERCE_CONSUMER_KEY: 'ck_sample',
  WOOCOMMERCE_CONSUMER_SECRET: 'cs_sample',
  WOOCOMMERCE_WEBHOOK_SECRET: 'sample',
  PAYMENT_RECONCILE_EVERY: '10m',
};

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** What the app registers with the Functions host. */
export interface RegisteredApp {
  functions: FunctionDef[];
  http: Array<{ function: string; route: string }>;
  triggers: Array<{ function: string; queue: string; connection: string }>;
  timers: Array<{ function: string; schedule: string }>;
}

/** Composes the app from `env` and records what it registers. */
export async function registerAzureApp(env: Record<string, string> = AZURE_ENV): Promise<RegisteredApp> {
  const composition = compose(loadConfig(env), { log: silent });
  const registered: RegisteredApp = { functions: composition.functions, http: [], triggers: [], timers: [] };
  const recorder: FunctionsApp = {
    http: (name, options) => void registered.http.push({ function: name, route: options.route }),
    serviceBusQueue: (name, options) => void registered.triggers.push({ function: name, queue: options.queueName, connection: options.connection }),
    timer: (name, options) => void registered.timers.push({ function: name, schedule: options.schedule }),
  };
  registerFunctions(recorder, { functions: composition.functions, pipeline: composition.pipeline, log: silent, ready: async () => {} });
  await composition.close();
  return registered;
}
