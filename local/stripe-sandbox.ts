/**
 * Stripe sandbox: a local HTTP server speaking the subset of the Stripe v1 REST API Order Hub
 * uses, so the unmodified `stripe` SDK works against it
 * (`new Stripe('sk_test_…', { host: '127.0.0.1', port, protocol: 'http' })`), plus signed
 * webhook delivery with retries, like `stripe listen --forward-to`.
 *
 * Covered: customers, payment intents (create / confirm / update / cancel / list) with Stripe's
 * test cards (`pm_card_visa`, `pm_card_chargeDeclined`, `pm_card_authenticationRequired`, …),
 * charges, refunds, events, payment methods, idempotency keys, `expand[]`, Stripe-shaped errors.
 * Sandbox-only: `POST /sandbox/payment_intents/:id/authenticate` (body `outcome=succeed|fail`)
 * plays the customer answering the 3-D Secure challenge of an intent in `requires_action`.
 * `GET|POST|DELETE /sandbox/faults` (JSON `{"count": n} | {"seconds": s}`, `"kind"?`) makes API calls
 * (`/v1/…`) fail before they run: `api_error` (500, the default), `rate_limit` (429),
 * `unavailable` (503 from the edge) or `timeout` (no answer).
 *
 * Not a Stripe: no Checkout, SetupIntents, manual capture, disputes, payouts, Connect, search,
 * test clocks or persistence; every card payment settles synchronously.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { customerRoutes } from './stripe-sandbox/customers';
import type { HandlerContext, Route } from './stripe-sandbox/context';
import { ApiError, type ErrorBody } from './stripe-sandbox/errors';
import { expandPaths } from './stripe-sandbox/expand';
import { FormError, type FormObject, parseForm } from './stripe-sandbox/form';
import { IdempotencyStore, type SavedResponse } from './stripe-sandbox/idempotency';
import { randomToken } from './stripe-sandbox/ids';
import { paymentIntentRoutes } from './stripe-sandbox/payment-intents';
import { paymentMethodRoutes } from './stripe-sandbox/payment-methods';
import { readOnlyRoutes } from './stripe-sandbox/read-only';
import { refundRoutes } from './stripe-sandbox/refunds';
import { SandboxStore } from './stripe-sandbox/store';
import { FaultSwitch } from './fault-switch';
import { type DeliveryRecord, WebhookDispatcher } from './stripe-sandbox/webhooks';
import { header, readBody as readLimitedBody } from './http-body';
import { baseUrl, closeServer, listen } from './listen';

export type { DeliveryRecord };
export { signatureHeader } from './stripe-sandbox/webhooks';

export interface StripeSandboxOptions {
  /** TCP port; 0 picks a free one. Default 12111 (`STRIPE_SANDBOX_PORT`). */
  port?: number;
  host?: string;
  /** Signs every webhook (`whsec_…`); the app verifies with the same value. */
  webhookSecret: string;
  /** Where events are POSTed; unset = events are only stored (still listable). */
  webhookUrl?: string;
  /** Waits before the 2nd, 3rd, … attempt of an undelivered event. */
  retry?: { delaysMs: number[] };
  /** `api_version` stamped on events (default: the version stripe-node 23 pins). */
  apiVersion?: string;
}

export const DEFAULT_STRIPE_SANDBOX_PORT = 12111;
const DEFAULT_API_VERSION = '2026-10-28.endive';
const DEFAULT_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000];
const MAX_BODY_BYTES = 1024 * 1024;

const ROUTES: readonly Route[] = [...customerRoutes, ...paymentIntentRoutes, ...paymentMethodRoutes, ...refundRoutes, ...readOnlyRoutes];

/** How an armed fault (`/sandbox/faults`) fails an API call. */
export const STRIPE_FAULT_KINDS = ['api_error', 'rate_limit', 'unavailable', 'timeout'] as const;
export type StripeFaultKind = (typeof STRIPE_FAULT_KINDS)[number];

interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
  /** Send nothing: the connection stays open until the client gives up (a `timeout` fault). */
  silent?: boolean;
}

const errorReply = (status: number, error: ErrorBody): Reply => ({ status, body: JSON.stringify({ error }, null, 2) });

/** What an armed fault answers, as Stripe (or its edge) does. */
function faultReply(kind: StripeFaultKind): Reply {
  switch (kind) {
    case 'api_error':
      return errorReply(500, { type: 'api_error', message: 'An unknown error occurred (sandbox fault: /sandbox/faults).' });
    case 'rate_limit':
      return {
        // Since API version 2015-09-08 a rate-limited request is a 429 of type invalid_request_error with no code.
        ...errorReply(429, { type: 'invalid_request_error', message: 'Request rate limit exceeded (sandbox fault: /sandbox/faults).' }),
        headers: { 'Stripe-Should-Retry': 'true' },
      };
    case 'unavailable':
      return { status: 503, body: '<html><body><h1>503 Service Unavailable</h1></body></html>', headers: { 'Content-Type': 'text/html' } };
    case 'timeout':
      return { status: 0, body: '', silent: true };
  }
}

export class StripeSandbox {
  private readonly store: SandboxStore;
  private readonly idempotency = new IdempotencyStore();
  private readonly faultSwitch = new FaultSwitch<StripeFaultKind>('api_error');

  private constructor(
    private readonly server: http.Server,
    private readonly host: string,
    private readonly dispatcher: WebhookDispatcher,
    apiVersion: string,
  ) {
    this.store = new SandboxStore(apiVersion, (event) => this.dispatcher.enqueue(event));
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.handle(request, response).catch((error: unknown) => {
        // handle() answers every failure itself; reaching here means the socket went away.
        if (!response.headersSent) response.destroy(error instanceof Error ? error : undefined);
      });
    });
  }

  static async start(options: StripeSandboxOptions): Promise<StripeSandbox> {
    if (!options.webhookSecret) throw new Error('StripeSandbox: webhookSecret is required');
    const server = http.createServer();
    const dispatcher = new WebhookDispatcher(options.webhookSecret, options.webhookUrl, options.retry?.delaysMs ?? DEFAULT_RETRY_DELAYS_MS);
    const host = options.host ?? '127.0.0.1';
    const sandbox = new StripeSandbox(server, host, dispatcher, options.apiVersion ?? DEFAULT_API_VERSION);
    await listen(server, options.port ?? DEFAULT_STRIPE_SANDBOX_PORT, host);
    return sandbox;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL for clients; `STRIPE_API_BASE` of the app. */
  get url(): string {
    return baseUrl(this.host, this.port);
  }

  /** Later events go there (events already queued use it from their next attempt on). */
  setWebhookUrl(url: string | undefined): void {
    this.dispatcher.setUrl(url);
  }

  /** Resolves when every event created so far has been delivered (2xx) or has exhausted retries — for tests. */
  idle(): Promise<void> {
    return this.dispatcher.idle();
  }

  deliveries(): DeliveryRecord[] {
    return this.dispatcher.deliveries();
  }

  /** Frees the port, cancels retries and in-flight deliveries; leaves no handles behind. */
  async stop(): Promise<void> {
    this.dispatcher.stop();
    await closeServer(this.server);
  }

  /** Arms the fault switch as `POST /sandbox/faults` does; clears it when `count` is 0. */
  failNext(count: number, kind: StripeFaultKind = 'api_error'): void {
    if (count > 0) this.faultSwitch.failNext(count, kind);
    else this.faultSwitch.clear();
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async faultControl(method: string, request: http.IncomingMessage): Promise<Reply> {
    const state = () => ({ status: 200, body: JSON.stringify(this.faultSwitch.state()) });
    if (method === 'GET') return state();
    if (method === 'DELETE') {
      this.faultSwitch.clear();
      return state();
    }
    if (method !== 'POST') return errorReply(405, { type: 'invalid_request_error', message: `${method} /sandbox/faults is not allowed` });
    let body: unknown;
    try {
      const text = await readBody(request);
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      return errorReply(400, { type: 'invalid_request_error', message: 'POST /sandbox/faults takes a JSON body' });
    }
    const armed = this.faultSwitch.arm(body, STRIPE_FAULT_KINDS);
    return armed.ok ? { status: 200, body: JSON.stringify(armed.state) } : errorReply(400, { type: 'invalid_request_error', message: armed.message });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const requestId = `req_${randomToken(14)}`;
    const reply = await this.dispatch(request, requestId);
    if (reply.silent) return;
    response.writeHead(reply.status, {
      'Content-Type': 'application/json',
      'Request-Id': requestId,
      'Stripe-Version': header(request, 'stripe-version') ?? this.store.apiVersion,
      // Browsers running Stripe.js against the sandbox need CORS, as with api.stripe.com.
      'Access-Control-Allow-Origin': '*',
      ...reply.headers,
    });
    response.end(reply.body);
  }

  private async dispatch(request: http.IncomingMessage, requestId: string): Promise<Reply> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://sandbox');
    if (method === 'OPTIONS') {
      return {
        status: 204,
        body: '',
        headers: {
          'Access-Control-Allow-Methods': 'GET, POST, DELETE',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type, Idempotency-Key, Stripe-Version, Stripe-Account',
        },
      };
    }
    if (url.pathname === '/sandbox/faults') return this.faultControl(method, request);
    if (url.pathname.startsWith('/v1/')) {
      const fault = this.faultSwitch.take();
      if (fault !== undefined) return faultReply(fault);
    }
    const match = matchRoute(method, url.pathname);
    if (!match) {
      return errorReply(404, {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${method}: ${url.pathname}). The Stripe sandbox serves only the endpoints Order Hub uses.`,
      });
    }
    const keyType = authenticate(request, match.route.access ?? 'secret');
    if ('error' in keyType) return errorReply(401, keyType.error);

    let form: FormObject;
    try {
      const body = method === 'POST' ? await readBody(request) : '';
      const contentType = header(request, 'content-type') ?? '';
      if (body !== '' && !contentType.startsWith('application/x-www-form-urlencoded')) {
        return errorReply(400, {
          type: 'invalid_request_error',
          message: `Invalid request: the v1 API takes application/x-www-form-urlencoded bodies (Stripe bracket syntax), not ${contentType}`,
        });
      }
      form = { ...parseForm(url.search.slice(1)), ...parseForm(body) };
    } catch (error) {
      if (error instanceof FormError) return errorReply(400, { type: 'invalid_request_error', message: error.message, param: error.param });
      if (error instanceof BodyTooLarge) return errorReply(413, { type: 'invalid_request_error', message: error.message });
      throw error;
    }

    const idempotencyKey = method === 'POST' ? header(request, 'idempotency-key') : undefined;
    const endpoint = `${method} ${url.pathname}`;
    if (idempotencyKey !== undefined) {
      let saved: SavedResponse | undefined;
      try {
        saved = this.idempotency.lookup(idempotencyKey, endpoint, form);
      } catch (error) {
        if (error instanceof ApiError) return errorReply(error.status, error.body);
        throw error;
      }
      if (saved) {
        return {
          status: saved.status,
          body: saved.body,
          headers: { 'Idempotency-Key': idempotencyKey, 'Idempotent-Replayed': 'true', 'Original-Request': saved.requestId },
        };
      }
    }

    const open = match.route.access === 'open';
    const context: HandlerContext = {
      store: this.store,
      // Events from the sandbox's customer-side controls carry no API request, like Stripe.js actions.
      request: open ? { id: null, idempotencyKey: null } : { id: requestId, idempotencyKey: idempotencyKey ?? null },
      baseUrl: this.url,
      keyType: keyType.type,
    };
    const { reply, replayable } = this.execute(match.route, context, form, match.args);
    if (idempotencyKey !== undefined) {
      if (replayable) this.idempotency.save(idempotencyKey, endpoint, form, { status: reply.status, body: reply.body, requestId });
      reply.headers = { ...reply.headers, 'Idempotency-Key': idempotencyKey };
    }
    return reply;
  }

  private execute(route: Route, context: HandlerContext, form: FormObject, args: string[]): { reply: Reply; replayable: boolean } {
    try {
      const result = route.handler(context, form, args);
      const expand = Array.isArray(form.expand) ? form.expand.filter((path): path is string => typeof path === 'string') : [];
      const body = expandPaths(result.body, expand, this.store);
      return { reply: { status: result.status ?? 200, body: JSON.stringify(body, null, 2) }, replayable: true };
    } catch (error) {
      if (error instanceof ApiError) return { reply: errorReply(error.status, error.body), replayable: error.replayable };
      // A sandbox bug: Stripe-shaped 500 (the SDK retries those) and the cause on stderr.
      console.error('stripe-sandbox: unexpected error', error);
      return { reply: errorReply(500, { type: 'api_error', message: 'An unexpected error occurred in the Stripe sandbox.' }), replayable: false };
    }
  }
}

function matchRoute(method: string, path: string): { route: Route; args: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const found = route.pattern.exec(path);
    if (found) return { route, args: found.slice(1).map((arg) => decodeURIComponent(arg)) };
  }
  return undefined;
}

/** Bearer (what the SDK sends) or Basic with the key as user name (what `curl -u sk_test_…:` sends). */
function apiKeyOf(request: http.IncomingMessage): string | undefined {
  const authorization = header(request, 'authorization');
  if (!authorization) return undefined;
  const [scheme = '', credentials = ''] = authorization.split(' ', 2);
  if (scheme.toLowerCase() === 'bearer') return credentials.trim();
  if (scheme.toLowerCase() === 'basic') return Buffer.from(credentials, 'base64').toString('utf8').split(':')[0];
  return undefined;
}

const redact = (key: string): string => `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;

function authenticate(request: http.IncomingMessage, access: NonNullable<Route['access']>): { type: HandlerContext['keyType'] } | { error: ErrorBody } {
  if (access === 'open') return { type: 'none' };
  const key = apiKeyOf(request);
  if (!key) {
    return {
      error: {
        type: 'invalid_request_error',
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      },
    };
  }
  if (/^(sk|rk)_test_\w+/.test(key)) return { type: 'secret' };
  if (/^pk_test_\w+/.test(key)) {
    if (access === 'publishable') return { type: 'publishable' };
    return { error: { type: 'invalid_request_error', message: 'This API call cannot be made with a publishable API key. Please use a secret API key.' } };
  }
  return {
    error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${redact(key)}. The Stripe sandbox accepts test-mode keys (sk_test_…) only.` },
  };
}

class BodyTooLarge extends Error {}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const body = await readLimitedBody(request, MAX_BODY_BYTES);
  if (!body) throw new BodyTooLarge(`Request body larger than ${MAX_BODY_BYTES} bytes`);
  return body.toString('utf8');
}
