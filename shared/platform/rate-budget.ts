/** One key's request budget for its current window, shared by every instance. */
export interface RateWindow {
  /** When the window ends (ms since the epoch); a window is opened by the first request after the last one ended. */
  windowEnd: number;
  /** Requests handed out to instances in this window so far (never more than the limit). */
  granted: number;
}

/** A stored window with the version that guards the next write (an ETag). */
export interface VersionedRateWindow {
  window: RateWindow;
  version: string;
}

/**
 * Where instances keep each key's window so their rate limits add up to one limit (Table Storage in
 * Azure): a compare-and-swap register per key. Instances lease blocks of a window's budget from it
 * (shared/http/rate-limit.ts); the version check is what keeps their sum within the limit.
 */
export interface RateBudgetStore {
  /** The key's stored window, if any. */
  read(key: string): Promise<VersionedRateWindow | undefined>;
  /**
   * Stores `window` if the stored version is still `version` (undefined: only if none is stored) and
   * answers the new version, or undefined when another writer came first (read again).
   */
  write(key: string, window: RateWindow, version: string | undefined): Promise<string | undefined>;
  /** Deletes windows that ended before `before` (keys nobody used since); answers how many. */
  sweep(before: Date): Promise<number>;
}
