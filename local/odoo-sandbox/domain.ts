/**
 * Odoo search domains: prefix `&`, `|`, `!` with implicit AND between top-level terms, leaves
 * `[path, operator, value]` where path may follow relations (`partner_id.email`). Null semantics
 * follow Odoo 17's SQL: `!=` and `not in` also match unset values, comparisons never do.
 */
import { fullRow, displayName, modelDef } from './compute';
import type { Env } from './env';
import { valueError } from './faults';
import type { FieldDef, ModelDef } from './models';
import { leafRepr, pyRepr } from './python';
import type { Row } from './store';

const OPERATORS = new Set(['=', '!=', '<>', '<', '>', '<=', '>=', 'in', 'not in', 'like', 'ilike', 'not like', 'not ilike', '=like', '=ilike', '=?']);

export type DomainNode =
  | { kind: 'and' | 'or'; left: DomainNode; right: DomainNode }
  | { kind: 'not'; child: DomainNode }
  | { kind: 'const'; value: boolean }
  | { kind: 'leaf'; path: string[]; operator: string; value: unknown; repr: string };

/** Parses and validates a domain against `model`; throws Odoo's ValueErrors. */
export function parseDomain(model: ModelDef, domain: unknown): DomainNode {
  if (domain === false || domain === null || domain === undefined) return { kind: 'const', value: true };
  if (!Array.isArray(domain)) throw valueError(`Invalid domain: ${pyRepr(domain)}`);
  let index = 0;
  const syntaxError = () => valueError(`Domain ${pyRepr(domain)} is syntactically not correct.`);
  const term = (): DomainNode => {
    if (index >= domain.length) throw syntaxError();
    const token: unknown = domain[index++];
    if (token === '&' || token === '|') {
      const left = term();
      const right = term();
      return { kind: token === '&' ? 'and' : 'or', left, right };
    }
    if (token === '!') return { kind: 'not', child: term() };
    return parseLeaf(model, token);
  };
  const terms: DomainNode[] = [];
  while (index < domain.length) terms.push(term());
  if (terms.length === 0) return { kind: 'const', value: true };
  return terms.reduce((left, right) => ({ kind: 'and', left, right }));
}

function parseLeaf(model: ModelDef, token: unknown): DomainNode {
  if (!Array.isArray(token) || token.length !== 3) throw valueError(`Invalid leaf ${pyRepr(token)}`);
  const [left, operator, value] = token as [unknown, unknown, unknown];
  // TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1).
  if ((left === 1 || left === 0) && operator === '=' && value === 1) return { kind: 'const', value: left === 1 };
  const repr = leafRepr(token);
  if (typeof left !== 'string' || typeof operator !== 'string' || !OPERATORS.has(operator.toLowerCase())) throw valueError(`Invalid leaf ${repr}`);
  const path = left.split('.');
  let current = model;
  path.forEach((name, position) => {
    const field = current.fields[name];
    if (!field) throw valueError(`Invalid field ${current.name}.${name} in leaf ${repr}`);
    if (position < path.length - 1) {
      if (!field.relation) throw valueError(`Invalid field ${current.name}.${name} in leaf ${repr}: it has no sub-fields`);
      current = modelDef(field.relation);
    }
  });
  const normalized = operator.toLowerCase() === '<>' ? '!=' : operator.toLowerCase();
  if ((normalized === 'in' || normalized === 'not in') && !Array.isArray(value) && typeof value === 'object' && value !== null) {
    throw valueError(`Invalid leaf ${repr}`);
  }
  return { kind: 'leaf', path, operator: normalized, value: value instanceof Date ? value.toISOString().slice(0, 19).replace('T', ' ') : value, repr };
}

/** Whether a stored row satisfies the domain. */
export function matches(env: Env, model: ModelDef, row: Row, node: DomainNode): boolean {
  switch (node.kind) {
    case 'const':
      return node.value;
    case 'and':
      return matches(env, model, row, node.left) && matches(env, model, row, node.right);
    case 'or':
      return matches(env, model, row, node.left) || matches(env, model, row, node.right);
    case 'not':
      return !matches(env, model, row, node.child);
    case 'leaf':
      return matchPath(env, model, fullRow(env, model.name, row), node.path, node.operator, node.value);
  }
}

/** Whether the domain mentions `field` at its top level (Odoo's active_test looks for this). */
export function mentions(node: DomainNode, field: string): boolean {
  switch (node.kind) {
    case 'const':
      return false;
    case 'and':
    case 'or':
      return mentions(node.left, field) || mentions(node.right, field);
    case 'not':
      return mentions(node.child, field);
    case 'leaf':
      return node.path[0] === field;
  }
}

function matchPath(env: Env, model: ModelDef, row: Row, path: string[], operator: string, operand: unknown): boolean {
  const [name = '', ...rest] = path;
  const field = model.fields[name] as FieldDef;
  const value = row[name];
  if (rest.length === 0) return compare(env, field, value, operator, operand);
  // A path through a relation matches when some related record matches the rest (Odoo's subquery).
  const comodel = modelDef(field.relation ?? '');
  const ids = Array.isArray(value) ? (value as number[]) : typeof value === 'number' ? [value] : [];
  const related = ids.map((id) => env.store.get(comodel.name, id)).filter((target): target is Row => target !== undefined);
  const negative = operator === '!=' || operator === 'not in' || operator.startsWith('not ');
  if (related.length === 0) return negative;
  return related.some((target) => matchPath(env, comodel, fullRow(env, comodel.name, target), rest, operator, operand));
}

const isUnset = (value: unknown): boolean => value === false || value === null || value === undefined;

function compare(env: Env, field: FieldDef, value: unknown, operator: string, operand: unknown): boolean {
  if (operator === '=?') return isUnset(operand) || compare(env, field, value, '=', operand);
  if (field.type === 'many2one' || field.type === 'one2many' || field.type === 'many2many') return compareRelational(env, field, value, operator, operand);
  if (field.type === 'boolean') value = value === true;
  // A datetime compared with a date field counts by its day, as Odoo converts it.
  if (field.type === 'date' && typeof operand === 'string' && /^\d{4}-\d{2}-\d{2} /.test(operand)) operand = operand.slice(0, 10);
  const unset = field.type === 'boolean' ? false : isUnset(value);
  switch (operator) {
    case '=':
      return isUnset(operand) ? unset || value === false : !unset && same(value, operand);
    case '!=':
      return isUnset(operand) ? !unset && value !== false : unset || !same(value, operand);
    case 'in':
    case 'not in': {
      const list = Array.isArray(operand) ? operand : [operand];
      const found = unset ? list.some(isUnset) : list.some((item) => same(value, item));
      return operator === 'in' ? found : !found;
    }
    case '<':
    case '>':
    case '<=':
    case '>=': {
      if (unset || isUnset(operand)) return false;
      const [left, right] = typeof value === 'number' && typeof operand === 'number' ? [value, operand] : [String(value), String(operand)];
      const order = left < right ? -1 : left > right ? 1 : 0;
      return operator === '<' ? order < 0 : operator === '>' ? order > 0 : operator === '<=' ? order <= 0 : order >= 0;
    }
    default:
      return like(unset ? undefined : String(value), operator, operand);
  }
}

/** many2one and x2many: ids compare as ids, strings against the targets' display names (name_search). */
function compareRelational(env: Env, field: FieldDef, value: unknown, operator: string, operand: unknown): boolean {
  const ids = Array.isArray(value) ? (value as number[]) : typeof value === 'number' ? [value] : [];
  const comodel = field.relation ?? '';
  const names = () =>
    ids.map((id) => {
      const target = env.store.get(comodel, id);
      return target ? displayName(env, comodel, target) : '';
    });
  const hit = (item: unknown): boolean => (typeof item === 'string' ? names().includes(item) : ids.includes(Number(item)));
  switch (operator) {
    case '=':
      return isUnset(operand) ? ids.length === 0 : hit(operand);
    case '!=':
      return isUnset(operand) ? ids.length > 0 : !hit(operand);
    case 'in':
    case 'not in': {
      const list = Array.isArray(operand) ? operand : [operand];
      const found = (ids.length === 0 && list.some(isUnset)) || list.some((item) => !isUnset(item) && hit(item));
      return operator === 'in' ? found : !found;
    }
    case '<':
    case '>':
    case '<=':
    case '>=':
      return ids.some((id) => compare(env, { type: 'integer', string: '' }, id, operator, operand));
    default: {
      const negative = operator.startsWith('not ');
      if (ids.length === 0) return negative;
      const positive = operator.replace('not ', '');
      const any = names().some((name) => like(name, positive, operand));
      return negative ? !any : any;
    }
  }
}

const same = (value: unknown, operand: unknown): boolean =>
  typeof value === 'number' || typeof operand === 'number' ? Number(value) === Number(operand) : value === operand;

/** SQL (I)LIKE; `like`/`ilike` wrap the operand in `%…%` as Odoo does, `=like`/`=ilike` do not. */
function like(value: string | undefined, operator: string, operand: unknown): boolean {
  const negative = operator.startsWith('not ');
  if (value === undefined) return negative;
  const kind = operator.replace('not ', '');
  const pattern = isUnset(operand) ? '' : String(operand);
  const wrapped = kind === 'like' || kind === 'ilike' ? `%${pattern}%` : pattern;
  const source = wrapped.replace(
    /\\(.)|([%_])|([.*+?^${}()|[\]\\/])/g,
    (_match, escaped: string | undefined, wildcard: string | undefined, special: string | undefined) => {
      if (escaped !== undefined) return escaped.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      if (wildcard !== undefined) return wildcard === '%' ? '[\\s\\S]*' : '[\\s\\S]';
      return `\\${special}`;
    },
  );
  const found = new RegExp(`^${source}$`, kind.includes('ilike') ? 'i' : '').test(value);
  return negative ? !found : found;
}
