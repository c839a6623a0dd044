import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, isListening, npmStartEnv } from '../support/ports';
import { waitFor } from '../support/wait';

const root = resolve(__dirname, '../..');

/** `npm start` as a user runs it, on free ports so it does not collide with a running copy. */
async function startSystem(extraEnv: NodeJS.ProcessEnv = {}) {
  const { env, httpPort, ports } = await npmStartEnv();
  // Its own process group, so a Ctrl-C can be sent the way a terminal sends it: to the whole group.
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, httpPort, ports, exited, output: () => output };
}

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
  const system = await startSystem();
  try {
    await waitFor(() => healthy(system.httpPort), { timeoutMs: 15_000, message: 'npm start did not answer /api/health' });
    const readyMs = Date.now() - started;
    const body = (await (await fetch(`http://127.0.0.1:${system.httpPort}/api/health`)).json()) as {
      status: string;
      integrations: Record<string, string>;
    };
    expect(body.status).toBe('ok');
    expect(body.integrations).toMatchObject({ serviceBus: 'sandbox', tables: 'sandbox', stripe: 'sandbox' });
    expect(system.output()).toMatch(/admin\s+ohk_/);
    // Generated for this run, so printed: the local default webhook secret.
    expect(system.output()).toContain('Stripe webhook secret: whsec_local_sandbox');

    // Ctrl-C reaches every process of the foreground group; SIGTERM (a process manager) only npm.
    if (signal === 'SIGINT') process.kill(-(system.child.pid as number), 'SIGINT');
    else system.child.kill('SIGTERM');
    const code = await Promise.race([system.exited, new Promise((_, reject) => setTimeout(() => reject(new Error('did not exit')), 10_000))]);
    expect(code).toBe(0);
    for (const port of system.ports) expect(await isListening(port)).toBe(false);
    return readyMs;
  } finally {
    if (system.child.exitCode === null) kill(system.child);
  }
}

function kill(child: ChildProcess) {
  try {
    process.kill(-(child.pid as number), 'SIGKILL');
  } catch {
    // already gone
  }
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
    const system = await startSystem({ ...supplied, STRIPE_API_BASE: `http://127.0.0.1:${await freePort()}` });
    try {
      await waitFor(() => system.output().includes('Walk-through:'), { timeoutMs: 15_000, message: 'npm start printed no banner' });
      const output = system.output();
      expect(output).toContain('Stripe webhook secret: from the environment (STRIPE_WEBHOOK_SECRET)');
      expect(output).toContain('curl -s -u <STRIPE_SECRET_KEY>:');
      expect(output).toContain('BTCPay webhook secret: from the environment (BTCPAY_WEBHOOK_SECRET)');
      for (const secret of Object.values(supplied)) expect(output).not.toContain(secret);
      system.child.kill('SIGTERM');
      await system.exited;
    } finally {
      if (system.child.exitCode === null) kill(system.child);
    }
  }, 40_000);
});
