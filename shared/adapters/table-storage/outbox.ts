import { odata, type TableClient, type TableEntity, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import { jobEnvelopeSchema, type OutgoingJob } from '../../platform/jobs';
import type { OutboxRelay, OutboxStore, PendingJob } from '../../platform/outbox';
import type { Logger } from '../../platform/log';
import { gatherText, isTableError, mapTableError, safeKey, spreadText, tableCall } from './tables';

/** Table Storage's limit of operations in one entity-group transaction. */
export const MAX_TRANSACTION_ACTIONS = 100;

// `~` sorts after letters, digits and the usual separators, so outbox rows sit after the entity,
// its history and its index rows, and one RowKey range finds them all.
const OUTBOX_PREFIX = '~outbox|';
const OUTBOX_END = '~outbox}'; // '}' is the character after '|': the exclusive upper bound of the range

// The envelope's JSON is spread over `envelope`, `envelope1`, … (see spreadText); six chunks keep it
// well inside a Service Bus message (256 KB) and leave room in the entity-group transaction.
const MAX_ENVELOPE_CHUNKS = 6;

/** The outbox row key of a job: one row per (queue, job id), so a re-sent deterministic id collapses. */
export function outboxRowKey(job: OutgoingJob): string {
  return `${OUTBOX_PREFIX}${safeKey(job.queue)}|${safeKey(job.envelope.id)}`;
}

// A type alias, not an interface: the SDK's action tuples want an object with an index signature.
type OutboxRow = {
  queue: string;
  envelope: string;
  [chunk: `envelope${number}`]: string;
  notBefore?: Date;
  storedAt: Date;
};

/**
 * Commits the caller's actions and one outbox row per job in ONE entity-group transaction, so a
 * state change and the jobs it causes are saved together or not at all. Returns the committed jobs
 * for `OutboxRelay.relayCommitted`. Storage outcomes arrive as TableStoreError (`duplicate`,
 * `conflict` for a stale ETag) with nothing written.
 */
export async function commitWithOutbox(
  client: TableClient,
  partitionKey: string,
  actions: TransactionAction[],
  jobs: OutgoingJob[],
  now: Date,
): Promise<PendingJob[]> {
  const total = actions.length + jobs.length;
  if (total === 0) return [];
  if (total > MAX_TRANSACTION_ACTIONS) {
    throw new Error(`a transaction takes at most ${MAX_TRANSACTION_ACTIONS} actions; got ${total} (${actions.length} state + ${jobs.length} outbox)`);
  }
  const stray = actions.find(([, entity]) => entity.partitionKey !== partitionKey);
  if (stray) {
    throw new Error(`every action must be in partition "${partitionKey}"; got "${stray[1].partitionKey}"`);
  }

  const pending: PendingJob[] = [];
  const rows: TransactionAction[] = [];
  const rowKeys = new Set<string>();
  for (const job of jobs) {
    const rowKey = outboxRowKey(job);
    if (rowKeys.has(rowKey)) throw new Error(`job ${job.envelope.id} is queued twice to ${job.queue} in one commit`);
    rowKeys.add(rowKey);
    const envelope = JSON.stringify(job.envelope);
    const row = {
      partitionKey,
      rowKey,
      queue: job.queue,
      ...spreadText('envelope', envelope, MAX_ENVELOPE_CHUNKS, `job ${job.envelope.id}`),
      storedAt: now,
    } as TableEntity<OutboxRow>;
    if (job.notBefore) row.notBefore = job.notBefore;
    // Upsert, not create: committing the same deterministic job again before the relay removed the
    // first row must not fail the state change; the job id is the idempotency key, so one row is right.
    rows.push(['upsert', row, 'Replace']);
    // Send what the sweep would read back from the row, so both paths deliver identical bodies.
    const stored: OutgoingJob = { queue: job.queue, envelope: jobEnvelopeSchema.parse(JSON.parse(envelope)) };
    if (job.notBefore) stored.notBefore = job.notBefore;
    pending.push({ job: stored, storedAt: now, ref: { table: client.tableName, partitionKey, rowKey } });
  }

  await tableCall(`commit to ${client.tableName}`, () => client.submitTransaction([...actions, ...rows]));
  return pending;
}

/** Reads and removes outbox rows across the aggregate tables it is given. */
export class TableOutboxStore implements OutboxStore {
  private readonly byName: Map<string, TableClient>;

  constructor(
    clients: TableClient[],
    private readonly log?: Logger,
  ) {
    this.byName = new Map(clients.map((client) => [client.tableName, client]));
  }

  /** Outbox rows stored before `olderThan`, at most `limit`, across every table. */
  async listPending(olderThan: Date, limit: number): Promise<PendingJob[]> {
    const found: PendingJob[] = [];
    // No PartitionKey in the filter: this is a scan, acceptable for a timer that runs once a minute
    // and usually finds nothing; the RowKey range keeps the service from returning other rows.
    const filter = odata`RowKey ge ${OUTBOX_PREFIX} and RowKey lt ${OUTBOX_END} and storedAt lt ${olderThan}`;
    for (const client of this.byName.values()) {
      const pages = client.listEntities<OutboxRow>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(limit, 1000) });
      try {
        for await (const page of pages) {
          for (const entity of page) {
            const job = this.parse(client.tableName, entity);
            if (job) found.push(job);
            if (found.length >= limit) return found;
          }
        }
      } catch (error) {
        throw mapTableError(error, `list outbox of ${client.tableName}`);
      }
    }
    return found;
  }

  /** Deletes the rows of delivered jobs; a row already gone (another relay got there first) is fine. */
  async remove(jobs: PendingJob[]): Promise<void> {
    await Promise.all(
      jobs.map(async ({ ref }) => {
        const client = this.byName.get(ref.table);
        if (!client) throw new Error(`outbox table ${ref.table} is not one this store sweeps`);
        try {
          await client.deleteEntity(ref.partitionKey, ref.rowKey);
        } catch (error) {
          const mapped = mapTableError(error, `remove outbox row from ${ref.table}`);
          if (!isTableError(mapped, 'notFound')) throw mapped;
        }
      }),
    );
  }

  private parse(table: string, entity: TableEntityResult<OutboxRow>): PendingJob | undefined {
    try {
      if (entity.partitionKey === undefined || entity.rowKey === undefined) throw new Error('row without keys');
      const job: OutgoingJob = { queue: entity.queue, envelope: jobEnvelopeSchema.parse(JSON.parse(gatherText(entity, 'envelope'))) };
      if (entity.notBefore) job.notBefore = new Date(entity.notBefore);
      return {
        job,
        storedAt: new Date(entity.storedAt),
        ref: { table, partitionKey: entity.partitionKey, rowKey: entity.rowKey },
      };
    } catch (error) {
      // A row we cannot read would block every sweep if thrown; skip it loudly and keep relaying the rest.
      this.log?.error('unreadable outbox row skipped', {
        table,
        partitionKey: entity.partitionKey,
        rowKey: entity.rowKey,
        error,
      });
      return undefined;
    }
  }
}

/** Commits a state change with its jobs, then relays them at once (the timer catches what fails). */
export class OutboxCommitter {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** See commitWithOutbox; resolves after the commit and one relay attempt, with the committed jobs. */
  async commit(client: TableClient, partitionKey: string, actions: TransactionAction[], jobs: OutgoingJob[]): Promise<PendingJob[]> {
    const pending = await commitWithOutbox(client, partitionKey, actions, jobs, this.now());
    await this.relay.relayCommitted(pending);
    return pending;
  }
}
