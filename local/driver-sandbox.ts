/**
 * Driver-App sandbox: a local HTTP server standing in for the jockey app.
 *
 * - `POST /trips` takes a trip as the real app does: signature checked over the raw body,
 *   de-duplicated by `Idempotency-Key`, answered 201 `{ tripId }` (200 with the same id for a repeat).
 * - `GET /trips` lists every trip received, rejected ones included; `GET /trips/{tripId}` one of them.
 *   With `?bookingId=…` and/or `?type=…` (or `?idempotencyKey=…`) it answers as the Driver-App's
 *   read of the trips it holds: the accepted trips that match, `{ items: [{ tripId, bookingId, type,
 *   idempotencyKey, … }] }` — what Order Hub reads to resolve a conflicting reuse of a key.
 * - `POST /trips/{tripId}/status` `{ "status": "assigned" }` plays the driver: a signed status update
 *   goes to the app's webhook and the answer says whether it was taken. A withdrawn trip takes none
 *   (409, nothing sent).
 * - `POST /trips` with `{ "type": "b2c_cancel", "tripId", "bookingId" }` withdraws a trip it holds, as
 *   the real app does when Order Hub cancels a booking: signature checked, de-duplicated by
 *   `Idempotency-Key`, answered 200 `{ tripId, cancelled: true }`. The trip then shows
 *   `"cancelled": true` in `GET /trips`; `GET /cancellations` lists every withdrawal received (with
 *   `signatureValid` and whether it `applied`, i.e. withdrew the trip — repeats do not).
 * - `GET|POST|DELETE /sandbox/faults` `{"count": n} | {"seconds": s}`, `"kind"?`: submissions (trips
 *   and withdrawals) fail before anything is recorded — `unavailable` (503, the default), `http500`,
 *   `rate_limited` (429 with `Retry-After: 1`) or `timeout` (no answer until the client gives up).
 * Optional body fields of the status call (`reason`, `driver`, `occurredAt`, `sequence`) let a test
 * send a failed trip, or repeat / reorder updates to exercise duplicate and stale handling.
 *
 * It signs and verifies with its own few lines of `node:crypto`, not the app's adapter, so a bug in
 * the adapter's signing cannot be mirrored here and pass unnoticed. For the same reason it validates
 * with its own copy of the wire contract (`./driver-sandbox/contract`), not the app's schemas.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { cancelSchema, DRIVER_STATUSES, driverSchema, statusUpdateSchema, tripSchema, type StatusUpdate } from './driver-sandbox/contract';
import { FaultSwitch } from './fault-switch';
import { header, parseJsonOrText, readBody as readLimitedBody } from './http-body';
import { baseUrl, closeServer, listen } from './listen';

/** How an armed fault (`/sandbox/faults`) fails a submission. */
export const DRIVER_FAULT_KINDS = ['unavailable', 'http500', 'rate_limited', 'timeout'] as const;
export type DriverFaultKind = (typeof DRIVER_FAULT_KINDS)[number];

/** Default port of the sandbox (`DRIVER_SANDBOX_PORT`). */
export const DEFAULT_DRIVER_SANDBOX_PORT = 7072;

/** Options of `DriverSandbox.start`. */
export interface DriverSandboxOptions {
  /** Default 7072; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Shared with the app (`DRIVER_APP_SECRET`): verifies trips, signs status updates. */
  secret: string;
  /** The app's `/api/v1/webhooks/driver-app`; status calls answer 409 until one is set. */
  statusWebhookUrl?: string;
}

/** A status update the sandbox sent, with how the app's webhook answered it. */
export interface SentStatus {
  update: StatusUpdate;
  delivered: boolean;
  /** The webhook's HTTP status; null when it could not be reached. */
  responseStatus: number | null;
}

/** A trip as the sandbox received it. */
export interface ReceivedTrip {
  tripId: string;
  /** From the payload; null when the payload did not carry a usable one. */
  type: string | null;
  bookingId: string | null;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  payload: unknown;
  signatureValid: boolean;
  receivedAt: string;
  idempotencyKey: string | null;
  /** What the sandbox answered: 201 taken, 401 bad signature, 422 not a valid trip. */
  responseStatus: number;
  statuses: SentStatus[];
  /** Withdrawn by Order Hub (a `b2c_cancel`): it takes no more status updates. */
  cancelled: boolean;
  cancelledAt: string | null;
}

/** A `b2c_cancel` as the sandbox received it. */
export interface ReceivedCancellation {
  /** From the payload; null when it did not carry a usable one. */
  tripId: string | null;
  bookingId: string | null;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  payload: unknown;
  signatureValid: boolean;
  receivedAt: string;
  idempotencyKey: string | null;
  /** 200 withdrawn (or already), 401 bad signature, 404 no such trip, 422 not a valid withdrawal or a reused key. */
  responseStatus: number;
  /** Whether this message withdrew the trip; a repeat (same key, or the trip already withdrawn) did not. */
  applied: boolean;
}

/** The answer of `POST /trips/{tripId}/status` and `sendStatus`. */
export interface StatusDelivery {
  delivered: boolean;
  /** Our webhook's HTTP status; null when unreachable. */
  status: number | null;
  update: StatusUpdate;
  /** Transport error, when there was no HTTP answer. */
  error?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DELIVERY_TIMEOUT_MS = 10_000;

const statusRequestSchema = z.object({
  status: z.enum(DRIVER_STATUSES),
  reason: statusUpdateSchema.shape.reason,
  driver: driverSchema.optional(),
  occurredAt: statusUpdateSchema.shape.occurredAt.optional(),
  sequence: statusUpdateSchema.shape.sequence,
});

/** Extra fields of a status update; omitted ones get sandbox defaults. */
export type StatusOptions = Omit<z.infer<typeof statusRequestSchema>, 'status'>;

const SANDBOX_DRIVER = { name: 'Sandbox Jockey', phone: '+4915100000000' };

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Send nothing: the connection stays open until the client gives up (a `timeout` fault). */
  silent?: boolean;
}

const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { type: 'about:blank', title, status, detail, ...extra },
});

/** What an armed fault answers. */
function faultReply(kind: DriverFaultKind): Reply {
  switch (kind) {
    case 'unavailable':
      return problem(503, 'Service Unavailable', 'sandbox fault (/sandbox/faults): the Driver-App is down');
    case 'http500':
      return problem(500, 'Internal Server Error', 'sandbox fault (/sandbox/faults)');
    case 'rate_limited':
      return { ...problem(429, 'Too Many Requests', 'sandbox fault (/sandbox/faults)'), headers: { 'Retry-After': '1' } };
    case 'timeout':
      return { status: 0, body: null, silent: true };
  }
}

/** Ends a request early with a problem answer. */
class HttpError extends Error {
  readonly reply: Reply;

  constructor(status: number, title: string, detail: string) {
    super(detail);
    this.reply = problem(status, title, detail);
  }
}

/** The Driver-App sandbox server. */
export class DriverSandbox {
  private readonly received: ReceivedTrip[] = [];
  private readonly cancelled: ReceivedCancellation[] = [];
  private readonly byKey = new Map<string, { tripId: string; body: string }>();
  private readonly cancelByKey = new Map<string, { tripId: string; body: string }>();
  private readonly nextSequence = new Map<string, number>();
  private faults: number[] = [];
  private readonly faultSwitch = new FaultSwitch<DriverFaultKind>('unavailable');
  private latencyMs = 0;
  // Pending latency waits and in-flight deliveries, so stop() leaves no handle behind.
  private readonly waits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly deliveries = new Set<AbortController>();

  private constructor(
    private readonly server: http.Server,
    private readonly host: string,
    private readonly secret: string,
    private webhookUrl: string | undefined,
  ) {
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.handle(request, response).catch(() => {
        // handle() answers every failure itself; reaching here means the client went away.
        if (!response.headersSent) response.destroy();
      });
    });
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(opts: DriverSandboxOptions): Promise<DriverSandbox> {
    if (!opts.secret) throw new Error('DriverSandbox: secret is required');
    const server = http.createServer();
    const host = opts.host ?? '127.0.0.1';
    const sandbox = new DriverSandbox(server, host, opts.secret, opts.statusWebhookUrl);
    await listen(server, opts.port ?? DEFAULT_DRIVER_SANDBOX_PORT, host);
    return sandbox;
  }

  /** The bound port (the real one when started with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL; the app's `DRIVER_APP_WEBHOOK_URL` is this plus `/trips`. */
  get url(): string {
    return baseUrl(this.host, this.port);
  }

  /** Where status updates go from now on; undefined makes status calls answer 409. */
  setStatusWebhookUrl(url: string | undefined): void {
    this.webhookUrl = url;
  }

  /** Every trip received, oldest first (copies: changing them changes nothing here). */
  trips(): ReceivedTrip[] {
    return structuredClone(this.received);
  }

  /** Every withdrawal (`b2c_cancel`) received, oldest first (copies). */
  cancellations(): ReceivedCancellation[] {
    return structuredClone(this.cancelled);
  }

  /** The next `count` submissions (trips and withdrawals) fail with `status` before anything is recorded. */
  failNext(count: number, status = 503): void {
    this.faults.push(...Array.from({ length: count }, () => status));
  }

  /** How many injected faults (`failNext`, and the count armed over HTTP) have not been served yet. */
  faultsPending(): number {
    return this.faults.length + this.faultSwitch.state().remaining;
  }

  /**
   * Delays the answer to submissions (trips and withdrawals) by `ms` — after it is recorded, like a real
   * server that is slow to reply, so a client timeout can still have booked the trip.
   */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Forgets trips, withdrawals, idempotency keys, faults and latency (the webhook URL stays). */
  reset(): void {
    this.received.length = 0;
    this.cancelled.length = 0;
    this.byKey.clear();
    this.cancelByKey.clear();
    this.nextSequence.clear();
    this.faults = [];
    this.faultSwitch.clear();
    this.latencyMs = 0;
  }

  /** Plays the driver: sends a signed status update for a trip to the app's webhook. */
  async sendStatus(tripId: string, status: StatusUpdate['status'], options: StatusOptions = {}): Promise<StatusDelivery> {
    const trip = this.received.find((t) => t.tripId === tripId);
    if (!trip) throw new HttpError(404, 'Not Found', `no trip ${tripId}`);
    if (trip.responseStatus !== 201) throw new HttpError(409, 'Conflict', `trip ${tripId} was rejected (${trip.responseStatus}); it has no driver`);
    if (trip.cancelled) throw new HttpError(409, 'Conflict', `trip ${tripId} was withdrawn by Order Hub; it takes no status updates`);
    const webhookUrl = this.webhookUrl;
    if (!webhookUrl) throw new HttpError(409, 'Conflict', 'no status webhook URL configured (setStatusWebhookUrl)');

    const accepted = tripSchema.parse(trip.payload); // only accepted trips get here
    const update: StatusUpdate = {
      tripId,
      bookingId: accepted.bookingId,
      type: accepted.type,
      status,
      occurredAt: options.occurredAt ?? new Date().toISOString(),
      // An explicit sequence replays an old number (stale / duplicate tests) without moving the counter.
      sequence: options.sequence ?? this.takeSequence(tripId),
      driver: options.driver ?? SANDBOX_DRIVER,
    };
    const reason = options.reason ?? (status === 'failed' ? 'Customer not reachable at the pick-up address' : undefined);
    if (reason !== undefined) update.reason = reason;
    const delivery = await this.deliver(webhookUrl, update);
    trip.statuses.push({ update, delivered: delivery.delivered, responseStatus: delivery.status });
    return delivery;
  }

  /** Frees the port, ends pending waits and in-flight deliveries. */
  async stop(): Promise<void> {
    for (const wait of this.waits) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    this.waits.clear();
    for (const controller of this.deliveries) controller.abort();
    await closeServer(this.server);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.route(request);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      reply = error.reply;
    }
    if (response.destroyed || reply.silent) return; // the client gave up (e.g. its timeout during our latency), or is to
    const isProblem = reply.status >= 400;
    response.writeHead(reply.status, { 'Content-Type': isProblem ? 'application/problem+json' : 'application/json', ...reply.headers });
    response.end(JSON.stringify(reply.body));
  }

  private async route(request: http.IncomingMessage): Promise<Reply> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/trips') {
      if (method === 'POST') return this.receiveTrip(request, await readBody(request));
      if (method === 'GET') return { status: 200, body: { items: this.listTrips(url.searchParams) } };
      return problem(405, 'Method Not Allowed', `${method} ${path}`);
    }
    if (path === '/sandbox/faults') {
      if (method === 'GET') return { status: 200, body: this.faultSwitch.state() };
      if (method === 'DELETE') {
        this.faults = [];
        this.faultSwitch.clear();
        return { status: 200, body: this.faultSwitch.state() };
      }
      if (method === 'POST') {
        const armed = this.faultSwitch.arm(parseJsonOrText((await readBody(request)).toString('utf8')), DRIVER_FAULT_KINDS);
        return armed.ok ? { status: 200, body: armed.state } : problem(400, 'Bad Request', armed.message);
      }
      return problem(405, 'Method Not Allowed', `${method} ${path}`);
    }
    if (path === '/cancellations') {
      if (method === 'GET') return { status: 200, body: { items: this.cancellations() } };
      return problem(405, 'Method Not Allowed', `${method} ${path}`);
    }
    const one = /^\/trips\/([^/]+)$/.exec(path);
    if (one && method === 'GET') {
      const trip = this.trips().find((t) => t.tripId === decodeURIComponent(one[1] ?? ''));
      return trip ? { status: 200, body: trip } : problem(404, 'Not Found', `no trip ${one[1]}`);
    }
    const status = /^\/trips\/([^/]+)\/status$/.exec(path);
    if (status && method === 'POST') return this.statusCall(decodeURIComponent(status[1] ?? ''), await readBody(request));
    return problem(404, 'Not Found', `${method} ${path} is not a Driver-App sandbox endpoint`);
  }

  /**
   * `GET /trips`: without a filter every trip received (inspection, rejected ones included); with
   * one, the accepted trips that match every filter given, as the Driver-App holds them.
   */
  private listTrips(query: URLSearchParams): ReceivedTrip[] {
    const filters = (['bookingId', 'type', 'idempotencyKey'] as const).flatMap((name) => {
      const value = query.get(name);
      return value === null ? [] : [[name, value] as const];
    });
    const all = this.trips();
    if (filters.length === 0) return all;
    return all.filter((trip) => trip.responseStatus === 201 && filters.every(([name, value]) => trip[name] === value));
  }

  private async receiveTrip(request: http.IncomingMessage, raw: Buffer): Promise<Reply> {
    const fault = this.faults.shift();
    if (fault !== undefined) return problem(fault, 'Injected fault', `sandbox fault injection (failNext) answered ${fault}`);
    const armed = this.faultSwitch.take();
    if (armed !== undefined) return faultReply(armed);

    const signatureValid = this.verify(raw, header(request, 'x-webhook-signature'));
    const idempotencyKey = header(request, 'idempotency-key') ?? null;
    const text = raw.toString('utf8');
    const payload = parseJsonOrText(text);
    if (isCancel(payload)) return this.receiveCancel(text, payload, signatureValid, idempotencyKey);
    const record = (responseStatus: number): ReceivedTrip => {
      const fields = z.object({ type: z.string(), bookingId: z.string() }).partial().safeParse(payload);
      const trip: ReceivedTrip = {
        tripId: `trp_${randomBytes(9).toString('hex')}`,
        type: (fields.success ? fields.data.type : undefined) ?? null,
        bookingId: (fields.success ? fields.data.bookingId : undefined) ?? null,
        payload,
        signatureValid,
        receivedAt: new Date().toISOString(),
        idempotencyKey,
        responseStatus,
        statuses: [],
        cancelled: false,
        cancelledAt: null,
      };
      this.received.push(trip);
      return trip;
    };

    // A bad signature is kept for inspection but never touches idempotency: a forger must not
    // be able to claim a key the app will use.
    if (!signatureValid) {
      record(401);
      return problem(401, 'Unauthorized', 'X-Webhook-Signature is missing or does not match the body');
    }
    if (idempotencyKey !== null) {
      const seen = this.byKey.get(idempotencyKey);
      if (seen && seen.body === text) return this.slowly({ status: 200, body: { tripId: seen.tripId } });
      // As the IETF Idempotency-Key draft says: same key, different payload is a client error.
      if (seen) return problem(422, 'Unprocessable Content', 'Idempotency-Key was already used for a different trip');
    }
    const parsed = tripSchema.safeParse(payload);
    if (!parsed.success) {
      record(422);
      const errors = parsed.error.issues.map((issue) => ({ pointer: `/${issue.path.join('/')}`, detail: issue.message }));
      return problem(422, 'Unprocessable Content', 'not a valid B2C trip', { errors });
    }
    const trip = record(201);
    if (idempotencyKey !== null) this.byKey.set(idempotencyKey, { tripId: trip.tripId, body: text });
    return this.slowly({ status: 201, body: { tripId: trip.tripId } });
  }

  /** A `b2c_cancel`: withdraws a trip this sandbox accepted, once per trip; every message is recorded. */
  private async receiveCancel(text: string, payload: unknown, signatureValid: boolean, idempotencyKey: string | null): Promise<Reply> {
    const fields = z.object({ tripId: z.string(), bookingId: z.string() }).partial().safeParse(payload);
    const record = (responseStatus: number, applied = false): void => {
      this.cancelled.push({
        tripId: (fields.success ? fields.data.tripId : undefined) ?? null,
        bookingId: (fields.success ? fields.data.bookingId : undefined) ?? null,
        payload,
        signatureValid,
        receivedAt: new Date().toISOString(),
        idempotencyKey,
        responseStatus,
        applied,
      });
    };
    // As for trips: a forged withdrawal is kept for inspection and touches nothing.
    if (!signatureValid) {
      record(401);
      return problem(401, 'Unauthorized', 'X-Webhook-Signature is missing or does not match the body');
    }
    if (idempotencyKey !== null) {
      const seen = this.cancelByKey.get(idempotencyKey);
      if (seen && seen.body === text) {
        record(200);
        return this.slowly({ status: 200, body: { tripId: seen.tripId, cancelled: true } });
      }
      if (seen) {
        record(422);
        return problem(422, 'Unprocessable Content', 'Idempotency-Key was already used for a different withdrawal');
      }
    }
    const parsed = cancelSchema.safeParse(payload);
    if (!parsed.success) {
      record(422);
      const errors = parsed.error.issues.map((issue) => ({ pointer: `/${issue.path.join('/')}`, detail: issue.message }));
      return problem(422, 'Unprocessable Content', 'not a valid trip withdrawal', { errors });
    }
    const trip = this.received.find((candidate) => candidate.tripId === parsed.data.tripId && candidate.responseStatus === 201);
    if (!trip) {
      record(404);
      return problem(404, 'Not Found', `no trip ${parsed.data.tripId}`);
    }
    if (trip.bookingId !== parsed.data.bookingId) {
      record(422);
      return problem(422, 'Unprocessable Content', `trip ${trip.tripId} belongs to another booking`);
    }
    const applied = !trip.cancelled;
    if (applied) {
      trip.cancelled = true;
      trip.cancelledAt = new Date().toISOString();
    }
    record(200, applied);
    if (idempotencyKey !== null) this.cancelByKey.set(idempotencyKey, { tripId: trip.tripId, body: text });
    return this.slowly({ status: 200, body: { tripId: trip.tripId, cancelled: true } });
  }

  private async statusCall(tripId: string, raw: Buffer): Promise<Reply> {
    const parsed = statusRequestSchema.safeParse(parseJsonOrText(raw.toString('utf8')));
    if (!parsed.success) {
      return problem(422, 'Unprocessable Content', `body must be {"status": one of ${DRIVER_STATUSES.join(', ')}}`);
    }
    const { status, ...options } = parsed.data;
    return { status: 200, body: await this.sendStatus(tripId, status, options) };
  }

  private async deliver(url: string, update: StatusUpdate): Promise<StatusDelivery> {
    const body = JSON.stringify(update);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), DELIVERY_TIMEOUT_MS);
    this.deliveries.add(controller);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Webhook-Signature': createHmac('sha256', this.secret).update(body).digest('hex'),
          'X-Webhook-Timestamp': String(Math.floor(Date.now() / 1000)),
        },
        body,
        signal: controller.signal,
      });
      await response.arrayBuffer(); // drain, so the connection is released
      return { delivered: response.ok, status: response.status, update };
    } catch (error) {
      return { delivered: false, status: null, update, error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
      this.deliveries.delete(controller);
    }
  }

  private verify(raw: Buffer, signature: string | undefined): boolean {
    if (signature === undefined || !/^[0-9a-f]{64}$/i.test(signature)) return false;
    const expected = createHmac('sha256', this.secret).update(raw).digest();
    return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
  }

  private takeSequence(tripId: string): number {
    const next = (this.nextSequence.get(tripId) ?? 0) + 1;
    this.nextSequence.set(tripId, next);
    return next;
  }

  private async slowly(reply: Reply): Promise<Reply> {
    if (this.latencyMs <= 0) return reply;
    await new Promise<void>((resolve) => {
      const wait = {
        timer: setTimeout(() => {
          this.waits.delete(wait);
          resolve();
        }, this.latencyMs),
        resolve,
      };
      this.waits.add(wait);
    });
    return reply;
  }
}

/** Whether a submission is a withdrawal rather than a trip (its type says so). */
function isCancel(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as { type?: unknown }).type === 'b2c_cancel';
}

/** The body, or the sandbox's 413 when it is over 1 MiB. */
async function readBody(request: http.IncomingMessage): Promise<Buffer> {
  const body = await readLimitedBody(request, MAX_BODY_BYTES);
  if (!body) throw new HttpError(413, 'Content Too Large', 'body over 1 MiB');
  return body;
}
