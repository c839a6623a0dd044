/**
 * BTCPay Server sandbox: a local HTTP server speaking the part of BTCPay's Greenfield API Order
 * Hub uses, for one store, plus signed webhook delivery with BTCPay's retries — so the app's
 * BTCPay client and webhook endpoint run unchanged against it (base URL = `url`, store id and API
 * key as given at start).
 *
 * Greenfield (header `Authorization: token <apiKey>`; 401 `unauthenticated`, 403 `missing-permission`,
 * 404 `invoice-not-found`, 422 `[{path, message}]`):
 * - `POST /api/v1/stores/{storeId}/invoices` create; `GET …/invoices?orderId=&status=&skip=&take=` list,
 *   newest first; `GET …/invoices/{invoiceId}`; `POST …/invoices/{invoiceId}/status` `{status}`
 *   (Settled | Invalid); `POST …/invoices/{invoiceId}/refund` → a pull payment. The same without
 *   `/stores/{storeId}` (`/api/v1/invoices/{invoiceId}…`), as BTCPay 2 also serves them.
 * - `GET /api/v1/stores/{storeId}/pull-payments` (newest first), `GET /api/v1/pull-payments/{pullPaymentId}`
 *   (public), `GET /api/v1/health`.
 *
 * Sandbox controls (no key; they play the customer, the chain and the network):
 * - `POST /sandbox/invoices/{id}/pay` `{"amount"?: "12.50", "confirmed"?: bool}`, `…/confirm`,
 *   `…/expire`, `…/end-monitoring`; `GET /sandbox/invoices[/{id}]`.
 * - `GET /sandbox/events`, `GET /sandbox/deliveries`, `POST /sandbox/deliveries/{deliveryId}/redeliver`,
 *   `GET|POST /sandbox/webhooks` `{"deliver"?: bool, "url"?: string | null}`.
 * - `GET|POST|DELETE /sandbox/faults` `{"count": n} | {"seconds": s}`, `"kind"?: "http500" | "unavailable" | "timeout"`.
 * - `GET /sandbox/calls` (every Greenfield call, faulted ones included), `POST /sandbox/reset`.
 * `GET /i/{invoiceId}` (the checkout link) and `GET /pull-payments/{id}` (a refund's view link) are
 * plain pages.
 *
 * Its own copy of the contract lives in ./btcpay-sandbox/contract.ts; it imports no production code.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  FAULT_KINDS,
  type FaultKind,
  faultRequestSchema,
  type InvoiceEventType,
  POLICY,
  POLICY_INCLUDES,
  readModel,
  webhookSettingsSchema,
} from './btcpay-sandbox/contract';
import { GreenfieldError, missingPermission, sandboxError, unauthenticated, ValidationError } from './btcpay-sandbox/errors';
import { FaultSwitch, type FaultState, SERVICE_UNAVAILABLE_PAGE } from './btcpay-sandbox/faults';
import { randomId } from './btcpay-sandbox/ids';
import { InvoiceBook, type ListQuery } from './btcpay-sandbox/invoices';
import { BTCPAY_RETRY_DELAYS_MS, DEFAULT_ATTEMPT_TIMEOUT_MS, type DeliveryRecord, type EventRecord, WebhookSender } from './btcpay-sandbox/webhooks';
import { readBody } from './http-body';
import { baseUrl, closeServer, listen } from './listen';

export type { FaultKind, FaultState, DeliveryRecord, EventRecord, InvoiceEventType };
export type { InvoiceJson, PaymentJson, PullPaymentJson } from './btcpay-sandbox/contract';
export { FAULT_KINDS, BTCPAY_RETRY_DELAYS_MS };
export { signatureHeader } from './btcpay-sandbox/webhooks';

/** Default port (`BTCPAY_SANDBOX_PORT`); BTCPay's own development port. */
export const DEFAULT_BTCPAY_SANDBOX_PORT = 14142;
/** The sandbox store (Base58, shaped like BTCPay's store ids). */
export const DEFAULT_BTCPAY_STORE_ID = 'SandboxStore1111111111111111111111111111111';
/** An API key with every permission on the sandbox store. */
export const DEFAULT_BTCPAY_API_KEY = 'btcpay_sandbox_local_api_key_0000000000';
export const DEFAULT_BTCPAY_WEBHOOK_SECRET = 'btcpay_sandbox_local_webhook_secret';

export interface BTCPaySandboxOptions {
  /** TCP port; 0 picks a free one. Default 14142. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The one store. Default DEFAULT_BTCPAY_STORE_ID. */
  storeId?: string;
  /** A key with `btcpay.store.canmodifystoresettings` on the store (everything). Default DEFAULT_BTCPAY_API_KEY. */
  apiKey?: string;
  /** More keys with their permissions, e.g. `{ key: ['btcpay.store.canviewinvoices:<storeId>'] }`. */
  apiKeys?: Record<string, readonly string[]>;
  /** The webhook's secret; signs `BTCPay-Sig`. Default DEFAULT_BTCPAY_WEBHOOK_SECRET. */
  webhookSecret?: string;
  /** Where the store's webhook posts; unset = no webhook yet (events are kept, not sent). */
  webhookUrl?: string;
  /** Waits before each automatic redelivery; default BTCPay's 10 s, 1 min, 6 × 10 min. Tests scale them down. */
  retry?: { delaysMs: readonly number[] };
  /** How long one delivery waits for an answer; default 100 s (HttpClient's). */
  attemptTimeoutMs?: number;
  /** `immediate` (default): a payment is confirmed right after it is seen; `manual`: on `POST /sandbox/invoices/{id}/confirm`. */
  confirmation?: 'immediate' | 'manual';
  /** Currency of invoices created without one; default USD (a new BTCPay store's). */
  defaultCurrency?: string;
  /** Event types the webhook subscribes to; default everything (BTCPay's default). */
  subscribedEvents?: 'everything' | readonly InvoiceEventType[];
}

interface Reply {
  status: number;
  body?: unknown;
  /** Raw text (HTML pages, proxy errors) instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
}

interface Call {
  request: http.IncomingMessage;
  params: string[];
  query: URLSearchParams;
  body: () => Promise<unknown>;
}

interface Route {
  method: string;
  pattern: RegExp;
  /** Greenfield routes can be failed by the fault switch. */
  api: boolean;
  handle: (call: Call) => Promise<Reply> | Reply;
}

/** A Greenfield call as the sandbox saw it (`GET /sandbox/calls`). */
export interface ApiCall {
  method: string;
  /** Path and query. */
  path: string;
  /** When it arrived (ISO 8601). */
  at: string;
  /** What was answered; null while unanswered (a `timeout` fault is never answered). */
  status: number | null;
  /** The injected fault that answered it. */
  fault?: FaultKind;
}

const MAX_BODY_BYTES = 1024 * 1024;

export class BTCPaySandbox {
  private readonly book: InvoiceBook;
  private readonly webhooks: WebhookSender;
  private readonly faultSwitch = new FaultSwitch();
  private readonly keys = new Map<string, readonly string[]>();
  private readonly routes: Route[];
  /** Requests held open by a `timeout` fault. */
  private readonly held = new Set<http.ServerResponse>();
  private readonly apiCalls: ApiCall[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly host: string,
    readonly storeId: string,
    options: BTCPaySandboxOptions,
  ) {
    this.keys.set(options.apiKey ?? DEFAULT_BTCPAY_API_KEY, [POLICY.modifyStoreSettings]);
    for (const [key, permissions] of Object.entries(options.apiKeys ?? {})) this.keys.set(key, permissions);
    const subscribed = options.subscribedEvents ?? 'everything';
    this.webhooks = new WebhookSender({
      secret: options.webhookSecret ?? DEFAULT_BTCPAY_WEBHOOK_SECRET,
      url: options.webhookUrl,
      webhookId: randomId(16),
      delaysMs: options.retry?.delaysMs ?? BTCPAY_RETRY_DELAYS_MS,
      attemptTimeoutMs: options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
      subscribed: (type) => subscribed === 'everything' || subscribed.includes(type),
    });
    this.book = new InvoiceBook(
      {
        storeId,
        defaultCurrency: (options.defaultCurrency ?? 'USD').toUpperCase(),
        confirmation: options.confirmation ?? 'immediate',
        baseUrl: () => this.url,
        now: () => Date.now(),
      },
      (event) => this.webhooks.publish(event),
    );
    this.routes = this.buildRoutes();
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.handle(request, response).catch(() => {
        // handle() answers every failure itself; reaching here means the client went away.
        if (!response.headersSent) response.destroy();
      });
    });
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: BTCPaySandboxOptions = {}): Promise<BTCPaySandbox> {
    const storeId = options.storeId ?? DEFAULT_BTCPAY_STORE_ID;
    if (!storeId) throw new Error('BTCPaySandbox: storeId must not be empty');
    if (options.webhookSecret === '') throw new Error('BTCPaySandbox: webhookSecret must not be empty');
    const server = http.createServer();
    const host = options.host ?? '127.0.0.1';
    const sandbox = new BTCPaySandbox(server, host, storeId, options);
    await listen(server, options.port ?? DEFAULT_BTCPAY_SANDBOX_PORT, host);
    return sandbox;
  }

  /** The bound port (the real one when started with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL of the server (the app's BTCPay URL). */
  get url(): string {
    return baseUrl(this.host, this.port);
  }

  /** The id of the store's one webhook (`webhookId` in every body). */
  get webhookId(): string {
    return this.webhooks.webhookId;
  }

  /** Where later deliveries go (retries of pending ones included); undefined removes the webhook. */
  setWebhookUrl(url: string | undefined): void {
    this.webhooks.setUrl(url);
  }

  /** false: the webhook is disabled — events are lost, pending deliveries and retries dropped. */
  setDelivering(deliver: boolean): void {
    this.webhooks.setDelivering(deliver);
  }

  /** Resolves when no delivery is queued, in flight or waiting for a retry. */
  idle(): Promise<void> {
    return this.webhooks.idle();
  }

  /** Every delivery attempt so far, oldest first. */
  deliveries(): DeliveryRecord[] {
    return this.webhooks.deliveries();
  }

  /** Every event the store produced, oldest first, with what became of it. */
  events(): EventRecord[] {
    return this.webhooks.events();
  }

  /** Delivers a past delivery again (new deliveryId, isRedelivery, its originalDeliveryId); the new id. */
  redeliver(deliveryId: string): string | undefined {
    return this.webhooks.redeliver(deliveryId);
  }

  /** Every Greenfield call received (faulted ones included), oldest first. */
  calls(): ApiCall[] {
    return this.apiCalls.map((call) => ({ ...call }));
  }

  /** The next `count` Greenfield calls fail with `kind` (nothing runs). */
  failNext(count: number, kind: FaultKind = 'http500'): FaultState {
    return this.faultSwitch.failNext(count, kind);
  }

  /** Every Greenfield call in the next `ms` milliseconds fails with `kind`. */
  failFor(ms: number, kind: FaultKind = 'http500'): FaultState {
    return this.faultSwitch.failFor(ms, kind);
  }

  clearFaults(): void {
    this.faultSwitch.clear();
  }

  /** Forgets invoices, pull payments, events, deliveries, calls and faults; the webhook URL and switch stay. */
  reset(): void {
    this.book.reset();
    this.webhooks.reset();
    this.faultSwitch.clear();
    this.apiCalls.length = 0;
  }

  /** Frees the port, drops held requests, retries and in-flight deliveries; leaves no handles behind. */
  async stop(): Promise<void> {
    this.book.stop();
    this.webhooks.stop();
    for (const response of this.held) response.destroy();
    this.held.clear();
    await closeServer(this.server);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = request.method ?? 'GET';

    let call: ApiCall | undefined;
    if (path.startsWith('/api/')) {
      call = { method, path: `${url.pathname}${url.search}`, at: new Date().toISOString(), status: null };
      this.apiCalls.push(call);
      const fault = this.faultSwitch.take();
      if (fault !== undefined) call.fault = fault;
      if (fault === 'timeout') {
        // Never answered; the client's timeout decides. stop() drops it.
        this.held.add(response);
        response.on('close', () => this.held.delete(response));
        request.resume();
        return;
      }
      if (fault === 'http500') return send(response, { status: 500, text: '' }, call);
      if (fault === 'unavailable') {
        return send(response, { status: 503, text: SERVICE_UNAVAILABLE_PAGE, headers: { 'Content-Type': 'text/html', 'Retry-After': '5' } }, call);
      }
    }

    let reply: Reply;
    try {
      reply = await this.dispatch(method, path, url.searchParams, request);
    } catch (error) {
      reply = errorReply(error);
    }
    send(response, reply, call);
  }

  private async dispatch(method: string, path: string, query: URLSearchParams, request: http.IncomingMessage): Promise<Reply> {
    let pathMatched = false;
    for (const route of this.routes) {
      const found = route.pattern.exec(path);
      if (!found) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params = found.slice(1).map((part) => decodeURIComponent(part));
      let read: Promise<unknown> | undefined;
      const body = (): Promise<unknown> => {
        read ??= readJson(request, route.api);
        return read;
      };
      return await route.handle({ request, params, query, body });
    }
    if (pathMatched) return { status: 405, text: '', headers: { Allow: this.allowed(path) } };
    if (path.startsWith('/api/')) return { status: 404, text: '' };
    return { status: 404, body: { code: 'not-found', message: `${method} ${path} is not a BTCPay sandbox endpoint` } };
  }

  private allowed(path: string): string {
    return [...new Set(this.routes.filter((route) => route.pattern.test(path)).map((route) => route.method))].join(', ');
  }

  private buildRoutes(): Route[] {
    const store = '/api/v1/stores/([^/]+)/invoices';
    const api = (method: string, pattern: string, handle: Route['handle']): Route => ({ method, pattern: new RegExp(`^${pattern}$`), api: true, handle });
    const control = (method: string, pattern: string, handle: Route['handle']): Route => ({
      method,
      pattern: new RegExp(`^${pattern}$`),
      api: false,
      handle,
    });
    const ok = (body: unknown): Reply => ({ status: 200, body });
    const noContent: Reply = { status: 204, text: '' };

    return [
      // Greenfield, store in the path.
      api('GET', store, ({ request, params: [storeId = ''], query }) => {
        this.authorize(request, storeId, POLICY.viewInvoices);
        return ok(this.book.list(listQuery(query)));
      }),
      api('POST', store, async ({ request, params: [storeId = ''], body }) => {
        this.authorize(request, storeId, POLICY.createInvoice);
        return ok(this.book.create(await requiredBody(body)));
      }),
      api('GET', `${store}/([^/]+)`, ({ request, params: [storeId = '', invoiceId = ''] }) => {
        this.authorize(request, storeId, POLICY.viewInvoices);
        return ok(this.inStore(invoiceId, storeId));
      }),
      api('POST', `${store}/([^/]+)/status`, async ({ request, params: [storeId = '', invoiceId = ''], body }) => {
        this.authorize(request, storeId, POLICY.modifyInvoices);
        this.inStore(invoiceId, storeId);
        return ok(this.book.markStatus(invoiceId, await requiredBody(body)));
      }),
      api('POST', `${store}/([^/]+)/refund`, async ({ request, params: [storeId = '', invoiceId = ''], body }) => {
        const permissions = this.authorize(request, storeId, POLICY.createNonApprovedPullPayments);
        this.inStore(invoiceId, storeId);
        return ok(this.book.refund(invoiceId, await requiredBody(body), grants(permissions, POLICY.createPullPayments, storeId)));
      }),
      // Greenfield, store resolved from the invoice.
      api('GET', '/api/v1/invoices/([^/]+)', ({ request, params: [invoiceId = ''] }) => {
        this.authorize(request, this.storeOf(request, invoiceId), POLICY.viewInvoices);
        return ok(this.inStore(invoiceId, this.storeId));
      }),
      api('POST', '/api/v1/invoices/([^/]+)/status', async ({ request, params: [invoiceId = ''], body }) => {
        this.authorize(request, this.storeOf(request, invoiceId), POLICY.modifyInvoices);
        return ok(this.book.markStatus(invoiceId, await requiredBody(body)));
      }),
      api('POST', '/api/v1/invoices/([^/]+)/refund', async ({ request, params: [invoiceId = ''], body }) => {
        const storeId = this.storeOf(request, invoiceId);
        const permissions = this.authorize(request, storeId, POLICY.createNonApprovedPullPayments);
        return ok(this.book.refund(invoiceId, await requiredBody(body), grants(permissions, POLICY.createPullPayments, storeId)));
      }),
      api('GET', '/api/v1/stores/([^/]+)/pull-payments', ({ request, params: [storeId = ''] }) => {
        this.authorize(request, storeId, POLICY.viewPullPayments);
        return ok(this.book.listPullPayments());
      }),
      api('GET', '/api/v1/pull-payments/([^/]+)', ({ params: [id = ''] }) => {
        const found = this.book.pullPayment(id);
        if (!found) throw new GreenfieldError(404, 'pullpayment-not-found', 'The pull payment was not found');
        return ok(found);
      }),
      api('GET', '/api/v1/health', () => ok({ synchronized: true })),

      // Pages behind the links the API hands out.
      control('GET', '/i/([^/]+)', ({ params: [invoiceId = ''] }) => {
        const invoice = this.book.get(invoiceId);
        if (!invoice)
          return { status: 404, text: page('Invoice not found', `No invoice ${invoiceId}.`), headers: { 'Content-Type': 'text/html; charset=utf-8' } };
        const detail = `${invoice.amount} ${invoice.currency} · ${invoice.status}${invoice.additionalStatus === 'None' ? '' : ` (${invoice.additionalStatus})`}`;
        return { status: 200, text: page(`Invoice ${invoice.id}`, detail), headers: { 'Content-Type': 'text/html; charset=utf-8' } };
      }),
      control('GET', '/pull-payments/([^/]+)', ({ params: [id = ''] }) => {
        const found = this.book.pullPayment(id);
        if (!found)
          return { status: 404, text: page('Pull payment not found', `No pull payment ${id}.`), headers: { 'Content-Type': 'text/html; charset=utf-8' } };
        return { status: 200, text: page(found.name, `${found.amount} ${found.currency} to claim`), headers: { 'Content-Type': 'text/html; charset=utf-8' } };
      }),

      // Sandbox controls.
      control('GET', '/sandbox/invoices', () => ok(this.book.all())),
      control('GET', '/sandbox/invoices/([^/]+)', ({ params: [invoiceId = ''] }) =>
        ok({ invoice: this.inStore(invoiceId, this.storeId), payments: this.book.payments(invoiceId) }),
      ),
      control('POST', '/sandbox/invoices/([^/]+)/pay', async ({ params: [invoiceId = ''], body }) => ok(this.book.pay(invoiceId, await body()))),
      control('POST', '/sandbox/invoices/([^/]+)/confirm', ({ params: [invoiceId = ''] }) => ok(this.book.confirm(invoiceId))),
      control('POST', '/sandbox/invoices/([^/]+)/expire', ({ params: [invoiceId = ''] }) => ok(this.book.expire(invoiceId))),
      control('POST', '/sandbox/invoices/([^/]+)/end-monitoring', ({ params: [invoiceId = ''] }) => ok(this.book.endMonitoring(invoiceId))),
      control('GET', '/sandbox/events', () => ok(this.events())),
      control('GET', '/sandbox/calls', () => ok(this.calls())),
      control('GET', '/sandbox/deliveries', () => ok(this.deliveries())),
      control('POST', '/sandbox/deliveries/([^/]+)/redeliver', ({ params: [deliveryId = ''] }) => {
        const redelivered = this.redeliver(deliveryId);
        if (!redelivered) throw sandboxError(404, 'delivery-not-found', `No delivery ${deliveryId}`);
        return ok({ deliveryId: redelivered });
      }),
      control('GET', '/sandbox/webhooks', () => ok(this.webhookSettings())),
      control('POST', '/sandbox/webhooks', async ({ body }) => {
        const settings = readModel(webhookSettingsSchema, (await body()) ?? {});
        if (settings.url !== undefined) this.setWebhookUrl(settings.url ?? undefined);
        if (settings.deliver !== undefined) this.setDelivering(settings.deliver);
        return ok(this.webhookSettings());
      }),
      control('GET', '/sandbox/faults', () => ok(this.faultSwitch.state())),
      control('POST', '/sandbox/faults', async ({ body }) => {
        const fault = readModel(faultRequestSchema, (await body()) ?? {});
        const kind = fault.kind ?? 'http500';
        return ok(fault.count !== undefined ? this.failNext(fault.count, kind) : this.failFor((fault.seconds as number) * 1000, kind));
      }),
      control('DELETE', '/sandbox/faults', () => {
        this.clearFaults();
        return noContent;
      }),
      control('POST', '/sandbox/reset', () => {
        this.reset();
        return noContent;
      }),
    ];
  }

  private webhookSettings(): { webhookId: string; url: string | null; deliver: boolean } {
    return { webhookId: this.webhooks.webhookId, url: this.webhooks.currentUrl ?? null, deliver: this.webhooks.delivering };
  }

  /** The invoice if it belongs to the store; 404 otherwise. */
  private inStore(invoiceId: string, storeId: string) {
    const invoice = this.book.get(invoiceId, storeId);
    if (!invoice) throw new GreenfieldError(404, 'invoice-not-found', 'The invoice was not found');
    return invoice;
  }

  /** For store-less routes: the invoice's store, after the caller proved to be someone (401 first, then 404). */
  private storeOf(request: http.IncomingMessage, invoiceId: string): string {
    this.keyOf(request);
    const storeId = this.book.storeOf(invoiceId);
    if (storeId === undefined) throw new GreenfieldError(404, 'invoice-not-found', 'The invoice was not found');
    return storeId;
  }

  /**
   * Authentication (401) then authorisation of `policy` on `storeId` (403); the key's permissions.
   * Every key belongs to the sandbox store's owner, so an unscoped permission still covers only that store.
   */
  private authorize(request: http.IncomingMessage, storeId: string, policy: string): readonly string[] {
    const permissions = this.keyOf(request);
    if (storeId !== this.storeId || !grants(permissions, policy, storeId)) throw missingPermission(policy);
    return permissions;
  }

  /** APIKeyExtensions.GetAPIKey: `token <key>` or `bearer <key>`, any case. */
  private keyOf(request: http.IncomingMessage): readonly string[] {
    const authorization = request.headers.authorization ?? '';
    const key = /^(token|bearer)\s+(\S+)/i.exec(authorization)?.[2];
    if (!key) throw unauthenticated();
    const permissions = this.keys.get(key);
    if (!permissions) throw unauthenticated('ApiKey authentication failed: Unknown API Key');
    return permissions;
  }
}

/** Whether `permissions` ("policy" or "policy:storeId") include `policy` on `storeId`, directly or through a broader one. */
function grants(permissions: readonly string[], policy: string, storeId: string): boolean {
  const held = permissions
    .map((permission) => {
      const [name = '', scope] = permission.split(':');
      return scope === undefined || scope === storeId ? name : undefined;
    })
    .filter((name): name is string => name !== undefined);
  const seen = new Set<string>();
  const stack = [...held];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (next === policy) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(POLICY_INCLUDES[next] ?? []));
  }
  return false;
}

/** The list query as BTCPay binds it: repeatable orderId and status, integer skip/take, unix startDate/endDate. */
function listQuery(query: URLSearchParams): ListQuery {
  const issues: Array<{ path: string; message: string }> = [];
  const integer = (name: string): number | undefined => {
    const value = query.get(name);
    if (value === null || value === '') return undefined;
    if (!/^\d+$/.test(value)) {
      issues.push({ path: name, message: `The value '${value}' is not valid for ${name}.` });
      return undefined;
    }
    return Number(value);
  };
  const result: ListQuery = {
    orderId: query.getAll('orderId'),
    status: query.getAll('status'),
    skip: integer('skip'),
    take: integer('take'),
    startDate: integer('startDate'),
    endDate: integer('endDate'),
  };
  if (issues.length > 0) throw new ValidationError(issues);
  return result;
}

/** A POST body BTCPay binds into a model: absent is refused like ASP.NET Core does. */
async function requiredBody(body: () => Promise<unknown>): Promise<unknown> {
  const value = await body();
  if (value === undefined) throw new ValidationError([{ path: '', message: 'A non-empty request body is required.' }]);
  return value;
}

class BodyError extends Error {
  constructor(readonly reply: Reply) {
    super(`HTTP ${reply.status}`);
  }
}

/** The JSON body, undefined when empty. Greenfield takes application/json only (415 otherwise). */
async function readJson(request: http.IncomingMessage, strictContentType: boolean): Promise<unknown> {
  const body = await readBody(request, MAX_BODY_BYTES);
  if (!body) throw new BodyError({ status: 413, text: '' });
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  const contentType = (request.headers['content-type'] ?? '').toLowerCase();
  if (strictContentType && !/^application\/([\w.+-]+\+)?json\b/.test(contentType)) throw new BodyError({ status: 415, text: '' });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError([{ path: '', message: `Invalid JSON: ${error instanceof Error ? error.message : String(error)}` }]);
  }
}

function errorReply(error: unknown): Reply {
  if (error instanceof GreenfieldError) return { status: error.status, body: error.body() };
  if (error instanceof ValidationError) return { status: 422, body: error.issues };
  if (error instanceof BodyError) return error.reply;
  // A sandbox bug: a 500 like an unhandled exception, and the cause on stderr.
  console.error('btcpay-sandbox: unexpected error', error);
  return { status: 500, text: '' };
}

function send(response: http.ServerResponse, reply: Reply, call?: ApiCall): void {
  if (response.destroyed || response.headersSent) return;
  if (call) call.status = reply.status;
  if (reply.text !== undefined) {
    response.writeHead(reply.status, { ...(reply.text ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}), ...reply.headers });
    response.end(reply.text);
    return;
  }
  response.writeHead(reply.status, { 'Content-Type': 'application/json; charset=utf-8', ...reply.headers });
  response.end(JSON.stringify(reply.body));
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string);

const page = (title: string, detail: string): string =>
  `<!doctype html>\n<html lang="en">\n<title>${escapeHtml(title)} · BTCPay sandbox</title>\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(detail)}</p>\n`;
