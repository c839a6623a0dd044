/**
 * The fault switch the sandboxes share: fail the next n calls, or every call for a while, with one of
 * the sandbox's own fault kinds. Each sandbox decides what a kind looks like on its wire and serves
 * the switch as `GET|POST|DELETE /sandbox/faults` with `{"count": n} | {"seconds": s}, "kind"?`.
 */
import * as z from 'zod';

/** What is armed (`GET /sandbox/faults`). */
export interface FaultState<K extends string> {
  /** Calls still to fail by count. */
  remaining: number;
  /** When the time window ends (ISO 8601), if one is set. */
  until: string | null;
  kind: K;
}

export class FaultSwitch<K extends string> {
  private remaining = 0;
  private untilMs: number | undefined;
  private kind: K;

  constructor(private readonly defaultKind: K) {
    this.kind = defaultKind;
  }

  /** The next `count` calls fail with `kind`. */
  failNext(count: number, kind: K = this.defaultKind): FaultState<K> {
    this.remaining = count;
    this.untilMs = undefined;
    this.kind = kind;
    return this.state();
  }

  /** Every call during the next `ms` milliseconds fails with `kind`. */
  failFor(ms: number, kind: K = this.defaultKind): FaultState<K> {
    this.remaining = 0;
    this.untilMs = Date.now() + ms;
    this.kind = kind;
    return this.state();
  }

  clear(): void {
    this.remaining = 0;
    this.untilMs = undefined;
  }

  /** The failure for the call that just arrived, if any. */
  take(): K | undefined {
    if (this.remaining > 0) {
      this.remaining -= 1;
      return this.kind;
    }
    if (this.untilMs !== undefined && Date.now() < this.untilMs) return this.kind;
    this.untilMs = undefined;
    return undefined;
  }

  state(): FaultState<K> {
    const active = this.untilMs !== undefined && Date.now() < this.untilMs;
    return { remaining: this.remaining, until: active ? new Date(this.untilMs as number).toISOString() : null, kind: this.kind };
  }

  /**
   * Arms the switch from a `POST /sandbox/faults` body; answers the new state, or the reason the body
   * was refused (the sandbox answers that with 400).
   */
  arm(body: unknown, kinds: readonly [K, ...K[]]): { ok: true; state: FaultState<K> } | { ok: false; message: string } {
    const parsed = faultRequestSchema(kinds).safeParse(body ?? {});
    if (!parsed.success) return { ok: false, message: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ') };
    const { count, seconds, kind } = parsed.data;
    return { ok: true, state: count !== undefined ? this.failNext(count, kind) : this.failFor((seconds as number) * 1000, kind) };
  }
}

/** `{"count": n}` or `{"seconds": s}`, optionally `"kind"` (one of `kinds`). */
function faultRequestSchema<K extends string>(kinds: readonly [K, ...K[]]) {
  return z
    .strictObject({
      count: z.number().int().positive().optional(),
      seconds: z.number().positive().optional(),
      kind: z.enum(kinds).optional(),
    })
    .refine((body) => (body.count === undefined) !== (body.seconds === undefined), { message: 'give exactly one of "count" or "seconds"' });
}
