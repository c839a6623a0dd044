import crypto from 'node:crypto';
import type { PlatformConfig as Config } from '../config';
import { type Cause, causes } from '../kernel/history';
import type { Caller, HttpResponseData, Role } from '../function-table';
import { forbidden, unauthorized } from './problem';

/** Prefix of generated keys, so a leaked key is recognisable in secret scanners and logs. */
export const API_KEY_PREFIX = 'ohk_';

/** The hex SHA-256 of a key: what `API_KEYS` stores instead of the key itself. */
export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key: `ohk_` + 32 random bytes in base64url (43 URL-safe characters). */
export function generateApiKey(): string {
  return API_KEY_PREFIX + crypto.randomBytes(32).toString('base64url');
}

/** One `API_KEYS` entry (`name:role1|role2:sha256hex`) for a key, as `npm start` prints it. */
export function formatApiKeyEntry(name: string, roles: readonly Role[], key: string): string {
  return `${name}:${roles.join('|')}:${hashApiKey(key)}`;
}

/** Outcome of an authorisation check: go on, or answer with the problem response. */
export type AuthDecision = { ok: true } | { ok: false; response: HttpResponseData };

/** Methods that change nothing: what the read-only `support` role may call. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * The roles an operation accepts: its own, and `support` wherever `admin` may read (a safe method).
 * The one place that rule lives: the pipeline, the booking reads and the OpenAPI document use it.
 */
export function acceptedRoles(roles: readonly Role[], method: string): readonly Role[] {
  return SAFE_METHODS.has(method.toUpperCase()) && roles.includes('admin') && !roles.includes('support') ? [...roles, 'support'] : roles;
}

/** Checks that the caller holds at least one of `roles` (for `method`): 401 when anonymous, 403 when no role fits. */
export function authorize(caller: Caller, roles: readonly Role[], method = 'POST'): AuthDecision {
  if (caller.kind !== 'apiKey') return { ok: false, response: unauthorized() };
  const accepted = acceptedRoles(roles, method);
  if (!caller.roles.some((role) => accepted.includes(role))) return { ok: false, response: forbidden() };
  return { ok: true };
}

interface KeyEntry {
  name: string;
  roles: Role[];
  hash: Buffer;
}

/**
 * Who made a call, as history rows and audit records name it: `api:<key name>` for an API key (never
 * the key), `customer` for everyone else (the booking's token holder).
 */
export function callerCause(caller: Caller): Cause {
  return caller.kind === 'apiKey' ? causes.api(caller.name) : causes.customer();
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The credential of `Authorization: Bearer <credential>` (an API key or a booking access token). */
export function bearerToken(headers: Record<string, string>): string | undefined {
  return BEARER.exec(headers.authorization ?? '')?.[1] || undefined;
}

/**
 * Resolves `Authorization: Bearer <key>` against the configured key hashes. A header that is missing,
 * not Bearer, or carries an unknown key yields the anonymous caller: public routes ignore it (a
 * booking access token travels in the same header) and protected routes answer 401 via `authorize`.
 */
export class ApiKeyAuthenticator {
  private readonly keys: KeyEntry[];

  constructor(apiKeys: Config['apiKeys']) {
    this.keys = apiKeys.map((entry) => {
      const hash = Buffer.from(entry.sha256, 'hex');
      if (hash.length !== 32) throw new Error(`API key "${entry.name}": sha256 must be 64 hex characters`);
      return { name: entry.name, roles: [...entry.roles], hash };
    });
    const distinct = new Set(this.keys.map((key) => key.hash.toString('hex')));
    if (distinct.size !== this.keys.length) throw new Error('API_KEYS: two entries have the same key hash');
  }

  /** Builds the authenticator from the parsed configuration. */
  static fromConfig(config: Pick<Config, 'apiKeys'>): ApiKeyAuthenticator {
    return new ApiKeyAuthenticator(config.apiKeys);
  }

  /** The caller behind the request's headers (names in lower case, as both hosts deliver them). */
  authenticate(headers: Record<string, string>): Caller {
    const presented = bearerToken(headers);
    if (!presented) return { kind: 'anonymous' };
    const key = this.find(presented);
    return key ? { kind: 'apiKey', name: key.name, roles: [...key.roles] } : { kind: 'anonymous' };
  }

  /**
   * Compares the presented key's hash with every configured hash, without stopping at a match, so
   * the time taken tells nothing about which key (or whether any) matched. Hashing first gives
   * equal-length buffers, which `timingSafeEqual` requires, whatever the presented key's length.
   */
  private find(presented: string): KeyEntry | undefined {
    const candidate = crypto.createHash('sha256').update(presented, 'utf8').digest();
    let found: KeyEntry | undefined;
    for (const key of this.keys) {
      const equal = crypto.timingSafeEqual(candidate, key.hash);
      if (equal && !found) found = key;
    }
    return found;
  }
}
