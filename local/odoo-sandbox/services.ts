/**
 * Odoo's external API over one in-memory database, in its two faces: the XML-RPC services
 * `common` (version, authenticate, login) and `object` (execute_kw, execute), with Odoo 17's checks
 * in its order (database, credentials, method name, model, method, arguments, access), and the
 * model call of Odoo 19's JSON-2 (named arguments, `ids`, `context`). Both run the same methods on
 * the same store, so a record written through one face is read through the other.
 */
import type { Env, RecordMethod, Settings } from './env';
import { accessDenied, accessError, HttpError, PythonError, typeError, userError, valueError } from './faults';
import { className, HOOKS, ORM_METHODS, type OrmMethod, runOrm } from './methods';
import { MODEL_DEFS, type ModelDef } from './models';
import { toIds } from './orm';
import { bindArguments, bindNamed, type Parameter, pyRepr } from './python';
import { readRecords } from './queries';
import { Store } from './store';

export interface Account {
  login: string;
  uid: number;
  password: string;
  readOnly: boolean;
}

/** Which face of the external API a call came through. */
export type Api = 'xmlrpc' | 'json2';

/** A change made through `object` (XML-RPC) or JSON-2, for the write log. */
export interface WriteRecord {
  api: Api;
  uid: number;
  login: string;
  model: string;
  method: string;
  /** XML-RPC's positional arguments (ids first for record methods); always empty on JSON-2. */
  args: unknown[];
  /** JSON-2: the records a record method ran on. */
  ids?: number[];
  /** Keyword (XML-RPC) or named (JSON-2) arguments, `context` included when sent. */
  kwargs: Record<string, unknown>;
  result: unknown;
}

export const SERVER_VERSION = {
  server_version: '17.0',
  server_version_info: [17, 0, 0, 'final', 0, ''],
  server_serie: '17.0',
  protocol_version: 1,
};

/**
 * Seeded currencies as Odoo ships them (`rounding` = 10^-decimal_places). The sale currencies are
 * active; SEK stays inactive, as most of Odoo's currencies are until someone activates them.
 */
export const CURRENCIES = [
  { name: 'EUR', symbol: '€', rounding: 0.01, decimal_places: 2, active: true },
  { name: 'USD', symbol: '$', rounding: 0.01, decimal_places: 2, active: true },
  { name: 'GBP', symbol: '£', rounding: 0.01, decimal_places: 2, active: true },
  { name: 'CHF', symbol: 'CHF', rounding: 0.01, decimal_places: 2, active: true },
  { name: 'JPY', symbol: '¥', rounding: 1, decimal_places: 0, active: true },
  { name: 'KWD', symbol: 'KD', rounding: 0.001, decimal_places: 3, active: true },
  { name: 'SEK', symbol: 'kr', rounding: 0.01, decimal_places: 2, active: false },
] as const;

export interface DatabaseOptions {
  db: string;
  /** login -> password. */
  users: Record<string, string>;
  /** Accepted as the password of any user, as Odoo accepts a user's API keys. */
  apiKeys: readonly string[];
  /** Logins that may read but not change anything (AccessError, fault 4). */
  readOnlyUsers: readonly string[];
  settings: Settings;
}

export class OdooDatabase {
  readonly store = new Store();
  private readonly accounts: Account[];

  constructor(private readonly options: DatabaseOptions) {
    this.accounts = Object.entries(options.users).map(([login, password], index) => ({
      login,
      password,
      // uid 1 is OdooBot/__system__; the first user is the admin, uid 2, as in a new database.
      uid: 2 + index,
      readOnly: options.readOnlyUsers.includes(login),
    }));
    this.seed();
  }

  private seed(): void {
    const { store } = this;
    // The company currency (EUR) is id 1; every document defaults to it.
    for (const [index, currency] of CURRENCIES.entries()) store.insert('res.currency', { ...currency }, index + 1);
    store.insert('account.journal', { name: 'Customer Invoices', code: 'INV', type: 'sale', sequence: 5, active: true, currency_id: false }, 1);
    store.insert('account.journal', { name: 'Bank', code: 'BNK1', type: 'bank', sequence: 10, active: true, currency_id: false }, 2);
    for (const account of this.accounts) {
      const name = account.login === 'admin' ? 'Administrator' : account.login;
      store.insert('res.users', { name, login: account.login, active: true, lang: 'en_US', tz: false }, account.uid);
    }
    // The company's own partner exists in every database.
    store.insert(
      'res.partner',
      {
        name: 'My Company',
        email: false,
        phone: false,
        ref: false,
        is_company: true,
        active: true,
        customer_rank: 0,
        supplier_rank: 0,
        type: 'contact',
        lang: 'en_US',
        parent_id: false,
      },
      1,
    );
  }

  /** The database's name. */
  get db(): string {
    return this.options.db;
  }

  /** Every record of `model` as `read` returns it, archived ones too, oldest first. */
  records(model: string): Record<string, unknown>[] {
    if (!MODEL_DEFS.has(model)) throw new Error(`OdooSandbox: no model ${model} (serves ${[...MODEL_DEFS.keys()].join(', ')})`);
    const env: Env = { store: this.store, uid: 1, context: { active_test: false }, settings: this.options.settings, hooks: HOOKS };
    const ids = this.store
      .all(model)
      .map((row) => row.id)
      .sort((a, b) => a - b);
    return readRecords(env, model, ids, null);
  }

  // --- common ----------------------------------------------------------------------------------

  common(method: string, params: unknown[]): unknown {
    switch (method) {
      case 'version':
        return SERVER_VERSION;
      case 'authenticate':
      case 'login': {
        const names = method === 'authenticate' ? ['db', 'login', 'password', 'user_agent_env'] : ['db', 'login', 'password'];
        const bound = bindArguments(
          `exp_${method}`,
          names.map((name) => ({ name })),
          params,
          {},
        );
        this.checkDatabase(bound.db);
        const account = this.accounts.find((candidate) => candidate.login === bound.login);
        return account && this.passwordMatches(account, bound.password) ? account.uid : false;
      }
      default:
        throw new PythonError('Exception', `Method not found: ${method}`);
    }
  }

  // --- object (XML-RPC) -----------------------------------------------------------------------

  /** Runs execute_kw / execute; returns the result and, for changes, what to log. */
  object(method: string, params: unknown[]): { result: unknown; write?: WriteRecord } {
    if (method !== 'execute_kw' && method !== 'execute') throw new PythonError('NameError', `Method not available ${method}`);
    if (params.length < 5) throw typeError(`${method}() missing required positional arguments: it takes (db, uid, password, model, method, …)`);
    const [db, rawUid, password, model, name, ...rest] = params as [unknown, unknown, unknown, unknown, unknown, ...unknown[]];
    this.checkDatabase(db);
    const account = this.authorize(rawUid, password);
    if (typeof name !== 'string' || typeof model !== 'string')
      throw typeError(`execute_kw(): model and method must be strings, got ${pyRepr(model)}, ${pyRepr(name)}`);
    if (name.startsWith('_')) throw accessError(`Private methods (such as ${model}.${name}) cannot be called remotely.`);
    if (!MODEL_DEFS.has(model)) throw userError(`Object ${model} doesn't exist`);

    let args: unknown[];
    let kwargs: Record<string, unknown>;
    if (method === 'execute_kw') {
      const [rawArgs = [], rawKwargs = {}] = rest;
      if (!Array.isArray(rawArgs)) throw typeError(`odoo.service.model.execute() argument after * must be an iterable, not ${pyType(rawArgs)}`);
      if (rawKwargs !== false && rawKwargs !== null && (typeof rawKwargs !== 'object' || Array.isArray(rawKwargs))) {
        throw typeError(`odoo.service.model.execute() argument after ** must be a mapping, not ${pyType(rawKwargs)}`);
      }
      args = rawArgs;
      kwargs = { ...((rawKwargs || {}) as Record<string, unknown>) };
    } else {
      args = rest;
      kwargs = {};
    }
    const context = kwargs.context;
    delete kwargs.context;

    const target = resolve(model, name);
    if (!target) throw new PythonError('AttributeError', `The method '${model}.${name}' does not exist`);
    if (!target.atModel && args.length === 0) throw new PythonError('IndexError', 'tuple index out of range');
    const ids = target.atModel ? [] : toIds(args[0]);
    const bound = bindArguments(target.qualname, target.parameters, target.atModel ? args : args.slice(1), kwargs);
    const result = this.execute(account, target, ids, bound, asContext(context));
    const write = target.writes
      ? {
          api: 'xmlrpc' as const,
          uid: account.uid,
          login: account.login,
          model,
          method: name,
          args,
          kwargs: { ...kwargs, ...(context !== undefined && { context }) },
          result,
        }
      : undefined;
    return { result, write };
  }

  // --- JSON-2 ----------------------------------------------------------------------------------

  /** The user a JSON-2 bearer key belongs to: a user's own password, or one of `apiKeys` (the first user's). */
  apiKeyUser(key: string): Account | undefined {
    if (key === '') return undefined;
    return this.accounts.find((account) => account.password === key) ?? (this.options.apiKeys.includes(key) ? this.accounts[0] : undefined);
  }

  /**
   * `POST /json/2/<model>/<method>` once the HTTP layer has authenticated `account` and parsed the
   * body: Odoo 19's `web_json_2_rpc` — `ids` and `context` taken out, every other key a named
   * argument bound like `inspect.Signature.bind`; a returned recordset (create) becomes its ids.
   */
  json2(account: Account, model: string, name: string, body: Record<string, unknown>): { result: unknown; write?: WriteRecord } {
    const { ids: rawIds = [], context = {}, ...named } = body;
    if (!MODEL_DEFS.has(model)) throw new HttpError(404, 'NotFound', `the model ${pyRepr(model)} does not exist`);
    if (typeof context !== 'object' || context === null || Array.isArray(context)) {
      throw typeError(`'${pyType(context)}' object is not a mapping: context must be an object`);
    }
    if (name.startsWith('_')) throw accessError(`Private methods (such as '${model}.${name}') cannot be called remotely.`);
    const target = resolve(model, name);
    if (!target) throw new HttpError(404, 'NotFound', `The method '${model}.${name}' does not exist`);
    if (target.atModel && isTruthy(rawIds)) throw new HttpError(422, 'UnprocessableEntity', `cannot call ${model}.${name} with ids`);
    const ids = target.atModel ? [] : toIds(rawIds);
    let bound: Record<string, unknown>;
    try {
      bound = bindNamed(target.parameters, named);
    } catch (error) {
      if (error instanceof PythonError) throw new HttpError(422, 'UnprocessableEntity', error.message);
      throw error;
    }
    let result = this.execute(account, target, ids, bound, context as Record<string, unknown>);
    // `create` returns records, which JSON-2 answers with their ids (a list even for one dict).
    if (name === 'create') result = Array.isArray(result) ? result : [result];
    const write = target.writes
      ? {
          api: 'json2' as const,
          uid: account.uid,
          login: account.login,
          model,
          method: name,
          args: [],
          ...(!target.atModel && { ids }),
          kwargs: { ...named, ...('context' in body && { context }) },
          result,
        }
      : undefined;
    return { result, write };
  }

  // --- both faces ------------------------------------------------------------------------------

  /** Runs a bound method as `account`, in one transaction when it writes; null stands for Python's None. */
  private execute(account: Account, target: Target, ids: number[], bound: Record<string, unknown>, context: Record<string, unknown>): unknown {
    const { def, name, orm, custom } = target;
    const readOnlyModel = Boolean(orm && def.readOnly);
    if (target.writes && (readOnlyModel || account.readOnly)) throw accessError(forbidden(def, name, readOnlyModel));
    const env: Env = { store: this.store, uid: account.uid, context, settings: this.options.settings, hooks: HOOKS };
    const run = () => (orm ? runOrm(env, def.name, name, ids, bound) : (custom as RecordMethod).run(env, ids, bound));
    return target.writes ? this.store.transaction(run) : run();
  }

  private checkDatabase(db: unknown): void {
    if (db !== this.options.db) {
      throw new PythonError(
        'psycopg2.OperationalError',
        `connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  database ${JSON.stringify(String(db))} does not exist`,
      );
    }
  }

  /** Odoo's `security.check(db, uid, password)`: the uid's password or one of its API keys. */
  private authorize(rawUid: unknown, password: unknown): Account {
    let uid: number;
    if (typeof rawUid === 'number' && Number.isInteger(rawUid)) uid = rawUid;
    else if (rawUid === false) uid = 0;
    else if (typeof rawUid === 'string' && /^\s*-?\d+\s*$/.test(rawUid)) uid = Number(rawUid);
    else throw valueError(`invalid literal for int() with base 10: ${pyRepr(rawUid)}`);
    const account = this.accounts.find((candidate) => candidate.uid === uid);
    if (!account || !this.passwordMatches(account, password)) throw accessDenied();
    return account;
  }

  private passwordMatches(account: Account, password: unknown): boolean {
    return typeof password === 'string' && password !== '' && (password === account.password || this.options.apiKeys.includes(password));
  }
}

/** A public method of a model, as both faces call it. */
interface Target {
  def: ModelDef;
  name: string;
  orm?: OrmMethod;
  custom?: RecordMethod;
  /** @api.model: no ids. */
  atModel: boolean;
  writes: boolean;
  parameters: Parameter[];
  /** For Python's TypeError messages: `BaseModel.search`, `AccountMove.action_post`. */
  qualname: string;
}

/** The ORM method or the model's own public method called `name`, if the model has one. */
function resolve(model: string, name: string): Target | undefined {
  const def = MODEL_DEFS.get(model);
  if (!def) return undefined;
  const orm = Object.hasOwn(ORM_METHODS, name) ? ORM_METHODS[name] : undefined;
  const methods = HOOKS.get(model)?.methods;
  const custom = methods && Object.hasOwn(methods, name) ? methods[name] : undefined;
  const found = orm ?? custom;
  if (!found) return undefined;
  return {
    def,
    name,
    orm,
    custom: orm ? undefined : custom,
    atModel: orm ? orm.model : Boolean(custom?.model),
    writes: found.writes,
    parameters: found.parameters,
    qualname: `${orm ? 'BaseModel' : className(model)}.${name}`,
  };
}

const asContext = (context: unknown): Record<string, unknown> =>
  typeof context === 'object' && context !== null && !Array.isArray(context) ? (context as Record<string, unknown>) : {};

/** Python's truth value of a JSON value (`if ids:`). */
const isTruthy = (value: unknown): boolean =>
  Array.isArray(value) ? value.length > 0 : typeof value === 'object' && value !== null ? Object.keys(value).length > 0 : Boolean(value);

function forbidden(def: { name: string; description: string }, method: string, readOnlyModel: boolean): string {
  const operation = method === 'create' ? 'create' : method === 'unlink' ? 'delete' : 'modify';
  const why = readOnlyModel
    ? 'The Odoo sandbox serves this model read-only.'
    : `This operation is allowed for the following groups:\n\t- ${def.name.startsWith('account.') ? 'Invoicing/Billing' : 'Extra Rights/Contact Creation'}\n\nContact your administrator to request access if necessary.`;
  return `You are not allowed to ${operation} '${def.description}' (${def.name}) records.\n\n${why}`;
}

function pyType(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  if (value === null || value === undefined) return 'NoneType';
  return Array.isArray(value) ? 'list' : 'dict';
}
