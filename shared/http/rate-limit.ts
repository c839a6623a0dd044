import type { Logger } from '../platform/log';
import type { RateBudgetStore, RateWindow, VersionedRateWindow } from '../platform/rate-budget';

/** Whether one more request may pass now, or how long the caller must wait. */
export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/** Counts requests per key (an API key name, a client address, ...). */
export interface RateLimiter {
  /** Counts one request for `key` and says whether it is within the limit. */
  take(key: string): Promise<RateDecision>;
}

/** Builds the limiter of one limit; `name` keeps the keys of different limits apart in a shared store. */
export type RateLimiterFactory = (name: string, limit: number) => RateLimiter;

/**
 * The app's limiters: leased from `store` when one is given (all instances together keep each limit),
 * otherwise counted in memory per instance (`RATE_LIMIT_STORE=memory`, one-instance setups).
 */
export function rateLimiterFactory(options: { windowMs: number; store?: RateBudgetStore; log?: Pick<Logger, 'warn'> }): RateLimiterFactory {
  const { windowMs, store, log } = options;
  return (name, limit) => (store ? new LeasedRateLimiter({ name, limit, windowMs, store, log }) : new FixedWindowRateLimiter({ limit, windowMs }));
}

const retryAfterSeconds = (windowEnd: number, now: number) => Math.max(1, Math.ceil((windowEnd - now) / 1000));

/** Options of {@link FixedWindowRateLimiter}. */
export interface FixedWindowOptions {
  /** Requests allowed per key and window. */
  limit: number;
  windowMs: number;
  /** Upper bound of tracked keys; beyond it the oldest windows are forgotten. Default 10 000. */
  maxKeys?: number;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
}

interface Window {
  start: number;
  count: number;
}

/**
 * Fixed-window counter per key, in memory. Chosen over a sliding window because it is what the
 * seed's hub did (express-rate-limit), its Retry-After is exact (the window's end), and a burst
 * of at most 2x at a window boundary is acceptable for abuse protection.
 *
 * The count is per instance: with N instances a key could make N x limit requests per window. It
 * serves one-instance setups (`RATE_LIMIT_STORE=memory`) and is {@link LeasedRateLimiter}'s fallback
 * while Table Storage cannot be reached.
 *
 * Memory is bounded: expired windows are swept at most once per window, and when more than
 * `maxKeys` keys are live the oldest windows are dropped (a flood of keys, e.g. client addresses,
 * can then lose counts, but never exhaust memory).
 */
export class FixedWindowRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: FixedWindowOptions) {
    if (!(options.limit >= 1) || !(options.windowMs >= 1)) throw new Error('rate limit: limit and windowMs must be >= 1');
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  /** Number of keys currently tracked (for tests and diagnostics). */
  get size(): number {
    return this.windows.size;
  }

  take(key: string): Promise<RateDecision> {
    return Promise.resolve(this.count(key));
  }

  private count(key: string): RateDecision {
    const now = this.now();
    this.sweep(now);
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      // Re-insert so Map order stays "oldest window first" for eviction.
      this.windows.delete(key);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
      evictOldest(this.windows, this.maxKeys);
    }
    if (window.count >= this.limit) return { allowed: false, retryAfterSeconds: retryAfterSeconds(window.start + this.windowMs, now) };
    window.count += 1;
    return { allowed: true, remaining: this.limit - window.count };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs && this.windows.size <= this.maxKeys) return;
    this.lastSweep = now;
    for (const [key, window] of this.windows) {
      if (now - window.start >= this.windowMs) this.windows.delete(key);
    }
  }
}

/** Options of {@link LeasedRateLimiter}. */
export interface LeasedRateLimiterOptions {
  /** The limit's name in the store (`api-keys`, `bookings`): keys of two limits never share a window. */
  name: string;
  /** Requests allowed per key and window, across all instances. */
  limit: number;
  windowMs: number;
  store: RateBudgetStore;
  /** Share of the window's unleased budget a lease takes beyond the requests waiting for it. Default 1/4. */
  leaseShare?: number;
  /** Largest lease beyond the requests waiting for it. Default a tenth of the limit (at least 1). */
  maxLease?: number;
  /** Upper bound of keys with a local lease; beyond it the oldest are forgotten. Default 10 000. */
  maxKeys?: number;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
  /** Where a fall-back to per-instance counting is reported. */
  log?: Pick<Logger, 'warn'>;
}

/** One key's local share of its current window. */
interface Lease {
  /** End of the window the lease belongs to; undefined until the store has named one. */
  windowEnd?: number;
  /** Requests this instance may still admit in the window without asking the store. */
  available: number;
  /** The window's whole budget is handed out: refuse until `windowEnd` without asking. */
  exhausted: boolean;
  /** The window's granted count as last written or read here (for `remaining`). */
  granted: number;
  /** The stored window as this instance last wrote or read it: a refill tries its version first, saving a read. */
  stored?: VersionedRateWindow;
  /** Requests waiting for the refill in flight (the demand it leases for). */
  waiting: number;
  refill?: Promise<void>;
}

// Compare-and-swap rounds one refill tries. Each lost round is another instance's won lease, so the
// budget moves on and an instance loses this often only while a key is hammered from many instances.
const MAX_REFILL_ATTEMPTS = 32;
// After a store failure, requests are counted per instance for this long before the store is tried again.
const STORE_RETRY_MS = 5_000;
// A fall-back is logged at most this often per limit.
const WARN_INTERVAL_MS = 60_000;

/**
 * A fixed-window limit that holds across instances at a bounded cost. Each key's window lives in a
 * shared store (one Table Storage entity per key: `windowEnd`, `granted`); an instance admits
 * requests from a local lease and goes to the store only when the lease is used up. A refill reads
 * the window (or reuses the version it wrote last), and writes `granted + block` guarded by the
 * version (ETag): of two instances that read the same version one wins, the other reads again. So
 * the blocks handed out never sum past the limit, whatever the interleaving; an instance whose
 * refill finds nothing left refuses locally until the window ends (Retry-After = the window's end).
 *
 * A block is what the requests waiting for the refill need, or a share of what is left (`leaseShare`,
 * at most `maxLease`) if that is more: blocks shrink as the window's budget runs low, so the last
 * requests of a window are leased one by one and budget stranded in idle instances stays small
 * (at most one lease each). A window opens with the first request after the last one ended, as
 * {@link FixedWindowRateLimiter}'s do.
 *
 * Cost: one storage call per refill while this instance's version is current (two after another
 * instance wrote: read, write), none for refused requests once the window is known to be used up.
 * Measured per 100 requests: 2 calls with a limit of 1000, 18 for a limit of 100 used to the last
 * request on one instance, 43 with two instances taking turns request by request (the worst case:
 * every refill finds the other's version). If the store fails, requests are counted by a per-instance
 * {@link FixedWindowRateLimiter} instead for `STORE_RETRY_MS`, with a warning: an outage of the store
 * degrades the limit to what it was before, it neither refuses nor fails requests. A refill outvoted in
 * every round (`MAX_REFILL_ATTEMPTS`) refuses with Retry-After 1 s, so the shared limit still holds.
 */
export class LeasedRateLimiter implements RateLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly name: string;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly store: RateBudgetStore;
  private readonly leaseShare: number;
  private readonly maxLease: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly log?: Pick<Logger, 'warn'>;
  private readonly fallback: FixedWindowRateLimiter;
  private storeRetryAt = 0;
  private lastWarning = Number.NEGATIVE_INFINITY;
  private lastSweep: number;

  constructor(options: LeasedRateLimiterOptions) {
    if (!(options.limit >= 1) || !(options.windowMs >= 1)) throw new Error('rate limit: limit and windowMs must be >= 1');
    this.name = options.name;
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.store = options.store;
    this.leaseShare = Math.min(1, Math.max(0, options.leaseShare ?? 1 / 4));
    this.maxLease = Math.max(1, options.maxLease ?? Math.ceil(options.limit / 10));
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
    this.log = options.log;
    this.fallback = new FixedWindowRateLimiter({ limit: options.limit, windowMs: options.windowMs, maxKeys: options.maxKeys, now: this.now });
    this.lastSweep = this.now();
  }

  /** Number of keys with a local lease (for tests and diagnostics). */
  get size(): number {
    return this.leases.size;
  }

  async take(key: string): Promise<RateDecision> {
    for (;;) {
      const now = this.now();
      if (now < this.storeRetryAt) return this.fallback.take(key);
      const lease = this.leaseOf(key, now);
      if (lease.available > 0) {
        lease.available -= 1;
        return { allowed: true, remaining: lease.available + Math.max(0, this.limit - lease.granted) };
      }
      if (lease.exhausted && lease.windowEnd !== undefined) return { allowed: false, retryAfterSeconds: retryAfterSeconds(lease.windowEnd, now) };
      // One refill per key and instance at a time; the requests arriving meanwhile wait for it and size it.
      lease.waiting += 1;
      try {
        lease.refill ??= this.refill(key, lease).finally(() => {
          lease.refill = undefined;
        });
        await lease.refill;
      } catch (error) {
        // Outvoted every round: refuse briefly rather than count outside the shared window.
        if (error instanceof RateWindowContention) return { allowed: false, retryAfterSeconds: 1 };
        this.degrade(error);
        return this.fallback.take(key);
      } finally {
        lease.waiting -= 1;
      }
      // Take from the refilled lease, or (others took it all first) refill again.
    }
  }

  /** The key's lease for the window `now` falls in; a lease whose window ended lapses (it was counted there). */
  private leaseOf(key: string, now: number): Lease {
    this.sweep(now);
    const lease = this.leases.get(key);
    if (lease && !(lease.windowEnd !== undefined && now >= lease.windowEnd)) return lease;
    // Re-insert so Map order stays "oldest first" for eviction; the stored version is kept to save a read.
    this.leases.delete(key);
    const fresh: Lease = { available: 0, exhausted: false, granted: 0, stored: lease?.stored, waiting: 0 };
    this.leases.set(key, fresh);
    evictOldest(this.leases, this.maxKeys);
    return fresh;
  }

  /** Leases a block of the key's window from the store into `lease`; marks it exhausted when nothing is left. */
  private async refill(key: string, lease: Lease): Promise<void> {
    const storeKey = `${this.name}:${key}`;
    let seen = lease.stored;
    for (let attempt = 0; attempt < MAX_REFILL_ATTEMPTS; attempt++) {
      seen ??= await this.store.read(storeKey);
      const now = this.now();
      // The stored window while it lasts; after it ended this request opens the next one.
      const open: RateWindow = seen && now < seen.window.windowEnd ? seen.window : { windowEnd: now + this.windowMs, granted: 0 };
      const unleased = this.limit - open.granted;
      if (unleased <= 0) {
        Object.assign(lease, { windowEnd: open.windowEnd, granted: open.granted, exhausted: true, stored: seen });
        return;
      }
      const block = this.blockSize(unleased, lease.waiting);
      const next: RateWindow = { windowEnd: open.windowEnd, granted: open.granted + block };
      const version = await this.store.write(storeKey, next, seen?.version);
      if (version !== undefined) {
        Object.assign(lease, { windowEnd: next.windowEnd, granted: next.granted, available: lease.available + block, stored: { window: next, version } });
        return;
      }
      // Another instance wrote first: read the window again.
      seen = undefined;
      lease.stored = undefined;
    }
    throw new RateWindowContention();
  }

  /** The requests waiting, or a share of what is left if more; never more than is left. */
  private blockSize(unleased: number, waiting: number): number {
    const speculative = Math.min(this.maxLease, Math.ceil(unleased * this.leaseShare));
    return Math.max(1, Math.min(unleased, Math.max(waiting, speculative)));
  }

  private degrade(error: unknown): void {
    const now = this.now();
    this.storeRetryAt = now + STORE_RETRY_MS;
    if (now - this.lastWarning < WARN_INTERVAL_MS) return;
    this.lastWarning = now;
    this.log?.warn('rate limit store unavailable: counting per instance for now', { limit: this.name, retryInMs: STORE_RETRY_MS, error });
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs && this.leases.size <= this.maxKeys) return;
    this.lastSweep = now;
    for (const [key, lease] of this.leases) {
      if (lease.windowEnd !== undefined && now >= lease.windowEnd && !lease.refill) this.leases.delete(key);
    }
  }
}

/** A refill lost every compare-and-swap round to other instances. */
class RateWindowContention extends Error {
  constructor() {
    super(`the shared rate limit window changed under each of ${MAX_REFILL_ATTEMPTS} attempts`);
    this.name = 'RateWindowContention';
  }
}

/** Drops the oldest entries (Map insertion order) until at most `max` are left. */
function evictOldest(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
