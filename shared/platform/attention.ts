import type { Cause } from '../kernel/history';
import type { AggregateState, AggregateStore, HistoryInput } from './aggregate';
import type { Logger } from './log';
import type { Telemetry } from './telemetry';

/**
 * The attention list: bookings and orders that need a person (a failed trip, money that came in after
 * a cancellation, a refund that failed, a payment BTCPay reports short or late …). Each slice keeps
 * the flag on its own aggregate and hands the composition root an `AttentionSource`; this lists them
 * together and resolves one with a note, which the aggregate keeps as a history row.
 */

/** One item as the admin API shows it; `id` is `<kind>:<subject>`. */
export interface AttentionItem {
  id: string;
  kind: string;
  subject: string;
  reason: string;
  since: string;
}

/** What resolving an item did. */
export type ResolveOutcome = 'resolved' | 'not-found' | 'not-flagged';

/** One slice's flagged aggregates. */
export interface AttentionSource {
  /** `booking`, `order`: the first part of an item's id. */
  kind: string;
  /** The flagged aggregates, at most `limit`. */
  list(limit: number): Promise<Array<Pick<AttentionItem, 'subject' | 'reason' | 'since'>>>;
  /** Clears the flag of `subject`, keeping `note` in its history. */
  resolve(subject: string, note: string, cause: Cause): Promise<ResolveOutcome>;
}

/** The machine of the history row a resolution writes (from `open` to `resolved`, the note as its reason). */
export const ATTENTION_MACHINE = 'attention';

/** The history row of a resolution. */
export function attentionResolved(note: string, cause: Cause, at: string): HistoryInput {
  return { machine: ATTENTION_MACHINE, subject: ATTENTION_MACHINE, from: 'open', to: 'resolved', at, cause, reason: note };
}

/**
 * The store, reporting every aggregate that goes on the attention list (a warning in the log and an
 * `AttentionRaised` event, for an alert) once its change is saved; `reasonOf` reads the flag.
 */
export function withAttentionReport<T extends AggregateState>(
  store: AggregateStore<T>,
  options: { kind: string; reasonOf: (state: T) => string | undefined; log: Pick<Logger, 'warn'>; telemetry: Pick<Telemetry, 'event'> },
): AggregateStore<T> {
  const report = (before: T | undefined, after: T) => {
    const reason = options.reasonOf(after);
    if (reason === undefined || (before !== undefined && options.reasonOf(before) !== undefined)) return;
    options.log.warn('needs attention', { kind: options.kind, subject: after.id, reason });
    options.telemetry.event('AttentionRaised', { kind: options.kind, subject: after.id, reason });
  };
  return {
    get: (id) => store.get(id),
    history: (id, filter) => store.history(id, filter),
    hasEvent: (id, eventId) => store.hasEvent(id, eventId),
    whereSet: (column, limit) => store.whereSet(column, limit),
    async create(change, attributes) {
      const created = await store.create(change, attributes);
      if (created === 'created') report(undefined, change.state);
      return created;
    },
    async update(current, change) {
      const saved = await store.update(current, change);
      if (saved === 'saved') report(current.state, change.state);
      return saved;
    },
  };
}

/** Every source's items, oldest first; resolution by item id. */
export class AttentionList {
  private readonly sources: Map<string, AttentionSource>;

  constructor(sources: readonly AttentionSource[]) {
    this.sources = new Map(sources.map((source) => [source.kind, source]));
  }

  /** At most `limit` items, the longest waiting first. */
  async list(limit: number): Promise<AttentionItem[]> {
    const lists = await Promise.all(
      [...this.sources.values()].map(async (source) =>
        (await source.list(limit)).map((item) => ({ id: `${source.kind}:${item.subject}`, kind: source.kind, ...item })),
      ),
    );
    return lists
      .flat()
      .sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : a.id < b.id ? -1 : 1))
      .slice(0, limit);
  }

  /** Resolves the item `id` (`<kind>:<subject>`); `not-found` for an unknown kind or subject. */
  async resolve(id: string, note: string, cause: Cause): Promise<ResolveOutcome> {
    const colon = id.indexOf(':');
    const source = colon > 0 ? this.sources.get(id.slice(0, colon)) : undefined;
    if (!source || colon === id.length - 1) return 'not-found';
    return source.resolve(id.slice(colon + 1), note, cause);
  }
}
