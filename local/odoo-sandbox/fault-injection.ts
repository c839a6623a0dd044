/** Failures the sandbox plays on purpose, so tests can see how a client copes with a bad Odoo. */

/**
 * - `fault`: XML-RPC fault 1 with a PostgreSQL serialization-failure traceback (transient); nothing runs.
 * - `http500`: HTTP 500 with Werkzeug's HTML error page, as a proxy or a crashed worker sends; nothing runs.
 * - `disconnect`: the connection is dropped before the call runs.
 * - `lostResponse`: the call runs (and commits), then the connection is dropped before the answer —
 *   the case that makes a retry create a duplicate unless the client looks before it writes.
 */
export type FailureKind = 'fault' | 'http500' | 'disconnect' | 'lostResponse';

export const FAILURE_KINDS: readonly FailureKind[] = ['fault', 'http500', 'disconnect', 'lostResponse'];

export class FaultInjector {
  private queued: FailureKind[] = [];
  private window: { until: number; kind: FailureKind } | undefined;

  /** The next `count` calls fail with `kind` (after any already queued). */
  failNext(count: number, kind: FailureKind): void {
    check(kind);
    for (let i = 0; i < count; i++) this.queued.push(kind);
  }

  /** Every call in the next `ms` milliseconds fails with `kind` (queued failures go first). */
  failFor(ms: number, kind: FailureKind): void {
    check(kind);
    this.window = { until: Date.now() + ms, kind };
  }

  /** The failure for the call that just arrived, if any. */
  take(): FailureKind | undefined {
    const queued = this.queued.shift();
    if (queued) return queued;
    if (this.window && Date.now() < this.window.until) return this.window.kind;
    this.window = undefined;
    return undefined;
  }

  reset(): void {
    this.queued = [];
    this.window = undefined;
  }
}

function check(kind: FailureKind): void {
  if (!FAILURE_KINDS.includes(kind)) throw new Error(`odoo-sandbox: unknown failure kind ${String(kind)} (one of ${FAILURE_KINDS.join(', ')})`);
}

/** What Odoo's retry loop gives up with after repeated concurrent updates. */
export const TRANSIENT_FAULT = {
  exception: 'psycopg2.errors.SerializationFailure',
  message: 'could not serialize access due to concurrent update',
};

/** Werkzeug's 500 page. */
export const INTERNAL_SERVER_ERROR_PAGE = `<!doctype html>
<html lang=en>
<title>500 Internal Server Error</title>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>
`;
