import type { PlatformConfig as Config } from '../config';

/** Whether one more request may pass now, or how long the caller must wait. */
export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/** Counts requests per key (an API key name, a client address, ...). */
export interface RateLimiter {
  /** Counts one request for `key` and says whether it is within the limit. */
  take(key: string): RateDecision;
}

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
 * The count is per instance: with N Function instances a key can make up to N x limit requests
 * per window. A shared store (Redis, Table Storage) would fix that at the price of a round trip per
 * request; the limit protects against runaway clients, not against a budget that must be exact.
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

  /** The per-API-key limiter (default 100 per 15 min). */
  static fromConfig(config: Pick<Config, 'rateLimit'>, now?: () => number): FixedWindowRateLimiter {
    return new FixedWindowRateLimiter({ limit: config.rateLimit.perKey, windowMs: config.rateLimit.windowMs, now });
  }

  /** Number of keys currently tracked (for tests and diagnostics). */
  get size(): number {
    return this.windows.size;
  }

  take(key: string): RateDecision {
    const now = this.now();
    this.sweep(now);
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      // Re-insert so Map order stays "oldest window first" for eviction.
      this.windows.delete(key);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
      this.evictOverflow();
    }
    if (window.count >= this.limit) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000)) };
    }
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

  private evictOverflow(): void {
    for (const key of this.windows.keys()) {
      if (this.windows.size <= this.maxKeys) return;
      this.windows.delete(key);
    }
  }
}
