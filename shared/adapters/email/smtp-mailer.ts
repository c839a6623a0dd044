import { createHash } from 'node:crypto';
// Type-only: nodemailer is required by the first send (a mail job), never by the HTTP paths.
import type nodemailer from 'nodemailer';
import type { NodemailerError, Transporter } from 'nodemailer';
import { JobError } from '../../platform/jobs';
import type { Mailer, OutgoingMail } from '../../platform/mailer';

/** Settings of the SMTP adapter (`SMTP_URL`, `MAIL_FROM`). */
export interface SmtpMailerOptions {
  /** e.g. `smtp://127.0.0.1:2525` (the sandbox) or `smtps://user:pass@host:465`. */
  url: string;
  /** The sender, e.g. `Order Hub <no-reply@example.com>`. */
  from: string;
  /** Bounds connecting, the greeting and every wait for a reply; default 10 s. */
  timeoutMs?: number;
}

/** The right-hand side of every Message-ID we generate. */
export const MESSAGE_ID_DOMAIN = 'order-hub';

const SAFE_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The Message-ID for an idempotency key: `<key@order-hub>` when the key is already a safe atom,
 * otherwise a readable slug plus a hash of the key, so distinct keys never share a Message-ID
 * (a hashed id always holds a `.`, a plain one never does).
 */
export function messageIdFor(key: string): string {
  if (SAFE_KEY.test(key)) return `<${key}@${MESSAGE_ID_DOMAIN}>`;
  const slug =
    key
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .slice(0, 64)
      .replace(/^-+|-+$/g, '') || 'mail';
  const hash = createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32);
  return `<${slug}.${hash}@${MESSAGE_ID_DOMAIN}>`;
}

// One bare address; display names and lists are refused so a recipient can never smuggle in
// another one or a header line.
const BARE_ADDRESS = /^[^\s@<>,;"()\\]+@[^\s@<>,;"()\\]+$/;

/** Sends mail over SMTP through one pooled nodemailer transport (connections are reused across sends). */
export class SmtpMailer implements Mailer {
  private pool?: Transporter;
  private closed = false;
  private readonly transportOptions: Parameters<typeof nodemailer.createTransport>[0];
  private readonly from: string;

  constructor(options: SmtpMailerOptions) {
    const protocol = safeProtocol(options.url);
    if (protocol !== 'smtp:' && protocol !== 'smtps:') {
      // Thrown at start-up by the composition root; the URL itself may hold a password.
      throw new Error('SMTP_URL must be an smtp:// or smtps:// URL');
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.from = options.from;
    this.transportOptions = {
      url: options.url,
      pool: true,
      // nodemailer's defaults (2 min to connect, 10 min idle) would outlive a queue function's budget.
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      // Bodies contain customer text: never let a crafted value make the transport read files or URLs.
      disableFileAccess: true,
      disableUrlAccess: true,
    };
  }

  /** The pooled transport, made by the first send. */
  private get transport(): Transporter {
    if (!this.pool) {
      const mailer = require('nodemailer') as typeof nodemailer;
      this.pool = mailer.createTransport(this.transportOptions);
      if (this.closed) this.pool.close();
    }
    return this.pool;
  }

  async send(mail: OutgoingMail): Promise<void> {
    if (!BARE_ADDRESS.test(mail.to)) {
      throw JobError.permanent('invalid_address', 'recipient is not a single e-mail address');
    }
    if (mail.key.trim() === '') {
      throw JobError.permanent('invalid_mail', 'mail has no idempotency key');
    }
    try {
      await this.transport.sendMail({
        from: this.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html === undefined ? {} : { html: mail.html }),
        messageId: messageIdFor(mail.key),
        ...(mail.language ? { headers: { 'Content-Language': mail.language } } : {}),
      });
    } catch (error) {
      throw toJobError(error);
    }
  }

  /** Closes the pooled connections (QUIT); sends after this fail as transient. */
  async close(): Promise<void> {
    this.closed = true;
    this.pool?.close();
  }
}

function safeProtocol(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

/**
 * Maps a nodemailer error to the job outcome. An SMTP reply decides by its class (RFC 5321: 4yz
 * transient, 5yz permanent; 503 only means a confused session, so a new one can succeed). Without a
 * reply the connection failed, which a later attempt can outlive.
 */
export function toJobError(error: unknown): JobError {
  if (error instanceof JobError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as NodemailerError;
  const detail = e.response ?? (error instanceof Error ? error.message : String(error));
  // Bad credentials are our configuration, not this mail: retry (a fixed secret heals it) and let
  // exhausted retries dead-letter it for replay, rather than discarding every mail at once.
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') {
    return JobError.transient('smtp_auth', `SMTP authentication failed: ${detail}`, error);
  }
  const reply = e.responseCode;
  if (typeof reply === 'number') {
    if (reply >= 500 && reply < 600 && reply !== 503) {
      return JobError.permanent('smtp_rejected', `SMTP server rejected the mail: ${detail}`, error);
    }
    return JobError.transient('smtp_deferred', `SMTP server deferred the mail: ${detail}`, error);
  }
  if (e.code === 'EENVELOPE') {
    // No reply: nodemailer refused the envelope itself (e.g. an address it cannot send to).
    return JobError.permanent('invalid_address', `invalid envelope: ${detail}`, error);
  }
  if (e.code === 'ETIMEDOUT') {
    return JobError.transient('smtp_timeout', `SMTP server timed out: ${detail}`, error);
  }
  return JobError.transient('smtp_unavailable', `SMTP server unreachable: ${detail}`, error);
}
