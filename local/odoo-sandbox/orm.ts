/**
 * The writing half of Odoo's ORM as the external API exposes it: create / write / unlink with
 * Odoo's value conversion, x2many commands, defaults (`default_<field>` in the context too) and
 * Odoo's error messages. Reading and searching: queries.ts.
 */
import { modelDef } from './compute';
import type { Env } from './env';
import { integrityError, missingError, valueError } from './faults';
import { type FieldDef, MODEL_DEFS, type ModelDef } from './models';
import { pyRepr } from './python';
import type { Row } from './store';

type Values = Record<string, unknown>;

/** Record ids from an RPC argument: one id or a list of ids. */
export function toIds(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value];
  for (const id of list) if (typeof id !== 'number' || !Number.isInteger(id)) throw valueError(`Invalid record id ${pyRepr(id)}`);
  return [...new Set(list as number[])];
}

/** The rows of `ids`; MissingError when any is gone. */
export function browse(env: Env, model: string, ids: readonly number[]): Row[] {
  const rows = ids.map((id) => env.store.get(model, id));
  const missing = ids.filter((_id, index) => rows[index] === undefined);
  if (missing.length > 0) throw missingError(model, missing, env.uid);
  return rows as Row[];
}

// --- create / write / unlink ---------------------------------------------------------------------

export function createRecords(env: Env, model: string, valsList: readonly unknown[]): number[] {
  return valsList.map((vals) => createRecord(env, model, asValues(vals)));
}

function createRecord(env: Env, model: string, vals: Values): number {
  const def = modelDef(model);
  const hooks = env.hooks.get(model);
  checkFieldNames(def, vals);
  let values: Values = {};
  for (const [name, field] of Object.entries(def.fields)) {
    if (field.computed || field.type === 'one2many') continue;
    const contextDefault = env.context[`default_${name}`];
    const raw = name in vals ? vals[name] : contextDefault !== undefined ? contextDefault : field.default;
    values[name] = convertValue(env, def, name, field, raw ?? false);
  }
  if (hooks?.prepareCreate) values = hooks.prepareCreate(env, values, vals);
  for (const [name, field] of Object.entries(def.fields)) {
    if (field.required && (values[name] === false || values[name] === undefined)) {
      throw integrityError('a mandatory field is not set.', def, { name, string: field.string });
    }
  }
  const row = env.store.insert(model, values);
  applyOne2many(env, def, row, vals);
  hooks?.afterCreate?.(env, row);
  return row.id;
}

export function writeRecords(env: Env, model: string, ids: readonly number[], rawVals: unknown): void {
  const def = modelDef(model);
  const vals = asValues(rawVals);
  const rows = browse(env, model, ids);
  checkFieldNames(def, vals);
  const values: Values = {};
  for (const [name, raw] of Object.entries(vals)) {
    const field = def.fields[name] as FieldDef;
    if (field.computed || field.type === 'one2many') continue;
    values[name] = convertValue(env, def, name, field, raw);
  }
  const hooks = env.hooks.get(model);
  hooks?.checkWrite?.(env, rows, { ...values, ...pick(vals, one2manyNames(def)) });
  for (const row of rows) {
    env.store.update(model, row.id, values);
    applyOne2many(env, def, row, vals);
  }
}

export function unlinkRecords(env: Env, model: string, ids: readonly number[]): void {
  const def = modelDef(model);
  const rows = browse(env, model, ids);
  env.hooks.get(model)?.checkUnlink?.(env, rows);
  // Children whose link back is required go with their parent (ondelete='cascade').
  const cascades = Object.values(def.fields).flatMap((field) =>
    field.type === 'one2many' && field.relation && field.inverse && modelDef(field.relation).fields[field.inverse]?.required
      ? [{ model: field.relation, field: field.inverse }]
      : [],
  );
  for (const row of rows) {
    const referrer = findReferrer(env, model, row.id, cascades);
    if (referrer) {
      throw integrityError('another model requires the record being deleted. If possible, archive it instead.', modelDef(referrer.model), {
        name: referrer.field,
        string: modelDef(referrer.model).fields[referrer.field]?.string ?? referrer.field,
      });
    }
  }
  for (const row of rows) {
    for (const cascade of cascades) for (const child of env.store.referencing(cascade.model, cascade.field, row.id)) env.store.delete(cascade.model, child);
    env.store.delete(model, row.id);
  }
}

/** A stored many2one that points at the record (ondelete='restrict' in Odoo's accounting models). */
function findReferrer(env: Env, model: string, id: number, cascades: { model: string; field: string }[]): { model: string; field: string } | undefined {
  for (const other of ['account.move', 'account.payment', 'account.move.line']) {
    for (const [name, field] of Object.entries(modelDef(other).fields)) {
      if (field.type !== 'many2one' || field.relation !== model || field.computed) continue;
      if (cascades.some((cascade) => cascade.model === other && cascade.field === name)) continue;
      if (env.store.referencing(other, name, id).some((referrer) => !(other === model && referrer === id))) return { model: other, field: name };
    }
  }
  return undefined;
}

const asValues = (vals: unknown): Values => {
  if (typeof vals !== 'object' || vals === null || Array.isArray(vals))
    throw valueError(`Invalid values ${pyRepr(vals)}: expected a dictionary of field values`);
  return vals as Values;
};

const one2manyNames = (def: ModelDef): string[] => Object.keys(def.fields).filter((name) => def.fields[name]?.type === 'one2many');

const pick = (vals: Values, names: string[]): Values => Object.fromEntries(names.filter((name) => name in vals).map((name) => [name, vals[name]]));

function checkFieldNames(def: ModelDef, vals: Values): void {
  for (const name of Object.keys(vals)) if (!def.fields[name]) throw valueError(`Invalid field '${name}' on model '${def.name}'`);
}

// --- value conversion ----------------------------------------------------------------------------

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** A client value to its stored form, as Odoo's `convert_to_cache` would accept it. */
export function convertValue(env: Env, def: ModelDef, name: string, field: FieldDef, value: unknown): unknown {
  const wrong = () => valueError(`Wrong value for ${def.name}.${name}: ${pyRepr(value)}`);
  if (value === null || value === undefined) value = false;
  switch (field.type) {
    case 'integer':
      if (value === false) return 0;
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrong();
      return value;
    case 'float':
    case 'monetary':
      if (value === false) return 0;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrong();
      return value;
    case 'char':
    case 'text':
      if (value === false) return false;
      if (typeof value === 'number') return String(value);
      if (typeof value !== 'string') throw wrong();
      return value;
    case 'boolean':
      return Boolean(value);
    case 'date':
    case 'datetime': {
      if (value === false) return false;
      const text = value instanceof Date ? value.toISOString().slice(0, 19).replace('T', ' ') : value;
      if (typeof text !== 'string') throw wrong();
      if (field.type === 'date' && (DATE.test(text) || DATETIME.test(text))) return text.slice(0, 10);
      if (field.type === 'datetime' && DATETIME.test(text)) return text;
      if (field.type === 'datetime' && DATE.test(text)) return `${text} 00:00:00`;
      throw valueError(`time data ${pyRepr(text)} does not match format '${field.type === 'date' ? '%Y-%m-%d' : '%Y-%m-%d %H:%M:%S'}'`);
    }
    case 'selection':
      if (value === false) return false;
      if (typeof value !== 'string' || !field.selection?.includes(value)) throw wrong();
      return value;
    case 'many2one': {
      if (value === false || value === 0) return false;
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrong();
      if (!env.store.get(field.relation ?? '', value)) {
        throw integrityError(`the referenced ${field.relation}(${value},) does not exist.`, def, { name, string: field.string });
      }
      return value;
    }
    case 'many2many':
      return many2manyIds(env, def, name, field, value);
    case 'one2many':
      return false;
  }
}

/** many2many commands (6 = set, 4 = link, 3 = unlink, 5 = clear) or a plain id list, to ids. */
function many2manyIds(env: Env, def: ModelDef, name: string, field: FieldDef, value: unknown): number[] {
  if (value === false) return [];
  if (!Array.isArray(value)) throw valueError(`Wrong value for ${def.name}.${name}: ${pyRepr(value)}`);
  let ids: number[] = [];
  for (const item of value) {
    if (typeof item === 'number') ids.push(item);
    else if (Array.isArray(item) && item[0] === 6) ids = toIds(item[2] ?? []);
    else if (Array.isArray(item) && item[0] === 4) ids.push(...toIds(item[1]));
    else if (Array.isArray(item) && item[0] === 3) ids = ids.filter((id) => id !== item[1]);
    else if (Array.isArray(item) && item[0] === 5) ids = [];
    else throw valueError(`Wrong value for ${def.name}.${name}: ${pyRepr(item)} (the sandbox takes the 6, 4, 3 and 5 commands on many2many fields)`);
  }
  const comodel = MODEL_DEFS.get(field.relation ?? '');
  for (const id of ids) {
    if (!comodel || !env.store.get(comodel.name, id)) {
      const detail = comodel ? `the referenced ${comodel.name}(${id},) does not exist.` : `the Odoo sandbox has no ${field.relation} records.`;
      throw integrityError(detail, def, { name, string: field.string });
    }
  }
  return [...new Set(ids)];
}

/** one2many commands: 0 create, 1 update, 2/3 delete, 4 link, 5 clear, 6 replace. */
function applyOne2many(env: Env, def: ModelDef, parent: Row, vals: Values): void {
  for (const [name, field] of Object.entries(def.fields)) {
    if (field.type !== 'one2many' || !(name in vals) || !field.relation || !field.inverse) continue;
    const { relation, inverse } = field;
    const commands = vals[name];
    if (commands === false) continue;
    if (!Array.isArray(commands)) throw valueError(`Wrong value for ${def.name}.${name}: ${pyRepr(commands)}`);
    const children = () => env.store.referencing(relation, inverse, parent.id);
    const own = (id: unknown): number => {
      if (typeof id !== 'number' || !children().includes(id)) throw missingError(relation, [Number(id)], env.uid);
      return id;
    };
    for (const command of commands) {
      if (!Array.isArray(command)) throw valueError(`Wrong value for ${def.name}.${name}: ${pyRepr(command)}`);
      const [code, id, values] = command as [unknown, unknown, unknown];
      if (code === 0) createRecords(env, relation, [{ ...asValues(values), [inverse]: parent.id }]);
      else if (code === 1) writeRecords(env, relation, [own(id)], values);
      else if (code === 2 || code === 3) env.store.delete(relation, own(id));
      else if (code === 4) writeRecords(env, relation, toIds(id), { [inverse]: parent.id });
      else if (code === 5) for (const child of children()) env.store.delete(relation, child);
      else if (code === 6) {
        const keep = toIds(values ?? []);
        for (const child of children()) if (!keep.includes(child)) env.store.delete(relation, child);
        if (keep.length > 0) writeRecords(env, relation, keep, { [inverse]: parent.id });
      } else throw valueError(`Wrong value for ${def.name}.${name}: ${pyRepr(command)}`);
    }
  }
}
