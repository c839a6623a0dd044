/**
 * The seam between the ERP adapter and the wire: one call of an Odoo model method with named
 * arguments, as Odoo's External JSON-2 API takes it (`POST /json/2/<model>/<method>` with `ids`,
 * `context` and the method's parameters by name). `OdooJson2Client` sends it as it is; `OdooClient`
 * (XML-RPC) lays it out as `execute_kw`'s positional `args` and `kwargs`. `OdooErp` speaks only this.
 */

/** The external APIs Odoo offers: XML-RPC (`/xmlrpc/2`, all versions, removed in Odoo 22) and JSON-2 (`/json/2`, Odoo 19+). */
export const ODOO_APIS = ['xmlrpc', 'json2'] as const;
export type OdooApi = (typeof ODOO_APIS)[number];

/** One call of a model method, every argument by name. */
export interface OdooCall {
  model: string;
  method: string;
  /** The records a record method runs on (`read`, `unlink`, `action_post`); absent for model methods (`search_read`, `create`). */
  ids?: number[];
  /** The method's parameters by their Python names (`domain`, `fields`, `vals_list`, …). */
  params?: Record<string, unknown>;
  /** Odoo's context (`active_model`, `active_ids`, `lang`, …). */
  context?: Record<string, unknown>;
}

/** A way to reach Odoo. Every failure is an `OdooError` (a JobError: transient or permanent). */
export interface OdooTransport {
  readonly api: OdooApi;
  /** The server's address without credentials, for messages. */
  readonly origin: string;
  /** Requests sent so far (a login included), for benchmarks and tests. */
  readonly callCount: number;
  /** Runs the method and returns its JSON-able result; parse it before use. */
  call(call: OdooCall): Promise<unknown>;
  /**
   * Asks Odoo one cheap question that needs our credentials: XML-RPC logs in; JSON-2, which has no
   * login, counts currencies (any user may read them, and the sync reads them). Resolves when Odoo took them.
   */
  checkCredentials(): Promise<void>;
  /** Frees kept-alive connections (tests, shutdown). */
  close(): void;
}

/** Methods that change nothing: safe to send again when the connection dropped before an answer. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'version',
  'authenticate',
  'search',
  'search_read',
  'search_count',
  'read',
  'fields_get',
  'name_search',
  'read_group',
  'context_get',
]);
