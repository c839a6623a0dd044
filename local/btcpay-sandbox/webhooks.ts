/**
 * Webhook delivery as BTCPay's WebhookSender does it, for the sandbox store's one webhook:
 * - the body is the event serialised as indented JSON (camelCase; the event type's own fields
 *   first, then deliveryId, webhookId, originalDeliveryId, isRedelivery, type, timestamp, storeId,
 *   invoiceId, metadata), signed `BTCPay-Sig: sha256=<hex HMAC-SHA256 of the body bytes>`;
 * - events are delivered one at a time in the order they happened (a MultiProcessingQueue per
 *   webhook), so an event waiting for a retry holds back the ones after it;
 * - a failed attempt (5xx, 408, 429, or no answer) is retried after 10 s, 1 min and then 10 min six
 *   times; each retry is a redelivery: a new deliveryId, `originalDeliveryId` of the first delivery,
 *   `isRedelivery: true`, the same timestamp. Any other status (2xx, 3xx, other 4xx) ends it;
 * - an undeliverable webhook (delivery switched off, no URL) drops what is queued or waiting to be
 *   retried, as BTCPay drops deliveries of a disabled or deleted webhook.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { InvoiceEventType } from './contract';
import { randomId } from './ids';
import type { InvoiceEvent } from './invoices';

/** BTCPay's waits before each automatic redelivery (WebhookSender.Process). */
export const BTCPAY_RETRY_DELAYS_MS: readonly number[] = [10_000, 60_000, 600_000, 600_000, 600_000, 600_000, 600_000, 600_000];
/** HttpClient's default timeout, which BTCPay's webhook clients keep. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 100_000;
const USER_AGENT = 'BTCPayServer/2.0 (sandbox)';

/** One HTTP attempt: a delivery, in BTCPay's words. */
export interface DeliveryRecord {
  deliveryId: string;
  originalDeliveryId: string;
  isRedelivery: boolean;
  webhookId: string;
  /** The event type. */
  event: InvoiceEventType;
  invoiceId: string;
  /** 1 for the first attempt of a chain, 2… for the automatic redeliveries after it. */
  attempt: number;
  /** The wait scheduled before this attempt (0 for the first). */
  delayMs: number;
  /** When it was sent (ISO 8601). */
  time: string;
  url: string;
  /** The receiver's HTTP status; null when there was none (refused, timed out). */
  statusCode: number | null;
  /** WebhookDeliveryStatus. */
  status: 'HttpSuccess' | 'HttpError' | 'Failed';
  error?: string;
}

/** An event as the store produced it, and what became of its delivery. */
export interface EventRecord {
  type: InvoiceEventType;
  invoiceId: string;
  /** Unix seconds. */
  timestamp: number;
  /** The deliveryId of its first delivery; null if it was never queued. */
  originalDeliveryId: string | null;
  state: 'not-sent' | 'queued' | 'delivered' | 'failed' | 'dropped';
  /** Why it was not sent or was dropped. */
  reason?: string;
  /** The body of its first delivery (or the event alone when it was not sent). */
  body: Record<string, unknown>;
}

interface Job {
  record: EventRecord;
  payload: Record<string, unknown>;
}

interface Sleep {
  timer: NodeJS.Timeout;
  wake: (completed: boolean) => void;
}

export interface WebhookSenderOptions {
  secret: string;
  url?: string;
  webhookId: string;
  delaysMs: readonly number[];
  attemptTimeoutMs: number;
  /** Event types the webhook subscribes to ("everything" by default). */
  subscribed: (type: InvoiceEventType) => boolean;
}

/** `sha256=<lower-case hex HMAC-SHA256 of the body bytes, keyed with the secret's UTF-8 bytes>`. */
export function signatureHeader(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')}`;
}

export class WebhookSender {
  private url: string | undefined;
  private deliver = true;
  private readonly queue: Job[] = [];
  private running = false;
  private stopped = false;
  private readonly eventLog: EventRecord[] = [];
  private readonly deliveryLog: DeliveryRecord[] = [];
  /** The exact payload of every delivery, for redelivery. */
  private readonly payloads = new Map<string, { payload: Record<string, unknown>; record: EventRecord }>();
  private readonly sleeps = new Set<Sleep>();
  private readonly requests = new Set<http.ClientRequest>();
  private waiters: Array<() => void> = [];

  constructor(private readonly options: WebhookSenderOptions) {
    this.url = options.url;
  }

  get webhookId(): string {
    return this.options.webhookId;
  }

  get currentUrl(): string | undefined {
    return this.url;
  }

  get delivering(): boolean {
    return this.deliver;
  }

  /** Later attempts go there; undefined = no webhook: nothing is sent, pending deliveries are dropped. */
  setUrl(url: string | undefined): void {
    this.url = url;
    if (url === undefined) this.dropPending('no webhook URL');
  }

  /** false = the webhook is disabled: events are lost, pending deliveries and retries dropped. */
  setDelivering(deliver: boolean): void {
    this.deliver = deliver;
    if (!deliver) this.dropPending('delivery switched off');
  }

  /** A new event of the store: queued behind the others when the webhook takes it. */
  publish(event: InvoiceEvent): void {
    const timestamp = Math.floor(Date.now() / 1000);
    const skip = this.stopped ? 'sandbox stopped' : this.whyNot(event.type);
    if (skip) {
      const body = { ...event.fields, type: event.type, timestamp, storeId: event.storeId, invoiceId: event.invoiceId, metadata: event.metadata };
      this.eventLog.push({ type: event.type, invoiceId: event.invoiceId, timestamp, originalDeliveryId: null, state: 'not-sent', reason: skip, body });
      return;
    }
    const deliveryId = randomId(16);
    const payload: Record<string, unknown> = {
      ...event.fields,
      deliveryId,
      webhookId: this.options.webhookId,
      originalDeliveryId: deliveryId,
      isRedelivery: false,
      type: event.type,
      timestamp,
      storeId: event.storeId,
      invoiceId: event.invoiceId,
      metadata: event.metadata,
    };
    const record: EventRecord = { type: event.type, invoiceId: event.invoiceId, timestamp, originalDeliveryId: deliveryId, state: 'queued', body: payload };
    this.eventLog.push(record);
    this.enqueue({ record, payload });
  }

  /** Delivers a past delivery again, as BTCPay's "Redeliver" does; the new deliveryId, or undefined if unknown. */
  redeliver(deliveryId: string): string | undefined {
    const past = this.payloads.get(deliveryId);
    if (!past || this.stopped) return undefined;
    const payload = redelivery(past.payload, deliveryId);
    past.record.state = 'queued';
    delete past.record.reason;
    this.enqueue({ record: past.record, payload });
    return payload.deliveryId as string;
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  deliveries(): DeliveryRecord[] {
    return this.deliveryLog.map((record) => ({ ...record }));
  }

  events(): EventRecord[] {
    return this.eventLog.map((record) => structuredClone(record));
  }

  /** Forgets events and deliveries; drops what is pending. */
  reset(): void {
    this.dropPending('sandbox reset');
    this.eventLog.length = 0;
    this.deliveryLog.length = 0;
    this.payloads.clear();
  }

  /** Cancels retries and in-flight attempts; leaves no handle behind. */
  stop(): void {
    this.stopped = true;
    this.dropPending('sandbox stopped');
    for (const request of this.requests) request.destroy();
    this.requests.clear();
  }

  // --- the queue --------------------------------------------------------------------------------

  private enqueue(job: Job): void {
    this.queue.push(job);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // Never inside the API call that caused the event: its answer goes out first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (let job = this.queue.shift(); job; job = this.queue.shift()) await this.process(job);
    } finally {
      this.running = false;
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** WebhookSender.Process: one delivery, then the redeliveries while the answer says retry. */
  private async process(job: Job): Promise<void> {
    const { record } = job;
    const firstId = job.payload.deliveryId as string;
    let payload = job.payload;
    const skip = this.whyNot(record.type);
    if (skip) return this.drop(record, skip);
    let retry = await this.attempt(record, payload, 1, 0);
    for (let index = 0; retry && index < this.options.delaysMs.length; index++) {
      const delayMs = this.options.delaysMs[index] as number;
      // Switched off while the attempt was in flight: no wait for a retry that would be dropped anyway.
      const before = this.whyNot(record.type);
      if (before) return this.drop(record, before);
      if (!(await this.sleep(delayMs))) return this.drop(record, this.whyNot(record.type) ?? 'sandbox reset');
      const reason = this.whyNot(record.type);
      if (reason) return this.drop(record, reason);
      payload = redelivery(job.payload, firstId);
      retry = await this.attempt(record, payload, index + 2, delayMs);
    }
    if (this.stopped) return this.drop(record, 'sandbox stopped');
    // Still asking for a retry after the last one: BTCPay gives up.
    if (retry) record.state = 'failed';
  }

  /** One POST; records it; says whether BTCPay would retry. */
  private async attempt(record: EventRecord, payload: Record<string, unknown>, attempt: number, delayMs: number): Promise<boolean> {
    const url = this.url as string;
    const body = JSON.stringify(payload, null, 2);
    const time = new Date().toISOString();
    let statusCode: number | null = null;
    let error: string | undefined;
    try {
      statusCode = await this.post(url, body);
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    if (this.stopped) return false;
    const success = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const delivery: DeliveryRecord = {
      deliveryId: payload.deliveryId as string,
      originalDeliveryId: payload.originalDeliveryId as string,
      isRedelivery: payload.isRedelivery as boolean,
      webhookId: this.options.webhookId,
      event: record.type,
      invoiceId: record.invoiceId,
      attempt,
      delayMs,
      time,
      url,
      statusCode,
      status: statusCode === null ? 'Failed' : success ? 'HttpSuccess' : 'HttpError',
    };
    if (error !== undefined) delivery.error = error;
    else if (!success) delivery.error = `HTTP Error Code ${statusCode}`;
    this.deliveryLog.push(delivery);
    this.payloads.set(delivery.deliveryId, { payload, record });
    if (success) {
      record.state = 'delivered';
      return false;
    }
    const retry = statusCode === null || statusCode === 408 || statusCode === 429 || (statusCode >= 500 && statusCode <= 599);
    if (!retry) record.state = 'failed';
    return retry;
  }

  private post(url: string, body: string): Promise<number> {
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const bytes = Buffer.from(body, 'utf8');
    return new Promise((resolve, reject) => {
      const request = transport.request(target, {
        method: 'POST',
        // A fresh connection per attempt: nothing pooled keeps the process alive after stop().
        agent: false,
        timeout: this.options.attemptTimeoutMs,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': bytes.length,
          'User-Agent': USER_AGENT,
          'BTCPay-Sig': signatureHeader(bytes, this.options.secret),
        },
      });
      this.requests.add(request);
      const done = (): boolean => this.requests.delete(request);
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.options.attemptTimeoutMs} ms`)));
      request.on('error', (error) => {
        done();
        reject(error);
      });
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => {
          done();
          resolve(response.statusCode ?? 0);
        });
        response.on('error', (error) => {
          done();
          reject(error);
        });
      });
      request.end(bytes);
    });
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** Why the webhook would not take this event now (WebhookBlob.ShouldDeliver), or undefined. */
  private whyNot(type: InvoiceEventType): string | undefined {
    if (this.stopped) return 'sandbox stopped';
    if (this.url === undefined) return 'no webhook URL';
    if (!this.deliver) return 'delivery switched off';
    if (!this.options.subscribed(type)) return 'event type not subscribed';
    return undefined;
  }

  private drop(record: EventRecord, reason: string): void {
    record.state = 'dropped';
    record.reason = reason;
  }

  /** Empties the queue and wakes every retry wait (which then drops its event). */
  private dropPending(reason: string): void {
    for (const job of this.queue.splice(0)) this.drop(job.record, reason);
    for (const sleep of this.sleeps) {
      clearTimeout(sleep.timer);
      sleep.wake(false);
    }
    this.sleeps.clear();
  }

  /** Resolves true after `ms`, false if cancelled first. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const sleep: Sleep = {
        wake: resolve,
        timer: setTimeout(() => {
          this.sleeps.delete(sleep);
          resolve(true);
        }, ms),
      };
      this.sleeps.add(sleep);
    });
  }
}

/** CreateRedeliveryRequest: the same event under a new deliveryId, pointing at the first delivery. */
function redelivery(payload: Record<string, unknown>, fromDeliveryId: string): Record<string, unknown> {
  return {
    ...payload,
    deliveryId: randomId(16),
    originalDeliveryId: (payload.originalDeliveryId as string | undefined) ?? fromDeliveryId,
    isRedelivery: true,
  };
}
