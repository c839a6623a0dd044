/**
 * Two whole apps (two compositions, two local hosts, as two Function instances) on one Table Storage:
 * the per-key limit and the per-address booking limit hold for both together, with 429 and Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionStrings, type LocalRuntime } from '../../local/runtime';
import { RATE_LIMITS_TABLE } from '../../shared/adapters/table-storage/rate-limit-store';
import { hashApiKey } from '../../shared/http/auth';
import { bookingBody, startBookingRuntime } from '../support/bookings';

const SHOP_KEY = 'ohk_rate_limit_e2e_shop_key_000000000000';

describe('rate limits across two app instances on one Table Storage', () => {
  let first: LocalRuntime;
  let second: LocalRuntime;

  beforeAll(async () => {
    const env = { API_KEYS: `shop:orders:${hashApiKey(SHOP_KEY)}`, RATE_LIMIT_PER_KEY: '10', BOOKING_RATE_LIMIT_PER_IP: '3' };
    first = await startBookingRuntime(env);
    // The second app uses the first one's Azurite: its own host, broker and sandboxes, the same tables.
    second = await startBookingRuntime({ ...env, TABLES_CONNECTION: connectionStrings(first.config).tables });
  }, 60_000);

  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  const send = (runtime: LocalRuntime, method: string, path: string, init: { token?: string; body?: unknown } = {}) =>
    fetch(`${runtime.url}${path}`, {
      method,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });

  it('counts in the shared table by default', () => {
    expect(first.config.rateLimit.store).toBe('table');
    expect(first.composition.functions.some((def) => def.name === 'rate-limit-sweep')).toBe(true);
    expect(first.composition.services.tables.tableName(RATE_LIMITS_TABLE)).toBe('hubRateLimits');
  });

  it('answers 10 of 30 concurrent requests of one API key across both apps, the other 20 with 429 and Retry-After', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send(i % 2 === 0 ? first : second, 'GET', '/v1/orders/ord_unknown', { token: SHOP_KEY })),
    );
    // An unknown order is a 404 once the request is admitted; the limit counts it all the same.
    expect(answers.filter((answer) => answer.status === 404)).toHaveLength(10);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(20);
    for (const answer of refused) {
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(800); // the 15-minute window has just begun
    }
  });

  it('lets one address book 3 times across both apps, then answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const answer = await send(i % 2 === 0 ? first : second, 'POST', '/v1/bookings', { body: bookingBody() });
      statuses.push(answer.status);
      if (answer.status === 429) retryAfter = answer.headers.get('retry-after');
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(800);
  });
});
