import { describe, expect, it } from 'vitest';
import { FixedWindowRateLimiter } from '../../shared/http/rate-limit';

function limiter(limit: number, windowMs: number, maxKeys?: number) {
  const clock = { now: 1_000_000 };
  return { clock, limiter: new FixedWindowRateLimiter({ limit, windowMs, maxKeys, now: () => clock.now }) };
}

describe('FixedWindowRateLimiter', () => {
  it('allows `limit` requests per window, then tells how long to wait', () => {
    const { clock, limiter: rl } = limiter(3, 60_000);
    expect(rl.take('k')).toEqual({ allowed: true, remaining: 2 });
    expect(rl.take('k')).toEqual({ allowed: true, remaining: 1 });
    expect(rl.take('k')).toEqual({ allowed: true, remaining: 0 });
    clock.now += 15_500;
    expect(rl.take('k')).toEqual({ allowed: false, retryAfterSeconds: 45 });
  });

  it('opens a fresh window once the old one ends', () => {
    const { clock, limiter: rl } = limiter(1, 1_000);
    expect(rl.take('k').allowed).toBe(true);
    expect(rl.take('k').allowed).toBe(false);
    clock.now += 999;
    expect(rl.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.now += 1;
    expect(rl.take('k').allowed).toBe(true);
  });

  it('keeps keys apart', () => {
    const { limiter: rl } = limiter(1, 60_000);
    expect(rl.take('a').allowed).toBe(true);
    expect(rl.take('b').allowed).toBe(true);
    expect(rl.take('a').allowed).toBe(false);
  });

  it('evicts expired windows so memory stays bounded', () => {
    const { clock, limiter: rl } = limiter(5, 1_000);
    for (let i = 0; i < 500; i += 1) rl.take(`ip-${i}`);
    expect(rl.size).toBe(500);
    clock.now += 1_000;
    rl.take('late');
    expect(rl.size).toBe(1);
  });

  it('never tracks more than maxKeys, dropping the oldest windows', () => {
    const { limiter: rl } = limiter(1, 60_000, 100);
    for (let i = 0; i < 1_000; i += 1) rl.take(`ip-${i}`);
    expect(rl.size).toBe(100);
    expect(rl.take('ip-999').allowed).toBe(false); // recent windows survive
    expect(rl.take('ip-0').allowed).toBe(true); // the oldest was forgotten
  });

  it('reads the per-key default from Config.rateLimit', () => {
    const rl = FixedWindowRateLimiter.fromConfig({ rateLimit: { perKey: 2, windowMs: 900_000 } }, () => 0);
    rl.take('k');
    rl.take('k');
    expect(rl.take('k')).toEqual({ allowed: false, retryAfterSeconds: 900 });
  });

  it('refuses a zero limit', () => {
    expect(() => new FixedWindowRateLimiter({ limit: 0, windowMs: 1 })).toThrow();
  });
});
