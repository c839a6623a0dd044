/**
 * Channel sandbox: a local HTTP server standing in for the sales channels (web shop, POS, B2B)
 * that receive Order Hub's signed callbacks.
 *
 * - `POST /callbacks/{source}` is one channel's receiver: the Standard Webhooks signature is checked
 *   over the raw body with that channel's secret, the JSON body `{id, type, createdAt, data}` is
 *   parsed, and the callback is stored. A bad signature is stored too (`signatureValid: false`) and
 *   answered 401 (200 when started with `rejectInvalidSignatures: false`); a body that is not a
 *   callback is answered 422; otherwise 200.
 * - `GET /callbacks?source=<source>` lists what one channel received (every channel without
 *   `source`), oldest first; `DELETE /callbacks` resets the sandbox between tests.
 * - `POST /sandbox/faults` `{"count": n}` or `{"seconds": s}`, optionally `"kind"` (`http500`,
 *   `rate_limited` → 429 with Retry-After, `gone` → 410, `timeout` → no answer at all), `"source"`
 *   and `"retryAfterSeconds"`, makes the next calls fail; `DELETE /sandbox/faults` clears them.
 * - `GET /sandbox/attempts` lists every call to a receiver (faults included) with its time and status.
 *
 * It verifies with its own few lines of `node:crypto` (`./channel-sandbox/contract`), not the
 * app's signing code nor the `standardwebhooks` package, so a signing bug cannot be mirrored here
 * and pass unnoticed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import {
  callbackBodySchema,
  DEFAULT_TOLERANCE_SECONDS,
  generateSecret,
  HEADER_ID,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  type SignatureProblem,
  secretKey,
  verifySignature,
} from './channel-sandbox/contract';
import { header, parseJsonOrText, readBody as readLimitedBody } from './http-body';
import { baseUrl, closeServer, listen } from './listen';

/** Default port of the sandbox (suggested variable: `CHANNEL_SANDBOX_PORT`). */
export const DEFAULT_CHANNEL_SANDBOX_PORT = 7073;

/** The channels `npm start` plays by default. */
export const DEFAULT_CHANNELS = ['woocommerce', 'pos', 'b2b'] as const;

/** A new random channel secret, `whsec_` + base64 of 32 random bytes (the Standard Webhooks form). */
export const generateChannelSecret = generateSecret;

/** One fresh `whsec_…` secret per channel, for a local run where both sides are configured from it. */
export function localChannelSecrets(sources: readonly string[] = DEFAULT_CHANNELS): Record<string, string> {
  return Object.fromEntries(sources.map((source) => [source, generateSecret()]));
}

/** Options of `ChannelSandbox.start`. */
export interface ChannelSandboxOptions {
  /** Default 7073; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Channel name (the `{source}` of the URL) → its signing secret, `whsec_<base64>`. */
  channels: Record<string, string>;
  /** Default true: a callback whose signature does not verify is answered 401 (it is stored either way). */
  rejectInvalidSignatures?: boolean;
  /** How far `webhook-timestamp` may be from now, either way; default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** The sandbox's clock in epoch milliseconds (timestamp tolerance, `seconds` faults, recorded times); default `Date.now`. */
  now?: () => number;
}

/** A callback as a channel received it (faulted calls never get here; see `attempts()`). */
export interface ReceivedCallback {
  source: string;
  /** The `webhook-id` header; null when missing. */
  webhookId: string | null;
  /** The body's `type`; null when the body has none. */
  type: string | null;
  signatureValid: boolean;
  /** The body as parsed JSON, or the raw text when it was not JSON. */
  body: unknown;
  receivedAt: string;
  /** Which call with this `webhook-id` to this channel it was (1 = first), faulted calls counted; absent without `webhook-id`. */
  attempt?: number;
}

/** What the sandbox does to a call while a fault is active. */
export const FAULT_KINDS = ['http500', 'rate_limited', 'gone', 'timeout'] as const;

/** `http500` → 500; `rate_limited` → 429 with `Retry-After`; `gone` → 410; `timeout` → never answers. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Options of `failNext` / `failFor`. */
export interface FaultOptions {
  /** Default `http500`. */
  kind?: FaultKind;
  /** Only this channel's calls fail; default every channel. */
  source?: string;
  /** `Retry-After` of `rate_limited` (default 1); only allowed with that kind. */
  retryAfterSeconds?: number;
}

/** An active fault as `faults()` and `GET /sandbox/faults` show it. */
export interface Fault {
  kind: FaultKind;
  source: string | null;
  /** Calls still to fail (count faults). */
  remaining?: number;
  /** Until when calls fail (seconds faults). */
  until?: string;
  retryAfterSeconds?: number;
}

/** How a call to a receiver ended. */
export type AttemptOutcome = 'accepted' | 'invalid_signature' | 'invalid_body' | 'fault' | 'unknown_channel' | 'too_large';

/** Every call to `POST /callbacks/{source}`, in arrival order. */
export interface CallbackAttempt {
  source: string;
  webhookId: string | null;
  /** When the call arrived. */
  at: string;
  /** The status answered; null for a `timeout` fault (no answer was sent). */
  status: number | null;
  outcome: AttemptOutcome;
  /** The fault that answered it. */
  fault?: FaultKind;
  /** Why the signature did not verify. */
  signatureProblem?: SignatureProblem;
  /** For a `timeout` fault: when the client gave up (closed the connection), once it has. */
  abortedAt?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_RETRY_AFTER_SECONDS = 1;
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

interface FaultRule {
  kind: FaultKind;
  source: string | null;
  remaining?: number;
  untilMs?: number;
  retryAfterSeconds?: number;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The call is left unanswered (a `timeout` fault). */
const HOLD = Symbol('hold');

const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { type: 'about:blank', title, status, detail, ...extra },
});

/** Ends a request early with a problem answer. */
class HttpError extends Error {
  readonly reply: Reply;

  constructor(status: number, title: string, detail: string) {
    super(detail);
    this.reply = problem(status, title, detail);
  }
}

const faultRequestSchema = z
  .object({
    count: z.int().positive().optional(),
    seconds: z.number().positive().optional(),
    kind: z.enum(FAULT_KINDS).optional(),
    source: z.string().min(1).optional(),
    retryAfterSeconds: z.int().nonnegative().optional(),
  })
  .refine((f) => (f.count === undefined) !== (f.seconds === undefined), { message: 'give exactly one of "count" and "seconds"' })
  .refine((f) => f.retryAfterSeconds === undefined || f.kind === 'rate_limited', {
    message: '"retryAfterSeconds" goes with "kind": "rate_limited"',
  });

const signaturesRequestSchema = z.object({ reject: z.boolean() });

/** The channel sandbox server. */
export class ChannelSandbox {
  private readonly callbacks: ReceivedCallback[] = [];
  private readonly calls: CallbackAttempt[] = [];
  private rules: FaultRule[] = [];
  private readonly held = new Set<http.ServerResponse>();

  private constructor(
    private readonly server: http.Server,
    private readonly host: string,
    private readonly keys: ReadonlyMap<string, Buffer>,
    private rejectInvalid: boolean,
    private readonly toleranceSeconds: number,
    private readonly now: () => number,
  ) {
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.handle(request, response).catch(() => {
        // handle() answers every failure itself; reaching here means the client went away.
        if (!response.headersSent) response.destroy();
      });
    });
  }

  /** Starts listening; resolves once the port is bound. Throws on a channel name or secret that is not usable. */
  static async start(opts: ChannelSandboxOptions): Promise<ChannelSandbox> {
    const keys = new Map<string, Buffer>();
    for (const [source, secret] of Object.entries(opts.channels ?? {})) {
      if (!SOURCE_NAME.test(source)) throw new Error(`ChannelSandbox: "${source}" is not a usable channel name (letters, digits, _ and -)`);
      try {
        keys.set(source, secretKey(secret));
      } catch (error) {
        throw new Error(`ChannelSandbox: secret of "${source}": ${(error as Error).message}`);
      }
    }
    if (keys.size === 0) throw new Error('ChannelSandbox: give at least one channel and its secret');
    const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    if (!(tolerance >= 0)) throw new Error('ChannelSandbox: toleranceSeconds must be 0 or more');

    const server = http.createServer();
    const host = opts.host ?? '127.0.0.1';
    const sandbox = new ChannelSandbox(server, host, keys, opts.rejectInvalidSignatures ?? true, tolerance, opts.now ?? Date.now);
    await listen(server, opts.port ?? DEFAULT_CHANNEL_SANDBOX_PORT, host);
    return sandbox;
  }

  /** The bound port (the real one when started with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL; a channel's callback URL is this plus `/callbacks/<source>`. */
  get url(): string {
    return baseUrl(this.host, this.port);
  }

  /** The configured channel names. */
  get channels(): string[] {
    return [...this.keys.keys()];
  }

  /** Where the app posts a channel's callbacks. */
  callbackUrl(source: string): string {
    this.assertChannel(source);
    return `${this.url}/callbacks/${encodeURIComponent(source)}`;
  }

  /** Callbacks one channel received (every channel without `source`), oldest first; copies. */
  received(source?: string): ReceivedCallback[] {
    if (source !== undefined) this.assertChannel(source);
    return structuredClone(source === undefined ? this.callbacks : this.callbacks.filter((c) => c.source === source));
  }

  /** Every call to a receiver, faulted ones included, oldest first (optionally one channel's); copies. */
  attempts(source?: string): CallbackAttempt[] {
    return structuredClone(source === undefined ? this.calls : this.calls.filter((a) => a.source === source));
  }

  /** The next `count` calls (of `options.source`, or of any channel) fail as `options.kind`. */
  failNext(count: number, options: FaultOptions = {}): void {
    if (!Number.isInteger(count) || count <= 0) throw new Error('failNext: count must be a positive integer');
    this.addRule({ ...this.ruleOptions(options), remaining: count });
  }

  /** Calls (of `options.source`, or of any channel) fail as `options.kind` for the next `seconds` of the sandbox clock. */
  failFor(seconds: number, options: FaultOptions = {}): void {
    if (!(seconds > 0)) throw new Error('failFor: seconds must be positive');
    this.addRule({ ...this.ruleOptions(options), untilMs: this.now() + seconds * 1000 });
  }

  /** Active faults, in the order they apply. */
  faults(): Fault[] {
    this.pruneRules();
    return this.rules.map((rule) => ({
      kind: rule.kind,
      source: rule.source,
      ...(rule.remaining !== undefined ? { remaining: rule.remaining } : {}),
      ...(rule.untilMs !== undefined ? { until: new Date(rule.untilMs).toISOString() } : {}),
      ...(rule.retryAfterSeconds !== undefined ? { retryAfterSeconds: rule.retryAfterSeconds } : {}),
    }));
  }

  /** Ends every fault (calls held by a `timeout` fault stay held until their client gives up). */
  clearFaults(): void {
    this.rules = [];
  }

  /** Whether a callback with a bad signature is answered 401 (true) or 200 (false); it is stored either way. */
  setRejectInvalidSignatures(reject: boolean): void {
    this.rejectInvalid = reject;
  }

  /** Forgets callbacks, attempts and faults (channels and the signature setting stay). */
  clear(): void {
    this.callbacks.length = 0;
    this.calls.length = 0;
    this.rules = [];
  }

  /** Frees the port at once: closes keep-alive connections and calls held by `timeout` faults. */
  async stop(): Promise<void> {
    for (const response of this.held) response.destroy();
    this.held.clear();
    await closeServer(this.server);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    let reply: Reply | typeof HOLD;
    try {
      reply = await this.route(request, response);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      reply = error.reply;
    }
    if (reply === HOLD || response.destroyed) return;
    const isProblem = reply.status >= 400;
    response.writeHead(reply.status, { 'Content-Type': isProblem ? 'application/problem+json' : 'application/json', ...reply.headers });
    response.end(JSON.stringify(reply.body));
  }

  private async route(request: http.IncomingMessage, response: http.ServerResponse): Promise<Reply | typeof HOLD> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const path = url.pathname.replace(/\/+$/, '');
    const source = url.searchParams.get('source') ?? undefined;

    const receiver = /^\/callbacks\/([^/]+)$/.exec(path);
    if (receiver) {
      if (method !== 'POST') return problem(405, 'Method Not Allowed', `${method} ${path}`);
      return this.receive(decodeURIComponent(receiver[1] ?? ''), request, response);
    }
    if (path === '/callbacks') {
      if (method === 'GET') {
        if (source !== undefined && !this.keys.has(source)) return this.unknownChannel(source);
        return { status: 200, body: { items: this.received(source) } };
      }
      if (method === 'DELETE') {
        this.clear();
        return { status: 200, body: { cleared: true } };
      }
      return problem(405, 'Method Not Allowed', `${method} ${path}`);
    }
    if (path === '/sandbox/faults') {
      if (method === 'POST') return this.addFault(await readBody(request));
      if (method === 'DELETE') {
        this.clearFaults();
        return { status: 200, body: { items: [] } };
      }
      if (method === 'GET') return { status: 200, body: { items: this.faults() } };
      return problem(405, 'Method Not Allowed', `${method} ${path}`);
    }
    if (path === '/sandbox/attempts' && method === 'GET') return { status: 200, body: { items: this.attempts(source) } };
    if (path === '/sandbox/channels' && method === 'GET') {
      return { status: 200, body: { items: this.channels.map((name) => ({ source: name, url: this.callbackUrl(name) })) } };
    }
    if (path === '/sandbox/signatures' && method === 'POST') {
      const parsed = signaturesRequestSchema.safeParse(parseJsonOrText((await readBody(request)).toString('utf8')));
      if (!parsed.success) return problem(422, 'Unprocessable Content', 'body must be {"reject": true | false}');
      this.setRejectInvalidSignatures(parsed.data.reject);
      return { status: 200, body: { rejectInvalidSignatures: this.rejectInvalid } };
    }
    return problem(404, 'Not Found', `${method} ${path} is not a channel sandbox endpoint`);
  }

  private async receive(source: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<Reply | typeof HOLD> {
    const at = new Date(this.now()).toISOString();
    const webhookId = header(request, HEADER_ID) ?? null;
    const attempt: CallbackAttempt = { source, webhookId, at, status: null, outcome: 'accepted' };
    this.calls.push(attempt);
    const settle = (outcome: AttemptOutcome, reply: Reply, extra: Partial<CallbackAttempt> = {}): Reply => {
      Object.assign(attempt, { outcome, status: reply.status, ...extra });
      return reply;
    };

    const key = this.keys.get(source);
    if (!key) return settle('unknown_channel', this.unknownChannel(source));
    let raw: Buffer;
    try {
      raw = await readBody(request);
    } catch (error) {
      if (error instanceof HttpError) return settle('too_large', error.reply);
      throw error;
    }

    const rule = this.takeFault(source);
    if (rule) {
      if (rule.kind === 'timeout') {
        Object.assign(attempt, { outcome: 'fault', fault: 'timeout' });
        this.held.add(response);
        response.once('close', () => {
          this.held.delete(response);
          attempt.abortedAt = new Date(this.now()).toISOString();
        });
        return HOLD;
      }
      return settle('fault', faultReply(rule), { fault: rule.kind });
    }

    const signatureProblem = verifySignature(
      key,
      { id: header(request, HEADER_ID), timestamp: header(request, HEADER_TIMESTAMP), signature: header(request, HEADER_SIGNATURE) },
      raw,
      Math.floor(this.now() / 1000),
      this.toleranceSeconds,
    );
    const body = parseJsonOrText(raw.toString('utf8'));
    const type = typeof body === 'object' && body !== null && typeof (body as { type?: unknown }).type === 'string' ? (body as { type: string }).type : null;
    const callback: ReceivedCallback = { source, webhookId, type, signatureValid: signatureProblem === null, body, receivedAt: at };
    if (webhookId !== null) callback.attempt = this.calls.filter((a) => a.source === source && a.webhookId === webhookId).length;
    this.callbacks.push(callback);

    if (signatureProblem !== null) {
      const detail = `signature refused: ${signatureProblem}`;
      if (this.rejectInvalid) return settle('invalid_signature', problem(401, 'Unauthorized', detail), { signatureProblem });
      Object.assign(attempt, { signatureProblem });
    }
    const parsed = callbackBodySchema.safeParse(body);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((issue) => ({ pointer: `/${issue.path.join('/')}`, detail: issue.message }));
      return settle('invalid_body', problem(422, 'Unprocessable Content', 'not a callback {id, type, createdAt, data}', { errors }));
    }
    return settle(signatureProblem === null ? 'accepted' : 'invalid_signature', { status: 200, body: { received: true } });
  }

  private addFault(raw: Buffer): Reply {
    const parsed = faultRequestSchema.safeParse(parseJsonOrText(raw.toString('utf8')));
    if (!parsed.success) {
      const detail = parsed.error.issues.map((issue) => issue.message).join('; ');
      return problem(422, 'Unprocessable Content', `body must be {"count": n} or {"seconds": s} (+ kind, source, retryAfterSeconds): ${detail}`);
    }
    const { count, seconds, ...options } = parsed.data;
    if (options.source !== undefined && !this.keys.has(options.source)) return this.unknownChannel(options.source);
    if (count !== undefined) this.failNext(count, options);
    else if (seconds !== undefined) this.failFor(seconds, options);
    return { status: 201, body: { items: this.faults() } };
  }

  // --- faults ----------------------------------------------------------------------------------

  private ruleOptions(options: FaultOptions): Omit<FaultRule, 'remaining' | 'untilMs'> {
    const kind = options.kind ?? 'http500';
    if (!FAULT_KINDS.includes(kind)) throw new Error(`unknown fault kind ${kind}`);
    if (options.source !== undefined) this.assertChannel(options.source);
    if (options.retryAfterSeconds !== undefined && kind !== 'rate_limited') throw new Error('retryAfterSeconds goes with kind rate_limited');
    return {
      kind,
      source: options.source ?? null,
      ...(kind === 'rate_limited' ? { retryAfterSeconds: options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS } : {}),
    };
  }

  private addRule(rule: FaultRule): void {
    this.rules.push(rule);
  }

  private pruneRules(): void {
    const now = this.now();
    this.rules = this.rules.filter((rule) => (rule.remaining !== undefined ? rule.remaining > 0 : (rule.untilMs ?? 0) > now));
  }

  /** The first active fault for this channel, consuming one call of a count fault. */
  private takeFault(source: string): FaultRule | undefined {
    this.pruneRules();
    const rule = this.rules.find((r) => r.source === null || r.source === source);
    if (rule?.remaining !== undefined) rule.remaining -= 1;
    return rule;
  }

  private assertChannel(source: string): void {
    if (!this.keys.has(source)) throw new Error(`ChannelSandbox: no channel "${source}" (configured: ${this.channels.join(', ')})`);
  }

  private unknownChannel(source: string): Reply {
    return problem(404, 'Not Found', `no channel "${source}"; configured: ${this.channels.join(', ')}`);
  }
}

function faultReply(rule: FaultRule): Reply {
  const detail = `sandbox fault injection answered ${rule.kind}`;
  switch (rule.kind) {
    case 'rate_limited':
      return { ...problem(429, 'Too Many Requests', detail), headers: { 'Retry-After': String(rule.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS) } };
    case 'gone':
      return problem(410, 'Gone', detail);
    default:
      return problem(500, 'Internal Server Error', detail);
  }
}

/** The body, or the sandbox's 413 when it is over 1 MiB. */
async function readBody(request: http.IncomingMessage): Promise<Buffer> {
  const body = await readLimitedBody(request, MAX_BODY_BYTES);
  if (!body) throw new HttpError(413, 'Content Too Large', 'body over 1 MiB');
  return body;
}
