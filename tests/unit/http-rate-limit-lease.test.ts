import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeasedRateLimiter, type LeasedRateLimiterOptions, type RateDecision } from '../../shared/http/rate-limit';
import type { RateBudgetStore, RateWindow, VersionedRateWindow } from '../../shared/platform/rate-budget';

/** The store's contract in memory: a compare-and-swap register per key, counting its calls. */
class MemoryRateBudgetStore implements RateBudgetStore {
  readonly rows = new Map<string, VersionedRateWindow>();
  calls = { read: 0, write: 0, lost: 0 };
  private nextVersion = 1;

  async read(key: string): Promise<VersionedRateWindow | undefined> {
    this.calls.read += 1;
    const row = this.rows.get(key);
    return row && { window: { ...row.window }, version: row.version };
  }

  async write(key: string, window: RateWindow, version: string | undefined): Promise<string | undefined> {
    this.calls.write += 1;
    if (this.rows.get(key)?.version !== version) {
      this.calls.lost += 1;
      return undefined;
    }
    const next = `v${this.nextVersion++}`;
    this.rows.set(key, { window: { ...window }, version: next });
    return next;
  }

  async sweep(before: Date): Promise<number> {
    let removed = 0;
    for (const [key, row] of this.rows) {
      if (row.window.windowEnd < before.getTime() && this.rows.delete(key)) removed += 1;
    }
    return removed;
  }

  get storageCalls(): number {
    return this.calls.read + this.calls.write;
  }
}

const T0 = 1_900_000_000_000;
const MINUTE = 60_000;

function instances(count: number, store: RateBudgetStore, options: Partial<LeasedRateLimiterOptions> & { limit: number }, clock = { now: T0 }) {
  return Array.from({ length: count }, () => new LeasedRateLimiter({ name: 'test', windowMs: MINUTE, store, now: () => clock.now, ...options }));
}

const allowed = (decisions: RateDecision[]) => decisions.filter((decision) => decision.allowed).length;

describe('LeasedRateLimiter: one limit across instances', () => {
  it('never admits more than the limit across instances, whatever the interleaving of their storage calls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 25 }),
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(1 / 4, 1 / 2, 1),
        async (scheduler, limit, demands, leaseShare) => {
          const memory = new MemoryRateBudgetStore();
          // Every storage call resolves when the scheduler says: reads and writes of all instances interleave freely.
          const store: RateBudgetStore = {
            read: scheduler.scheduleFunction((key: string) => memory.read(key)),
            write: scheduler.scheduleFunction((key: string, window: RateWindow, version: string | undefined) => memory.write(key, window, version)),
            sweep: (before) => memory.sweep(before),
          };
          const limiters = instances(demands.length, store, { limit, leaseShare });
          const takes = demands.flatMap((demand, i) => Array.from({ length: demand }, () => (limiters[i] as LeasedRateLimiter).take('k')));
          const decisions = await scheduler.waitFor(Promise.all(takes));
          const admitted = allowed(decisions);
          expect(admitted).toBeLessThanOrEqual(limit);
          expect(memory.rows.get('test:k')?.window.granted ?? 0).toBeLessThanOrEqual(limit);
          // Each instance asks until it is served or the window is spent, so leased blocks are all used when
          // every instance wants at least the limit; and nobody is refused while the window has budget left.
          if (demands.every((demand) => demand >= limit)) expect(admitted).toBe(limit);
          if (demands.length === 1) expect(admitted).toBe(Math.min(limit, demands[0] as number));
          for (const decision of decisions) if (!decision.allowed) expect(decision.retryAfterSeconds).toBe(60);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lets exactly the limit through when 30 requests hit two instances at once', async () => {
    const store = new MemoryRateBudgetStore();
    const [a, b] = instances(2, store, { limit: 10 }) as [LeasedRateLimiter, LeasedRateLimiter];
    const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).take('k')));
    expect(allowed(decisions)).toBe(10);
    expect(store.rows.get('test:k')?.window.granted).toBe(10);
  });

  it('re-reads and retries when another instance wrote the version it read', async () => {
    const store = new MemoryRateBudgetStore();
    const [a, b] = instances(2, store, { limit: 4, leaseShare: 1 / 4 }) as [LeasedRateLimiter, LeasedRateLimiter];
    // Both read "no window" before either writes: one insert wins, the other loses and reads again.
    const [first, second] = await Promise.all([a.take('k'), b.take('k')]);
    expect(first.allowed && second.allowed).toBe(true);
    expect(store.calls.lost).toBe(1);
    expect(store.rows.get('test:k')?.window.granted).toBe(2);
  });

  it('refuses with the Retry-After of the window both instances share, and opens a new window when it ends', async () => {
    const clock = { now: T0 };
    const store = new MemoryRateBudgetStore();
    const [a, b] = instances(2, store, { limit: 3 }, clock) as [LeasedRateLimiter, LeasedRateLimiter];
    expect((await a.take('k')).allowed).toBe(true);
    clock.now += 10_000;
    expect((await b.take('k')).allowed).toBe(true);
    expect((await b.take('k')).allowed).toBe(true);
    clock.now += 5_500;
    // The window opened with the first request at T0: 44.5 s are left, rounded up.
    expect(await a.take('k')).toEqual({ allowed: false, retryAfterSeconds: 45 });
    expect(await b.take('k')).toEqual({ allowed: false, retryAfterSeconds: 45 });
    clock.now = T0 + MINUTE - 1;
    expect(await a.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.now = T0 + MINUTE;
    expect((await a.take('k')).allowed).toBe(true);
    expect((await b.take('k')).allowed).toBe(true);
    expect((await a.take('k')).allowed).toBe(true);
    expect(await b.take('k')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(store.rows.get('test:k')?.window).toEqual({ windowEnd: T0 + 2 * MINUTE, granted: 3 });
  });

  it('refuses from its own knowledge once the window is spent: no storage call per refused request', async () => {
    const store = new MemoryRateBudgetStore();
    const [a] = instances(1, store, { limit: 5 }) as [LeasedRateLimiter];
    for (let i = 0; i < 5; i++) expect((await a.take('k')).allowed).toBe(true);
    expect((await a.take('k')).allowed).toBe(false);
    const before = store.storageCalls;
    for (let i = 0; i < 100; i++) expect((await a.take('k')).allowed).toBe(false);
    expect(store.storageCalls).toBe(before);
  });

  it('leases smaller blocks as the budget runs low, down to single requests', async () => {
    const store = new MemoryRateBudgetStore();
    const [a] = instances(1, store, { limit: 100 }) as [LeasedRateLimiter];
    const granted: number[] = [];
    for (let i = 0; i < 100; i++) {
      expect((await a.take('k')).allowed).toBe(true);
      const now = store.rows.get('test:k')?.window.granted as number;
      if (granted.at(-1) !== now) granted.push(now);
    }
    const blocks = granted.map((total, i) => total - (granted[i - 1] ?? 0));
    expect(blocks[0]).toBe(10); // a tenth of the limit at most
    expect(blocks.at(-1)).toBe(1);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]).toBeLessThanOrEqual(blocks[i - 1] as number);
  });

  it('keeps limits and keys apart in one store', async () => {
    const store = new MemoryRateBudgetStore();
    const keys = new LeasedRateLimiter({ name: 'api-keys', limit: 1, windowMs: MINUTE, store, now: () => T0 });
    const bookings = new LeasedRateLimiter({ name: 'bookings', limit: 1, windowMs: MINUTE, store, now: () => T0 });
    expect((await keys.take('x')).allowed).toBe(true);
    expect((await bookings.take('x')).allowed).toBe(true);
    expect((await keys.take('y')).allowed).toBe(true);
    expect((await keys.take('x')).allowed).toBe(false);
    expect([...store.rows.keys()].sort()).toEqual(['api-keys:x', 'api-keys:y', 'bookings:x']);
  });

  it('costs a few storage calls per 100 requests, and at most about a quarter of them while a window is spent to the last request', async () => {
    const cost = async (limit: number, requests: number, count: number) => {
      const store = new MemoryRateBudgetStore();
      const limiters = instances(count, store, { limit });
      for (let i = 0; i < requests; i++) await (limiters[i % count] as LeasedRateLimiter).take('k');
      return (store.storageCalls * 100) / requests;
    };
    const figures = {
      'limit 1000, one instance': await cost(1000, 100, 1),
      'limit 1000, two instances taking turns': await cost(1000, 100, 2),
      'limit 100 used up, one instance': await cost(100, 100, 1),
      'limit 100 used up, two instances taking turns': await cost(100, 100, 2),
    };
    console.info('storage calls per 100 requests', figures);
    expect(figures['limit 1000, one instance']).toBeLessThanOrEqual(2);
    expect(figures['limit 1000, two instances taking turns']).toBeLessThanOrEqual(6);
    expect(figures['limit 100 used up, one instance']).toBeLessThanOrEqual(25);
    expect(figures['limit 100 used up, two instances taking turns']).toBeLessThanOrEqual(60);
  });

  it('counts per instance while the store fails, says so once, and goes back to the store after a while', async () => {
    const clock = { now: T0 };
    const memory = new MemoryRateBudgetStore();
    let down = true;
    const store: RateBudgetStore = {
      read: (key) => (down ? Promise.reject(new Error('table storage read failed')) : memory.read(key)),
      write: (key, window, version) => memory.write(key, window, version),
      sweep: (before) => memory.sweep(before),
    };
    const warnings: string[] = [];
    const limiter = new LeasedRateLimiter({ name: 'test', limit: 2, windowMs: MINUTE, store, now: () => clock.now, log: { warn: (m) => warnings.push(m) } });
    expect((await limiter.take('k')).allowed).toBe(true);
    expect((await limiter.take('k')).allowed).toBe(true);
    expect((await limiter.take('k')).allowed).toBe(false); // the per-instance fallback still limits
    expect(warnings).toEqual(['rate limit store unavailable: counting per instance for now']);
    down = false;
    clock.now += 5_000;
    expect((await limiter.take('other')).allowed).toBe(true);
    expect(memory.rows.get('test:other')?.window.granted).toBeGreaterThan(0);
  });

  it('refuses for a second, without counting outside the shared window, when every write it tries is outvoted', async () => {
    const memory = new MemoryRateBudgetStore();
    const store: RateBudgetStore = { read: (key) => memory.read(key), write: async () => undefined, sweep: (before) => memory.sweep(before) };
    const limiter = new LeasedRateLimiter({ name: 'test', limit: 2, windowMs: MINUTE, store, now: () => T0 });
    expect(await limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(memory.calls.read).toBe(32);
  });

  it('forgets leases of ended windows and never tracks more than maxKeys', async () => {
    const clock = { now: T0 };
    const store = new MemoryRateBudgetStore();
    const limiter = new LeasedRateLimiter({ name: 'test', limit: 5, windowMs: MINUTE, store, maxKeys: 50, now: () => clock.now });
    for (let i = 0; i < 200; i++) await limiter.take(`ip-${i}`);
    expect(limiter.size).toBe(50);
    clock.now += MINUTE;
    await limiter.take('late');
    expect(limiter.size).toBe(1);
    expect(await store.sweep(new Date(clock.now + 1))).toBe(200); // the late window is still open
  });

  it('refuses a zero limit', () => {
    expect(() => new LeasedRateLimiter({ name: 'test', limit: 0, windowMs: 1, store: new MemoryRateBudgetStore() })).toThrow();
  });
});
