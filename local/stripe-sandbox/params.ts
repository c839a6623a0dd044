/**
 * Typed reads of one request's parameters with Stripe's validation messages. Every endpoint
 * names the parameters it accepts; anything else is `parameter_unknown`, as on Stripe, so a
 * typo in the app fails here instead of being silently ignored.
 */
import { badParam } from './errors';
import type { FormObject, FormValue } from './form';

/** Metadata as sent: a value of null removes that key (Stripe's `metadata[key]=`). */
export type MetadataPatch = Record<string, string | null>;

const METADATA_LIMITS = { keys: 50, keyLength: 40, valueLength: 500 };

export class Params {
  constructor(
    private readonly raw: FormObject,
    allowed: readonly string[],
  ) {
    for (const name of Object.keys(raw)) {
      if (name !== 'expand' && !allowed.includes(name)) {
        throw badParam(`Received unknown parameter: ${name}`, name, 'parameter_unknown');
      }
    }
  }

  /** The decoded parameters, for idempotency fingerprints. */
  get all(): FormObject {
    return this.raw;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.raw, name);
  }

  /** A string; an empty value counts as absent. */
  string(name: string, options: { required?: boolean; max?: number } = {}): string | undefined {
    const value = this.scalar(name);
    if (value === undefined || value === '') {
      if (options.required) throw badParam(`Missing required param: ${name}.`, name, 'parameter_missing');
      return undefined;
    }
    if (options.max !== undefined && value.length > options.max) {
      throw badParam(`Invalid ${name}: must be at most ${options.max} characters`, name, 'parameter_invalid_string');
    }
    return value;
  }

  /** For updates: undefined = leave as is, null = unset (sent as an empty string). */
  nullableString(name: string, options: { max?: number } = {}): string | null | undefined {
    const value = this.scalar(name);
    if (value === '') return null;
    return this.string(name, options);
  }

  integer(name: string, options: { required?: boolean; min?: number } = {}): number | undefined {
    const value = this.string(name, { required: options.required });
    if (value === undefined) return undefined;
    if (!/^-?\d{1,15}$/.test(value)) throw badParam(`Invalid integer: ${value}`, name, 'parameter_invalid_integer');
    const number = Number(value);
    if (options.min !== undefined && number < options.min) {
      throw badParam(`This value must be greater than or equal to ${options.min}.`, name, 'parameter_invalid_integer');
    }
    return number;
  }

  boolean(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw badParam(`Invalid boolean: ${value}`, name);
    return value === 'true';
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw badParam(`Invalid ${name}: must be one of ${values.join(', ')}`, name);
    }
    return value as T;
  }

  /** A hash parameter (`address[city]=…`); an empty string unsets it (null). */
  object(name: string): FormObject | null | undefined {
    if (!this.has(name)) return undefined;
    const value = this.raw[name];
    if (value === '') return null;
    if (typeof value !== 'object' || Array.isArray(value)) throw badParam(`Invalid object`, name);
    return value;
  }

  stringArray(name: string): string[] | undefined {
    if (!this.has(name)) return undefined;
    const value = this.raw[name];
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw badParam(`Invalid array`, name);
    return value as string[];
  }

  /** `metadata[key]=value` pairs; `metadata=` clears all (null). */
  metadata(): MetadataPatch | null | undefined {
    const value = this.object('metadata');
    if (value === null || value === undefined) return value;
    const entries = Object.entries(value);
    if (entries.length > METADATA_LIMITS.keys) {
      throw badParam(`Invalid metadata: metadata has more than ${METADATA_LIMITS.keys} keys`, 'metadata');
    }
    const patch: MetadataPatch = {};
    for (const [key, raw] of entries) {
      if (typeof raw !== 'string') throw badParam(`Invalid metadata[${key}]: must be a string`, `metadata[${key}]`);
      if (key.length > METADATA_LIMITS.keyLength) {
        throw badParam(`Invalid metadata: keys must be at most ${METADATA_LIMITS.keyLength} characters`, `metadata[${key}]`);
      }
      if (raw.length > METADATA_LIMITS.valueLength) {
        throw badParam(`Invalid metadata: values must be at most ${METADATA_LIMITS.valueLength} characters`, `metadata[${key}]`);
      }
      patch[key] = raw === '' ? null : raw;
    }
    return patch;
  }

  /** Paths to expand (`expand[]=latest_charge`). */
  expand(): string[] {
    return this.has('expand') ? (this.stringArray('expand') ?? []) : [];
  }

  private scalar(name: string): string | undefined {
    if (!this.has(name)) return undefined;
    const value: FormValue | undefined = this.raw[name];
    if (typeof value !== 'string') throw badParam(`Invalid ${name}: expected a single value`, name);
    return value;
  }
}

/** Applies a metadata patch the way Stripe does: merge, empty value deletes, `metadata=` clears. */
export function applyMetadata(current: Record<string, string>, patch: MetadataPatch | null | undefined): Record<string, string> {
  if (patch === undefined) return current;
  if (patch === null) return {};
  const next = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

/** Metadata for a new object (deletions mean nothing there). */
export const initialMetadata = (patch: MetadataPatch | null | undefined): Record<string, string> => applyMetadata({}, patch);
