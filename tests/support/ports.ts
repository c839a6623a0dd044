import { createServer } from 'node:net';

/** A port that is free right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether something listens on the port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/**
 * The environment for running `npm start` beside anything else: every part on a free port, and no
 * connection inherited from the caller's shell, so every part is the local one.
 */
export async function npmStartEnv(): Promise<{ env: NodeJS.ProcessEnv; httpPort: number; ports: number[] }> {
  const names = [
    'PORT',
    'AZURITE_TABLE_PORT',
    'SERVICEBUS_PORT',
    'STRIPE_SANDBOX_PORT',
    'SMTP_SANDBOX_PORT',
    'DRIVER_SANDBOX_PORT',
    'ODOO_SANDBOX_PORT',
    'CHANNEL_SANDBOX_PORT',
    'BTCPAY_SANDBOX_PORT',
    'WOOCOMMERCE_SANDBOX_PORT',
  ];
  const ports: number[] = [];
  for (let i = 0; i < names.length; i++) ports.push(await freePort());
  const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(names.map((name, i) => [name, String(ports[i])])) };
  for (const name of [
    'API_KEYS',
    'SERVICEBUS_CONNECTION',
    'TABLES_CONNECTION',
    'STRIPE_SECRET_KEY',
    'STRIPE_API_BASE',
    'SMTP_URL',
    'DRIVER_APP_WEBHOOK_URL',
    'ODOO_URL',
    'WOOCOMMERCE_URL',
  ]) {
    delete env[name];
  }
  return { env, httpPort: ports[0] as number, ports };
}
