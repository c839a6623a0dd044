/**
 * Browser front ends on other origins (`CORS_ORIGINS`), over real HTTP: the local host answers
 * preflights and adds `Access-Control-Allow-Origin` as the Functions platform does for its CORS list;
 * the app adds what only it can (exposed headers, a relaxed Cross-Origin-Resource-Policy) on either host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config';
import type { LocalRuntime } from '../../local/runtime';
import { bookingBody, startBookingRuntime } from '../support/bookings';

const APP = 'https://book.example.com';

describe('CORS for configured origins', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startBookingRuntime({ CORS_ORIGINS: `${APP}, https://shop.example.com:8443` });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  const preflight = (path: string, origin: string, method = 'POST', headers = 'authorization, content-type, idempotency-key') =>
    fetch(`${runtime.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it('answers a preflight from an allowed origin: 204, the origin, the method and headers asked for, no credentials', async () => {
    const answer = await preflight('/v1/bookings', APP);
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP);
    expect(answer.headers.get('access-control-allow-methods')).toBe('POST');
    expect(answer.headers.get('access-control-allow-headers')).toBe('authorization, content-type, idempotency-key');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect(answer.headers.get('vary')).toContain('Origin');
    // Preflights to routes with parameters and other methods too (the platform does not route them).
    const other = await preflight('/v1/orders/ord_1/transitions', 'https://shop.example.com:8443', 'POST', 'authorization, if-match');
    expect(other.status).toBe(204);
    expect(other.headers.get('access-control-allow-origin')).toBe('https://shop.example.com:8443');
  });

  it('does not answer a preflight from another origin (the method is not allowed, no CORS headers)', async () => {
    for (const origin of ['https://evil.example.com', 'https://book.example.com.evil.example', 'null', 'http://book.example.com']) {
      const answer = await preflight('/v1/bookings', origin);
      expect(answer.status, origin).toBe(405);
      expect(answer.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('lets an allowed origin read the answer and its ETag, Location and Retry-After; CORP relaxed for it only', async () => {
    const created = await fetch(`${runtime.url}/v1/bookings`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: JSON.stringify(bookingBody()),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe(APP);
    expect(created.headers.get('access-control-expose-headers')).toBe('ETag, Location, Retry-After, Idempotent-Replayed, Allow');
    expect(created.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(created.headers.get('vary')).toContain('Origin');

    // Errors too: a browser can only read a problem+json it is allowed to see.
    const refused = await fetch(`${runtime.url}/v1/bookings`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);

    for (const headers of [{}, { origin: 'https://evil.example.com' }] as Record<string, string>[]) {
      const other = await fetch(`${runtime.url}/v1/services`, { headers });
      expect(other.status).toBe(200);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(other.headers.get('access-control-expose-headers')).toBeNull();
      expect(other.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    }
  });
});

describe('CORS_ORIGINS', () => {
  const base = { SERVICEBUS_CONNECTION: 'Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=b', TABLES_CONNECTION: 'UseDevelopmentStorage=true' };

  it('takes origins and *, and refuses anything that is not an origin, naming the variable', () => {
    expect(loadConfig({ ...base }).cors.origins).toEqual([]);
    expect(loadConfig({ ...base, CORS_ORIGINS: ' https://a.example.com ,http://localhost:5173' }).cors.origins).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    expect(loadConfig({ ...base, CORS_ORIGINS: '*' }).cors.origins).toEqual(['*']);
    for (const bad of ['https://a.example.com/', 'https://a.example.com/app', 'a.example.com', 'ftp://a.example.com', 'https://user@a.example.com']) {
      expect(() => loadConfig({ ...base, CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });

  it('with *, every origin may call and the platform says *', async () => {
    const runtime = await startBookingRuntime({ CORS_ORIGINS: '*' });
    try {
      const answer = await fetch(`${runtime.url}/v1/services`, { headers: { origin: 'https://anyone.example' } });
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
      expect(answer.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    } finally {
      await runtime.stop();
    }
  });
});
