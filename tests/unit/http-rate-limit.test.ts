import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/config';
import { RATE_LIMIT_SWEEP_SCHEDULE, rateLimitSweepFunction } from '../../functions/rate-limit-sweep';
import { FixedWindowRateLimiter, LeasedRateLimiter, rateLimiterFactory } from '../../shared/http/rate-limit';
import type { RateBudgetStore } from '../../shared/platform/rate-budget';

function limiter(limit: number, windowMs: number, maxKeys?: number) {
  const clock = { now: 1_000_000 };
  return { clock, limiter: new FixedWindowRateLimiter({ limit, windowMs, maxKeys, now: () => clock.now }) };
}

describe('FixedWindowRateLimiter', () => {
  it('allows `limit` requests per window, then tells how long to wait', async () => {
    const { clock, limiter: rl } = limiter(3, 60_000);
    expect(await rl.take('k')).toEqual({ allowed: true, remaining: 2 });
    expect(await rl.take('k')).toEqual({ allowed: true, remaining: 1 });
    expect(await rl.take('k')).toEqual({ allowed: true, remaining: 0 });
    clock.now += 15_500;
    expect(await rl.take('k')).toEqual({ allowed: false, retryAfterSeconds: 45 });
  });

  it('opens a fresh window once the old one ends', async () => {
    const { clock, limiter: rl } = limiter(1, 1_000);
    expect((await rl.take('k')).allowed).toBe(true);
    expect((await rl.take('k')).allowed).toBe(false);
    clock.now += 999;
    expect(await rl.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.now += 1;
    expect((await rl.take('k')).allowed).toBe(true);
  });

  it('keeps keys apart', async () => {
    const { limiter: rl } = limiter(1, 60_000);
    expect((await rl.take('a')).allowed).toBe(true);
    expect((await rl.take('b')).allowed).toBe(true);
    expect((await rl.take('a')).allowed).toBe(false);
  });

  it('evicts expired windows so memory stays bounded', async () => {
    const { clock, limiter: rl } = limiter(5, 1_000);
    for (let i = 0; i < 500; i += 1) await rl.take(`ip-${i}`);
    expect(rl.size).toBe(500);
    clock.now += 1_000;
    await rl.take('late');
    expect(rl.size).toBe(1);
  });

  it('never tracks more than maxKeys, dropping the oldest windows', async () => {
    const { limiter: rl } = limiter(1, 60_000, 100);
    for (let i = 0; i < 1_000; i += 1) await rl.take(`ip-${i}`);
    expect(rl.size).toBe(100);
    expect((await rl.take('ip-999')).allowed).toBe(false); // recent windows survive
    expect((await rl.take('ip-0')).allowed).toBe(true); // the oldest was forgotten
  });

  it('refuses a zero limit', () => {
    expect(() => new FixedWindowRateLimiter({ limit: 0, windowMs: 1 })).toThrow();
  });
});

describe('rateLimiterFactory', () => {
  const store: RateBudgetStore = { read: async () => undefined, write: async () => 'v1', sweep: async () => 0 };

  it('leases from the shared store when there is one, and counts in memory otherwise', () => {
    expect(rateLimiterFactory({ windowMs: 60_000, store })('api-keys', 10)).toBeInstanceOf(LeasedRateLimiter);
    expect(rateLimiterFactory({ windowMs: 60_000 })('api-keys', 10)).toBeInstanceOf(FixedWindowRateLimiter);
  });
});

describe('RATE_LIMIT_STORE', () => {
  const base = {
    SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
    TABLES_CONNECTION: 'UseDevelopmentStorage=true',
  };

  it('counts in Table Storage unless told to count in memory', () => {
    expect(loadConfig(base).rateLimit.store).toBe('table');
    expect(loadConfig({ ...base, RATE_LIMIT_STORE: 'memory' }).rateLimit.store).toBe('memory');
  });

  it('stops start-up on anything else, naming the variable', () => {
    expect(() => loadConfig({ ...base, RATE_LIMIT_STORE: 'redis' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, RATE_LIMIT_STORE: 'redis' })).toThrow(/RATE_LIMIT_STORE/);
  });
});

describe('rate-limit-sweep', () => {
  it('deletes the windows that have ended, hourly', async () => {
    const asked: Date[] = [];
    const store: RateBudgetStore = {
      read: async () => undefined,
      write: async () => 'v1',
      sweep: async (before) => {
        asked.push(before);
        return 3;
      },
    };
    const now = new Date('2030-01-01T12:30:00Z');
    const timer = rateLimitSweepFunction(store, { now: () => now });
    expect(timer).toMatchObject({ kind: 'timer', name: 'rate-limit-sweep', schedule: RATE_LIMIT_SWEEP_SCHEDULE });
    await timer.handler();
    expect(asked).toEqual([now]);
  });
});
