/** The p-th percentile of ascending-sorted values (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** p50, p90, p99 and max of `values` (any order), rounded to 0.1. */
export function latencySummary(values: number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

/**
 * A full collection before a measured phase (when the bench runs with --expose-gc, as `npm run bench`
 * does). The servers share the bench's process and their stores grow through the run, so otherwise a
 * major collection lands in whichever phase happens to cross the heap limit and that phase's p99
 * carries it; from a collected heap, each phase meets the collections its own allocations cause.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
