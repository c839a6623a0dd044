/**
 * The two XML-RPC services of Odoo's external API, over one in-memory database:
 * `common` (version, authenticate, login) and `object` (execute_kw, execute), with Odoo 17's
 * checks in its order: database, credentials, method name, model, method, arguments, access.
 */
import type { Env, RecordMethod, Settings } from './env';
import { accessDenied, accessError, PythonError, typeError, userError, valueError } from './faults';
import { className, HOOKS, ORM_METHODS, runOrm } from './methods';
import { MODEL_DEFS } from './models';
import { toIds } from './orm';
import { bindArguments, pyRepr } from './python';
import { readRecords } from './queries';
import { Store } from './store';

export interface Account {
  login: string;
  uid: number;
  password: string;
  readOnly: boolean;
}

/** A change made through `object`, for the write log. */
export interface WriteRecord {
  uid: number;
  login: string;
  model: string;
  method: string;
  args: unknown[];
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

  // --- object ----------------------------------------------------------------------------------

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
    const def = MODEL_DEFS.get(model);
    if (!def) throw userError(`Object ${model} doesn't exist`);

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

    const hooks = HOOKS.get(model);
    const orm = ORM_METHODS[name];
    const custom = hooks?.methods?.[name];
    const target = orm ?? custom;
    if (!target) throw new PythonError('AttributeError', `The method '${model}.${name}' does not exist`);
    if (target.writes && (def.readOnly || account.readOnly)) throw accessError(forbidden(def, name, Boolean(def.readOnly)));

    const atModel = orm?.model ?? false;
    if (!atModel && args.length === 0) throw new PythonError('IndexError', 'tuple index out of range');
    const ids = atModel ? [] : toIds(args[0]);
    const qualname = `${orm ? 'BaseModel' : className(model)}.${name}`;
    const bound = bindArguments(qualname, target.parameters, atModel ? args : args.slice(1), kwargs);
    const env: Env = {
      store: this.store,
      uid: account.uid,
      context: typeof context === 'object' && context !== null && !Array.isArray(context) ? (context as Record<string, unknown>) : {},
      settings: this.options.settings,
      hooks: HOOKS,
    };
    const run = () => (orm ? runOrm(env, model, name, ids, bound) : (custom as RecordMethod).run(env, ids, bound));
    const result = target.writes ? this.store.transaction(run) : run();
    const write = target.writes
      ? { uid: account.uid, login: account.login, model, method: name, args, kwargs: { ...kwargs, ...(context !== undefined && { context }) }, result }
      : undefined;
    return { result, write };
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
