/**
 * The sandbox database, in memory: one table per model (insertion order = id order), an index of
 * every many2one so one2many reads are cheap, and the reconciliations between moves.
 */
import { MODEL_DEFS } from './models';

/** A stored row: stored fields in their raw form (many2one = id | false, x2many = id[]). */
export interface Row {
  id: number;
  [field: string]: unknown;
}

/** One partial reconciliation (account.partial.reconcile): `amount` settled between two moves. */
export interface Reconciliation {
  moveIds: [number, number];
  amount: number;
}

export class Store {
  private readonly tables = new Map<string, Map<number, Row>>();
  private readonly nextIds = new Map<string, number>();
  /** `${model}.${field}` -> target id -> ids of the rows pointing to it. */
  private readonly inverse = new Map<string, Map<number, Set<number>>>();
  private readonly reconciliations = new Map<number, Reconciliation[]>();
  private readonly counters = new Map<string, number>();
  /** Undo steps of the running call; Odoo runs each call in one transaction. */
  private undo: (() => void)[] | undefined;

  constructor() {
    for (const name of MODEL_DEFS.keys()) this.tables.set(name, new Map());
  }

  /** Runs `work` atomically: when it throws, every change it made is undone. */
  transaction<T>(work: () => T): T {
    if (this.undo) return work();
    this.undo = [];
    try {
      const result = work();
      this.undo = undefined;
      return result;
    } catch (error) {
      const steps = this.undo ?? [];
      this.undo = undefined;
      for (const step of steps.reverse()) step();
      throw error;
    }
  }

  private table(model: string): Map<number, Row> {
    const table = this.tables.get(model);
    if (!table) throw new Error(`odoo-sandbox: no table for ${model}`);
    return table;
  }

  /** Stores a new row; `id` may be forced for seed data. */
  insert(model: string, values: Record<string, unknown>, id?: number): Row {
    const table = this.table(model);
    const previousNext = this.nextIds.get(model);
    const next = id ?? previousNext ?? 1;
    this.nextIds.set(model, Math.max(next + 1, previousNext ?? 1));
    const now = timestamp();
    const row: Row = { ...values, id: next, create_date: now, write_date: now };
    table.set(next, row);
    this.indexRow(model, row, +1);
    // Like a PostgreSQL sequence, a rolled-back insert does not give its id back.
    this.undo?.push(() => {
      this.indexRow(model, row, -1);
      table.delete(next);
    });
    return row;
  }

  get(model: string, id: number): Row | undefined {
    return this.table(model).get(id);
  }

  all(model: string): Row[] {
    return [...this.table(model).values()];
  }

  update(model: string, id: number, values: Record<string, unknown>): void {
    const row = this.table(model).get(id);
    if (!row) throw new Error(`odoo-sandbox: ${model}(${id}) vanished`);
    const before = { ...row };
    this.indexRow(model, row, -1);
    Object.assign(row, values, { write_date: timestamp() });
    this.indexRow(model, row, +1);
    this.undo?.push(() => {
      this.indexRow(model, row, -1);
      for (const key of Object.keys(row)) if (!(key in before)) delete row[key];
      Object.assign(row, before);
      this.indexRow(model, row, +1);
    });
  }

  delete(model: string, id: number): void {
    const row = this.table(model).get(id);
    if (!row) return;
    this.indexRow(model, row, -1);
    this.table(model).delete(id);
    this.undo?.push(() => {
      this.table(model).set(id, row);
      this.indexRow(model, row, +1);
    });
  }

  /** Ids of `model` rows whose many2one `field` is `target` (a one2many read), oldest first. */
  referencing(model: string, field: string, target: number): number[] {
    const ids = this.inverse.get(`${model}.${field}`)?.get(target);
    return ids ? [...ids].sort((a, b) => a - b) : [];
  }

  /** The next number of a named sequence (1, 2, …), e.g. `INV/2026`. */
  nextNumber(sequence: string): number {
    const previous = this.counters.get(sequence) ?? 0;
    this.counters.set(sequence, previous + 1);
    this.undo?.push(() => this.counters.set(sequence, previous));
    return previous + 1;
  }

  reconcile(a: number, b: number, amount: number): void {
    const reconciliation: Reconciliation = { moveIds: [a, b], amount };
    for (const id of [a, b]) {
      const previous = this.reconciliations.get(id) ?? [];
      this.reconciliations.set(id, [...previous, reconciliation]);
      this.undo?.push(() => this.reconciliations.set(id, previous));
    }
  }

  /** Undoes every reconciliation of `moveId`, on both sides (Odoo's `remove_move_reconcile`). */
  unreconcile(moveId: number): void {
    for (const { moveIds } of this.reconciliations.get(moveId) ?? []) {
      for (const id of moveIds) {
        const previous = this.reconciliations.get(id) ?? [];
        this.reconciliations.set(
          id,
          previous.filter((reconciliation) => !reconciliation.moveIds.includes(moveId)),
        );
        this.undo?.push(() => this.reconciliations.set(id, previous));
      }
    }
  }

  /** The moves reconciled with `moveId` and the amount settled with each. */
  reconciledWith(moveId: number): { moveId: number; amount: number }[] {
    return (this.reconciliations.get(moveId) ?? []).map(({ moveIds, amount }) => ({ moveId: moveIds[0] === moveId ? moveIds[1] : moveIds[0], amount }));
  }

  private indexRow(model: string, row: Row, direction: 1 | -1): void {
    const fields = MODEL_DEFS.get(model)?.fields ?? {};
    for (const [name, field] of Object.entries(fields)) {
      if (field.type !== 'many2one') continue;
      const target = row[name];
      if (typeof target !== 'number') continue;
      const key = `${model}.${name}`;
      let byTarget = this.inverse.get(key);
      if (!byTarget) this.inverse.set(key, (byTarget = new Map()));
      let ids = byTarget.get(target);
      if (!ids) byTarget.set(target, (ids = new Set()));
      if (direction > 0) ids.add(row.id);
      else ids.delete(row.id);
    }
  }
}

/** Odoo's datetime format (UTC, no zone): `2026-03-01 09:30:00`. */
export const timestamp = (date = new Date()): string => date.toISOString().slice(0, 19).replace('T', ' ');
