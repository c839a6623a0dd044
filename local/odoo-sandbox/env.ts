/** What every model operation runs with: the database, the caller and the sandbox's settings. */
import type { Parameter } from './python';
import type { Row, Store } from './store';

export interface Settings {
  /**
   * The payment_state of an invoice settled by a payment. Odoo 17 shows 'in_payment' until the
   * payment is matched with a bank statement line, and 'paid' once it is (or when the bank journal
   * posts straight to the bank account). The sandbox never imports statements, so this picks one.
   */
  paidState: 'paid' | 'in_payment';
  /**
   * What `refund_moves` / `reverse_moves` do when the wizard names no `refund_method`:
   * 'posted' = the credit note is posted and reconciled with the original (Odoo's "full refund");
   * 'draft' = a draft credit note the caller posts itself (Odoo 17's `refund_moves` exactly).
   */
  reversal: 'posted' | 'draft';
  /** Today's date (`YYYY-MM-DD`), for default invoice and payment dates. */
  today: () => string;
}

export interface Env {
  store: Store;
  uid: number;
  context: Record<string, unknown>;
  settings: Settings;
  hooks: ReadonlyMap<string, ModelHooks>;
}

/** The date part of now in UTC, Odoo's `fields.Date.context_today` for a UTC user. */
export const utcToday = (): string => new Date().toISOString().slice(0, 10);

/** Model-specific behaviour on top of the generic ORM (accounting rules, wizards). */
export interface ModelHooks {
  /**
   * Defaults that depend on other values or the context, and checks; returns the values to store.
   * `values` are converted with field defaults applied, `sent` is what the client passed.
   */
  prepareCreate?(env: Env, values: Record<string, unknown>, sent: Record<string, unknown>): Record<string, unknown>;
  /** After the row and its one2many children exist. */
  afterCreate?(env: Env, row: Row): void;
  /** Before stored values change; `values` are converted and exclude ignored (computed) fields. */
  checkWrite?(env: Env, rows: Row[], values: Record<string, unknown>): void;
  checkUnlink?(env: Env, rows: Row[]): void;
  /** Public methods beyond the ORM's (`action_post`, `action_create_payments`, …). */
  methods?: Record<string, RecordMethod>;
}

/**
 * A public method beyond the ORM's: called on records (`[ids, …args]` over XML-RPC, `ids` over
 * JSON-2) unless `model` (@api.model: no ids). `run` returns `null` where Python returns None.
 */
export interface RecordMethod {
  parameters: Parameter[];
  /** @api.model: called on the model, not on records. */
  model?: boolean;
  /** Changes data: refused for read-only users and logged. */
  writes: boolean;
  run(env: Env, ids: number[], args: Record<string, unknown>): unknown;
}
