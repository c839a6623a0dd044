/** Bits of Python behaviour clients see through Odoo: repr() in messages and call-argument binding. */
import { typeError } from './faults';

/** Python's repr of a value that came over XML-RPC (for error messages). */
export function pyRepr(value: unknown): string {
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return 'None';
  if (value instanceof Date) return `datetime.datetime(${value.toISOString()})`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${pyRepr(key)}: ${pyRepr(item)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** A leaf as Python prints it in Odoo's messages: `('email', 'ilike', 'x')`. */
export const leafRepr = (leaf: readonly unknown[]): string => `(${leaf.map(pyRepr).join(', ')})`;

export interface Parameter {
  name: string;
  /** Absent = required. */
  default?: unknown;
}

/**
 * Binds positional and keyword arguments to a method's parameters as Python does, with Python's
 * TypeError messages. `qualname` is e.g. `BaseModel.search`; `self` counts in the positional total.
 */
export function bindArguments(
  qualname: string,
  parameters: readonly Parameter[],
  args: readonly unknown[],
  kwargs: Record<string, unknown>,
): Record<string, unknown> {
  const bound: Record<string, unknown> = {};
  if (args.length > parameters.length) {
    const required = parameters.filter((parameter) => !('default' in parameter)).length;
    const range = required === parameters.length ? `${parameters.length + 1}` : `from ${required + 1} to ${parameters.length + 1}`;
    throw typeError(`${qualname}() takes ${range} positional arguments but ${args.length + 1} were given`);
  }
  parameters.forEach((parameter, index) => {
    if (index < args.length) bound[parameter.name] = args[index];
  });
  for (const [name, value] of Object.entries(kwargs)) {
    if (!parameters.some((parameter) => parameter.name === name)) throw typeError(`${qualname}() got an unexpected keyword argument '${name}'`);
    if (name in bound) throw typeError(`${qualname}() got multiple values for argument '${name}'`);
    bound[name] = value;
  }
  const missing = parameters.filter((parameter) => !(parameter.name in bound) && !('default' in parameter)).map((parameter) => `'${parameter.name}'`);
  if (missing.length > 0) {
    const list = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
    throw typeError(`${qualname}() missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ${list}`);
  }
  for (const parameter of parameters) if (!(parameter.name in bound)) bound[parameter.name] = parameter.default;
  return bound;
}

/**
 * Binds named arguments only, as JSON-2 does with `inspect.signature(func).bind(records, **kwargs)`,
 * with that function's TypeError messages (not those of a call): the first missing parameter in
 * order, then the first unknown name.
 */
export function bindNamed(parameters: readonly Parameter[], named: Record<string, unknown>): Record<string, unknown> {
  if ('self' in named) throw typeError("multiple values for argument 'self'");
  const bound: Record<string, unknown> = {};
  for (const parameter of parameters) {
    if (parameter.name in named) bound[parameter.name] = named[parameter.name];
    else if ('default' in parameter) bound[parameter.name] = parameter.default;
    else throw typeError(`missing a required argument: '${parameter.name}'`);
  }
  const unknown = Object.keys(named).find((name) => !parameters.some((parameter) => parameter.name === name));
  if (unknown !== undefined) throw typeError(`got an unexpected keyword argument '${unknown}'`);
  return bound;
}
