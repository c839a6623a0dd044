import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerError, type SMTPServerSession } from 'smtp-server';

/** A message the sandbox accepted, parsed. */
export interface ReceivedMail {
  /** The sandbox's own id of this delivery. */
  id: string;
  /** The Message-ID header, angle brackets included (the sender's idempotency key). */
  messageId: string;
  /** The envelope sender (MAIL FROM). */
  from: string;
  /** The envelope recipients (RCPT TO): who the mail was actually delivered to. */
  to: string[];
  subject: string;
  text: string;
  html?: string;
  /** The Content-Language header, when the sender set one. */
  language?: string;
  receivedAt: Date;
}

/** Options of `SmtpSandbox.start`. */
export interface SmtpSandboxOptions {
  /** Default 2525 (`SMTP_SANDBOX_PORT`); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Called once per stored message (`npm start` prints each one). */
  onMessage?: (mail: ReceivedMail) => void;
}

/** SMTP replies the fault injection can answer a message with. */
export type SmtpFaultCode = 451 | 550;

const FAULT_REPLIES: Record<SmtpFaultCode, string> = {
  451: 'Requested action aborted: local error in processing (sandbox fault)',
  550: 'Mailbox unavailable (sandbox fault)',
};

interface Waiter {
  predicate: (mail: ReceivedMail) => boolean;
  resolve: (mail: ReceivedMail) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A real SMTP server in this process that catches every e-mail: any or no credentials, plaintext
 * only. A Message-ID it already holds is accepted and dropped, as mailbox providers do, so a job
 * delivered twice shows up once.
 */
export class SmtpSandbox {
  private readonly messages: ReceivedMail[] = [];
  private readonly faults: SmtpFaultCode[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly server: SMTPServer;
  private stopped = false;
  private boundPort = 0;

  private constructor(
    private readonly host: string,
    private readonly onMessage?: (mail: ReceivedMail) => void,
  ) {
    this.server = new SMTPServer({
      name: 'smtp-sandbox.order-hub',
      banner: 'Order Hub SMTP sandbox',
      logger: false,
      // No certificate to manage locally; nodemailer then sends in plaintext instead of upgrading.
      disabledCommands: ['STARTTLS'],
      hideSTARTTLS: true,
      // Accept the credentials of any SMTP_URL, so a real provider's URL shape works against it.
      authOptional: true,
      allowInsecureAuth: true,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
      size: 25 * 1024 * 1024,
      // stop() must not wait the default 30 s for pooled clients that keep their connection open.
      closeTimeout: 100,
      onData: (stream, session, callback) => this.receive(stream, session, callback),
    });
    // Per-connection errors (a client resetting its socket) surface here; they are the client's
    // business and must not crash the process hosting the sandbox.
    this.server.on('error', () => {});
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(opts: SmtpSandboxOptions = {}): Promise<SmtpSandbox> {
    const sandbox = new SmtpSandbox(opts.host ?? '127.0.0.1', opts.onMessage);
    const net = sandbox.server.server;
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject); // EADDRINUSE and the like: a start failure, not a crash
      sandbox.server.listen(opts.port ?? 2525, sandbox.host, () => {
        net.off('error', reject);
        sandbox.boundPort = (net.address() as AddressInfo).port;
        resolve();
      });
    });
    return sandbox;
  }

  /** The bound port (the real one when started with port 0); still known after stop(). */
  get port(): number {
    return this.boundPort;
  }

  /** `smtp://host:port`, the value for `SMTP_URL`. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `smtp://${host}:${this.port}`;
  }

  /** Stored messages, oldest first; `to` matches any envelope recipient, case-insensitively. */
  inbox(filter: { to?: string } = {}): ReceivedMail[] {
    const to = filter.to?.toLowerCase();
    return this.messages.filter((m) => to === undefined || m.to.some((r) => r.toLowerCase() === to));
  }

  /** Resolves with the first stored or arriving message that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (mail: ReceivedMail) => boolean, timeoutMs = 5000): Promise<ReceivedMail> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    if (this.stopped) return Promise.reject(new Error('SMTP sandbox is stopped'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const seen = this.messages.map((m) => `${m.to.join(',')}: ${m.subject}`).join('; ') || 'none';
          reject(new Error(`no matching mail within ${timeoutMs} ms (inbox: ${seen})`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Empties the inbox and forgets pending faults. */
  clear(): void {
    this.messages.length = 0;
    this.faults.length = 0;
  }

  /** Rejects the next `count` messages with `code` at the end of DATA, then accepts again. */
  failNext(count: number, code: SmtpFaultCode): void {
    for (let i = 0; i < count; i++) this.faults.push(code);
  }

  /** Closes every connection (421 to clients still connected) and resolves once the port is free. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('SMTP sandbox stopped'));
    }
    this.waiters.clear();
    const net = this.server.server;
    if (!net.listening) return;
    const closed = once(net, 'close');
    this.server.close();
    await closed;
  }

  private receive(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (error?: Error | null) => void): void {
    // Taken when DATA starts, so the order of sends decides which message fails, not parse time.
    const fault = this.faults.shift();
    if (fault !== undefined) {
      stream.resume(); // the message must be read to the end before the reply can be sent
      stream.once('end', () => callback(smtpError(fault, FAULT_REPLIES[fault])));
      return;
    }
    simpleParser(stream)
      .then((parsed) => {
        if (stream.sizeExceeded) return callback(smtpError(552, 'Message exceeds the size limit'));
        const language = parsed.headers.get('content-language');
        const mail: ReceivedMail = {
          id: randomUUID(),
          messageId: parsed.messageId ?? `<${randomUUID()}@smtp-sandbox>`,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
          ...(typeof language === 'string' ? { language } : {}),
          receivedAt: new Date(),
        };
        this.store(mail);
        callback(null);
      })
      .catch((error: unknown) => callback(smtpError(451, `Could not parse the message: ${String(error)}`)));
  }

  private store(mail: ReceivedMail): void {
    if (this.messages.some((m) => m.messageId === mail.messageId)) return;
    this.messages.push(mail);
    try {
      this.onMessage?.(mail);
    } catch {
      // A failing printer must not turn an accepted message into an SMTP error.
    }
    for (const waiter of this.waiters) {
      let matches: boolean;
      try {
        matches = waiter.predicate(mail);
      } catch (error) {
        // A test's broken predicate fails that test's wait, not the SMTP transaction.
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (!matches) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(mail);
    }
  }
}

function smtpError(responseCode: number, message: string): SMTPServerError {
  return Object.assign(new Error(message), { responseCode });
}
