import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { JOB_ERRORS_OMITTED_PROPERTY, JOB_ERRORS_PROPERTY } from './consume-job';
import { attemptErrorSchema, type JobEnvelope, jobEnvelopeSchema, type JobSender } from './jobs';
import type { DeadLetterAudit } from './dead-letter-audit';

/** A message in a dead-letter sub-queue, as the broker keeps it. */
export interface DeadLetter {
  messageId: string;
  body: unknown;
  reason?: string;
  description?: string;
  applicationProperties: Record<string, unknown>;
  /** When it reached the dead-letter queue (the broker's enqueue time there). */
  enqueuedTime?: Date;
  /** Its position in the dead-letter sub-queue (a 64-bit integer as decimal text): the paging cursor. */
  sequenceNumber?: string;
}

/** Browses and takes messages from dead-letter sub-queues. */
export interface DeadLetterQueues {
  /** Up to `max` dead letters, oldest first, without locking them; only those after sequence number `after` when given. */
  peek(queue: string, max: number, after?: string): Promise<DeadLetter[]>;
  /**
   * Locks the dead letters `select` picks (up to `max`) and hands each to `act`; a letter is removed
   * when `act` resolves and released when it throws. Returns how many were removed.
   */
  take(queue: string, select: (letter: DeadLetter) => boolean, act: (letter: DeadLetter) => Promise<void>, max: number): Promise<number>;
}

/** What the admin API shows for one dead letter. */
export interface DeadLetterView {
  id: string;
  type: string | null;
  subject: string | null;
  jobId: string | null;
  reason: string | null;
  description: string | null;
  errors: z.infer<typeof attemptErrorSchema>[];
  /** Errors left out of `errors` between the first and the latest (the history a job carries is bounded). */
  errorsOmitted: number;
  attempts: number;
  firstFailedAt: string | null;
  lastFailedAt: string | null;
  body: unknown;
}

const errorsSchema = z.array(attemptErrorSchema);

function errorHistory(letter: DeadLetter, job: JobEnvelope | undefined): DeadLetterView['errors'] {
  const stored = letter.applicationProperties[JOB_ERRORS_PROPERTY];
  if (typeof stored === 'string') {
    try {
      const parsed = errorsSchema.safeParse(JSON.parse(stored));
      if (parsed.success) return parsed.data;
    } catch {
      // An unreadable history falls back to what the body carries.
    }
  }
  return job?.errors ?? [];
}

/** One view of a dead letter: job fields when the body is a job envelope, nulls when it is not. */
export function viewDeadLetter(letter: DeadLetter): DeadLetterView {
  const parsed = jobEnvelopeSchema.safeParse(letter.body);
  const job = parsed.success ? parsed.data : undefined;
  const errors = errorHistory(letter, job);
  const omitted = Number(letter.applicationProperties[JOB_ERRORS_OMITTED_PROPERTY] ?? job?.errorsOmitted ?? 0);
  const fallbackAt = letter.enqueuedTime?.toISOString() ?? null;
  return {
    id: letter.messageId,
    type: job?.type ?? null,
    subject: job?.subject ?? null,
    jobId: job?.id ?? null,
    reason: letter.reason ?? null,
    description: letter.description ?? null,
    errors,
    errorsOmitted: Number.isSafeInteger(omitted) && omitted > 0 ? omitted : 0,
    attempts: job?.attempt ?? 0,
    firstFailedAt: errors[0]?.at ?? fallbackAt,
    lastFailedAt: errors.at(-1)?.at ?? fallbackAt,
    body: letter.body,
  };
}

/** Dead letters read per peek while a listing scans. */
const PEEK_PAGE = 100;

/** What the admin API shows for one audit entry. */
export interface AuditView {
  action: 'discard' | 'replay';
  queue: string;
  messageId: string;
  jobId: string | null;
  type: string | null;
  subject: string | null;
  reason: string;
  actor: string;
  at: string;
  body: string;
}

/** Which dead letters a listing shows or a bulk replay takes; every given field must match. */
export interface ReplayFilter {
  /** The job type, exactly. */
  type?: string;
  /** The job's subject (booking or order id), exactly. */
  subject?: string;
  /** The dead-letter reason (`PermanentError`, `MaxAttemptsExceeded`, …), exactly. */
  reason?: string;
  /** Text in the description or an attempt's error (code or message), ignoring case. */
  q?: string;
}

/** Whether a dead letter passes the filter. */
export function matchesFilter(view: DeadLetterView, filter: ReplayFilter): boolean {
  if (filter.type !== undefined && view.type !== filter.type) return false;
  if (filter.subject !== undefined && view.subject !== filter.subject) return false;
  if (filter.reason !== undefined && view.reason !== filter.reason) return false;
  if (filter.q !== undefined) {
    const needle = filter.q.toLowerCase();
    const texts = [view.description ?? '', ...view.errors.flatMap((error) => [error.code, error.message])];
    if (!texts.some((text) => text.toLowerCase().includes(needle))) return false;
  }
  return true;
}

/** One page of a listing: the matching letters, and the cursor to pass as `after` for the next page (null at the end). */
export interface DeadLetterPage {
  items: DeadLetterView[];
  next: string | null;
}

/** How a listing pages: at most `max` matches, after the cursor, through the filter. */
export interface ListOptions {
  max?: number;
  after?: string;
  filter?: ReplayFilter;
}

/**
 * A bulk replay that goes on past its first call: the call replays one batch and answers 202; the
 * `dead-letter-replays` timer replays the rest batch by batch, and `GET /api/v1/admin/replays/{id}`
 * reports how far it got.
 */
export interface ReplayRun {
  id: string;
  queue: string;
  filter: ReplayFilter;
  actor: string;
  /** The sequence number of the last letter there when the replay began: nothing above it is taken. */
  ceiling: string | null;
  replayed: number;
  done: boolean;
  startedAt: string;
  updatedAt: string;
}

/** Where replay runs are kept (Table Storage in Azure). */
export interface ReplayRuns {
  create(run: ReplayRun): Promise<void>;
  get(id: string): Promise<ReplayRun | undefined>;
  /** Runs not done yet, oldest first, at most `limit`. */
  open(limit: number): Promise<ReplayRun[]>;
  save(run: ReplayRun): Promise<void>;
}

export interface DeadLetterAdminDeps {
  queues: readonly string[];
  deadLetters: DeadLetterQueues;
  sender: JobSender;
  audit: DeadLetterAudit;
  now?: () => Date;
  /** How many dead letters one listing or bulk replay touches at most. */
  maxBatch?: number;
  /** Replays that go on past their first call; without it a call replays one batch and says `more`. */
  runs?: ReplayRuns;
  newId?: () => string;
  /** How many dead letters one filtered listing examines at most before it answers with a cursor (default 2,000). */
  maxScan?: number;
}

/** Result of an admin action on one message. */
export type AdminResult = { ok: true } | { ok: false; problem: 'unknown-queue' | 'not-found' | 'not-a-job' };

/**
 * The admin's dead-letter use cases: browse, replay (a fresh copy with a full set of attempts goes
 * to the main queue, then the dead letter is removed) and discard (removed, with an audit record).
 */
export class DeadLetterAdmin {
  private readonly now: () => Date;
  private readonly maxBatch: number;

  constructor(private readonly deps: DeadLetterAdminDeps) {
    this.now = deps.now ?? (() => new Date());
    this.maxBatch = deps.maxBatch ?? 500;
  }

  knows(queue: string): boolean {
    return this.deps.queues.includes(queue);
  }

  /** The audit trail (replays and discards), newest first; one queue's only when given. */
  async auditTrail(queue: string | undefined, limit: number): Promise<AuditView[]> {
    const entries = await this.deps.audit.list(queue, limit);
    return entries.map(({ at, ...entry }) => ({
      ...entry,
      jobId: entry.jobId ?? null,
      type: entry.type ?? null,
      subject: entry.subject ?? null,
      at: at.toISOString(),
    }));
  }

  async summary(): Promise<Array<{ name: string; count: number; oldest: string | null }>> {
    return Promise.all(
      this.deps.queues.map(async (name) => {
        const letters = await this.deps.deadLetters.peek(name, this.maxBatch);
        const oldest = letters
          .map((letter) => letter.enqueuedTime?.getTime())
          .filter((time): time is number => time !== undefined)
          .sort((a, b) => a - b)[0];
        return { name, count: letters.length, oldest: oldest === undefined ? null : new Date(oldest).toISOString() };
      }),
    );
  }

  /**
   * One page of a queue's dead letters, oldest first: the filter is applied here, before `max`, so a
   * page holds up to `max` matches. A scan stops after `maxScan` letters (a queue of thousands where
   * few match) and answers with the cursor where it stopped; `next` is null once the queue's end was read.
   */
  async list(queue: string, options: ListOptions = {}): Promise<DeadLetterPage> {
    const max = Math.min(options.max ?? this.maxBatch, this.maxBatch);
    const filter = options.filter ?? {};
    const maxScan = this.deps.maxScan ?? 2_000;
    const items: DeadLetterView[] = [];
    let cursor = options.after;
    let scanned = 0;
    while (scanned < maxScan) {
      const letters = await this.deps.deadLetters.peek(queue, Math.min(PEEK_PAGE, maxScan - scanned), cursor);
      if (letters.length === 0) return { items, next: null };
      for (const letter of letters) {
        scanned += 1;
        cursor = letter.sequenceNumber ?? cursor;
        const view = viewDeadLetter(letter);
        if (!matchesFilter(view, filter)) continue;
        items.push(view);
        // Without a sequence number (a port that has none) there is no way to resume: one page is all.
        if (items.length >= max) return { items, next: letter.sequenceNumber ?? null };
      }
      if (letters.every((letter) => letter.sequenceNumber === undefined)) return { items, next: null };
    }
    return { items, next: cursor ?? null };
  }

  /** The sequence number of the last dead letter now (within `maxScan`), or undefined for an empty queue or a port without them. */
  private async lastSequenceNumber(queue: string): Promise<bigint | undefined> {
    const maxScan = this.deps.maxScan ?? 2_000;
    let last: string | undefined;
    for (let scanned = 0; scanned < maxScan; ) {
      const letters = await this.deps.deadLetters.peek(queue, Math.min(PEEK_PAGE, maxScan - scanned), last);
      const next = letters.at(-1)?.sequenceNumber;
      if (next === undefined) break;
      last = next;
      scanned += letters.length;
    }
    return last === undefined ? undefined : BigInt(last);
  }

  async replayOne(queue: string, messageId: string, actor: string): Promise<AdminResult> {
    if (!this.knows(queue)) return { ok: false, problem: 'unknown-queue' };
    let notAJob = false;
    const replayed = await this.deps.deadLetters.take(
      queue,
      (letter) => letter.messageId === messageId,
      async (letter) => {
        const view = viewDeadLetter(letter);
        if (view.jobId === null) {
          notAJob = true;
          throw new Error('not a job envelope');
        }
        await this.replay(queue, letter, view, actor);
      },
      1,
    );
    if (notAJob) return { ok: false, problem: 'not-a-job' };
    return replayed === 1 ? { ok: true } : { ok: false, problem: 'not-found' };
  }

  async replayMany(queue: string, filter: ReplayFilter, actor: string): Promise<number> {
    return this.replayBatch(queue, filter, actor, await this.lastSequenceNumber(queue));
  }

  /**
   * Replays one batch of what matches, and when that was a whole batch starts a run that the timer
   * takes on (`continueReplays`): the call answers promptly however many letters there are.
   */
  async startReplay(queue: string, filter: ReplayFilter, actor: string): Promise<{ replayed: number; more: boolean; run?: ReplayRun }> {
    const ceiling = await this.lastSequenceNumber(queue);
    const replayed = await this.replayBatch(queue, filter, actor, ceiling);
    const more = replayed >= this.maxBatch;
    if (!more || !this.deps.runs) return { replayed, more };
    const at = this.now().toISOString();
    const run: ReplayRun = {
      id: (this.deps.newId ?? randomUUID)(),
      queue,
      filter,
      actor,
      ceiling: ceiling === undefined ? null : ceiling.toString(),
      replayed,
      done: false,
      startedAt: at,
      updatedAt: at,
    };
    await this.deps.runs.create(run);
    return { replayed, more, run };
  }

  /** One more batch of each open run (the `dead-letter-replays` timer); answers how many were replayed. */
  async continueReplays(limit = 10): Promise<number> {
    if (!this.deps.runs) return 0;
    let total = 0;
    for (const run of await this.deps.runs.open(limit)) {
      const replayed = await this.replayBatch(run.queue, run.filter, run.actor, run.ceiling === null ? undefined : BigInt(run.ceiling));
      total += replayed;
      await this.deps.runs.save({ ...run, replayed: run.replayed + replayed, done: replayed < this.maxBatch, updatedAt: this.now().toISOString() });
    }
    return total;
  }

  /** A replay run's progress, if there is one by that id. */
  replayRun(id: string): Promise<ReplayRun | undefined> {
    return this.deps.runs ? this.deps.runs.get(id) : Promise.resolve(undefined);
  }

  /**
   * One batch: only the letters at or below `ceiling` (those there when the replay began: a replayed job
   * that fails again, or any letter arriving meanwhile, gets a higher sequence number), each job once
   * (the job-id set, for a port without sequence numbers).
   */
  private async replayBatch(queue: string, filter: ReplayFilter, actor: string, ceiling: bigint | undefined): Promise<number> {
    const replayed = new Set<string>();
    return this.deps.deadLetters.take(
      queue,
      (letter) => {
        if (ceiling !== undefined && letter.sequenceNumber !== undefined && BigInt(letter.sequenceNumber) > ceiling) return false;
        const view = viewDeadLetter(letter);
        if (view.jobId === null || replayed.has(view.jobId)) return false;
        return matchesFilter(view, filter);
      },
      async (letter) => {
        const view = viewDeadLetter(letter);
        await this.replay(queue, letter, view, actor);
        if (view.jobId !== null) replayed.add(view.jobId);
      },
      this.maxBatch,
    );
  }

  async discard(queue: string, messageId: string, reason: string, actor: string): Promise<AdminResult> {
    if (!this.knows(queue)) return { ok: false, problem: 'unknown-queue' };
    const removed = await this.deps.deadLetters.take(
      queue,
      (letter) => letter.messageId === messageId,
      async (letter) => {
        // The audit row is written before the message goes, so a discard is never unaccounted for.
        await this.record(queue, letter, viewDeadLetter(letter), 'discard', reason, actor);
      },
      1,
    );
    return removed === 1 ? { ok: true } : { ok: false, problem: 'not-found' };
  }

  private async replay(queue: string, letter: DeadLetter, view: DeadLetterView, actor: string): Promise<void> {
    const job = jobEnvelopeSchema.parse(letter.body);
    // A replay starts a fresh series of attempts and keeps the history of why the old one failed.
    const fresh: JobEnvelope = { ...job, attempt: 1, errors: view.errors, ...(view.errorsOmitted > 0 ? { errorsOmitted: view.errorsOmitted } : {}) };
    await this.deps.sender.send([{ queue, envelope: fresh }]);
    await this.record(queue, letter, view, 'replay', 'replayed by admin', actor);
  }

  private record(queue: string, letter: DeadLetter, view: DeadLetterView, action: 'discard' | 'replay', reason: string, actor: string) {
    return this.deps.audit.record({
      queue,
      messageId: letter.messageId,
      jobId: view.jobId ?? undefined,
      type: view.type ?? undefined,
      subject: view.subject ?? undefined,
      reason,
      actor,
      action,
      body: JSON.stringify(letter.body) ?? 'null',
      at: this.now(),
    });
  }
}
