/**
 * Helpers of the booking e2e and property tests: a runtime on free ports, a Stripe client on the
 * sandbox, a small HTTP client, queue peeking and the one step no endpoint offers yet (pick-up).
 */
import Long from 'long';
import Stripe from 'stripe';
import { expect } from 'vitest';
import { FREE_PORTS, LOCAL_SECRETS, type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../local/runtime';
import { BOOKINGS_TABLE } from '../../slices/bookings/slice';
import { consoleLogger } from '../../shared/adapters/telemetry/log';

import type { JobEnvelope } from '../../shared/platform/jobs';
import { PROBLEM_CONTENT_TYPE } from '../../shared/http/problem';

import { bookingBody } from './requests';

export { bookingBody, nextSlot, RecordingSender } from './requests';

// ---- runtime and clients

/**
 * The whole local runtime on free ports, quiet, with fast Stripe retries and limits tests do not hit.
 * No Driver-App (`DRIVER_APP_MANUAL`, its manual fallback) and no Odoo (`ODOO_SANDBOX=off`): nothing
 * consumes `driver-dispatch` or `odoo-sync`, so the booking tests see the jobs waiting there; the
 * Driver-App's and Odoo's own tests cover what happens next.
 */
export function startBookingRuntime(
  env: Record<string, string> = {},
  options: Pick<LocalRuntimeOptions, 'wrapSender' | 'btcpayRetryDelaysMs'> = {},
): Promise<LocalRuntime> {
  return startLocalRuntime({
    ports: FREE_PORTS,
    env: { RATE_LIMIT_PER_KEY: '100000', BOOKING_RATE_LIMIT_PER_IP: '100000', DRIVER_APP_MANUAL: 'true', ODOO_SANDBOX: 'off', ...env },
    timers: false,
    log: consoleLogger({ silent: true }),
    stripeRetryDelaysMs: [50, 100],
    btcpayRetryDelaysMs: [50, 100],
    ...options,
  });
}

/** The real stripe SDK on the runtime's sandbox: what the customer's app and the tests drive. */
export function stripeClient(runtime: LocalRuntime): Stripe {
  if (!runtime.stripe) throw new Error('the runtime runs no Stripe sandbox');
  return new Stripe(LOCAL_SECRETS.stripeSecretKey, { host: '127.0.0.1', port: runtime.stripe.port, protocol: 'http', maxNetworkRetries: 0 });
}

export interface ApiResponse {
  status: number;
  contentType: string;
  /** Parsed JSON (or the raw text); tests read whatever the API answered. */
  body: any;
}

/** One API call; `body` is sent as JSON unless it is a string (then as is, with `contentType`). */
export async function api(
  runtime: LocalRuntime,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; contentType?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${runtime.url}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text, the caller's assertions will say what was wrong
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: parsed };
}

/** Asserts an RFC 9457 problem response with this status. */
export function expectProblem(response: ApiResponse, status: number): void {
  expect({ status: response.status, contentType: response.contentType }).toEqual({ status, contentType: PROBLEM_CONTENT_TYPE });
  expect(response.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
}

export interface CreatedBooking {
  id: string;
  accessToken: string;
  priceCents: number;
  paymentIntentId: string;
  clientSecret: string;
  email: string;
}

/** Creates a booking over HTTP and checks the 201. */
export async function createBooking(runtime: LocalRuntime, overrides: Record<string, unknown> = {}): Promise<CreatedBooking> {
  const body = bookingBody(overrides);
  const response = await api(runtime, 'POST', '/v1/bookings', { body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return {
    id: response.body.id,
    accessToken: response.body.accessToken,
    priceCents: response.body.priceCents,
    paymentIntentId: response.body.payment.paymentIntentId,
    clientSecret: response.body.payment.clientSecret,
    email: (body.customer as { email: string }).email,
  };
}

/** Reads a booking with its token (200 expected). */
export async function getBooking(runtime: LocalRuntime, booking: Pick<CreatedBooking, 'id' | 'accessToken'>) {
  const response = await api(runtime, 'GET', `/v1/bookings/${booking.id}`, { token: booking.accessToken });
  expect(response.status).toBe(200);
  return response.body;
}

/** Reads a booking's history with its token (200 expected). */
export async function getHistory(runtime: LocalRuntime, booking: Pick<CreatedBooking, 'id' | 'accessToken'>) {
  const response = await api(runtime, 'GET', `/v1/bookings/${booking.id}/history`, { token: booking.accessToken });
  expect(response.status).toBe(200);
  return response.body.items as Array<{ from: string | null; to: string; at: string; cause: string }>;
}

// ---- Stripe events

/** The sandbox's events about one PaymentIntent, oldest first. */
export async function eventsOf(stripe: Stripe, paymentIntentId: string, type?: string): Promise<Stripe.Event[]> {
  const found: Stripe.Event[] = [];
  for await (const event of stripe.events.list({ limit: 100, ...(type ? { type } : {}) })) {
    const object = event.data.object as { id?: string; payment_intent?: string };
    if (object.id === paymentIntentId || object.payment_intent === paymentIntentId) found.push(event);
  }
  return found.reverse();
}

/** POSTs a payload to the Stripe webhook signed with `secret` (the app's by default). */
export function postWebhook(runtime: LocalRuntime, stripe: Stripe, payload: string, options: { secret?: string; timestamp?: number; body?: string } = {}) {
  const signature = stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? LOCAL_SECRETS.stripeWebhookSecret,
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  return api(runtime, 'POST', '/v1/webhooks/stripe', { body: options.body ?? payload, headers: { 'stripe-signature': signature } });
}

// ---- queues and storage

/** Every message waiting in a queue (peeked from the start: nothing is locked or taken), as job envelopes. */
export async function peekJobs(runtime: LocalRuntime, queue: string, subject?: string): Promise<JobEnvelope[]> {
  const receiver = runtime.composition.services.serviceBus.createReceiver(queue);
  try {
    const jobs: JobEnvelope[] = [];
    let from = Long.ZERO;
    for (;;) {
      const page = await receiver.peekMessages(100, { fromSequenceNumber: from });
      if (page.length === 0) break;
      jobs.push(...page.map((message) => message.body as JobEnvelope));
      from = Long.fromValue(page.at(-1)?.sequenceNumber ?? from).add(1);
    }
    return subject === undefined ? jobs : jobs.filter((job) => job.subject === subject);
  } finally {
    await receiver.close();
  }
}

/** The car is picked up: recorded through the admin's manual trip-status endpoint (no Driver-App in these tests). */
export async function moveToWorkshop(runtime: LocalRuntime, id: string): Promise<void> {
  const response = await fetch(`${runtime.url}/v1/bookings/${id}/trips/pickup/status`, {
    method: 'POST',
    headers: { authorization: `Bearer ${runtime.apiKeys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'pickup_completed' }),
  });
  expect(await response.json()).toEqual({ outcome: 'applied' });
}

/** Rows in the Bookings table (bookings, history, events, outbox). */
export async function countBookingRows(runtime: LocalRuntime): Promise<number> {
  let count = 0;
  for await (const _ of runtime.composition.services.tables.client(BOOKINGS_TABLE).listEntities({ queryOptions: { select: ['RowKey'] } })) count += 1;
  return count;
}

/** PaymentIntents in the sandbox. */
export async function countPaymentIntents(stripe: Stripe, filter: (intent: Stripe.PaymentIntent) => boolean = () => true): Promise<number> {
  let count = 0;
  for await (const intent of stripe.paymentIntents.list({ limit: 100 })) if (filter(intent)) count += 1;
  return count;
}
