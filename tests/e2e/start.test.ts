import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURITE_TABLE_DB_FILE } from '../../local/azurite';
import { WALKTHROUGH_END } from '../../local/walkthrough';
import { type NpmStart, bannerOf, startNpm } from '../support/npm-start';
import { freePort, isListening } from '../support/ports';
import { waitFor } from '../support/wait';

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/health`);
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stopsCleanly(signal: NodeJS.Signals) {
  const started = Date.now();
  const system = await startNpm();
  try {
    await waitFor(() => healthy(system.httpPort), { timeoutMs: 15_000, message: 'npm start did not answer /api/health' });
    const readyMs = Date.now() - started;
    const body = (await (await fetch(`http://127.0.0.1:${system.httpPort}/api/health`)).json()) as {
      status: string;
      integrations: Record<string, string>;
    };
    expect(body.status).toBe('ok');
    // Every sandbox took the credentials npm start gave the app (health probes each one).
    expect(body.integrations).toEqual({
      serviceBus: 'sandbox',
      tables: 'sandbox',
      stripe: 'sandbox',
      odoo: 'sandbox',
      btcpay: 'sandbox',
      driverApp: 'sandbox',
    });
    expect(system.output()).toMatch(/admin\s+ohk_/);
    // Generated for this run, so printed: the local default webhook secret.
    expect(system.output()).toContain('Stripe webhook secret: whsec_local_sandbox');
    expect(system.output()).toContain('Data: in memory, gone at Ctrl-C');

    // Ctrl-C reaches every process of the foreground group; SIGTERM (a process manager) only npm.
    let code: number | null;
    if (signal === 'SIGINT') code = await system.interrupt();
    else {
      system.child.kill('SIGTERM');
      code = await Promise.race([system.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not exit')), 10_000))]);
    }
    expect(code).toBe(0);
    for (const port of system.ports) expect(await isListening(port)).toBe(false);
    return readyMs;
  } finally {
    system.kill();
  }
}

/** A booking with a slot the default opening hours accept (tomorrow, or Monday, 10:00-12:00 UTC). */
function bookingBody() {
  const day = new Date(Date.now() + 24 * 3600_000);
  if (day.getUTCDay() === 0) day.setUTCDate(day.getUTCDate() + 1);
  const date = day.toISOString().slice(0, 10);
  return {
    customer: { name: 'Erika Mustermann', email: 'persist@example.com', phone: '+49 170 1234567' },
    vehicle: { brand: 'VW', model: 'Golf' },
    serviceType: 'inspection',
    pickup: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' }, slotStart: `${date}T10:00:00Z`, slotEnd: `${date}T12:00:00Z` },
  };
}

describe('npm start', () => {
  it('answers /api/health within 15 s and stops every part on SIGINT (Ctrl-C)', async () => {
    // The 15 s bound is the waitFor inside: it throws if /api/health does not answer in time.
    await stopsCleanly('SIGINT');
  }, 40_000);

  it('stops every part on SIGTERM', async () => {
    await stopsCleanly('SIGTERM');
  }, 40_000);

  it('prints the local default secrets it made up, never a secret supplied through the environment', async () => {
    const supplied = {
      STRIPE_WEBHOOK_SECRET: 'whsec_supplied_by_env_9f3k',
      STRIPE_SECRET_KEY: 'sk_test_supplied_by_env_7q2m',
      BTCPAY_WEBHOOK_SECRET: 'btcpay_supplied_by_env_4h8s',
      BTCPAY_API_KEY: 'btcpay_key_supplied_by_env_2x6v',
    };
    // Stripe's test mode, pointed at a port where nothing listens: nothing talks to Stripe before the banner.
    const system = await startNpm({ env: { ...supplied, STRIPE_API_BASE: `http://127.0.0.1:${await freePort()}` } });
    try {
      const output = await bannerOf(system, WALKTHROUGH_END);
      expect(output).toContain('Stripe webhook secret: from the environment (STRIPE_WEBHOOK_SECRET)');
      expect(output).toContain('curl -sS --fail-with-body -u <STRIPE_SECRET_KEY>:');
      expect(output).toContain('BTCPay webhook secret: from the environment (BTCPAY_WEBHOOK_SECRET)');
      for (const secret of Object.values(supplied)) expect(output).not.toContain(secret);
      system.child.kill('SIGTERM');
      await system.exited;
    } finally {
      system.kill();
    }
  }, 40_000);

  it('refuses an argument it does not know, saying how to call it', async () => {
    const system = await startNpm({ args: ['--persits'] });
    try {
      expect(await system.exited).toBe(2);
      expect(system.output()).toContain('unknown argument --persits; usage: npm start [-- --persist[=<dir>]]');
    } finally {
      system.kill();
    }
  }, 20_000);
});

describe('npm start -- --persist', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'order-hub-persist-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the tables in the directory it names: a booking made before a restart is readable after it', async () => {
    const location = join(dir, 'azurite');
    let first: NpmStart | undefined;
    let second: NpmStart | undefined;
    try {
      first = await startNpm({ args: [`--persist=${location}`] });
      const banner = await bannerOf(first, WALKTHROUGH_END);
      expect(banner).toContain(`(kept in ${location})`);
      expect(banner).toContain(`Data: the tables are kept in ${location} (--persist)`);
      // What a restart loses is said, not discovered.
      expect(banner).toMatch(/Not kept: jobs still waiting in the in-memory Service Bus broker/);
      expect(banner).toMatch(/Stripe PaymentIntents and refunds, Odoo records, Driver-App trips/);

      const created = await fetch(`http://127.0.0.1:${first.httpPort}/api/v1/bookings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bookingBody()),
      });
      expect(created.status).toBe(201);
      const booking = (await created.json()) as { id: string; accessToken: string };
      expect(await first.interrupt()).toBe(0);
      expect(await readdir(location)).toContain(AZURITE_TABLE_DB_FILE);

      second = await startNpm({ args: [`--persist=${location}`] });
      await bannerOf(second, WALKTHROUGH_END);
      const read = await fetch(`http://127.0.0.1:${second.httpPort}/api/v1/bookings/${booking.id}`, {
        headers: { authorization: `Bearer ${booking.accessToken}` },
      });
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ id: booking.id, status: 'PENDING_PAYMENT', customer: { email: 'persist@example.com' } });
      const history = (await (
        await fetch(`http://127.0.0.1:${second.httpPort}/api/v1/bookings/${booking.id}/history`, {
          headers: { authorization: `Bearer ${booking.accessToken}` },
        })
      ).json()) as { items: Array<{ to: string }> };
      expect(history.items.map((item) => item.to)).toEqual(['PENDING_PAYMENT']);
      expect(await second.interrupt()).toBe(0);
    } finally {
      first?.kill();
      second?.kill();
    }
  }, 60_000);
});
