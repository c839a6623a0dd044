import type { TableClient } from '@azure/data-tables';
import type { ProcessedJobs } from '../../platform/jobs';
import { isTableError, mapTableError, safeKey, tableCall } from './tables';

/** Logical name of the table (the store adds the prefix): `<prefix>ProcessedJobs`. */
export const PROCESSED_JOBS_TABLE = 'ProcessedJobs';

interface ProcessedJobRow {
  type: string;
  subject: string;
  processedAt: Date;
}

/** Which jobs have taken effect: one row per job id (its own partition, so marks never contend). */
export class TableProcessedJobs implements ProcessedJobs {
  constructor(
    private readonly client: TableClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** True once `mark` has run for this job id. */
  async has(jobId: string): Promise<boolean> {
    try {
      await this.client.getEntity(safeKey(jobId), '', { queryOptions: { select: ['PartitionKey'] } });
      return true;
    } catch (error) {
      const mapped = mapTableError(error, 'read processed job');
      if (isTableError(mapped, 'notFound')) return false;
      throw mapped;
    }
  }

  /** Records the job as applied; marking twice (a redelivery that raced) is not an error. */
  async mark(jobId: string, info: { type: string; subject: string }): Promise<void> {
    try {
      await tableCall('mark processed job', () =>
        this.client.createEntity<ProcessedJobRow>({
          partitionKey: safeKey(jobId),
          rowKey: '',
          type: info.type,
          subject: info.subject,
          processedAt: this.now(),
        }),
      );
    } catch (error) {
      // The first mark wins: its processedAt is when the effect happened.
      if (!isTableError(error, 'duplicate')) throw error;
    }
  }
}
