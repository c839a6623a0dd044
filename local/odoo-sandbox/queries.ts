/**
 * The reading half of the ORM: `read` (many2one as `[id, display_name]`, unset as false),
 * `search` with domains, `_order`, offset/limit and `active_test`, and `fields_get`.
 */
import { displayName, fullRow, modelDef } from './compute';
import { matches, mentions, parseDomain } from './domain';
import type { Env } from './env';
import { valueError } from './faults';
import type { FieldDef, ModelDef } from './models';
import { browse } from './orm';
import { pyRepr } from './python';
import type { Row } from './store';

type Values = Record<string, unknown>;

/** Records as `read` returns them: many2one as `[id, display_name]`, unset as false. */
export function readRecords(env: Env, model: string, ids: readonly number[], fields: unknown, load: unknown = '_classic_read'): Values[] {
  const def = modelDef(model);
  const names = fieldNames(def, fields);
  return browse(env, model, ids).map((row) => present(env, def, row, names, load === '_classic_read'));
}

export function fieldNames(def: ModelDef, fields: unknown): string[] {
  if (fields === false || fields === null || fields === undefined || (Array.isArray(fields) && fields.length === 0)) return Object.keys(def.fields);
  const list = Array.isArray(fields) ? fields : [fields];
  for (const name of list) if (typeof name !== 'string' || !def.fields[name]) throw valueError(`Invalid field ${pyRepr(name)} on model '${def.name}'`);
  return ['id', ...(list as string[]).filter((name) => name !== 'id')];
}

function present(env: Env, def: ModelDef, row: Row, names: string[], classic: boolean): Values {
  const full = fullRow(env, def.name, row);
  const record: Values = {};
  for (const name of names) {
    const field = def.fields[name] as FieldDef;
    const value = full[name];
    if (field.type === 'many2one') {
      const target = typeof value === 'number' ? env.store.get(field.relation ?? '', value) : undefined;
      record[name] = target ? (classic ? [target.id, displayName(env, field.relation ?? '', target)] : target.id) : false;
    } else if (field.type === 'one2many' || field.type === 'many2many') {
      record[name] = Array.isArray(value) ? [...(value as number[])] : [];
    } else {
      record[name] = value === undefined || value === null ? false : value;
    }
  }
  return record;
}

export interface SearchOptions {
  offset?: unknown;
  limit?: unknown;
  order?: unknown;
}

export function searchIds(env: Env, model: string, domain: unknown, options: SearchOptions = {}): number[] {
  const def = modelDef(model);
  let node = parseDomain(def, domain);
  // active_test: archived records are hidden unless the domain asks about `active`.
  if (def.fields.active && env.context.active_test !== false && !mentions(node, 'active')) {
    node = { kind: 'and', left: node, right: { kind: 'leaf', path: ['active'], operator: '=', value: true, repr: "('active', '=', True)" } };
  }
  const offset = integerOption('offset', options.offset, 0) ?? 0;
  const limit = integerOption('limit', options.limit, undefined);
  const rows = env.store.all(model).filter((row) => matches(env, def, row, node));
  const sorted = sortRows(env, def, rows, options.order);
  return sorted.slice(offset, limit === undefined ? undefined : offset + limit).map((row) => row.id);
}

function integerOption(name: string, value: unknown, fallback: number | undefined): number | undefined {
  if (value === false || value === null || value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw valueError(`Invalid ${name} ${pyRepr(value)}`);
  return value;
}

function sortRows(env: Env, def: ModelDef, rows: Row[], order: unknown): Row[] {
  const spec = order === false || order === null || order === undefined || order === '' ? def.order : order;
  if (typeof spec !== 'string') throw invalidOrder(spec);
  const keys = spec.split(',').map((part) => {
    const [name = '', direction = 'asc', ...rest] = part.trim().split(/\s+/);
    const field = def.fields[name];
    if (!field || field.type === 'one2many' || field.type === 'many2many' || rest.length > 0 || !['asc', 'desc'].includes(direction.toLowerCase())) {
      throw invalidOrder(spec);
    }
    return { name, field, descending: direction.toLowerCase() === 'desc' };
  });
  const fulls = new Map(rows.map((row) => [row.id, fullRow(env, def.name, row)]));
  const sortValue = (row: Row, name: string, field: FieldDef): unknown => {
    const value = fulls.get(row.id)?.[name];
    if (field.type !== 'many2one' || typeof value !== 'number') return value;
    const target = env.store.get(field.relation ?? '', value);
    return target ? displayName(env, field.relation ?? '', target) : value;
  };
  return [...rows].sort((a, b) => {
    for (const { name, field, descending } of keys) {
      const order = compareValues(sortValue(a, name, field), sortValue(b, name, field), descending);
      if (order !== 0) return order;
    }
    return a.id - b.id;
  });
}

/** PostgreSQL order: NULLs last ascending, first descending. */
function compareValues(a: unknown, b: unknown, descending: boolean): number {
  const unset = (value: unknown) => value === false || value === null || value === undefined;
  if (unset(a) || unset(b)) {
    if (unset(a) && unset(b)) return 0;
    return (unset(a) ? 1 : -1) * (descending ? -1 : 1);
  }
  const order = typeof a === 'number' && typeof b === 'number' ? a - b : a === b ? 0 : String(a) < String(b) ? -1 : 1;
  return descending ? -order : order;
}

const invalidOrder = (order: unknown) =>
  valueError(
    `Invalid "order" specified (${String(order)}). A valid "order" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)`,
  );

/** `fields_get`: the field descriptions clients use to check a model. */
export function fieldsGet(def: ModelDef, allfields: unknown, attributes: unknown): Record<string, Values> {
  const names =
    Array.isArray(allfields) && allfields.length > 0
      ? fieldNames(def, allfields).filter((name) => name !== 'id' || allfields.includes('id'))
      : Object.keys(def.fields);
  const wanted = Array.isArray(attributes) && attributes.length > 0 ? (attributes as string[]) : undefined;
  return Object.fromEntries(
    names.map((name) => {
      const field = def.fields[name] as FieldDef;
      const description: Values = {
        type: field.type,
        string: field.string,
        readonly: Boolean(field.computed) || Boolean(def.readOnly),
        required: Boolean(field.required),
        store: true,
        ...(field.relation && { relation: field.relation }),
        ...(field.selection && { selection: field.selection.map((value) => [value, value]) }),
      };
      return [name, wanted ? Object.fromEntries(Object.entries(description).filter(([key]) => wanted.includes(key))) : description];
    }),
  );
}
