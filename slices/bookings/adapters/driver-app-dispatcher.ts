import * as z from 'zod';
import { type B2CCancel, b2cCancelSchema, b2cTripSchema, type B2CTrip, type TripDispatcher, type TripWithdrawer } from '../app/driver-app';
import { JobError } from '../../../shared/platform/jobs';
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER, unixSeconds } from './driver-app-signature';

/** Settings of the Driver-App adapter (`DRIVER_APP_WEBHOOK_URL`, `DRIVER_APP_SECRET`). */
export interface HttpTripDispatcherOptions {
  /** Where trips are POSTed: the Driver-App's webhook, or the sandbox's `/trips`. */
  webhookUrl: string;
  /** Shared secret of the HMAC signature. */
  secret: string;
  /** Bounds the whole exchange, response body included; default 10 s. */
  timeoutMs?: number;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

// A 2xx with a body we cannot read still means the trip was taken: only the id is lost.
const acceptedSchema = z.object({ tripId: z.string().min(1).max(200) });

/** The Driver-App's list of trips, as far as the look-up reads it; items it cannot read are skipped. */
const tripListSchema = z.object({
  items: z.array(z.unknown()).transform((items) =>
    items.flatMap((item) => {
      const parsed = z
        .object({ tripId: z.string().min(1).max(200), bookingId: z.string().nullish(), type: z.string().nullish(), idempotencyKey: z.string().nullish() })
        .safeParse(item);
      return parsed.success ? [parsed.data] : [];
    }),
  ),
});

/** Answers that may mean "this Idempotency-Key already has a trip, with another body" (the IETF draft says 422; some say 409). */
const isConflictingReuse = (status: number) => status === 409 || status === 422;

/** Statuses that say "try again later" rather than "this request is wrong". */
const isRetryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** Sends trips (and their withdrawals) to the Driver-App as signed JSON webhooks. */
export class HttpTripDispatcher implements TripDispatcher, TripWithdrawer {
  private readonly url: string;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: HttpTripDispatcherOptions) {
    // Thrown at start-up by the composition root; the message never repeats the URL (it may hold credentials).
    if (!/^https?:$/.test(safeProtocol(options.webhookUrl))) throw new Error('DRIVER_APP_WEBHOOK_URL must be an http(s) URL');
    if (options.secret === '') throw new Error('DRIVER_APP_SECRET must not be empty');
    this.url = options.webhookUrl;
    this.secret = options.secret;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async send(trip: B2CTrip, idempotencyKey: string): Promise<{ tripId?: string }> {
    const parsed = b2cTripSchema.safeParse(trip);
    if (!parsed.success) throw JobError.permanent('INVALID_TRIP', `trip fails the Driver-App contract: ${fieldsOf(parsed.error)}`, parsed.error);
    if (idempotencyKey.trim() === '') throw JobError.permanent('INVALID_TRIP', 'trip has no idempotency key');

    return this.post(JSON.stringify(parsed.data), idempotencyKey, async (response, signal) => {
      if (response.status >= 200 && response.status < 300) return acceptedTrip(response.text);
      const what = `Driver-App answered HTTP ${response.status}`;
      if (isRetryable(response.status)) throw JobError.transient('DRIVER_APP_UNAVAILABLE', what);
      if (isConflictingReuse(response.status)) {
        // The key may already have a trip, sent with another body (a job queued before its time was
        // fixed, whose first attempt timed out after the app took the trip): that trip is ours.
        const found = await this.findTrip(parsed.data, idempotencyKey, signal);
        if (found) return { tripId: found };
      }
      throw JobError.permanent('DRIVER_APP_REJECTED', `${what}; the trip was not accepted`);
    });
  }

  /** Withdraws a trip: the `b2c_cancel` goes where trips go, signed and keyed the same way, with the same retry rules. */
  async withdraw(message: B2CCancel, idempotencyKey: string): Promise<void> {
    const parsed = b2cCancelSchema.safeParse(message);
    if (!parsed.success) throw JobError.permanent('INVALID_TRIP_CANCEL', `trip cancel fails the Driver-App contract: ${fieldsOf(parsed.error)}`, parsed.error);
    if (idempotencyKey.trim() === '') throw JobError.permanent('INVALID_TRIP_CANCEL', 'trip cancel has no idempotency key');

    await this.post(JSON.stringify(parsed.data), idempotencyKey, async (response) => {
      if (response.status >= 200 && response.status < 300) return;
      const what = `Driver-App answered HTTP ${response.status}`;
      if (isRetryable(response.status)) throw JobError.transient('DRIVER_APP_UNAVAILABLE', what);
      throw JobError.permanent('DRIVER_APP_REJECTED', `${what}; the trip was not withdrawn`);
    });
  }

  /**
   * POSTs a signed body to the trips URL and lets `answer` read the response, all within the timeout.
   * Transport failures and the timeout are transient; `answer` throws the JobErrors of its own answers.
   */
  private async post<T>(
    body: string,
    idempotencyKey: string,
    answer: (response: { status: number; text: string }, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await this.fetch(this.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [SIGNATURE_HEADER]: signBody(body, this.secret),
          [TIMESTAMP_HEADER]: unixSeconds(new Date()),
          'Idempotency-Key': idempotencyKey,
        },
        body,
        // A followed 301/302 turns the POST into a GET without body; a moved endpoint is a config error.
        redirect: 'manual',
        signal: controller.signal,
      });
      // Read the body inside the timeout too, and always, so the connection returns to the pool.
      const text = await response.text();
      return await answer({ status: response.status, text }, controller.signal);
    } catch (error) {
      if (error instanceof JobError) throw error;
      if (controller.signal.aborted) {
        throw JobError.transient('DRIVER_APP_TIMEOUT', `Driver-App did not answer within ${this.timeoutMs} ms`, error);
      }
      // fetch rejects only for transport failures (refused, reset, DNS): worth another try.
      throw JobError.transient('DRIVER_APP_UNREACHABLE', `Driver-App unreachable: ${describe(error)}`, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The trip the Driver-App already holds for this booking and leg, or undefined.
   *
   * What this needs from the Driver-App, and what the sandbox (local/driver-sandbox.ts) offers: a read
   * of the trips it holds, `GET <trips URL>?bookingId=…&type=…`, answering `{ items: [{ tripId,
   * bookingId, type, idempotencyKey? }] }` with accepted trips only. The Driver-App's contract as we
   * know it offers no read by Idempotency-Key, so this reads by booking and type — one pick-up and one
   * delivery per booking, each sent under one key, so at most one trip can match; when the app names
   * the key of an item, ours decides. Before the real Driver-App is relied on for this, it must offer
   * that read (better: a read by Idempotency-Key, or answering a reuse with the trip it holds); until
   * it does, a conflicting reuse stays a permanent rejection, as before.
   */
  private async findTrip(trip: B2CTrip, idempotencyKey: string, signal: AbortSignal): Promise<string | undefined> {
    const url = new URL(this.url);
    url.searchParams.set('bookingId', trip.bookingId);
    url.searchParams.set('type', trip.type);
    const response = await this.fetch(url, { method: 'GET', headers: { Accept: 'application/json' }, redirect: 'manual', signal });
    const text = await response.text();
    if (response.status < 200 || response.status >= 300) return undefined;
    let listed: z.infer<typeof tripListSchema>;
    try {
      const parsed = tripListSchema.safeParse(JSON.parse(text));
      if (!parsed.success) return undefined;
      listed = parsed.data;
    } catch {
      return undefined;
    }
    const matching = listed.items.filter((item) => item.bookingId === trip.bookingId && item.type === trip.type);
    const byKey = matching.find((item) => item.idempotencyKey === idempotencyKey);
    if (byKey) return byKey.tripId;
    // Without keys in the answer: the one trip of this booking and leg, if there is exactly one.
    const [only, ...more] = matching;
    return only && more.length === 0 && !only.idempotencyKey ? only.tripId : undefined;
  }
}

function fieldsOf(error: z.ZodError): string {
  return error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
}

function acceptedTrip(text: string): { tripId?: string } {
  try {
    const parsed = acceptedSchema.safeParse(JSON.parse(text));
    return parsed.success ? { tripId: parsed.data.tripId } : {};
  } catch {
    return {};
  }
}

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}

// undici hides the useful part ("ECONNREFUSED") in the cause of a generic "fetch failed".
function describe(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const cause = error.cause;
  const code = cause instanceof Error && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
  return code ? `${error.message} (${code})` : error.message;
}
