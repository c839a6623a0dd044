/** One e-mail to one recipient, already rendered in the customer's language. */
export interface OutgoingMail {
  to: string;
  subject: string;
  /** Plain-text body: always sent, so every client can show the mail. */
  text: string;
  /** Optional HTML alternative of `text`. */
  html?: string;
  /**
   * Idempotency: carried as the Message-ID, so a job that is delivered twice sends the same
   * message twice and the receiver (and the SMTP sandbox) keeps it once.
   */
  key: string;
  /** Sent as Content-Language. */
  language?: 'de' | 'en';
}

/**
 * Sends customer e-mails. Failures are `JobError`s (see jobs.ts): `transient` when a later attempt
 * can succeed (connection refused, timeouts, 4xx replies), `permanent` when it cannot (5xx replies,
 * an invalid address); the vendor error is kept as `cause`.
 */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}
