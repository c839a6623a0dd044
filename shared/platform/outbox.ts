import type { JobSender, OutgoingJob } from './jobs';
import type { Logger } from './log';

/** A job written to the outbox in the same transaction as the state change that caused it. */
export interface PendingJob {
  job: OutgoingJob;
  storedAt: Date;
  /** Where the outbox row lives, so the relay can delete exactly it. */
  ref: { table: string; partitionKey: string; rowKey: string };
}

/** Reads and removes outbox rows (Table Storage: rows in each aggregate's own partition). */
export interface OutboxStore {
  /** Outbox rows written before `olderThan`: those a crash or a failed send left behind. */
  listPending(olderThan: Date, limit: number): Promise<PendingJob[]>;
  remove(jobs: PendingJob[]): Promise<void>;
}

/**
 * Moves committed jobs from the outbox to the queues. A job is removed from the outbox only after
 * the send succeeded, so a crash between the two re-sends it: consumers de-duplicate by job id.
 */
export class OutboxRelay {
  constructor(
    private readonly store: OutboxStore,
    private readonly sender: JobSender,
    private readonly log: Logger,
  ) {}

  /** Sends jobs right after their commit; a failure leaves them for the timer and is not thrown. */
  async relayCommitted(jobs: PendingJob[]): Promise<boolean> {
    if (jobs.length === 0) return true;
    try {
      await this.deliver(jobs);
      return true;
    } catch (error) {
      this.log.warn('outbox relay after commit failed; the timer will deliver', {
        jobs: jobs.map((p) => p.job.envelope.id),
        error,
      });
      return false;
    }
  }

  /** The timer's sweep: delivers whatever is older than `minAgeMs` (left behind by a crash or a failed send). */
  async relayPending(now: Date, minAgeMs: number, batchSize = 100): Promise<number> {
    let relayed = 0;
    for (;;) {
      const pending = await this.store.listPending(new Date(now.getTime() - minAgeMs), batchSize);
      if (pending.length === 0) return relayed;
      await this.deliver(pending);
      relayed += pending.length;
      if (pending.length < batchSize) return relayed;
    }
  }

  private async deliver(jobs: PendingJob[]): Promise<void> {
    await this.sender.send(jobs.map((p) => p.job));
    await this.store.remove(jobs);
  }
}
