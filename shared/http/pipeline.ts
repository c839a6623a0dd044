import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Telemetry } from '../platform/telemetry';
import type { ZodType } from 'zod';
import type { Caller, HttpFunctionDef, HttpRequestData, HttpResponseData } from '../function-table';
import { authorize, type ApiKeyAuthenticator } from './auth';
import {
  fieldErrorsFromZod,
  internalError,
  malformedJson,
  payloadTooLarge,
  tooManyRequests,
  unsupportedMediaType,
  validationFailed,
  type FieldError,
  type FieldLocation,
} from './problem';
import type { RateLimiter } from './rate-limit';

/** Largest request body the API accepts (1 MiB; larger bodies get 413). */
export const MAX_BODY_BYTES = 1024 * 1024;

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
  telemetry?: Pick<Telemetry, 'request'>;
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
 * Builds the request pipeline: size limit, authentication, roles, per-key rate limit, a webhook's
 * signature, JSON body, schema validation, the handler; every failure is a problem+json response and a thrown error
 * becomes a 500 whose message stays in the log.
 */
export function createHttpPipeline(deps: HttpPipelineDeps): HttpPipeline {
  // A trace id, so logs, Application Insights and the queue hops share one id.
  const newOperationId = deps.newOperationId ?? (() => randomBytes(16).toString('hex'));
  const run = async (def: HttpFunctionDef, request: HttpRequestData, operationId: string): Promise<HttpResponseData> => {
    try {
      if (request.rawBody.length > MAX_BODY_BYTES) return payloadTooLarge(MAX_BODY_BYTES);
      const caller = deps.auth.authenticate(request.headers);
      const gate = admit(def, caller, deps.rateLimiter);
      if (!gate.ok) return gate.response;
      const verified = def.verify ? await def.verify(request) : { ok: true as const, event: undefined };
      if (!verified.ok) return verified.response;
      const body = readBody(def, request);
      if (!body.ok) return body.response;
      const input = validate(def, request, body.value);
      if (!input.ok) return input.response;
      return await def.handler({ request, caller, operationId, event: verified.event, ...input.value });
    } catch (error) {
      deps.log?.error('http handler failed', { operationId, function: def.name, error });
      return internalError(operationId);
    }
  };
  return {
    async handle(def, request) {
      const operationId = traceIdOf(request.headers) ?? newOperationId();
      const started = performance.now();
      const response = await run(def, request, operationId);
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
function admit(def: HttpFunctionDef, caller: Caller, limiter: RateLimiter): Step<void> {
  if (!def.roles) return { ok: true, value: undefined };
  const decision = authorize(caller, def.roles);
  if (!decision.ok) return decision;
  // authorize() passed, so the caller holds an API key: count per key name, never per key value.
  const take = limiter.take(`apiKey:${caller.kind === 'apiKey' ? caller.name : ''}`);
  return take.allowed ? { ok: true, value: undefined } : { ok: false, response: tooManyRequests(take.retryAfterSeconds) };
}

/** True for `application/json` with no charset or UTF-8 (RFC 8259 allows no other encoding). */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [mediaType = '', ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') return false;
  return parameters.every((parameter) => !parameter.startsWith('charset=') || /^charset="?utf-8"?$/.test(parameter));
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
export function toWire(response: HttpResponseData): WireResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  const { body } = response;
  if (body === undefined || body === null) return { status: response.status, headers, body: '' };
  if (Buffer.isBuffer(body)) {
    headers['content-type'] ??= 'application/octet-stream';
    return { status: response.status, headers, body };
  }
  if (typeof body === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    return { status: response.status, headers, body };
  }
  headers['content-type'] ??= 'application/json';
  return { status: response.status, headers, body: JSON.stringify(body) };
}
