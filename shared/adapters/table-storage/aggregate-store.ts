import { odata, type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { ZodType } from 'zod';
import { causeSchema, type HistoryRecord } from '../../kernel/history';
import type { AggregateState, AggregateStore, Change, HistoryInput, SaveResult, Stored } from '../../platform/aggregate';
import type { OutboxCommitter } from './outbox';
import { gatherText, isTableError, safeKey, spreadText, tableCall } from './tables';

/** How one kind of aggregate maps to its state row (see `TableAggregateStore`). */
export interface AggregateCodec<T extends AggregateState> {
  /** Row key of the state row in the aggregate's partition (`booking`, `order`). */
  rowKey: string;
  /** The machine of history rows whose change names none: the aggregate's own status machine. */
  machine: string;
  /** Validates the state as read back. */
  schema: ZodType<T>;
  /** Columns beside the JSON, for ad-hoc queries in a storage browser (e.g. the status). */
  columns?: (state: T) => Record<string, string | number>;
  /** Attribute columns set at creation and carried unchanged by every save (see `Stored.attributes`). */
  attributes?: readonly string[];
}

const HISTORY_PREFIX = 'history|';
const HISTORY_END = 'history}'; // '}' follows '|': the exclusive end of the history range
const EVENT_PREFIX = 'event|';

// The state's JSON is spread over `data`, `data1`, … (see spreadText); an entity may not pass 1 MiB.
const MAX_CHUNKS = 12;

const historyRowKey = (version: number, index: number) => `${HISTORY_PREFIX}${String(version).padStart(8, '0')}|${String(index).padStart(2, '0')}`;

/**
 * The one codec between aggregates and Table Storage: in the aggregate's partition, the state row
 * (the state as JSON, spread over as many properties as it needs, plus query columns and attributes),
 * one row per history entry (keyed by the version the change produced, so row keys sort oldest
 * first), one marker per applied webhook event, and the outbox rows — so one entity-group
 * transaction commits a change with everything it causes.
 */
export class TableAggregateStore<T extends AggregateState> implements AggregateStore<T> {
  constructor(
    private readonly client: TableClient,
    private readonly outbox: OutboxCommitter,
    private readonly codec: AggregateCodec<T>,
  ) {}

  /** The table this store writes (the outbox relay sweeps it). */
  get tableName(): string {
    return this.client.tableName;
  }

  async get(id: string): Promise<Stored<T> | undefined> {
    try {
      const row = await tableCall(`read ${this.codec.rowKey} ${id}`, () => this.client.getEntity<Record<string, unknown>>(safeKey(id), this.codec.rowKey));
      return this.readState(row);
    } catch (error) {
      if (isTableError(error, 'notFound')) return undefined;
      throw error;
    }
  }

  async history(id: string, filter: { machine?: string; subject?: string } = {}): Promise<HistoryRecord[]> {
    const rows = this.client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${safeKey(id)} and RowKey ge ${HISTORY_PREFIX} and RowKey lt ${HISTORY_END}` },
    });
    const records: HistoryRecord[] = [];
    for await (const row of rows) {
      const record = this.readHistory(id, row);
      if ((filter.machine === undefined || record.machine === filter.machine) && (filter.subject === undefined || record.subject === filter.subject)) {
        records.push(record);
      }
    }
    return records; // row keys sort by version, then by position in the change: oldest first
  }

  async whereSet(column: string, limit: number): Promise<Array<Stored<T>>> {
    // A column name cannot be an odata value: only a plain identifier is put into the filter.
    if (!/^[A-Za-z][A-Za-z0-9]{0,254}$/.test(column)) throw new Error(`whereSet: ${column} is not a column name`);
    const rows = this.client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `${odata`RowKey eq ${this.codec.rowKey}`} and ${column} gt ''` },
    });
    const found: Array<Stored<T>> = [];
    for await (const row of rows) {
      if (found.length >= limit) break;
      found.push(this.readState(row));
    }
    return found;
  }

  async hasEvent(id: string, eventId: string): Promise<boolean> {
    try {
      await tableCall('read event', () =>
        this.client.getEntity(safeKey(id), `${EVENT_PREFIX}${safeKey(eventId)}`, { queryOptions: { select: ['PartitionKey'] } }),
      );
      return true;
    } catch (error) {
      if (isTableError(error, 'notFound')) return false;
      throw error;
    }
  }

  async create(change: Change<T>, attributes: Record<string, string> = {}): Promise<'created' | 'exists'> {
    const state = change.state;
    const actions: TransactionAction[] = [['create', this.stateRow(state, attributes)], ...this.historyRows(state, change.history)];
    // A webhook that creates its aggregate is marked applied with it, as a change is.
    if (change.eventId)
      actions.push(['create', { partitionKey: safeKey(state.id), rowKey: `${EVENT_PREFIX}${safeKey(change.eventId)}`, appliedAt: new Date().toISOString() }]);
    try {
      await this.outbox.commit(this.client, safeKey(state.id), actions, change.jobs);
      return 'created';
    } catch (error) {
      if (isTableError(error, 'duplicate')) return 'exists';
      throw error;
    }
  }

  async update(current: Stored<T>, change: Change<T>): Promise<SaveResult> {
    // Every save moves the version on, so history row keys stay unique and ordered.
    const state: T = { ...change.state, version: current.state.version + 1 };
    const partitionKey = safeKey(state.id);
    const actions: TransactionAction[] = [
      ['update', this.stateRow(state, current.attributes), 'Replace', { etag: current.etag }],
      ...this.historyRows(state, change.history),
    ];
    if (change.eventId) {
      actions.push(['create', { partitionKey, rowKey: `${EVENT_PREFIX}${safeKey(change.eventId)}`, appliedAt: new Date().toISOString() }]);
    }
    try {
      await this.outbox.commit(this.client, partitionKey, actions, change.jobs);
      return 'saved';
    } catch (error) {
      if (isTableError(error, 'conflict')) return 'conflict';
      // The only row a change creates that can already exist is the event marker (history keys
      // carry the new version, which the ETag check makes unique).
      if (isTableError(error, 'duplicate')) return change.eventId ? 'duplicate-event' : 'conflict';
      throw error;
    }
  }

  private readState(row: Record<string, unknown> & { etag?: string }): Stored<T> {
    const attributes: Record<string, string> = {};
    for (const name of this.codec.attributes ?? []) if (typeof row[name] === 'string') attributes[name] = row[name] as string;
    return { state: this.codec.schema.parse(JSON.parse(gatherText(row, 'data'))), etag: String(row.etag ?? ''), attributes };
  }

  private stateRow(state: T, attributes: Readonly<Record<string, string>>) {
    return {
      partitionKey: safeKey(state.id),
      rowKey: this.codec.rowKey,
      ...this.codec.columns?.(state),
      ...attributes,
      version: state.version,
      ...spreadText('data', JSON.stringify(state), MAX_CHUNKS, `aggregate ${state.id}`),
    };
  }

  private historyRows(state: T, history: HistoryInput[]): TransactionAction[] {
    return history.map((entry, index) => [
      'create',
      {
        partitionKey: safeKey(state.id),
        rowKey: historyRowKey(state.version, index),
        machine: entry.machine ?? this.codec.machine,
        subject: entry.subject ?? state.id,
        from: entry.from ?? undefined,
        to: entry.to,
        at: entry.at,
        cause: entry.cause,
        ...(entry.reason ? { reason: entry.reason } : {}),
      },
    ]);
  }

  private readHistory(id: string, row: TableEntityResult<Record<string, unknown>>): HistoryRecord {
    return {
      // Rows written before machines were named belong to the aggregate's own machine.
      machine: typeof row.machine === 'string' ? row.machine : this.codec.machine,
      subject: typeof row.subject === 'string' ? row.subject : id,
      from: typeof row.from === 'string' ? row.from : null,
      to: String(row.to),
      at: String(row.at),
      cause: causeSchema.parse(row.cause),
      ...(typeof row.reason === 'string' ? { reason: row.reason } : {}),
    };
  }
}
