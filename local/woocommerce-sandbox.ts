/**
 * WooCommerce sandbox: a local HTTP server playing a WooCommerce shop — the part of the REST API v3
 * Order Hub uses and the shop's signed webhooks — so the app's WooCommerce client and webhook
 * endpoint run unchanged against it (`WOOCOMMERCE_URL` = `url`).
 *
 * REST API v3 (HTTP basic auth with the consumer key and secret, or `consumer_key` / `consumer_secret`
 * in the query; errors `{code, message, data: {status}}`: 401 `woocommerce_rest_cannot_view` /
 * `woocommerce_rest_authentication_error`, 404 `woocommerce_rest_shop_order_invalid_id`, 400 `rest_invalid_param`):
 * - `GET /wp-json/wc/v3/orders/{id}`, `PUT|POST /wp-json/wc/v3/orders/{id}` `{status}` (a status
 *   change adds WooCommerce's own note and fires `order.updated`);
 * - `GET|POST /wp-json/wc/v3/orders/{id}/notes` (newest first; `{note, customer_note}`);
 * - `POST /wp-json/wc/v3/orders/{id}/refunds` `{amount, reason, api_refund}` (everything refunded →
 *   the order becomes `refunded`, as WooCommerce does).
 *
 * Sandbox controls (no key; they play the shop's customer and staff):
 * - `POST /sandbox/orders` a checkout: stores the order (`pending`) and delivers `order.created`;
 *   answers 201 with the order. `POST /sandbox/orders/{id}/cancel` the shop's staff cancel it
 *   (`order.updated`).
 * - `POST /sandbox/webhooks/ping` sends the unsigned ping WooCommerce sends when a webhook is saved.
 * - `GET /sandbox/deliveries` every webhook delivery with the app's answer;
 *   `POST /sandbox/deliveries/{deliveryId}/redeliver` sends one again, byte for byte (same delivery id).
 * - `GET|POST|DELETE /sandbox/faults` `{"count": n} | {"seconds": s}`, `"kind"?: "http500" | "unavailable" | "timeout"`:
 *   the REST API fails (500 with WordPress's critical-error body, 503 with `Retry-After`, or no answer).
 * - `GET /sandbox/calls` every REST call with its answer.
 *
 * Webhooks are signed as WooCommerce signs them: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of
 * the body with the webhook's secret; headers `X-WC-Webhook-Source`, `-Topic`, `-Resource`, `-Event`,
 * `-ID`, `-Delivery-ID`. It imports no production code.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ZodType } from 'zod';
import { FaultSwitch } from './fault-switch';
import { readBody } from './http-body';
import { baseUrl, closeServer, listen } from './listen';
import { newNoteSchema, newOrderSchema, newRefundSchema, OrderBook, type OrderStatus, updateOrderSchema, WooError } from './woocommerce-sandbox/orders';

/** Default port (`WOOCOMMERCE_SANDBOX_PORT`). */
/** Bodies over this are refused with 413, as a web server in front of WordPress would. */
const MAX_BODY_BYTES = 1024 * 1024;

export const DEFAULT_WOOCOMMERCE_SANDBOX_PORT = 8088;
/** Local credentials (WooCommerce's key shapes), used by both sides unless the environment gives others. */
export const DEFAULT_WOOCOMMERCE_CONSUMER_KEY = 'ck_sandbox_local_0000000000000000000000000000';
export const DEFAULT_WOOCOMMERCE_CONSUMER_SECRET = 'cs_sandbox_local_0000000000000000000000000000';
export const DEFAULT_WOOCOMMERCE_WEBHOOK_SECRET = 'woocommerce_sandbox_local_webhook_secret';

export const FAULT_KINDS = ['http500', 'unavailable', 'timeout'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface WooCommerceSandboxOptions {
  /** TCP port; 0 picks a free one. Default 8088. */
  port?: number;
  host?: string;
  consumerKey?: string;
  consumerSecret?: string;
  /** The webhooks' secret (`X-WC-Webhook-Signature`). */
  webhookSecret?: string;
  /** Where the shop's webhooks go; unset = none sent. */
  webhookUrl?: string;
}

/** One webhook delivery and the app's answer. */
export interface WebhookDelivery {
  deliveryId: string;
  topic: string;
  orderId?: number;
  headers: Record<string, string>;
  body: string;
  status: number | null;
  response: string;
  at: string;
}

/** One REST call as the sandbox saw it. */
export interface RestCall {
  method: string;
  path: string;
  at: string;
  status: number | null;
  fault?: FaultKind;
}

const WEBHOOK_ID = 1;

export class WooCommerceSandbox {
  private readonly book = new OrderBook();
  private readonly deliveries: WebhookDelivery[] = [];
  private readonly calls: RestCall[] = [];
  private readonly held = new Set<http.ServerResponse>();
  private readonly pending = new Set<Promise<unknown>>();
  private webhookUrl: string | undefined;
  private readonly faults = new FaultSwitch<FaultKind>('http500');
  readonly consumerKey: string;
  readonly consumerSecret: string;
  readonly webhookSecret: string;

  private constructor(
    private readonly server: http.Server,
    private readonly host: string,
    options: WooCommerceSandboxOptions,
  ) {
    this.consumerKey = options.consumerKey ?? DEFAULT_WOOCOMMERCE_CONSUMER_KEY;
    this.consumerSecret = options.consumerSecret ?? DEFAULT_WOOCOMMERCE_CONSUMER_SECRET;
    this.webhookSecret = options.webhookSecret ?? DEFAULT_WOOCOMMERCE_WEBHOOK_SECRET;
    this.webhookUrl = options.webhookUrl;
    server.on('request', (request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.reply(response, 500, { code: 'internal_server_error', message: String(error), data: { status: 500 } });
      });
    });
  }

  static async start(options: WooCommerceSandboxOptions = {}): Promise<WooCommerceSandbox> {
    if (options.webhookSecret === '') throw new Error('WooCommerceSandbox: webhookSecret must not be empty');
    const server = http.createServer();
    const host = options.host ?? '127.0.0.1';
    const sandbox = new WooCommerceSandbox(server, host, options);
    await listen(server, options.port ?? DEFAULT_WOOCOMMERCE_SANDBOX_PORT, host);
    return sandbox;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The shop's base URL (`WOOCOMMERCE_URL`). */
  get url(): string {
    return baseUrl(this.host, this.port);
  }

  /** Where the shop's webhooks go (the app's endpoint), as set in WooCommerce → Settings → Advanced → Webhooks. */
  setWebhookUrl(url: string | undefined): void {
    this.webhookUrl = url;
  }

  /** A customer checks out: the order is stored and `order.created` delivered (in the background, as WooCommerce does). */
  checkout(input: unknown): Record<string, unknown> {
    const parsed = newOrderSchema.safeParse(input);
    if (!parsed.success)
      throw new WooError(400, 'rest_invalid_param', `Invalid parameter(s): ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
    const order = this.book.create(parsed.data);
    this.deliver('order.created', order.id as number);
    return order;
  }

  order(id: number): Record<string, unknown> {
    return this.book.view(id);
  }

  notes(id: number) {
    return this.book.notes(id);
  }

  /** Every webhook delivery so far, oldest first. */
  webhookDeliveries(): WebhookDelivery[] {
    return structuredClone(this.deliveries);
  }

  restCalls(): RestCall[] {
    return structuredClone(this.calls);
  }

  /** Sends a delivery again, byte for byte (WooCommerce's "resend" of a logged delivery). */
  redeliver(deliveryId: string): Promise<WebhookDelivery> {
    const original = this.deliveries.find((delivery) => delivery.deliveryId === deliveryId);
    if (!original) throw new WooError(404, 'sandbox_delivery_not_found', 'No such delivery.');
    return this.track(this.post({ ...original, status: null, response: '', at: new Date().toISOString() }));
  }

  /** The unsigned ping WooCommerce sends when a webhook is saved. */
  ping(): Promise<WebhookDelivery> {
    const body = `webhook_id=${WEBHOOK_ID}`;
    return this.track(
      this.post({
        deliveryId: '',
        topic: 'ping',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)' },
        body,
        status: null,
        response: '',
        at: new Date().toISOString(),
      }),
    );
  }

  /** The next `count` REST calls fail. */
  failNext(count: number, kind: FaultKind = 'http500'): void {
    this.faults.failNext(count, kind);
  }

  /** Every REST call fails for `ms`. */
  failFor(ms: number, kind: FaultKind = 'http500'): void {
    this.faults.failFor(ms, kind);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Resolves once every webhook delivery under way has been answered. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async stop(): Promise<void> {
    for (const response of this.held) response.destroy();
    this.held.clear();
    await closeServer(this.server);
  }

  // --- webhooks --------------------------------------------------------------------------------

  private deliver(topic: 'order.created' | 'order.updated', orderId: number): void {
    const body = JSON.stringify(this.book.view(orderId));
    const [resource, event] = topic.split('.') as [string, string];
    const deliveryId = randomBytes(16).toString('hex');
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)',
      'x-wc-webhook-source': `${this.url}/`,
      'x-wc-webhook-topic': topic,
      'x-wc-webhook-resource': resource,
      'x-wc-webhook-event': event,
      'x-wc-webhook-signature': createHmac('sha256', this.webhookSecret).update(body).digest('base64'),
      'x-wc-webhook-id': String(WEBHOOK_ID),
      'x-wc-webhook-delivery-id': deliveryId,
    };
    this.track(this.post({ deliveryId, topic, orderId, headers, body, status: null, response: '', at: new Date().toISOString() }));
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  private async post(delivery: WebhookDelivery): Promise<WebhookDelivery> {
    if (!this.webhookUrl) return delivery;
    this.deliveries.push(delivery);
    try {
      const response = await fetch(this.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(10_000) });
      delivery.status = response.status;
      delivery.response = (await response.text()).slice(0, 500);
    } catch (error) {
      delivery.response = error instanceof Error ? error.message : String(error);
    }
    return delivery;
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = request.method ?? 'GET';
    const body = async (): Promise<unknown> => {
      const raw = await readBody(request, MAX_BODY_BYTES);
      if (!raw) throw new WooError(413, 'rest_payload_too_large', 'The request body is larger than the sandbox takes (1 MiB).');
      const text = raw.toString('utf8');
      if (!text) return {};
      try {
        return JSON.parse(text);
      } catch {
        throw new WooError(400, 'rest_invalid_json', 'Invalid JSON body passed.');
      }
    };
    try {
      if (path.startsWith('/wp-json/wc/v3/')) return await this.rest(method, path.slice('/wp-json/wc/v3'.length), url, request, response, body);
      if (path.startsWith('/sandbox/')) return await this.control(method, path, response, body);
      throw new WooError(404, 'rest_no_route', 'No route was found matching the URL and request method.');
    } catch (error) {
      if (error instanceof WooError) return this.reply(response, error.status, error.body());
      throw error;
    }
  }

  private async rest(
    method: string,
    path: string,
    url: URL,
    request: http.IncomingMessage,
    response: http.ServerResponse,
    body: () => Promise<unknown>,
  ): Promise<void> {
    const call: RestCall = { method, path: `/wp-json/wc/v3${path}`, at: new Date().toISOString(), status: null };
    this.calls.push(call);
    const fault = this.faults.take();
    if (fault) {
      call.fault = fault;
      if (fault === 'timeout') {
        // Never answered; the client's timeout decides. stop() drops it.
        this.held.add(response);
        response.on('close', () => this.held.delete(response));
        return;
      }
      call.status = fault === 'http500' ? 500 : 503;
      if (fault === 'http500') {
        return this.reply(response, 500, {
          code: 'internal_server_error',
          message: '<p>There has been a critical error on this website.</p>',
          data: { status: 500 },
        });
      }
      response.writeHead(503, { 'content-type': 'text/html', 'retry-after': '1' });
      response.end('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
      return;
    }
    const answer = (status: number, json: unknown) => {
      call.status = status;
      this.reply(response, status, json);
    };
    try {
      this.authenticate(request, url);
      const orderMatch = /^\/orders\/(\d+)(\/notes|\/refunds)?$/.exec(path);
      if (!orderMatch) throw new WooError(404, 'rest_no_route', 'No route was found matching the URL and request method.');
      const id = Number(orderMatch[1]);
      const sub = orderMatch[2];
      if (!sub && method === 'GET') return answer(200, this.book.view(id));
      if (!sub && (method === 'PUT' || method === 'POST' || method === 'PATCH')) {
        const update = parse(updateOrderSchema, await body());
        this.book.view(id);
        if (update.status && this.book.setStatus(id, update.status as OrderStatus)) this.deliver('order.updated', id);
        return answer(200, this.book.view(id));
      }
      if (sub === '/notes' && method === 'GET') return answer(200, this.book.notes(id));
      if (sub === '/notes' && method === 'POST') {
        this.book.view(id);
        return answer(201, this.book.addNote(id, parse(newNoteSchema, await body())));
      }
      if (sub === '/refunds' && method === 'POST') {
        const input = parse(newRefundSchema, await body());
        const { refund, fullyRefunded } = this.book.refund(id, input);
        if (fullyRefunded) this.deliver('order.updated', id);
        return answer(201, refund);
      }
      throw new WooError(404, 'rest_no_route', 'No route was found matching the URL and request method.');
    } catch (error) {
      if (error instanceof WooError) return answer(error.status, error.body());
      throw error;
    }
  }

  private async control(method: string, path: string, response: http.ServerResponse, body: () => Promise<unknown>): Promise<void> {
    if (method === 'POST' && path === '/sandbox/orders') return this.reply(response, 201, this.checkout(await body()));
    const cancel = /^\/sandbox\/orders\/(\d+)\/cancel$/.exec(path);
    if (method === 'POST' && cancel) {
      const id = Number(cancel[1]);
      if (this.book.setStatus(id, 'cancelled')) this.deliver('order.updated', id);
      return this.reply(response, 200, this.book.view(id));
    }
    if (method === 'POST' && path === '/sandbox/webhooks/ping') return this.reply(response, 200, await this.ping());
    if (method === 'GET' && path === '/sandbox/deliveries') return this.reply(response, 200, { items: this.webhookDeliveries() });
    const redeliver = /^\/sandbox\/deliveries\/([^/]+)\/redeliver$/.exec(path);
    if (method === 'POST' && redeliver) return this.reply(response, 200, await this.redeliver(decodeURIComponent(redeliver[1] as string)));
    if (method === 'GET' && path === '/sandbox/calls') return this.reply(response, 200, { items: this.restCalls() });
    if (path === '/sandbox/faults') {
      if (method === 'DELETE') {
        this.faults.clear();
        return this.reply(response, 200, this.faults.state());
      }
      if (method === 'POST') {
        const armed = this.faults.arm(await body(), FAULT_KINDS);
        if (!armed.ok) throw new WooError(400, 'sandbox_invalid_fault', armed.message);
        return this.reply(response, 200, armed.state);
      }
      if (method === 'GET') return this.reply(response, 200, this.faults.state());
    }
    throw new WooError(404, 'rest_no_route', 'No route was found matching the URL and request method.');
  }

  /** Basic auth (or the query parameters WooCommerce also takes over HTTPS). */
  private authenticate(request: http.IncomingMessage, url: URL): void {
    const header = request.headers.authorization;
    let key = url.searchParams.get('consumer_key') ?? undefined;
    let secret = url.searchParams.get('consumer_secret') ?? undefined;
    if (header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      key = decoded.slice(0, colon);
      secret = decoded.slice(colon + 1);
    }
    if (!key) throw new WooError(401, 'woocommerce_rest_cannot_view', 'Sorry, you cannot list resources.');
    if (key !== this.consumerKey) throw new WooError(401, 'woocommerce_rest_authentication_error', 'Consumer key is invalid.');
    if (secret !== this.consumerSecret) throw new WooError(401, 'woocommerce_rest_authentication_error', 'Consumer secret is invalid.');
  }

  private reply(response: http.ServerResponse, status: number, json: unknown): void {
    const text = JSON.stringify(json);
    response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }
}

function parse<T>(schema: ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new WooError(400, 'rest_invalid_param', `Invalid parameter(s): ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  return parsed.data;
}
