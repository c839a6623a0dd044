import { odata, type TableClient } from '@azure/data-tables';
import * as z from 'zod';
import type { ReplayRun, ReplayRuns } from '../../platform/dead-letters';
import { isTableError, safeKey, tableCall } from './tables';

/** The logical table name (prefixed by TableStore). */
export const REPLAY_RUNS_TABLE = 'DeadLetterReplays';

const PARTITION = 'runs';

const rowSchema = z.object({
  rowKey: z.string(),
  queue: z.string(),
  filter: z.string(),
  actor: z.string(),
  ceiling: z.string(),
  replayed: z.number().int(),
  done: z.boolean(),
  startedAt: z.string(),
  updatedAt: z.string(),
});
const filterSchema = z.object({ type: z.string().optional(), subject: z.string().optional(), reason: z.string().optional(), q: z.string().optional() });

const toRow = (run: ReplayRun) => ({
  partitionKey: PARTITION,
  rowKey: safeKey(run.id),
  queue: run.queue,
  filter: JSON.stringify(run.filter),
  actor: run.actor,
  // Absent and empty read the same: no ceiling (a port without sequence numbers).
  ceiling: run.ceiling ?? '',
  replayed: run.replayed,
  done: run.done,
  startedAt: run.startedAt,
  updatedAt: run.updatedAt,
});

function toRun(entity: unknown): ReplayRun {
  const row = rowSchema.parse(entity);
  return {
    id: row.rowKey,
    queue: row.queue,
    filter: filterSchema.parse(JSON.parse(row.filter)),
    actor: row.actor,
    ceiling: row.ceiling === '' ? null : row.ceiling,
    replayed: row.replayed,
    done: row.done,
    startedAt: row.startedAt,
    updatedAt: row.updatedAt,
  };
}

/** Bulk replays that go on past their first call, one row each; the timer reads the open ones. */
export class TableReplayRuns implements ReplayRuns {
  constructor(private readonly client: TableClient) {}

  async create(run: ReplayRun): Promise<void> {
    await tableCall('record a replay run', () => this.client.createEntity(toRow(run)));
  }

  async get(id: string): Promise<ReplayRun | undefined> {
    try {
      return toRun(await tableCall('read a replay run', () => this.client.getEntity(PARTITION, safeKey(id))));
    } catch (error) {
      if (isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }

  async open(limit: number): Promise<ReplayRun[]> {
    const runs: ReplayRun[] = [];
    for await (const entity of this.client.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION} and done eq false` } })) {
      runs.push(toRun(entity));
      if (runs.length >= limit) break;
    }
    return runs.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
  }

  async save(run: ReplayRun): Promise<void> {
    await tableCall('save a replay run', () => this.client.upsertEntity(toRow(run), 'Replace'));
  }
}
