// The walk-through `npm start` prints is run as printed: extracted from the banner, executed with
// `bash -euo pipefail` (every line runs; any failing line fails the run), then the state it left is
// read over the API.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WALKTHROUGH_END } from '../../local/walkthrough';
import { type NpmStart, bannerOf, startNpm } from '../support/npm-start';

const HEADER = 'Walk-through: paste into bash';

/** The walk-through as printed: from the line after its header through the end marker. */
function extractWalkthrough(banner: string): string {
  const start = banner.indexOf('\n', banner.indexOf(HEADER)) + 1;
  const end = banner.indexOf(WALKTHROUGH_END, start) + WALKTHROUGH_END.length;
  return `${banner.slice(start, end)}\n`;
}

function runBash(file: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Trip {
  tripId: string;
  type: string;
  bookingId: string;
  cancelled?: boolean;
}

describe('the walk-through npm start prints', () => {
  let system: NpmStart;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'order-hub-walkthrough-'));
    system = await startNpm();
  });

  afterAll(async () => {
    if (system) await system.interrupt();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs from booking to delivery, through a cancellation with its refund, credit note and withdrawn trip, and a Bitcoin order with its callbacks', async () => {
    const banner = await bannerOf(system, WALKTHROUGH_END);
    const script = extractWalkthrough(banner);
    // Real addresses and keys of this run, nothing to fill in.
    const api = `http://127.0.0.1:${system.httpPort}/api`;
    expect(script).toContain(`${api}/v1/bookings`);
    expect(script).not.toMatch(/undefined|<[a-z_ -]+>|left out/i);
    expect(script.match(/ohk_[\w-]{20,}/g)?.length).toBeGreaterThan(3);

    // The test's own line after the script: the ids it kept, for reading the end state over the API.
    const ids = join(dir, 'ids.json');
    const file = join(dir, 'walkthrough.sh');
    await writeFile(
      file,
      `${script}\njq -n '{booking: env.BOOKING, token: env.TOKEN, booking2: env.BOOKING2, token2: env.TOKEN2, order: env.ORDER}' > '${ids}'\n`,
    );
    const started = Date.now();
    const run = await runBash(file, process.env, 150_000);
    const took = Date.now() - started;
    expect(run.code, `exit ${run.code} after ${took} ms\n--- stderr\n${run.stderr}\n--- stdout\n${run.stdout}`).toBe(0);

    const kept = JSON.parse(await readFile(ids, 'utf8')) as { booking: string; token: string; booking2: string; token2: string; order: string };
    const read = async (path: string, token: string) => {
      const response = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      return response.json();
    };
    expect(await read(`/v1/bookings/${kept.booking}`, kept.token)).toMatchObject({
      status: 'DELIVERED',
      payment: { status: 'succeeded' },
      findings: [{ status: 'PAID', priceCents: 8900 }],
    });
    expect(await read(`/v1/bookings/${kept.booking2}`, kept.token2)).toMatchObject({
      status: 'CANCELLED',
      payment: { status: 'refunded', refund: { status: 'succeeded' } },
    });
    const ordersKey = /orders\s+(ohk_\S+)/.exec(banner)?.[1] as string;
    expect(await read(`/v1/orders/${kept.order}`, ordersKey)).toMatchObject({ source: 'pos', status: 'paid', paymentStatus: 'paid' });

    // The Driver-App saw two trips of the first booking and the withdrawn pick-up of the second.
    const driverUrl = /Driver-App sandbox on (http:\/\/\S+)/.exec(banner)?.[1] as string;
    const trips = ((await (await fetch(`${driverUrl}/trips`)).json()) as { items: Trip[] }).items;
    expect(
      trips
        .filter((trip) => trip.bookingId === kept.booking && trip.type.startsWith('b2c_') && trip.type !== 'b2c_cancel')
        .map((trip) => [trip.type, trip.cancelled ?? false]),
    ).toEqual([
      ['b2c_pickup', false],
      ['b2c_delivery', false],
    ]);
    expect(trips.find((trip) => trip.bookingId === kept.booking2 && trip.type === 'b2c_pickup')).toMatchObject({ cancelled: true });

    // The e-mails the walk-through points at are printed by npm start.
    expect(system.output()).toContain('[mail] to erika@example.com: Ihre Buchung ist bestätigt: Inspektion');
    expect(system.output()).toContain('[mail] to max@example.com:');
  }, 200_000);
});
