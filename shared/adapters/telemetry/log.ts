import { types } from 'node:util';
import type { Logger } from '../../platform/log';
import { isSecretName, scrubText } from './app-insights';

type Level = 'info' | 'warn' | 'error';

/** JSON-lines logs on stdout/stderr: the Functions host forwards them to Application Insights traces. */
export function consoleLogger(options: { silent?: boolean; minLevel?: Level } = {}): Logger {
  const order: Record<Level, number> = { info: 0, warn: 1, error: 2 };
  const min = order[options.minLevel ?? 'info'];
  const write = (level: Level) => (message: string, data?: Record<string, unknown>) => {
    if (options.silent || order[level] < min) return;
    const line = formatLogLine(level, message, data);
    (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}

/**
 * One log line as JSON: `level`, `at`, `message`, then the data, made safe to print — errors wherever
 * they sit become their name, message, code, vendor request ids, stack and causes (JSON would print an
 * Error as `{}`), credential-named fields are redacted and tokens, connection-string credentials and
 * card numbers are masked in every string (the same scrubbing as telemetry). Never throws.
 */
export function formatLogLine(level: Level, message: string, data?: Record<string, unknown>, at: Date = new Date()): string {
  const head = { level, at: at.toISOString(), message: scrubText(message) };
  try {
    const fields = data === undefined ? {} : (toLoggable(data, new Set(), 0) as Record<string, unknown>);
    // The line's own fields win over data fields of the same name.
    const { level: _level, at: _at, message: _message, ...rest } = fields;
    return JSON.stringify({ ...head, ...rest });
  } catch (error) {
    // A getter that throws, a proxy: keep the line, say why its data is missing.
    return JSON.stringify({ ...head, logDataUnreadable: scrubText(String(error)) });
  }
}

/** Table Storage addresses: named "key" but never credentials. */
const NOT_SECRET = /^(?:partitionKey|rowKey)$/i;
/** Nesting kept, causes included (an error three objects deep keeps a chain of about six causes). */
const MAX_DEPTH = 10;
const MAX_ITEMS = 50;
const MAX_STACK = 4000;

/** A JSON-safe, scrubbed copy of a log value. */
function toLoggable(value: unknown, seen: Set<object>, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return undefined; // undefined, functions, symbols: as JSON drops them
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (isError(value)) return errorFields(value, seen, depth);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => toLoggable(item, seen, depth + 1) ?? null);
    if (value instanceof Map) return toLoggable(Object.fromEntries(value), seen, depth);
    if (value instanceof Set) return toLoggable([...value], seen, depth);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (isSecretName(key) && !NOT_SECRET.test(key)) out[key] = '[redacted]';
      else {
        const clean = toLoggable(field, seen, depth + 1);
        if (clean !== undefined) out[key] = clean;
      }
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

type Bag = Record<string, unknown>;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const scalar = (value: unknown): string | number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : text(value));

/** A header of an Azure SDK request or response: `HttpHeaders` (with `get`) or a plain record. */
function headerOf(holder: unknown, name: string): string | undefined {
  const headers = (holder as { headers?: unknown } | undefined)?.headers as { get?: (name: string) => unknown } | Record<string, unknown> | undefined;
  if (!headers || typeof headers !== 'object') return undefined;
  try {
    if (typeof headers.get === 'function') return text(headers.get(name));
    return text((headers as Record<string, unknown>)[name]);
  } catch {
    return undefined;
  }
}

/**
 * The request id a vendor gave this failure, so support can ask for it: Stripe's `requestId`, Azure
 * SDKs' `x-ms-request-id` on the response (or in `details`), or a `request-id` header.
 */
function vendorRequestId(error: Bag): string | undefined {
  const details = error.details && typeof error.details === 'object' ? (error.details as Bag) : {};
  return (
    text(error.requestId) ??
    headerOf(error.response, 'x-ms-request-id') ??
    text(details.requestId) ??
    text(details['x-ms-request-id']) ??
    headerOf(error.response, 'request-id') ??
    headerOf(error.request, 'x-ms-request-id')
  );
}

/**
 * What an error says about itself, chosen field by field (an SDK error's own properties can hold the
 * request with its credentials): name, message, code, HTTP status, vendor ids (Stripe's `requestId`
 * and error type, Azure's request ids and error code, Odoo's fault code), a job error's kind, the
 * stack, and the causes it wraps.
 */
function errorFields(error: Error, seen: Set<object>, depth: number): Bag {
  seen.add(error);
  try {
    const bag = error as unknown as Bag;
    const details = bag.details && typeof bag.details === 'object' ? (bag.details as Bag) : {};
    const fault = bag.fault && typeof bag.fault === 'object' ? (bag.fault as Bag) : {};
    const request = bag.request as { requestId?: unknown } | undefined;
    // Stripe's errors keep the name `Error`; their class says which one it is.
    const className = text(error.constructor?.name);
    const name = error.name === 'Error' && className ? className : (text(error.name) ?? 'Error');
    const fields: Bag = {
      name,
      message: scrubText(String(error.message ?? '')),
      code: scalar(bag.code),
      kind: text(bag.kind),
      statusCode: scalar(bag.statusCode) ?? scalar(bag.status),
      type: text(bag.rawType) ?? (text(bag.type) !== name ? text(bag.type) : undefined),
      declineCode: text(bag.decline_code),
      errorCode: text(details.errorCode),
      faultCode: scalar(fault.code) ?? scalar(bag.faultCode),
      requestId: vendorRequestId(bag),
      clientRequestId: headerOf(bag.request, 'x-ms-client-request-id') ?? text(request?.requestId),
      stack: typeof error.stack === 'string' ? scrubText(error.stack.slice(0, MAX_STACK)) : undefined,
    };
    for (const key of Object.keys(fields)) {
      if (fields[key] === undefined) delete fields[key];
      else if (typeof fields[key] === 'string' && key !== 'message' && key !== 'stack') fields[key] = scrubText(fields[key] as string);
    }
    if ('cause' in error && error.cause !== undefined) fields.cause = toLoggable(error.cause, seen, depth + 1);
    // Stripe's connection errors carry the network error as `detail`.
    if (isError(bag.detail) || typeof bag.detail === 'string') fields.detail = toLoggable(bag.detail, seen, depth + 1);
    if (Array.isArray(bag.errors)) {
      // AggregateError (e.g. every address a connection attempt tried).
      fields.errors = bag.errors.slice(0, 10).map((inner) => toLoggable(inner, seen, depth + 1) ?? null);
    }
    return fields;
  } finally {
    seen.delete(error);
  }
}
