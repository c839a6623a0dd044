/**
 * Webhook delivery like `stripe listen --forward-to`: each event is POSTed as JSON with a
 * `Stripe-Signature` header, asynchronously, and retried on a non-2xx answer or a network error
 * after each of `delaysMs` in turn. An event has at most one attempt in flight; different events
 * are delivered independently (Stripe does not keep event order either).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { EventObject } from './objects';

export interface DeliveryRecord {
  eventId: string;
  type: string;
  attempts: number;
  lastStatus?: number;
  /** Why the last attempt failed when there was no HTTP status (refused, timed out, no URL). */
  lastError?: string;
  delivered: boolean;
}

interface Delivery {
  event: EventObject;
  record: DeliveryRecord;
  settled: boolean;
}

const ATTEMPT_TIMEOUT_MS = 10_000;

/** `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`, the scheme `stripe.webhooks.constructEvent` checks. */
export function signatureHeader(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

export class WebhookDispatcher {
  private readonly deliveriesById = new Map<string, Delivery>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly requests = new Set<http.ClientRequest>();
  private waiters: Array<() => void> = [];
  private unsettled = 0;
  private stopped = false;

  constructor(
    private readonly secret: string,
    private url: string | undefined,
    private readonly delaysMs: readonly number[],
  ) {}

  setUrl(url: string | undefined): void {
    this.url = url;
  }

  /** Queues delivery of a new event; with no URL configured the event is only stored. */
  enqueue(event: EventObject): void {
    if (this.stopped || this.url === undefined) return;
    const delivery: Delivery = { event, record: { eventId: event.id, type: event.type, attempts: 0, delivered: false }, settled: false };
    this.deliveriesById.set(event.id, delivery);
    this.unsettled += 1;
    event.pending_webhooks = 1;
    // Never inside the API request: the response goes out first.
    this.schedule(delivery, 0);
  }

  /** Resolves once every queued event is delivered or out of retries. */
  idle(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  deliveries(): DeliveryRecord[] {
    return [...this.deliveriesById.values()].map(({ record }) => ({ ...record }));
  }

  /** Cancels pending retries and in-flight attempts; what was not delivered stays undelivered. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const request of this.requests) request.destroy();
    this.requests.clear();
    for (const delivery of this.deliveriesById.values()) this.settle(delivery);
  }

  private schedule(delivery: Delivery, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(delivery);
    }, delayMs);
    this.timers.add(timer);
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { record, event } = delivery;
    record.attempts += 1;
    const url = this.url;
    let status: number | undefined;
    let error: string | undefined;
    if (url === undefined) {
      error = 'no webhook URL configured';
    } else {
      try {
        status = await this.post(url, event);
      } catch (caught) {
        error = caught instanceof Error ? caught.message : String(caught);
      }
    }
    if (this.stopped) return;
    // Only what the last attempt produced: a status, or the reason there was none.
    delete record.lastStatus;
    delete record.lastError;
    if (status !== undefined) record.lastStatus = status;
    if (error !== undefined) record.lastError = error;
    if (status !== undefined && status >= 200 && status < 300) {
      record.delivered = true;
      this.settle(delivery);
      return;
    }
    const delay = this.delaysMs[record.attempts - 1];
    if (delay === undefined) this.settle(delivery);
    else this.schedule(delivery, delay);
  }

  private settle(delivery: Delivery): void {
    if (delivery.settled) return;
    delivery.settled = true;
    delivery.event.pending_webhooks = 0;
    this.unsettled -= 1;
    if (this.unsettled === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** One attempt; resolves with the status once the answer is read, rejects on network errors. */
  private post(url: string, event: EventObject): Promise<number> {
    // Pretty-printed like Stripe's; the signature covers these exact bytes.
    const payload = JSON.stringify(event, null, 2);
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(target, {
        method: 'POST',
        // A fresh connection per attempt: nothing pooled keeps the process alive after stop().
        agent: false,
        timeout: ATTEMPT_TIMEOUT_MS,
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(payload),
          'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'Stripe-Signature': signatureHeader(payload, this.secret),
        },
      });
      this.requests.add(request);
      const done = (): void => {
        this.requests.delete(request);
      };
      request.on('timeout', () => request.destroy(new Error(`no answer within ${ATTEMPT_TIMEOUT_MS} ms`)));
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
      request.end(payload);
    });
  }
}
