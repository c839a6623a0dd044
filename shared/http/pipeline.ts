import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Telemetry } from '../platform/telemetry';
import type { ZodType } from 'zod';
import type { Caller, HttpCall, HttpFunctionDef, HttpRequestData, HttpResponseData } from '../function-table';
import {
  bodyFingerprint,
  fromStoredResponse,
  type IdempotencyHandle,
  type IdempotencyStore,
  idempotencyScope,
  idempotencyToken,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  toStoredResponse,
} from '../platform/idempotency';
import { type CorsOrigins, withCrossOriginHeaders } from './cors';
import { authorize, type ApiKeyAuthenticator } from './auth';
import {
  fieldErrorsFromZod,
  internalError,
  malformedJson,
  PROBLEM_TYPE_BASE,
  payloadTooLarge,
  problem,
  tooManyRequests,
  unsupportedContentEncoding,
  unsupportedMediaType,
  validationFailed,
  type FieldError,
  type FieldLocation,
} from './problem';
import type { RateLimiter } from './rate-limit';

/** Largest request body the API accepts (1 MiB; larger bodies get 413). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The request header of an idempotent operation (IETF httpapi draft, Stripe). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set to `true` on a response that is the replay of an earlier one. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** The part of a logger the pipeline needs (structurally the app's `Logger`). */
export interface PipelineLog {
  error(message: string, data?: Record<string, unknown>): void;
}

/** What the pipeline is built from. */
export interface HttpPipelineDeps {
  auth: ApiKeyAuthenticator;
  rateLimiter: RateLimiter;
  log?: PipelineLog;
  /** Used when the request carries no W3C `traceparent`; default 32 random hex digits (a W3C trace id). */
  newOperationId?: () => string;
  /** Where each finished request is reported (Application Insights when configured). */
  telemetry?: Pick<Telemetry, 'request' | 'exception'>;
  /** Keeps Idempotency-Key records; required as soon as one def is `idempotent` (its first request throws without it). */
  idempotency?: IdempotencyStore;
  /** The clock of idempotency records (lock timeouts, completion times); default wall time. */
  now?: () => Date;
  /** Browser front ends on other origins (`CORS_ORIGINS`): their answers carry the headers only the app can add. */
  cors?: CorsOrigins;
}

/** Runs one HTTP function def against a request; the same pipeline serves both hosts. */
export interface HttpPipeline {
  handle(def: HttpFunctionDef, request: HttpRequestData): Promise<HttpResponseData>;
}

/** A response ready for the wire: header names in lower case, body already serialised. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

type Step<T> = { ok: true; value: T } | { ok: false; response: HttpResponseData };

/**
 * Builds the request pipeline: size limit, authentication, roles, per-key rate limit, no content coding
 * (415), a webhook's signature, JSON body, schema validation, the Idempotency-Key step (idempotent defs), the handler;
 * every failure is a problem+json response and a thrown error becomes a 500 whose message stays in the log.
 */
export function createHttpPipeline(deps: HttpPipelineDeps): HttpPipeline {
  // A trace id, so logs, Application Insights and the queue hops share one id.
  const newOperationId = deps.newOperationId ?? (() => randomBytes(16).toString('hex'));
  const now = deps.now ?? (() => new Date());
  const idempotent = deps.idempotency ? idempotencyStep(deps.idempotency, now, deps.log) : undefined;
  const run = async (def: HttpFunctionDef, request: HttpRequestData, operationId: string): Promise<HttpResponseData> => {
    try {
      if (request.rawBody.length > MAX_BODY_BYTES) return payloadTooLarge(MAX_BODY_BYTES);
      const caller = deps.auth.authenticate(request.headers);
      const gate = await admit(def, caller, request.method, deps.rateLimiter);
      if (!gate.ok) return gate.response;
      if (!isIdentityEncoding(request.headers['content-encoding'])) return unsupportedContentEncoding();
      const verified = def.verify ? await def.verify(request) : { ok: true as const, event: undefined };
      if (!verified.ok) return verified.response;
      const body = readBody(def, request);
      if (!body.ok) return body.response;
      const input = validate(def, request, body.value);
      if (!input.ok) return input.response;
      const call: HttpCall<unknown, unknown, unknown, unknown> = { request, caller, operationId, event: verified.event, ...input.value };
      return def.idempotent && idempotent ? await idempotent(def, call) : await def.handler(call);
    } catch (error) {
      deps.log?.error('http handler failed', { operationId, function: def.name, error });
      // Every failed invocation is an exception, wherever it threw (handler, store, limiter).
      deps.telemetry?.exception(error, { function: def.name, operationId });
      return internalError(operationId);
    }
  };
  return {
    async handle(def, request) {
      if (def.idempotent && !deps.idempotency) {
        // A wiring mistake, not a request's fault: fail loudly instead of serving without the guarantee.
        throw new Error(`HTTP function ${def.name} is idempotent but the pipeline has no idempotency store (HttpPipelineDeps.idempotency)`);
      }
      const operationId = traceIdOf(request.headers) ?? newOperationId();
      const started = performance.now();
      const answered = await run(def, request, operationId);
      const response = deps.cors ? withCrossOriginHeaders(answered, request.headers.origin, deps.cors) : answered;
      deps.telemetry?.request({
        name: `${request.method} /api/${def.route}`,
        url: `/api/${request.url}`,
        status: response.status,
        durationMs: performance.now() - started,
        operationId,
        success: response.status < 500,
      });
      return response;
    },
  };
}

/** Roles and rate limit, only for defs that require an API key. */
async function admit(def: HttpFunctionDef, caller: Caller, method: string, limiter: RateLimiter): Promise<Step<void>> {
  if (!def.roles) return { ok: true, value: undefined };
  const decision = authorize(caller, def.roles, method);
  if (!decision.ok) return decision;
  // authorize() passed, so the caller holds an API key: count per key name, never per key value.
  const take = await limiter.take(`apiKey:${caller.kind === 'apiKey' ? caller.name : ''}`);
  return take.allowed ? { ok: true, value: undefined } : { ok: false, response: tooManyRequests(take.retryAfterSeconds) };
}

/**
 * The Idempotency-Key step, after validation so refused requests record nothing: claims the key
 * (scope: API key or client address, method, path), answers a replay, another body (422) or a
 * running first request (409); otherwise runs the handler and keeps its response, except a 5xx,
 * which releases the key so the client can retry.
 */
function idempotencyStep(store: IdempotencyStore, now: () => Date, log: PipelineLog | undefined) {
  /** Keeps the handler's response, or releases the key after a 5xx or a thrown error (no response). */
  const settle = async (handle: IdempotencyHandle, operationId: string, response?: HttpResponseData): Promise<void> => {
    const what = !response || response.status >= 500 ? 'release' : 'complete';
    // The record's id (a hash of the key in its scope), named so the log's credential filter keeps it.
    const context = { operationId, idempotencyRecord: handle.token };
    try {
      const held = response && what === 'complete' ? await store.complete(handle, toStoredResponse(response), now()) : await store.release(handle);
      // The lock expired while the handler ran and another request took the key over: both ran.
      if (!held) log?.error(`idempotency key lost before ${what}: its lock expired and another request took it over`, context);
    } catch (error) {
      // The answer stands; the record stays in flight until its lock expires, then a retry takes it over.
      log?.error(`idempotency ${what} failed`, { ...context, error });
    }
  };
  return async (def: HttpFunctionDef, call: HttpCall<unknown, unknown, unknown, unknown>): Promise<HttpResponseData> => {
    const key = call.request.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()]?.trim() ?? '';
    if (key === '') return problem(400, 'Idempotency key required', `This operation requires an ${IDEMPOTENCY_KEY_HEADER} header.`);
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      return problem(400, 'Idempotency key too long', `The ${IDEMPOTENCY_KEY_HEADER} header takes at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`);
    }
    const token = idempotencyToken(idempotencyScope(call.caller, call.request), key);
    const begun = await store.begin(token, bodyFingerprint(call.request.rawBody), now());
    switch (begun.outcome) {
      case 'replay': {
        const replay = fromStoredResponse(begun.response);
        return { ...replay, headers: { ...replay.headers, [IDEMPOTENT_REPLAYED_HEADER]: 'true' } };
      }
      case 'mismatch':
        return problem(422, 'Idempotency key reused', `This ${IDEMPOTENCY_KEY_HEADER} was already used with another request body; use a new key.`, {
          type: `${PROBLEM_TYPE_BASE}idempotency-key-reused`,
        });
      case 'in-flight':
        return problem(409, 'Request in progress', `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry later.`, {
          type: `${PROBLEM_TYPE_BASE}idempotency-key-in-use`,
          headers: { 'Retry-After': '1' },
        });
    }
    const { handle } = begun;
    let response: HttpResponseData;
    try {
      response = await def.handler({ ...call, idempotency: { key, token } });
    } catch (error) {
      await settle(handle, call.operationId);
      throw error;
    }
    await settle(handle, call.operationId, response);
    return response;
  };
}

/** True for `application/json` with no charset or UTF-8 (RFC 8259 allows no other encoding). */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [mediaType = '', ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') return false;
  return parameters.every((parameter) => !parameter.startsWith('charset=') || /^charset="?utf-8"?$/.test(parameter));
}

/**
 * True when the body is not content-coded (`Content-Encoding` absent or `identity`). Coded bodies are
 * refused with 415 rather than decoded: no decompression bomb to guard against, and a signed webhook's
 * signature covers the bytes as sent.
 */
export function isIdentityEncoding(header: string | undefined): boolean {
  if (header === undefined) return true;
  return header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .every((coding) => coding === '' || coding === 'identity');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses the JSON body when the def declares a body schema (a webhook's verifier reads its own). */
function readBody(def: HttpFunctionDef, request: HttpRequestData): Step<unknown> {
  if (def.verify || !def.request?.body) return { ok: true, value: undefined };
  if (!isJsonContentType(request.headers['content-type'])) return { ok: false, response: unsupportedMediaType() };
  let text: string;
  try {
    text = utf8.decode(request.rawBody); // also drops a UTF-8 BOM
  } catch {
    return { ok: false, response: malformedJson() };
  }
  if (text.trim() === '') return { ok: false, response: malformedJson(true) };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, response: malformedJson() };
  }
}

/** Query as an object: one value stays a string, a repeated name becomes an array. */
function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    result[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return result;
}

type Parsed = { body: unknown; params: unknown; query: unknown };

/** Validates params, query and body together, so a 422 lists every bad field at once. */
function validate(def: HttpFunctionDef, request: HttpRequestData, body: unknown): Step<Parsed> {
  const errors: FieldError[] = [];
  const check = (schema: ZodType | undefined, value: unknown, location: FieldLocation): unknown => {
    if (!schema) return value;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    errors.push(...fieldErrorsFromZod(result.error.issues, location));
    return undefined;
  };
  const schemas = def.request ?? {};
  const parsed: Parsed = {
    params: check(schemas.params, request.params, 'params'),
    // Without a schema handlers get plain strings, as HttpCall's default Query type promises.
    query: schemas.query ? check(schemas.query, queryObject(request.query), 'query') : Object.fromEntries(request.query),
    body: def.verify ? undefined : check(schemas.body, body, 'body'),
  };
  return errors.length > 0 ? { ok: false, response: validationFailed(errors) } : { ok: true, value: parsed };
}

/** The trace id of a valid W3C `traceparent`, so one operation id spans caller, API and queues. */
function traceIdOf(headers: Record<string, string>): string | undefined {
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(headers.traceparent?.trim() ?? '');
  return match?.[1] && !/^0+$/.test(match[1]) ? match[1] : undefined;
}

/**
 * Serialises a handler's response for either host: Buffer and string bodies pass through, anything
 * else is JSON (`application/json` unless the response set its own type, e.g. problem+json).
 */
export function toWire(response: HttpResponseData, transport: { secure?: boolean } = {}): WireResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  const { body } = response;
  let wire: WireResponse;
  if (body === undefined || body === null) wire = { status: response.status, headers, body: '' };
  else if (Buffer.isBuffer(body)) {
    headers['content-type'] ??= 'application/octet-stream';
    wire = { status: response.status, headers, body };
  } else if (typeof body === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    wire = { status: response.status, headers, body };
  } else {
    headers['content-type'] ??= 'application/json';
    wire = { status: response.status, headers, body: JSON.stringify(body) };
  }
  withSecurityHeaders(headers, transport.secure === true);
  return wire;
}

/**
 * The headers an API behind Helmet sends, on every answer of both hosts: no MIME sniffing, no
 * referrer, not to be framed or embedded elsewhere, no active content in API answers, and never
 * cached (answers carry tokens, client secrets and personal data). A page that needs its own policy
 * (the operations console) sets its `Content-Security-Policy`; what a handler set is kept. HSTS only
 * over HTTPS, where a browser heeds it (RFC 6797 §8.1): the local host speaks plain HTTP.
 */
export function withSecurityHeaders(headers: Record<string, string>, secure: boolean): void {
  headers['x-content-type-options'] ??= 'nosniff';
  headers['referrer-policy'] ??= 'no-referrer';
  headers['x-frame-options'] ??= 'DENY';
  headers['cross-origin-resource-policy'] ??= 'same-origin';
  headers['content-security-policy'] ??= "default-src 'none'; frame-ancestors 'none'";
  headers['cache-control'] ??= 'no-store';
  if (secure) headers['strict-transport-security'] ??= 'max-age=31536000; includeSubDomains';
  delete headers['x-powered-by'];
}
