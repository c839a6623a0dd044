/** What an admin did to a dead-lettered message, kept for audit. */
export interface DeadLetterAuditEntry {
  /** The queue whose dead-letter sub-queue held the message (e.g. `odoo-sync`). */
  queue: string;
  messageId: string;
  jobId?: string;
  type?: string;
  subject?: string;
  /** Why the admin discarded or replayed it. */
  reason: string;
  /** Who did it: the API key name. */
  actor: string;
  action: 'discard' | 'replay';
  /** The message body as it was (an adapter may shorten a very large one). */
  body: string;
  at: Date;
}

/** The audit trail of dead-letter discards and replays. */
export interface DeadLetterAudit {
  record(entry: DeadLetterAuditEntry): Promise<void>;
  /** Newest first; only `queue`'s entries when given; at most `limit` (adapter default when omitted). */
  list(queue?: string, limit?: number): Promise<DeadLetterAuditEntry[]>;
}
