/**
 * Stripe's v1 idempotency: the first response to a key (status and body, errors included) is
 * saved once the endpoint starts executing and replayed for 24 hours to requests with the same
 * key, endpoint and parameters. The key belongs to the account, not to an endpoint: reusing it
 * on another endpoint or with other parameters is an `idempotency_error`.
 */
import { ApiError } from './errors';
import type { FormObject, FormValue } from './form';

const RETENTION_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 255;

export interface SavedResponse {
  status: number;
  body: string;
  requestId: string;
}

interface Entry {
  endpoint: string;
  fingerprint: string;
  response: SavedResponse;
  savedAt: number;
}

/** Parameter order on the wire does not matter; values do. */
function canonical(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key] as FormValue)}`).join(',')}}`;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /** The saved response for a replay, undefined for a new key; throws on misuse of a key. */
  lookup(key: string, endpoint: string, params: FormObject): SavedResponse | undefined {
    if (key.length > MAX_KEY_LENGTH) {
      throw new ApiError(400, { type: 'invalid_request_error', message: `Idempotency-Key must be at most ${MAX_KEY_LENGTH} characters long.` }, false);
    }
    this.prune();
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.endpoint !== endpoint) {
      throw idempotencyError(
        `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${entry.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (entry.fingerprint !== canonical(params)) {
      throw idempotencyError(
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    return entry.response;
  }

  save(key: string, endpoint: string, params: FormObject, response: SavedResponse): void {
    this.entries.set(key, { endpoint, fingerprint: canonical(params), response, savedAt: Date.now() });
  }

  private prune(): void {
    const cutoff = Date.now() - RETENTION_MS;
    for (const [key, entry] of this.entries) {
      if (entry.savedAt < cutoff) this.entries.delete(key);
    }
  }
}

const idempotencyError = (message: string): ApiError => new ApiError(400, { type: 'idempotency_error', message }, false);
