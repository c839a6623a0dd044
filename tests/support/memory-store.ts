import type { HistoryRecord } from '../../shared/kernel/history';
import type { AggregateState, AggregateStore, Change, SaveResult, Stored } from '../../shared/platform/aggregate';
import type { OutgoingJob } from '../../shared/platform/jobs';

/**
 * An in-memory aggregate store for use-case tests, with the Table Storage store's rules: a save
 * must match the ETag it read, every save moves the version on, an event is applied once, and a
 * change is all or nothing. Every committed change is kept, in order, for assertions.
 */
export class MemoryAggregateStore<T extends AggregateState> implements AggregateStore<T> {
  /** Every committed change, oldest first. */
  readonly changes: Array<Change<T>> = [];
  /** How often `get` was called, per id. */
  readonly reads = new Map<string, number>();
  private readonly rows = new Map<string, { state: T; etag: number; attributes: Record<string, string>; history: HistoryRecord[]; events: Set<string> }>();
  private etags = 0;

  /** `columns`: the codec's query columns, for `whereSet`. */
  constructor(
    private readonly machine: string,
    private readonly columns: (state: T) => Record<string, string | number> = () => ({}),
  ) {}

  async whereSet(column: string, limit: number): Promise<Array<Stored<T>>> {
    const found = [...this.rows.values()].filter((row) => {
      const value = this.columns(row.state)[column];
      return value !== undefined && value !== '';
    });
    return found.slice(0, limit).map((row) => ({ state: structuredClone(row.state), etag: String(row.etag), attributes: { ...row.attributes } }));
  }

  /** Puts a state as if created earlier (no history, no change recorded). */
  seed(state: T, attributes: Record<string, string> = {}): void {
    this.rows.set(state.id, { state, etag: ++this.etags, attributes, history: [], events: new Set() });
  }

  /** The current state, or undefined. */
  current(id: string): T | undefined {
    return this.rows.get(id)?.state;
  }

  /** Jobs every committed change queued, in order. */
  get jobs(): OutgoingJob[] {
    return this.changes.flatMap((change) => change.jobs);
  }

  async get(id: string): Promise<Stored<T> | undefined> {
    this.reads.set(id, (this.reads.get(id) ?? 0) + 1);
    const row = this.rows.get(id);
    return row ? { state: structuredClone(row.state), etag: String(row.etag), attributes: { ...row.attributes } } : undefined;
  }

  async history(id: string, filter: { machine?: string; subject?: string } = {}): Promise<HistoryRecord[]> {
    return (this.rows.get(id)?.history ?? []).filter(
      (record) => (filter.machine === undefined || record.machine === filter.machine) && (filter.subject === undefined || record.subject === filter.subject),
    );
  }

  async hasEvent(id: string, eventId: string): Promise<boolean> {
    return this.rows.get(id)?.events.has(eventId) ?? false;
  }

  async create(change: Change<T>, attributes: Record<string, string> = {}): Promise<'created' | 'exists'> {
    if (this.rows.has(change.state.id)) return 'exists';
    this.rows.set(change.state.id, {
      state: change.state,
      etag: ++this.etags,
      attributes,
      history: this.records(change),
      events: new Set(change.eventId ? [change.eventId] : []),
    });
    this.changes.push(change);
    return 'created';
  }

  async update(current: Stored<T>, change: Change<T>): Promise<SaveResult> {
    const row = this.rows.get(change.state.id);
    if (!row || String(row.etag) !== current.etag) return 'conflict';
    if (change.eventId && row.events.has(change.eventId)) return 'duplicate-event';
    const state = { ...change.state, version: current.state.version + 1 };
    row.state = state;
    row.etag = ++this.etags;
    row.history.push(...this.records({ ...change, state }));
    if (change.eventId) row.events.add(change.eventId);
    this.changes.push({ ...change, state });
    return 'saved';
  }

  private records(change: Change<T>): HistoryRecord[] {
    return change.history.map((entry) => ({ machine: this.machine, subject: change.state.id, ...entry }));
  }
}
