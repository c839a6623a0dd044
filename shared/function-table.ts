import type { ZodType } from 'zod';
import type { Settlement } from './platform/jobs';

/**
 * The function table: every function is declared once here and served by both hosts —
 * `functions/index.ts` registers it with `app.http` / `app.serviceBusQueue` / `app.timer` for Azure,
 * `local/host.ts` serves it for `npm start` and the tests.
 */
export type FunctionDef = HttpFunctionDef | QueueFunctionDef | TimerFunctionDef;

/** API key roles; `support` reads what `admin` reads and changes nothing. */
export type Role = 'admin' | 'workshop' | 'orders' | 'support';

/** A request as both hosts deliver it: the raw body is kept because webhook signatures need it. */
export interface HttpRequestData {
  method: string;
  /** Path after the route prefix, e.g. `v1/bookings/abc`. */
  url: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Record<string, string>;
  rawBody: Buffer;
  clientIp: string;
}

/** What a handler returns; `body` is JSON unless it is a Buffer or a string. */
export interface HttpResponseData {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Who made the request, after authentication. */
export type Caller = { kind: 'anonymous' } | { kind: 'apiKey'; name: string; roles: Role[] };

/** The parsed request a handler sees: body, params and query already validated by their schemas. */
export interface HttpCall<Body = unknown, Params = Record<string, string>, Query = Record<string, string>, Event = undefined> {
  request: HttpRequestData;
  body: Body;
  params: Params;
  query: Query;
  caller: Caller;
  /** A signed webhook's event, verified over the raw body and parsed (see `HttpFunctionDef.verify`). */
  event: Event;
  /** Operation id for telemetry, carried into every job the request causes. */
  operationId: string;
  /**
   * Set for an `idempotent` def: the client's `Idempotency-Key` and `token`, a stable hex id of the
   * key in its scope (API key or client address, method, path). Derive resource ids and provider
   * idempotency keys from `token`, so a retry after a 5xx (which releases the key) reuses them.
   */
  idempotency?: { key: string; token: string };
}

/** What a webhook's verification made of a request: the verified, parsed event, or the answer refusing it. */
export type Verification<Event> = { ok: true; event: Event } | { ok: false; response: HttpResponseData };

// biome-ignore lint/suspicious/noExplicitAny: the table holds defs of every shape; `defineHttp` types each handler from its schemas.
export interface HttpFunctionDef<Body = any, Params = any, Query = any, Event = any> {
  kind: 'http';
  name: string;
  /** Route after the `api/` prefix, with `{param}` segments, e.g. `v1/admin/dead-letters/{queue}`. */
  route: string;
  methods: Array<'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'>;
  /** Roles of which the API key must hold at least one; absent = no API key needed. */
  roles?: Role[];
  summary: string;
  tags?: string[];
  request?: { body?: ZodType<Body>; params?: ZodType<Params>; query?: ZodType<Query> };
  /** Response schemas by status code, for the OpenAPI document; `mediaTypes` for answers that are not JSON (a page, a script). */
  responses: Record<number, { description: string; schema?: ZodType; mediaTypes?: string[] }>;
  /**
   * A signed webhook: checks the signature over the raw bytes (a re-serialised body would not
   * verify) and parses the event, before the handler runs and instead of JSON body parsing.
   */
  verify?: (request: HttpRequestData) => Verification<Event> | Promise<Verification<Event>>;
  /**
   * Requires an `Idempotency-Key` header: a repeat of the same request under the same key answers the
   * first response again (`Idempotent-Replayed: true`) instead of running the handler twice; another
   * body under the key is a 422, a repeat while the first runs a 409. Needs the pipeline's store.
   */
  idempotent?: boolean;
  handler(call: HttpCall<Body, Params, Query, Event>): Promise<HttpResponseData>;
}

/** Metadata of a received queue message, independent of the host that received it. */
export interface ReceivedMessage {
  messageId: string;
  body: unknown;
  deliveryCount: number;
  enqueuedTime?: Date;
  applicationProperties: Record<string, unknown>;
}

export interface QueueFunctionDef {
  kind: 'queue';
  name: string;
  queue: string;
  /** Must settle the message through `settlement`; throwing leaves it to the host (abandon). */
  handler(message: ReceivedMessage, settlement: Settlement): Promise<void>;
}

export interface TimerFunctionDef {
  kind: 'timer';
  name: string;
  /** NCRONTAB with seconds, as Azure Functions: `0 *\/1 * * * *` = every minute. */
  schedule: string;
  handler(): Promise<void>;
}

/** Declares an HTTP function with its handler typed from its schemas (and its webhook verifier). */
export function defineHttp<Body = undefined, Params = Record<string, string>, Query = Record<string, string>, Event = undefined>(
  def: HttpFunctionDef<Body, Params, Query, Event>,
): HttpFunctionDef {
  return def as HttpFunctionDef;
}
