/**
 * Every answer of the function table carries the security headers an API behind Helmet sends:
 * each route of the table, answered with success and with errors, and the host's own answers
 * (unknown route, wrong method, too large). The operations console's page and assets carry the same
 * headers with the console's own policy and caching.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../functions/console';
import type { LocalRuntime } from '../../local/runtime';
import type { HttpFunctionDef } from '../../shared/function-table';
import { toWire } from '../../shared/http/pipeline';
import { bookingBody, startBookingRuntime } from '../support/bookings';
import { createOrder } from '../support/orders';

const EXPECTED = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

function expectSecurityHeaders(response: Response, what: string, own: Partial<typeof EXPECTED> = {}): void {
  const seen = Object.fromEntries(Object.keys(EXPECTED).map((name) => [name, response.headers.get(name)]));
  expect(seen, what).toEqual({ ...EXPECTED, ...own });
  expect(response.headers.get('x-powered-by'), what).toBeNull();
  // The local host speaks plain HTTP, where a browser ignores HSTS: it is not sent there.
  expect(response.headers.get('strict-transport-security'), what).toBeNull();
}

describe('security headers on every answer', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startBookingRuntime();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('are sent by every route of the function table, whatever it answers', async () => {
    const defs = runtime.composition.functions.filter((def): def is HttpFunctionDef => def.kind === 'http');
    expect(defs.length).toBeGreaterThan(30);
    const statuses = new Set<number>();
    for (const def of defs) {
      const path = def.route.replace(/\{[^}]+\}/g, 'x');
      for (const method of def.methods) {
        for (const key of [undefined, runtime.apiKeys.admin]) {
          const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': 'k-1' };
          if (key) headers.authorization = `Bearer ${key}`;
          const response = await fetch(`${runtime.url}/${path}`, { method, headers, body: method === 'GET' ? undefined : '{}' });
          await response.arrayBuffer();
          statuses.add(response.status);
          // The console's page has a policy of its own (its script and style from this origin); every other answer the API's.
          const own = def.name === 'console' ? { 'content-security-policy': CONSOLE_CSP } : {};
          expectSecurityHeaders(response, `${method} ${def.route} (${key ? 'admin key' : 'no key'}) -> ${response.status}`, own);
        }
      }
    }
    // Success and error answers both went through the check.
    expect([...statuses].some((status) => status < 300)).toBe(true);
    expect([...statuses].filter((status) => status >= 400).length).toBeGreaterThan(3);
  });

  it('are sent with answers that carry a token, a client secret or personal data', async () => {
    const created = await fetch(`${runtime.url}/v1/bookings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bookingBody()),
    });
    expect(created.status).toBe(201);
    expectSecurityHeaders(created, 'booking created (access token, client secret)');
    const order = await createOrder(runtime);
    const read = await fetch(`${runtime.url}/v1/orders/${order.id}`, { headers: { authorization: `Bearer ${runtime.apiKeys.orders}` } });
    expect(read.status).toBe(200);
    expectSecurityHeaders(read, 'order read (customer data)');
  });

  it("are sent with the host's own answers: unknown route, wrong method, body too large", async () => {
    expectSecurityHeaders(await fetch(`${runtime.url}/v1/nowhere`), 'unknown route');
    expectSecurityHeaders(await fetch(`${runtime.url}/v1/services`, { method: 'DELETE' }), 'wrong method');
    const large = await fetch(`${runtime.url}/v1/bookings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(large.status).toBe(413);
    expectSecurityHeaders(large, 'body too large');
  });

  it("are sent with the operations console's page and assets, with the console's policy and caching", async () => {
    const page = await fetch(`${runtime.url}/console`);
    const html = await page.text();
    expectSecurityHeaders(page, 'console page', { 'content-security-policy': CONSOLE_CSP });
    const assets = [...html.matchAll(/(?:src|href)="(console\/[^"]+)"/g)].map((match) => match[1] as string);
    expect(assets).toHaveLength(3);
    for (const asset of assets) {
      const versioned = await fetch(`${runtime.url}/${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      await versioned.arrayBuffer();
      expect(versioned.status, asset).toBe(200);
      expectSecurityHeaders(versioned, asset, { 'content-security-policy': CONSOLE_CSP, 'cache-control': 'public, max-age=31536000, immutable' });
      const plain = await fetch(`${runtime.url}/${asset.split('?')[0]}`);
      await plain.arrayBuffer();
      expectSecurityHeaders(plain, `${asset} unversioned`, { 'content-security-policy': CONSOLE_CSP, 'cache-control': 'no-cache' });
      const unchanged = await fetch(`${runtime.url}/${asset.split('?')[0]}`, { headers: { 'if-none-match': versioned.headers.get('etag') as string } });
      expect(unchanged.status).toBe(304);
      expectSecurityHeaders(unchanged, `${asset} not modified`, { 'content-security-policy': CONSOLE_CSP, 'cache-control': 'no-cache' });
    }
    expectSecurityHeaders(await fetch(`${runtime.url}/console/nothing.js`), 'console: no such file');
  });

  it('adds HSTS over HTTPS only, and keeps a policy a handler set for its own page', () => {
    expect(toWire({ status: 200, body: {} }, { secure: true }).headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(toWire({ status: 200, body: {} }, { secure: false }).headers['strict-transport-security']).toBeUndefined();
    const page = toWire({ status: 200, headers: { 'Content-Security-Policy': "default-src 'self'", 'Content-Type': 'text/html' }, body: '<!doctype html>' });
    expect(page.headers['content-security-policy']).toBe("default-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
  });
});
