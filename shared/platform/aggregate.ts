import type { HistoryEntry, HistoryRecord } from '../kernel/history';
import type { Clock } from './clock';
import { type JobRequest, type OutgoingJob, toOutgoing } from './jobs';

/**
 * The aggregate kit: how every aggregate (a booking, an order with its payments) is read, changed and
 * saved. One partition per aggregate holds its state row, its history rows, the markers of the
 * webhook events it applied and its outbox rows, so one entity-group transaction commits a change
 * with everything it causes (ARCHITECTURE.md, "Storage"). Pure functions and ports; the Table
 * Storage adapter is `shared/adapters/table-storage/aggregate-store.ts`.
 */

/** An aggregate's state as every aggregate has it: an id and a version the store moves on. */
export interface AggregateState {
  id: string;
  version: number;
}

/**
 * An aggregate as stored: its state, the storage version the next save must match (Table Storage
 * ETag), and attributes fixed at creation that travel beside the state, never inside it (e.g. the
 * hash of a booking's access token, which no view or job must carry).
 */
export interface Stored<T> {
  state: T;
  etag: string;
  attributes: Readonly<Record<string, string>>;
}

/** A history entry of a change; `machine` and `subject` default to the aggregate's own. */
export type HistoryInput = HistoryEntry & { machine?: string; subject?: string };

/** One state change: the new state, the history rows and jobs it causes, and the event it applies. */
export interface Change<T> {
  state: T;
  history: HistoryInput[];
  jobs: OutgoingJob[];
  /** A webhook event id (`stripe:evt_…`) recorded with the change, so the event is applied once. */
  eventId?: string;
}

export type SaveResult = 'saved' | 'conflict' | 'duplicate-event';

/** Where aggregates of one kind live. Implementations bump `version` on every save. */
export interface AggregateStore<T extends AggregateState> {
  get(id: string): Promise<Stored<T> | undefined>;
  /** History rows, oldest first; only one machine's (and subject's) when asked. */
  history(id: string, filter?: { machine?: string; subject?: string }): Promise<HistoryRecord[]>;
  /** Whether an event was already applied to this aggregate. */
  hasEvent(id: string, eventId: string): Promise<boolean>;
  /** Stores a new aggregate with its first change; `exists` when the id is taken (nothing written). */
  create(change: Change<T>, attributes?: Record<string, string>): Promise<'created' | 'exists'>;
  /** Saves if nobody changed the aggregate since `current` was read; jobs are relayed after the commit. */
  update(current: Stored<T>, change: Change<T>): Promise<SaveResult>;
  /**
   * The aggregates whose query column `column` (see the codec's `columns`) holds a non-empty value, at
   * most `limit`: a scan of the table, for short lists such as those needing attention.
   */
  whereSet(column: string, limit: number): Promise<Array<Stored<T>>>;
}

/** What a mutation decides after reading the current state: save a change, or leave it as it is. */
export type Decision<T, R> = { kind: 'save'; state: T; history?: HistoryInput[]; jobs?: JobRequest[]; result: R } | { kind: 'skip'; result: R };

/** Decides to save `state` (with its history rows and jobs) and answer `result`. */
export function save<T, R>(state: T, result: R, effects: { history?: HistoryInput[]; jobs?: JobRequest[] } = {}): Decision<T, R> {
  return { kind: 'save', state, result, ...effects };
}

/** Decides to change nothing and answer `result`. */
export function skip<R>(result: R): { kind: 'skip'; result: R } {
  return { kind: 'skip', result };
}

/**
 * What became of a mutation. `state` is the aggregate as stored afterwards: the saved state with
 * the version the store gave it, or the current one when nothing was saved.
 */
export type MutationOutcome<T, R> = { kind: 'done'; result: R; saved: boolean; state: T } | { kind: 'not-found' } | { kind: 'duplicate-event' };

/** What a mutation runs with besides the store. */
export interface MutationContext<T> {
  clock: Clock;
  /** The request's operation id, carried into every job the change causes. */
  operationId?: string;
  /**
   * The webhook event this change applies: stored with the change, so a repeat fails on its marker;
   * read only when the decision is to change nothing (to tell a repeat from a no-op).
   */
  eventId?: string;
  /** The state the caller has just read (e.g. to check access): the first attempt starts from it. */
  first?: Stored<T>;
}

const MAX_TRIES = 8;

/**
 * Read, decide, save with the ETag — and on a conflict start over from the fresh state: a
 * conflicting write is retried against what is stored now, never overwritten.
 */
export async function mutate<T extends AggregateState, R>(
  store: AggregateStore<T>,
  id: string,
  decide: (current: Stored<T>) => Decision<T, R> | Promise<Decision<T, R>>,
  context: MutationContext<T>,
): Promise<MutationOutcome<T, R>> {
  let current = context.first;
  for (let attempt = 1; ; attempt++) {
    current ??= await store.get(id);
    if (!current) return { kind: 'not-found' };
    const decision = await decide(current);
    if (decision.kind === 'skip') {
      // A repeated delivery mostly finds its change made already: the marker tells it from a no-op.
      // A change that would save needs no read first: its marker row fails the transaction instead.
      if (context.eventId && (await store.hasEvent(id, context.eventId))) return { kind: 'duplicate-event' };
      return { kind: 'done', result: decision.result, saved: false, state: current.state };
    }
    const change: Change<T> = {
      state: decision.state,
      history: decision.history ?? [],
      jobs: toOutgoing(decision.jobs ?? [], { now: context.clock.now(), newId: context.clock.newId, operationId: context.operationId }),
      ...(context.eventId ? { eventId: context.eventId } : {}),
    };
    const saved = await store.update(current, change);
    // The store moves the version on by one with every save.
    if (saved === 'saved') return { kind: 'done', result: decision.result, saved: true, state: { ...decision.state, version: current.state.version + 1 } };
    if (saved === 'duplicate-event') return { kind: 'duplicate-event' };
    if (attempt >= MAX_TRIES) throw new Error(`aggregate ${id}: still conflicting after ${MAX_TRIES} tries`);
    current = undefined;
    // Spread competing writers apart a little before the next read.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
  }
}
