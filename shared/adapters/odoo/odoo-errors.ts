import { JobError } from '../../platform/jobs';

/**
 * What both Odoo transports (XML-RPC and JSON-2) share about failures: the error class, the rules
 * that decide whether an exception Odoo raised is worth a retry, and the text checks made before
 * anything is sent. One rule set, so a dead letter reads the same whichever transport ran the sync.
 */

/** The Python exception Odoo reported, as `name` (`ValueError`, `odoo.exceptions.UserError`) and its message. */
export interface OdooException {
  name: string;
  message: string;
}

/** Extra facts about a failure: the HTTP status, Odoo's exception, how long Odoo asked us to wait. */
export interface OdooErrorDetails {
  status?: number;
  exception?: OdooException;
  retryAfterMs?: number;
}

/** A classified Odoo failure; keeps the fault so callers can branch on it (e.g. a method Odoo lacks). */
export class OdooError extends JobError {
  /** The connection broke after it was open (reset, hang-up): the request may or may not have run. */
  connectionLost = false;
  /** The HTTP status of Odoo's answer, when there was one (JSON-2 reports every failure with one). */
  readonly status?: number;
  /** The exception Odoo raised, by either transport: what `isMissingMethod` and `isUnknownField` read. */
  readonly exception?: OdooException;

  constructor(
    kind: JobError['kind'],
    code: string,
    message: string,
    /** XML-RPC only: the fault as Odoo sent it. */
    readonly fault?: { code: number; string: string },
    cause?: unknown,
    details: OdooErrorDetails = {},
  ) {
    super(kind, code, message, { cause, retryAfterMs: details.retryAfterMs });
    this.name = 'OdooError';
    this.status = details.status;
    this.exception = details.exception ?? (fault?.code === 1 ? splitException(exceptionLine(fault.string)) : undefined);
  }
}

const MAX_DETAIL = 300;

/** Exceptions that say "try again": Postgres serialization failures Odoo gave up retrying, a record another transaction holds. */
const CONCURRENCY = /could not serialize access|concurrent update|deadlock detected|TransactionRollbackError|SerializationFailure|ConcurrencyError|LockError/i;

/** Exceptions that say "Odoo could not read our request" (its XML parser failed on what we sent). */
const UNREADABLE_REQUEST = /^(?:xml\.parsers\.expat\.)?ExpatError\b|^xml\.\S*ParseError\b|\bnot well-formed\b/;

/** Exceptions that say "this value is refused" (a NUL PostgreSQL cannot store, a constraint): the same request fails again. */
const INVALID_VALUE =
  /^(?:[\w.]+\.)?(?:ValueError|ValidationError|UserError|UnicodeEncodeError|UnicodeDecodeError|psycopg2\.DataError|psycopg2\.errors\.\w+Violation)\b/;

/**
 * An exception Odoo did not classify itself (XML-RPC fault 1, a JSON-2 HTTP 500 naming a Python
 * exception): transient for a concurrency failure, permanent otherwise, named by what is at fault.
 * `line` is `Exception: message`; `text` is where to look for a concurrency failure (the traceback).
 */
export function fromPythonException(
  line: string,
  text: string,
  what: string,
  fault?: OdooError['fault'],
  cause?: unknown,
  details: OdooErrorDetails = {},
): OdooError {
  if (CONCURRENCY.test(text)) {
    return new OdooError('transient', 'ODOO_CONCURRENT_UPDATE', `Odoo hit a concurrent update in ${what}: ${line}`, fault, cause, details);
  }
  // Permanent, but named: an admin reading the dead letter sees that the data (or our request) is at
  // fault, and that replaying it unchanged cannot succeed.
  if (UNREADABLE_REQUEST.test(line)) {
    return new OdooError('permanent', 'ODOO_INVALID_REQUEST', `Odoo could not read our request for ${what}: ${line}`, fault, cause, details);
  }
  if (INVALID_VALUE.test(line)) {
    return new OdooError('permanent', 'ODOO_INVALID_VALUE', `Odoo refused a value in ${what}: ${line}`, fault, cause, details);
  }
  return new OdooError('permanent', 'ODOO_APPLICATION_ERROR', `Odoo failed in ${what}: ${line}`, fault, cause, details);
}

// Under the u flag a surrogate pair reads as one code point: what still matches is alone.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Where a value holds text that is not text — a lone UTF-16 surrogate — as a path (`params[3].name`),
 * or undefined. XML-RPC would send it as U+FFFD, JSON as an escape Odoo cannot store: either way the
 * same request fails (or, worse, succeeds garbled) every time, so it is refused before sending.
 */
export function loneSurrogateAt(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : undefined;
  if (depth > 20 || value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = loneSurrogateAt(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** A message on one line, cut to a length a dead-letter description can hold. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}…` : line || '(no message)';
}

/**
 * The exception of a Python traceback: the first line after the last stack frame
 * (`ValueError: Invalid field 'x' on model 'y'`), without the SQL or detail lines that may follow.
 */
export function exceptionLine(traceback: string): string {
  const lines = traceback.split('\n');
  let lastFrame = -1;
  lines.forEach((line, index) => {
    if (/^\s+\S/.test(line)) lastFrame = index;
  });
  const after = lines.slice(lastFrame + 1).find((line) => line.trim() !== '');
  return oneLine(after ?? lines.filter((line) => line.trim() !== '').at(-1) ?? '');
}

/** `ValueError: message` as name and message. */
function splitException(line: string): OdooException {
  const match = /^([\w.]+):\s?(.*)$/s.exec(line);
  return match ? { name: match[1] as string, message: match[2] as string } : { name: '', message: line };
}

/** An exception Odoo's own classes do not cover (a Python error, not a UserError or AccessError). */
function unclassified(error: unknown): OdooException | undefined {
  if (!(error instanceof OdooError) || !error.exception) return undefined;
  return error.exception.name.startsWith('odoo.exceptions.') ? undefined : error.exception;
}

/** Whether Odoo said the model has no such method (older versions lack e.g. `refund_moves`). */
export function isMissingMethod(error: unknown, method: string): boolean {
  const exception = unclassified(error);
  if (!exception) return false;
  const line = `${exception.name}: ${exception.message}`;
  return exception.message.includes(method) && /AttributeError|does not exist|has no attribute/.test(line);
}

/** Whether Odoo said a field does not exist on the model (e.g. `memo` before Odoo 18). */
export function isUnknownField(error: unknown, field: string): boolean {
  const exception = unclassified(error);
  if (!exception) return false;
  return exception.message.includes(field) && /Invalid field|Unknown field|does not exist/i.test(exception.message);
}

/** Socket-level failures a later attempt may not meet (node:http's codes, and undici's for fetch). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
/** Failures before a connection existed: nothing was sent, so nothing can have been committed. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
/** What a dropped connection says when it has no code (node:http, undici). */
const DROPPED = /socket hang up|aborted|other side closed|terminated/i;

/**
 * A socket-level failure (`code` and `message` of the error, or of fetch's cause) as an OdooError:
 * transient when the network may heal (`connectionLost` when a request may have reached Odoo), TLS
 * failures permanent; undefined when it is no network failure (the caller passes the error on).
 */
export function fromNetworkFailure(failure: { code: string; message: string }, origin: string, what: string, error: unknown): OdooError | undefined {
  const { code, message } = failure;
  if (NETWORK_CODES.has(code) || DROPPED.test(message)) {
    const unavailable = new OdooError(
      'transient',
      'ODOO_UNAVAILABLE',
      `Odoo at ${origin} is unreachable during ${what} (${code || message})`,
      undefined,
      error,
    );
    unavailable.connectionLost = !NEVER_CONNECTED.has(code);
    return unavailable;
  }
  if (/CERT|ERR_TLS|SSL/.test(code)) return new OdooError('permanent', 'ODOO_TLS_ERROR', `Odoo at ${origin}: TLS failed (${code})`, undefined, error);
  return undefined;
}
