/**
 * What each model answers to: the ORM methods every model has, and per model the hooks with its
 * business rules and extra public methods.
 */
import { modelDef } from './compute';
import type { Env, ModelHooks } from './env';
import { validationError } from './faults';
import { moveHooks } from './moves';
import { createRecords, unlinkRecords, writeRecords } from './orm';
import { paymentHooks, paymentRegisterHooks } from './payments';
import type { Parameter } from './python';
import { fieldsGet, readRecords, searchIds } from './queries';
import { reversalHooks } from './reversals';

const partnerHooks: ModelHooks = {
  prepareCreate(_env, values) {
    if (values.type === 'contact' && !values.name) throw validationError('The operation cannot be completed: Contacts require a name');
    return values;
  },
  checkWrite(_env, rows, values) {
    if ('name' in values && !values.name && rows.some((row) => (values.type ?? row.type) === 'contact')) {
      throw validationError('The operation cannot be completed: Contacts require a name');
    }
  },
};

const userHooks: ModelHooks = {
  methods: {
    // What Odoo's JSON-2 documentation points to for "who am I": the caller's context with its uid.
    context_get: {
      parameters: [],
      model: true,
      writes: false,
      run(env) {
        const user = env.store.get('res.users', env.uid);
        return { lang: user?.lang || 'en_US', tz: user?.tz ?? false, uid: env.uid };
      },
    },
  },
};

export const HOOKS: ReadonlyMap<string, ModelHooks> = new Map([
  ['res.partner', partnerHooks],
  ['res.users', userHooks],
  ['account.move', moveHooks],
  ['account.payment', paymentHooks],
  ['account.payment.register', paymentRegisterHooks],
  ['account.move.reversal', reversalHooks],
]);

/** The ORM methods every model has; `model: true` = @api.model (no ids in front of the arguments). */
export interface OrmMethod {
  model: boolean;
  writes: boolean;
  parameters: Parameter[];
}

export const ORM_METHODS: Record<string, OrmMethod> = {
  create: { model: true, writes: true, parameters: [{ name: 'vals_list' }] },
  read: {
    model: false,
    writes: false,
    parameters: [
      { name: 'fields', default: null },
      { name: 'load', default: '_classic_read' },
    ],
  },
  write: { model: false, writes: true, parameters: [{ name: 'vals' }] },
  unlink: { model: false, writes: true, parameters: [] },
  search: {
    model: true,
    writes: false,
    parameters: [{ name: 'domain' }, { name: 'offset', default: 0 }, { name: 'limit', default: null }, { name: 'order', default: null }],
  },
  search_read: {
    model: true,
    writes: false,
    parameters: [
      { name: 'domain', default: null },
      { name: 'fields', default: null },
      { name: 'offset', default: 0 },
      { name: 'limit', default: null },
      { name: 'order', default: null },
      // Odoo passes `**read_kwargs` on to read; `load` is the one read takes.
      { name: 'load', default: '_classic_read' },
    ],
  },
  search_count: { model: true, writes: false, parameters: [{ name: 'domain' }, { name: 'limit', default: null }] },
  fields_get: {
    model: true,
    writes: false,
    parameters: [
      { name: 'allfields', default: null },
      { name: 'attributes', default: null },
    ],
  },
};

/** The ORM methods' behaviour, given the model and bound arguments. */
export function runOrm(env: Env, model: string, method: string, ids: number[], args: Record<string, unknown>): unknown {
  switch (method) {
    case 'create': {
      const single = !Array.isArray(args.vals_list);
      const created = createRecords(env, model, single ? [args.vals_list] : (args.vals_list as unknown[]));
      return single ? created[0] : created;
    }
    case 'read':
      return readRecords(env, model, ids, args.fields, args.load);
    case 'write':
      writeRecords(env, model, ids, args.vals);
      return true;
    case 'unlink':
      unlinkRecords(env, model, ids);
      return true;
    case 'search':
      return searchIds(env, model, args.domain, args);
    case 'search_read': {
      const found = searchIds(env, model, args.domain, args);
      return readRecords(env, model, found, args.fields, args.load);
    }
    case 'search_count': {
      const count = searchIds(env, model, args.domain).length;
      return typeof args.limit === 'number' ? Math.min(count, args.limit) : count;
    }
    case 'fields_get':
      return fieldsGet(modelDef(model), args.allfields, args.attributes);
    default:
      throw new Error(`odoo-sandbox: no ORM method ${method}`);
  }
}

export const className = (model: string): string =>
  model
    .split('.')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
