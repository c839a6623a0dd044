// The operations console over HTTP (no browser): the page and its assets with their policy and
// caching, the first load's size, `whoami`, and the server-side filtering and paging of dead letters
// it lists (through the real adapter against the local broker).
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../functions/console';
import type { LocalRuntime } from '../../local/runtime';
import { newEnvelope } from '../../shared/platform/jobs';
import { api, startBookingRuntime } from '../support/bookings';
import { waitFor } from '../support/wait';

const QUEUE = 'odoo-sync';
/** The most the page, its script and its style sheet may weigh together, gzip-compressed. */
const FIRST_LOAD_BUDGET = 100 * 1024;

/** Sends jobs of a type no handler knows: the consumer dead-letters each at once (UnknownJobType). */
async function deadLetter(runtime: LocalRuntime, jobs: Array<{ type: string; subject: string; payload?: unknown }>): Promise<void> {
  await runtime.composition.services.sender.send(
    jobs.map(({ type, subject, payload }) => ({
      queue: QUEUE,
      envelope: newEnvelope({ queue: QUEUE, type, subject, payload: payload ?? {} }, new Date(), randomUUID),
    })),
  );
}

describe('the operations console (local host)', () => {
  let runtime: LocalRuntime;
  let admin: string;

  beforeAll(async () => {
    runtime = await startBookingRuntime({ ODOO_SANDBOX: 'on', TABLE_PREFIX: 'consolehttp' });
    admin = runtime.apiKeys.admin as string;
  });
  afterAll(() => runtime?.stop());

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${runtime.url}/${path}`, { headers: { 'accept-encoding': 'identity', ...headers } });

  it('serves the page with its own strict policy, never stored, with no inline script or style', async () => {
    const page = await get('console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    // Every script has a src, no style element or attribute, no handler attribute: nothing the policy would block.
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0])).toEqual([expect.stringMatching(/src="console\/console\.js\?v=[0-9a-f]{16}"/)]);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    expect(html).toMatch(/href="console\/console\.css\?v=[0-9a-f]{16}"/);
    // No API key, no data: the page is the same for everyone.
    expect(html).not.toContain('ohk_');
  });

  it('serves each asset by its hash for a year, revalidates otherwise, answers 304 and gzip', async () => {
    const html = await (await get('console')).text();
    for (const [name, type] of [
      ['console.js', 'text/javascript; charset=utf-8'],
      ['console.css', 'text/css; charset=utf-8'],
      ['icon.svg', 'image/svg+xml'],
    ] as const) {
      const versioned = new RegExp(`console/${name.replace('.', '\\.')}\\?v=([0-9a-f]{16})`).exec(html)?.[0] as string;
      expect(versioned, name).toBeDefined();
      const cached = await get(versioned);
      expect(cached.status, name).toBe(200);
      expect(cached.headers.get('content-type')).toBe(type);
      expect(cached.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(cached.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const etag = cached.headers.get('etag') as string;
      const body = Buffer.from(await cached.arrayBuffer());
      const plain = await get(`console/${name}`);
      expect(plain.headers.get('cache-control')).toBe('no-cache');
      expect(Buffer.from(await plain.arrayBuffer())).toEqual(body);
      const revalidated = await get(`console/${name}`, { 'if-none-match': etag });
      expect(revalidated.status).toBe(304);
      const zipped = await get(`console/${name}`, { 'accept-encoding': 'gzip' });
      expect(zipped.headers.get('content-encoding')).toBe('gzip');
      expect(Buffer.from(await zipped.arrayBuffer())).toEqual(body); // fetch inflates it
    }
    expect((await get('console/nothing.js')).status).toBe(404);
    expect((await get('console/index.html')).status).toBe(404);
  });

  it('loads in at most 100 KB gzip-compressed (page, script, style sheet)', async () => {
    const files = ['console', 'console/console.js', 'console/console.css'];
    const sizes = await Promise.all(
      files.map(async (path) => {
        const sent = Buffer.from(await (await get(path)).arrayBuffer());
        return { path, bytes: sent.length, gzip: gzipSync(sent, { level: 9 }).length };
      }),
    );
    const total = sizes.reduce((sum, size) => sum + size.gzip, 0);
    console.info(`console first load: ${sizes.map((size) => `${size.path} ${size.bytes} B (${size.gzip} B gzip)`).join(', ')}; ${total} B gzip in all`);
    expect(total).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
  });

  it('tells a key its name and roles (admin or support), refusing other roles and anonymous callers', async () => {
    expect((await api(runtime, 'GET', '/v1/admin/whoami', { token: admin })).body).toEqual({ name: expect.any(String), roles: ['admin'] });
    expect((await api(runtime, 'GET', '/v1/admin/whoami', { token: runtime.apiKeys.support })).body).toEqual({ name: expect.any(String), roles: ['support'] });
    expect((await api(runtime, 'GET', '/v1/admin/whoami', { token: runtime.apiKeys.orders })).status).toBe(403);
    expect((await api(runtime, 'GET', '/v1/admin/whoami')).status).toBe(401);
  });

  it('filters dead letters on the server before max, and pages on with the cursor', async () => {
    const run = randomUUID().slice(0, 8);
    const jobs = [
      ...Array.from({ length: 5 }, (_, i) => ({ type: `console.alpha.${run}`, subject: `s-${run}-${i}` })),
      ...Array.from({ length: 3 }, (_, i) => ({ type: `console.beta.${run}`, subject: `s-${run}-b${i}` })),
    ];
    await deadLetter(runtime, jobs);
    const list = async (query: string) => {
      const response = await api(runtime, 'GET', `/v1/admin/dead-letters/${QUEUE}?${query}`, { token: admin });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body as { items: Array<{ id: string; type: string; subject: string; reason: string }>; next: string | null };
    };
    await waitFor(async () => (await list(`q=${run}&max=500`)).items.length === 8, { message: 'the jobs were not dead-lettered' });

    const beta = await list(`type=console.beta.${run}`);
    expect(beta.items.map((item) => item.subject)).toEqual([0, 1, 2].map((i) => `s-${run}-b${i}`));
    expect(beta.next).toBeNull();
    expect((await list(`subject=s-${run}-3`)).items.map((item) => item.type)).toEqual([`console.alpha.${run}`]);
    expect((await list(`reason=UnknownJobType&q=${run.toUpperCase()}`)).items).toHaveLength(8);
    expect((await list(`reason=PermanentError&q=${run}`)).items).toEqual([]);

    // Pages of two through the five alpha letters: each once, in order, and the last page says it is the end.
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await list(`type=console.alpha.${run}&max=2${after ? `&after=${after}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.subject));
      after = page.next;
      pages += 1;
    } while (after !== null && pages < 10);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `s-${run}-${i}`));
    expect((await api(runtime, 'GET', `/v1/admin/dead-letters/${QUEUE}?after=abc`, { token: admin })).status).toBe(422);

    // A bulk replay takes the same filter: only the beta letters go (and, still unknown, come back).
    const replayed = await api(runtime, 'POST', `/v1/admin/dead-letters/${QUEUE}/replay`, { token: admin, body: { type: `console.beta.${run}`, q: run } });
    expect(replayed.body).toEqual({ replayed: 3, more: false });
    const audit = await api(runtime, 'GET', `/v1/admin/audit?queue=${QUEUE}&limit=20`, { token: admin });
    expect(
      (audit.body.items as Array<{ action: string; type: string }>).filter((entry) => (entry.type ?? '').includes(run)).map((entry) => entry.type),
    ).toEqual(Array(3).fill(`console.beta.${run}`));
  });

  it('lets support read what the console shows and refuses each of its changes with 403', async () => {
    const support = runtime.apiKeys.support as string;
    for (const path of ['/v1/admin/whoami', '/v1/admin/dead-letters', `/v1/admin/dead-letters/${QUEUE}?q=x`, '/v1/admin/audit', '/v1/admin/callbacks']) {
      expect((await api(runtime, 'GET', path, { token: support })).status, path).toBe(200);
    }
    const changes: Array<[string, string, unknown?]> = [
      ['POST', `/v1/admin/dead-letters/${QUEUE}/m-1/replay`],
      ['POST', `/v1/admin/dead-letters/${QUEUE}/replay`, {}],
      ['DELETE', `/v1/admin/dead-letters/${QUEUE}/m-1`, { reason: 'not mine to discard' }],
      ['POST', `/v1/admin/callbacks/${randomUUID()}/resend`],
    ];
    for (const [method, path, body] of changes) expect((await api(runtime, method, path, { token: support, body })).status, `${method} ${path}`).toBe(403);
  });
});
