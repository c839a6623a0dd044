/**
 * Stripe's v1 wire format: `application/x-www-form-urlencoded` with bracket keys
 * (`metadata[bookingId]=b1`, `expand[0]=latest_charge`, `expand[]=customer`,
 * `address[line1]=…`), decoded into nested objects and arrays of strings.
 */

/** A decoded value: every leaf is a string, as on the wire. */
export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

/** Malformed keys or conflicting shapes (`a=1&a[b]=2`). */
export class FormError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

// Keys that would reach Object.prototype if a caller ever copied them with plain assignment.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// Beyond this an index is an attack or a bug, not a request (arrays are compacted anyway).
const MAX_INDEX = 1000;
const KEY_PATTERN = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

/** Decodes a form body or query string into nested objects. */
export function parseForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(text)) insert(root, key, value);
  return compact(root) as FormObject;
}

function segmentsOf(key: string): string[] {
  const match = KEY_PATTERN.exec(key);
  if (!match) throw new FormError(`Invalid parameter name: ${key}`, key);
  const [, head = '', tail = ''] = match;
  const segments = [head, ...[...tail.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? '')];
  for (const segment of segments) {
    if (FORBIDDEN_KEYS.has(segment)) throw new FormError(`Invalid parameter name: ${key}`, key);
  }
  return segments;
}

const isIndex = (segment: string): boolean => /^\d+$/.test(segment) && Number(segment) <= MAX_INDEX;

function insert(root: FormObject, key: string, value: string): void {
  const segments = segmentsOf(key);
  let container: FormObject | FormValue[] = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    const next = segments[i + 1];
    const slot = slotFor(container, segment, key);
    if (last) {
      const existing = read(container, slot);
      if (existing !== undefined && typeof existing !== 'string') {
        throw new FormError(`Invalid ${Array.isArray(existing) ? 'array' : 'hash'}: ${key}`, key);
      }
      write(container, slot, value);
      return;
    }
    let child = read(container, slot);
    if (child === undefined) {
      child = next === '' || (next !== undefined && isIndex(next)) ? [] : {};
      write(container, slot, child);
    }
    if (typeof child === 'string') throw new FormError(`Invalid hash: ${key}`, key);
    container = child;
  }
}

type Slot = string | number;

function slotFor(container: FormObject | FormValue[], segment: string, key: string): Slot {
  if (!Array.isArray(container)) {
    if (segment === '') throw new FormError(`Invalid hash: ${key}`, key);
    return segment;
  }
  if (segment === '') return container.length;
  if (isIndex(segment)) return Number(segment);
  throw new FormError(`Invalid array: ${key}`, key);
}

function read(container: FormObject | FormValue[], slot: Slot): FormValue | undefined {
  if (Array.isArray(container)) return container[slot as number];
  return Object.hasOwn(container, slot) ? container[slot as string] : undefined;
}

function write(container: FormObject | FormValue[], slot: Slot, value: FormValue): void {
  if (Array.isArray(container)) container[slot as number] = value;
  else container[slot as string] = value;
}

/** Drops the holes that sparse indexes (`a[0]`, `a[5]`) leave. */
function compact(value: FormValue): FormValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((item) => item !== undefined).map(compact);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]));
}
