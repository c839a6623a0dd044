import { randomBytes } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { DeadLetterAudit, DeadLetterAuditEntry } from '../../platform/dead-letter-audit';
import { mapTableError, safeKey, tableCall } from './tables';

/** Logical name of the table (the store adds the prefix): `<prefix>DeadLetterAudit`. */
export const DEAD_LETTER_AUDIT_TABLE = 'DeadLetterAudit';

// One partition: admin actions are rare, and a single partition ordered by inverted time gives
// "newest first" across all queues for free; a per-queue list filters within it.
const PARTITION = 'dead-letters';
// Above any Date's epoch milliseconds (max 8.64e15), so the inverted value is never negative.
const TIME_CEILING = 10_000_000_000_000_000;
// A string property holds at most 64 KiB; a huge body is cut rather than losing the audit record.
const MAX_BODY_CHARS = 30_000;
const DEFAULT_LIMIT = 100;

interface AuditRow {
  queue: string;
  messageId: string;
  jobId?: string;
  type?: string;
  subject?: string;
  reason: string;
  actor: string;
  action: string;
  body: string;
  bodyTruncated: boolean;
  at: Date;
}

/** Dead-letter discards and replays in Table Storage, listed newest first. */
export class TableDeadLetterAudit implements DeadLetterAudit {
  constructor(private readonly client: TableClient) {}

  /** Keeps one entry; never overwrites an earlier one, even for the same message and millisecond. */
  async record(entry: DeadLetterAuditEntry): Promise<void> {
    const inverted = String(TIME_CEILING - entry.at.getTime()).padStart(16, '0');
    const unique = randomBytes(4).toString('hex');
    const row: AuditRow & { partitionKey: string; rowKey: string } = {
      partitionKey: PARTITION,
      rowKey: `${inverted}|${safeKey(entry.queue)}|${safeKey(entry.messageId)}|${unique}`,
      queue: entry.queue,
      messageId: entry.messageId,
      reason: entry.reason,
      actor: entry.actor,
      action: entry.action,
      body: entry.body.slice(0, MAX_BODY_CHARS),
      bodyTruncated: entry.body.length > MAX_BODY_CHARS,
      at: entry.at,
    };
    // Absent optionals stay absent rather than stored as empty strings.
    if (entry.jobId !== undefined) row.jobId = entry.jobId;
    if (entry.type !== undefined) row.type = entry.type;
    if (entry.subject !== undefined) row.subject = entry.subject;
    await tableCall('record dead-letter audit', () => this.client.createEntity(row));
  }

  /** Newest first, optionally one queue's entries only. */
  async list(queue?: string, limit = DEFAULT_LIMIT): Promise<DeadLetterAuditEntry[]> {
    const filter = queue === undefined ? odata`PartitionKey eq ${PARTITION}` : odata`PartitionKey eq ${PARTITION} and queue eq ${queue}`;
    const entries: DeadLetterAuditEntry[] = [];
    try {
      const pages = this.client.listEntities<AuditRow>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(limit, 1000) });
      for await (const page of pages) {
        for (const row of page) {
          entries.push(toEntry(row));
          if (entries.length >= limit) return entries;
        }
      }
    } catch (error) {
      throw mapTableError(error, 'list dead-letter audit');
    }
    return entries;
  }
}

function toEntry(row: AuditRow): DeadLetterAuditEntry {
  const entry: DeadLetterAuditEntry = {
    queue: row.queue,
    messageId: row.messageId,
    reason: row.reason,
    actor: row.actor,
    action: row.action === 'replay' ? 'replay' : 'discard',
    body: row.body,
    at: new Date(row.at),
  };
  if (row.jobId !== undefined) entry.jobId = row.jobId;
  if (row.type !== undefined) entry.type = row.type;
  if (row.subject !== undefined) entry.subject = row.subject;
  return entry;
}
