import * as z from 'zod';
import type { HttpResponseData } from '../function-table';

/**
 * RFC 9457 problem details. Every error the API returns goes through this file, so the shape is
 * the same everywhere and nothing a client sent (or an internal message) is echoed back.
 *
 * `type` URIs: one stable URI per kind under {@link PROBLEM_TYPE_BASE}, so clients can branch on
 * `type` rather than on the English `title`. The URIs are identifiers, not pages that must resolve
 * (RFC 9457 §3.1.1). A status with no kind of its own gets `about:blank`, whose title then is the
 * HTTP reason phrase, as the RFC asks.
 */
export const PROBLEM_TYPE_BASE = 'https://order-hub.dev/problems/';

/** The problem kinds this API uses; the value is the last segment of the `type` URI. */
export const problemKinds = {
  400: 'malformed-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  408: 'request-timeout',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  417: 'expectation-failed',
  422: 'validation',
  429: 'rate-limited',
  431: 'header-fields-too-large',
  500: 'internal',
} as const satisfies Record<number, string>;

/** Media type of every error response. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One invalid field, as listed in a 422's `errors`. `path` is dotted (`items.0.sku`), '' for the whole value. */
export const fieldErrorSchema = z.object({
  in: z.enum(['body', 'params', 'query']).optional(),
  path: z.string(),
  message: z.string(),
});
export type FieldError = z.infer<typeof fieldErrorSchema>;

/** Where a value being validated came from. */
export type FieldLocation = NonNullable<FieldError['in']>;

/** The problem+json body; also the shared `Problem` schema of the OpenAPI document. */
export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(fieldErrorSchema).optional(),
  })
  .meta({ description: 'RFC 9457 problem details' });
export type Problem = z.infer<typeof problemSchema>;

/** Optional parts of a problem: its own `type`, validation errors, extension members, headers. */
export interface ProblemExtra {
  type?: string;
  errors?: FieldError[];
  /** Extension members (RFC 9457 §3.2), e.g. `operationId`; must never carry client input. */
  members?: Record<string, string | number | readonly string[]>;
  headers?: Record<string, string>;
}

/** The `type` URI of a status: its kind's URI, or `about:blank` for a status without one. */
export function problemType(status: number): string {
  const kind = (problemKinds as Record<number, string>)[status];
  return kind ? PROBLEM_TYPE_BASE + kind : 'about:blank';
}

/** Builds a problem+json response; `detail` defaults to the title so the field is always present. */
export function problem(status: number, title: string, detail?: string, extra: ProblemExtra = {}): HttpResponseData {
  const body: Problem = {
    ...extra.members,
    type: extra.type ?? problemType(status),
    title,
    status,
    detail: detail ?? title,
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
  return { status, headers: { ...extra.headers, 'Content-Type': PROBLEM_CONTENT_TYPE }, body };
}

/** 400 for a request that cannot be read at all (bad URL encoding, ...). */
export const badRequest = (detail: string): HttpResponseData => problem(400, 'Bad request', detail);

/** 400 for a body that is empty or not JSON. The parser's message is dropped: it quotes the input. */
export const malformedJson = (empty = false): HttpResponseData =>
  problem(400, 'Malformed JSON', empty ? 'The request body is empty; a JSON document is required.' : 'The request body is not valid JSON.');

/** 401; `WWW-Authenticate` tells the client which scheme to use (RFC 6750), by default a bearer key. */
export const unauthorized = (detail = 'A valid API key is required: Authorization: Bearer <key>.', challenge = 'Bearer'): HttpResponseData =>
  problem(401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': challenge } });

/** 403: the caller is known but lacks every role the operation accepts. */
export const forbidden = (detail = 'The API key does not have a role this operation requires.'): HttpResponseData => problem(403, 'Forbidden', detail);

/** 404 for an unknown route or a missing resource. */
export const notFound = (detail = 'No resource exists at this address.'): HttpResponseData => problem(404, 'Not found', detail);

/** 405 with the `Allow` header listing the methods the route does accept. */
export function methodNotAllowed(allowed: readonly string[]): HttpResponseData {
  const allow = [...new Set(allowed)].sort().join(', ');
  return problem(405, 'Method not allowed', `This route accepts: ${allow}.`, { headers: { Allow: allow } });
}

/** 409: the request is valid but the resource's current state forbids it. */
export const conflict = (detail: string): HttpResponseData => problem(409, 'Conflict', detail);

/** 413 for a body over the limit. */
export const payloadTooLarge = (limitBytes: number): HttpResponseData => problem(413, 'Payload too large', `The request body exceeds ${limitBytes} bytes.`);

/** 415 when the body is not in the media type the operation reads. */
export const unsupportedMediaType = (expected = 'application/json'): HttpResponseData =>
  problem(415, 'Unsupported media type', `The request body must be sent as ${expected}.`);

/**
 * 415 for a content-coded body (`Content-Encoding: gzip`, …): bodies are taken uncompressed only;
 * `Accept-Encoding: identity` says so (RFC 9110 §15.5.16).
 */
export const unsupportedContentEncoding = (): HttpResponseData =>
  problem(415, 'Unsupported content encoding', 'The request body must be sent without Content-Encoding (uncompressed).', {
    type: `${PROBLEM_TYPE_BASE}unsupported-content-encoding`,
    headers: { 'Accept-Encoding': 'identity' },
  });

/** 408: the request (headers and body) did not arrive in time. */
export const requestTimeout = (): HttpResponseData => problem(408, 'Request timeout', 'The request was not received in time; send it again.');

/** 431: the request's header section is larger than the server reads. */
export const headerFieldsTooLarge = (): HttpResponseData =>
  problem(431, 'Request header fields too large', 'The request headers are too large; send fewer or shorter headers.');

/** 417: an `Expect` the server does not meet (only `100-continue` is). */
export const expectationFailed = (): HttpResponseData => problem(417, 'Expectation failed', 'Only "Expect: 100-continue" is supported.');

/** 422: well-formed JSON that breaks the schema; `errors` lists every field at fault. */
export const validationFailed = (errors: FieldError[]): HttpResponseData =>
  problem(422, 'Validation failed', 'The request does not match the expected schema; see errors.', { errors });

/** 429 with `Retry-After` in whole seconds (at least 1, so clients never retry in a busy loop). */
export function tooManyRequests(retryAfterSeconds: number): HttpResponseData {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return problem(429, 'Too many requests', `Rate limit exceeded; retry in ${seconds} s.`, {
    headers: { 'Retry-After': String(seconds) },
  });
}

/** 500 with a generic detail; the operation id lets support find the logged error. */
export const internalError = (operationId?: string): HttpResponseData =>
  problem(500, 'Internal server error', 'The request could not be completed.', {
    members: operationId ? { operationId } : undefined,
  });

const MAX_ERRORS = 50;
const MAX_SEGMENT = 64;
const MAX_MESSAGE = 200;

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

// Path segments can be client-chosen (record keys, unknown keys): bound them.
const joinPath = (path: readonly PropertyKey[]): string => path.map((segment) => clip(String(segment), MAX_SEGMENT)).join('.');

/**
 * Turns zod issues into field errors. Messages come from our schemas (zod's defaults name types and
 * bounds, never values); `unrecognized_keys` is rewritten because zod's message lists the keys.
 */
export function fieldErrorsFromZod(issues: readonly z.core.$ZodIssue[], location?: FieldLocation): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ in: location, path: joinPath([...issue.path, key]), message: 'Unknown field' });
    } else {
      errors.push({ in: location, path: joinPath(issue.path), message: clip(issue.message, MAX_MESSAGE) });
    }
  }
  // `in` is dropped when unknown so the JSON has no `"in": undefined` noise.
  return errors.slice(0, MAX_ERRORS).map((error) => (error.in ? error : { path: error.path, message: error.message }));
}
