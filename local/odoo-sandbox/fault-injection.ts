/**
 * Failures the sandbox plays on purpose, so tests can see how a client copes with a bad Odoo. They
 * hit XML-RPC calls and JSON-2 calls alike (one queue, in arrival order), each answered in its face's
 * form (XML-RPC fault / JSON-2 status and error body):
 *
 * - `fault`: a PostgreSQL serialization failure Odoo gave up retrying (transient): fault 1 with its
 *   traceback / HTTP 500 `psycopg2.errors.SerializationFailure`; nothing runs.
 * - `http500`: HTTP 500 with Werkzeug's HTML error page, as a proxy or a crashed worker sends; nothing runs.
 * - `disconnect`: the connection is dropped before the call runs.
 * - `lostResponse`: the call runs (and commits), then the connection is dropped before the answer —
 *   the case that makes a retry create a duplicate unless the client looks before it writes.
 *
 * Failures no retry can heal (the same request fails the same way every time); nothing runs:
 * - `validation`: a ValidationError, as Odoo refuses a record a constraint forbids: fault 2 / HTTP 422.
 * - `valueError`: a `ValueError`, as PostgreSQL (psycopg2) refuses a NUL in a string: fault 1 / HTTP 500.
 * - `parseError`: Odoo cannot parse the request: fault 1 with an `ExpatError` traceback / HTTP 400
 *   `werkzeug.exceptions.BadRequest` "could not parse the body as json: …".
 * - `http400`: HTTP 400 with Werkzeug's Bad Request page, as Odoo (or a proxy) refuses a malformed request.
 */
export type FailureKind = 'fault' | 'http500' | 'disconnect' | 'lostResponse' | 'validation' | 'valueError' | 'parseError' | 'http400';

export const FAILURE_KINDS: readonly FailureKind[] = ['fault', 'http500', 'disconnect', 'lostResponse', 'validation', 'valueError', 'parseError', 'http400'];

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

  /** What is armed: the queued failures in order, and the time window while it is open. */
  state(): FaultState {
    const open = this.window && Date.now() < this.window.until ? this.window : undefined;
    return { next: [...this.queued], window: open ? { until: new Date(open.until).toISOString(), kind: open.kind } : null };
  }
}

/** The armed failures, as `GET /sandbox/faults` shows them. */
export interface FaultState {
  next: FailureKind[];
  window: { until: string; kind: FailureKind } | null;
}

export const isFailureKind = (kind: unknown): kind is FailureKind => FAILURE_KINDS.includes(kind as FailureKind);

function check(kind: FailureKind): void {
  if (!FAILURE_KINDS.includes(kind)) throw new Error(`odoo-sandbox: unknown failure kind ${String(kind)} (one of ${FAILURE_KINDS.join(', ')})`);
}

/** What Odoo's retry loop gives up with after repeated concurrent updates. */
export const TRANSIENT_FAULT = {
  exception: 'psycopg2.errors.SerializationFailure',
  message: 'could not serialize access due to concurrent update',
};

/** What the permanent fault kinds answer: the exception (fault 1) or message (fault 2) Odoo would send. */
export const PERMANENT_FAULTS = {
  validation: { message: 'The operation cannot be completed: Contact names must not contain control characters.' },
  valueError: { exception: 'ValueError', message: 'A string literal cannot contain NUL (0x00) characters.' },
  parseError: { exception: 'xml.parsers.expat.ExpatError', message: 'not well-formed (invalid token): line 1, column 212' },
  /** What JSON-2 answers a body Python's json module cannot parse. */
  json2ParseError: { message: 'could not parse the body as json: Expecting value: line 1 column 212 (char 211)' },
} as const;

/** Werkzeug's 400 page (with its default description, or the one given). */
export const badRequestPage = (description = 'The browser (or proxy) sent a request that this server could not understand.'): string => `<!doctype html>
<html lang=en>
<title>400 Bad Request</title>
<h1>Bad Request</h1>
<p>${description}</p>
`;

export const BAD_REQUEST_PAGE = badRequestPage();

/** Werkzeug's 404 page. */
export const NOT_FOUND_PAGE = `<!doctype html>
<html lang=en>
<title>404 Not Found</title>
<h1>Not Found</h1>
<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>
`;

/** Werkzeug's 500 page. */
export const INTERNAL_SERVER_ERROR_PAGE = `<!doctype html>
<html lang=en>
<title>500 Internal Server Error</title>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>
`;
