import * as z from 'zod';
import type { JobHandler } from './consume-job';
import { JobError, type JobRequest } from './jobs';
import type { Logger } from './log';
import { QUEUES } from './queues';

/**
 * Signed callbacks to the sales channels (Standard Webhooks): a slice queues one job per change it
 * must tell a channel about, with the whole event fixed at that moment; the `callbacks` worker posts
 * it, keeps every attempt in the delivery log, and retries, dead-letters or completes. Nothing here
 * knows an order: events are `{id, type, createdAt, data}` for any resource.
 */

/** The job type on the `callbacks` queue. */
export const CALLBACK_JOB = 'callback.deliver';

/** What a channel receives: `id` is the `webhook-id`, stable across retries. */
export const callbackEventSchema = z.object({ id: z.string().min(1).max(200), type: z.string().min(1).max(100), createdAt: z.string(), data: z.unknown() });
export type CallbackEvent = z.infer<typeof callbackEventSchema>;

/** A callback job's payload: the channel and the event as it was when the change happened. */
export const callbackPayloadSchema = z.object({ channel: z.string().min(1).max(40), event: callbackEventSchema });

/**
 * The job that delivers one event to one channel. Its id is the webhook id, so a repeat collapses;
 * an admin's resend gets a job id of its own (the channel still sees the same `webhook-id`).
 */
export function callbackJob(channel: string, subject: string, event: CallbackEvent, jobId: string = event.id): JobRequest {
  return { queue: QUEUES.callbacks, type: CALLBACK_JOB, subject, id: jobId, payload: { channel, event } };
}

/** Where one channel's callbacks go, and the secrets they are signed with (several while one is rotated). */
export interface ChannelEndpoint {
  url: string;
  /** Standard Webhooks secrets (`whsec_<base64>`); the first is current, the others still accepted by the channel. */
  secrets: readonly string[];
}

/** One delivery attempt as the transport saw it. */
export interface DeliveryAttempt {
  at: string;
  /** The HTTP status, when the channel answered. */
  statusCode?: number;
  durationMs: number;
  /** The first bytes of the answer (for an admin; never parsed). */
  response?: string;
  /** What went wrong without an answer (timeout, refused connection, a forbidden address). */
  error?: string;
  /** How long the channel asked us to wait (`Retry-After` on 429/503). */
  retryAfterMs?: number;
}

/** Posts one signed event to a channel. */
export interface CallbackTransport {
  post(endpoint: ChannelEndpoint, event: CallbackEvent, body: string): Promise<DeliveryAttempt>;
}

/** Where a delivery stands. */
export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'failed';

/** A delivery as the admin sees it: the event, where it stands, and its attempts. */
export interface Delivery {
  id: string;
  channel: string;
  subject: string;
  type: string;
  status: DeliveryStatus;
  /** Attempts kept: the first and the latest few; `attemptCount` counts them all. */
  attempts: DeliveryAttempt[];
  attemptCount: number;
  event: CallbackEvent;
  createdAt: string;
  updatedAt: string;
}

/** The delivery log: every attempt of every callback. */
export interface DeliveryLog {
  record(delivery: { channel: string; subject: string; event: CallbackEvent }, attempt: DeliveryAttempt, status: DeliveryStatus): Promise<void>;
  get(id: string): Promise<Delivery | undefined>;
  list(filter: { channel?: string; status?: DeliveryStatus; subject?: string; since?: Date; limit: number }): Promise<Delivery[]>;
}

/** Answers that will not change by retrying: the channel refused the event (410 Gone above all). */
const permanent = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

export interface CallbackDeps {
  endpoints: (channel: string) => ChannelEndpoint | undefined;
  transport: CallbackTransport;
  /** Channels told through a transport of their own (a shop's API) instead of `transport`. */
  transports?: Readonly<Record<string, CallbackTransport>>;
  log: DeliveryLog;
  /** Attempts the queue's policy allows, so the last one is logged as failed. */
  maxAttempts: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

/**
 * The `callbacks` worker: posts the event (the job's body is the event exactly as queued, so every
 * retry sends the same bytes), logs the attempt, and answers the consumer: done on 2xx, a permanent
 * failure on 410 and the other refusals (dead-lettered at once), a transient one otherwise, never
 * sooner than a `Retry-After` asked.
 */
export function callbackHandlers(deps: CallbackDeps): Record<string, JobHandler> {
  return {
    [CALLBACK_JOB]: async (job) => {
      const parsed = callbackPayloadSchema.safeParse(job.payload);
      if (!parsed.success) throw JobError.permanent('INVALID_PAYLOAD', `callback ${job.id}: not a callback payload`);
      const { channel, event } = parsed.data;
      const endpoint = deps.endpoints(channel);
      if (!endpoint) throw JobError.permanent('CALLBACK_NOT_CONFIGURED', `no callback URL is configured for channel ${channel}`);
      const delivery = { channel, subject: job.subject, event };
      const transport = deps.transports && Object.hasOwn(deps.transports, channel) ? (deps.transports[channel] as CallbackTransport) : deps.transport;
      const attempt = await transport.post(endpoint, event, JSON.stringify(event));
      const delivered = attempt.statusCode !== undefined && attempt.statusCode >= 200 && attempt.statusCode < 300;
      const refused = attempt.statusCode !== undefined && permanent(attempt.statusCode);
      const last = refused || job.attempt >= deps.maxAttempts;
      await deps.log.record(delivery, attempt, delivered ? 'delivered' : last ? 'failed' : 'retrying');
      if (delivered) return;
      const what = attempt.statusCode !== undefined ? `answered ${attempt.statusCode}` : (attempt.error ?? 'did not answer');
      if (refused) throw JobError.permanent('CALLBACK_REFUSED', `channel ${channel} ${what}`);
      throw JobError.transient('CALLBACK_UNDELIVERED', `channel ${channel} ${what}`, undefined, attempt.retryAfterMs);
    },
  };
}

/**
 * The admin's side of the delivery log: browse it, resend one delivery (a fresh job with the same
 * event, so the channel can tell it by its `webhook-id`), replay what failed for a channel since a time.
 */
export class CallbackAdmin {
  constructor(
    private readonly deps: {
      log: DeliveryLog;
      send: (jobs: JobRequest[]) => Promise<void>;
      newId: () => string;
      /** How many deliveries one listing or replay touches at most. */
      maxBatch?: number;
    },
  ) {}

  list(filter: { channel?: string; status?: DeliveryStatus; subject?: string; since?: Date; limit?: number }): Promise<Delivery[]> {
    return this.deps.log.list({ ...filter, limit: Math.min(filter.limit ?? 100, this.deps.maxBatch ?? 500) });
  }

  /** Queues one delivery again; false when there is no such delivery. */
  async resend(id: string): Promise<boolean> {
    const delivery = await this.deps.log.get(id);
    if (!delivery) return false;
    await this.deps.send([callbackJob(delivery.channel, delivery.subject, delivery.event, `${delivery.id}:resend:${this.deps.newId()}`)]);
    return true;
  }

  /** Queues every failed delivery of a channel since a time again; answers how many. */
  async replayFailed(channel: string, since: Date): Promise<number> {
    const failed = await this.deps.log.list({ channel, status: 'failed', since, limit: this.deps.maxBatch ?? 500 });
    if (failed.length > 0) {
      await this.deps.send(
        failed.map((delivery) => callbackJob(delivery.channel, delivery.subject, delivery.event, `${delivery.id}:replay:${this.deps.newId()}`)),
      );
    }
    return failed.length;
  }
}
