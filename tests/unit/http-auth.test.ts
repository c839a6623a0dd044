import crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Caller } from '../../shared/function-table';
import { acceptedRoles, ApiKeyAuthenticator, authorize, formatApiKeyEntry, generateApiKey, hashApiKey } from '../../shared/http/auth';
import { loadConfig } from '../../functions/config';

const entry = (name: string, roles: Array<'admin' | 'workshop' | 'orders'>, key: string) => ({
  name,
  roles,
  sha256: hashApiKey(key),
});

const auth = new ApiKeyAuthenticator([
  entry('ops', ['admin'], 'key-ops'),
  entry('garage', ['workshop'], 'key-garage'),
  entry('shop', ['orders', 'admin'], 'key-shop'),
]);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('hashApiKey / generateApiKey', () => {
  it('hashes to lower-case hex SHA-256 (known vector)', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashApiKey(generateApiKey())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('generates URL-safe, prefixed, 256-bit random keys', () => {
    const keys = new Set(Array.from({ length: 50 }, generateApiKey));
    expect(keys.size).toBe(50);
    for (const key of keys) expect(key).toMatch(/^ohk_[A-Za-z0-9_-]{43}$/);
  });

  it('formats an API_KEYS entry the config parser accepts and the authenticator recognises', () => {
    const key = generateApiKey();
    const config = loadConfig({
      API_KEYS: formatApiKeyEntry('local-admin', ['admin', 'orders'], key),
      SERVICEBUS_CONNECTION: 'Endpoint=sb://localhost',
      TABLES_CONNECTION: 'UseDevelopmentStorage=true',
    });
    const caller = ApiKeyAuthenticator.fromConfig(config).authenticate({ authorization: `Bearer ${key}` });
    expect(caller).toEqual({ kind: 'apiKey', name: 'local-admin', roles: ['admin', 'orders'] });
  });
});

describe('ApiKeyAuthenticator.authenticate', () => {
  it('resolves a configured key to its name and roles', () => {
    expect(auth.authenticate({ authorization: 'Bearer key-garage' })).toEqual({ kind: 'apiKey', name: 'garage', roles: ['workshop'] });
    expect(auth.authenticate({ authorization: 'bearer   key-shop ' })).toMatchObject({ name: 'shop' });
  });

  it.each([
    ['no header', {}],
    ['unknown key', { authorization: 'Bearer key-nope' }],
    ['another scheme', { authorization: 'Basic a2V5LW9wcw==' }],
    ['the hash instead of the key', { authorization: `Bearer ${hashApiKey('key-ops')}` }],
    ['a prefix of a key', { authorization: 'Bearer key-op' }],
    ['two tokens', { authorization: 'Bearer key-ops key-ops' }],
  ])('is anonymous for %s', (_label, headers: Record<string, string>) => {
    expect(auth.authenticate(headers)).toEqual({ kind: 'anonymous' });
  });

  it.each([
    ['the first key', 'key-ops'],
    ['the last key', 'key-shop'],
    ['no key', 'key-unknown'],
    ['a very long value', 'x'.repeat(10_000)],
  ])('compares in constant time against every configured key for %s', (_label, key) => {
    const compare = vi.spyOn(crypto, 'timingSafeEqual');
    auth.authenticate({ authorization: `Bearer ${key}` });
    // One comparison per configured key, all over 32-byte digests: no early exit, no length leak.
    expect(compare).toHaveBeenCalledTimes(3);
    for (const [a, b] of compare.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });

  it('rejects a configuration with a malformed or duplicate hash', () => {
    expect(() => new ApiKeyAuthenticator([{ name: 'x', roles: ['admin'], sha256: 'abcd' }])).toThrow(/64 hex/);
    expect(() => new ApiKeyAuthenticator([entry('a', ['admin'], 'same'), entry('b', ['orders'], 'same')])).toThrow(/same key hash/);
  });
});

describe('authorize', () => {
  const admin: Caller = { kind: 'apiKey', name: 'ops', roles: ['admin'] };
  const shop: Caller = { kind: 'apiKey', name: 'shop', roles: ['orders', 'workshop'] };

  it('lets a caller with any of the roles pass', () => {
    expect(authorize(admin, ['admin'])).toEqual({ ok: true });
    expect(authorize(shop, ['admin', 'workshop'])).toEqual({ ok: true });
  });

  it('answers 401 problem+json for an anonymous caller', () => {
    const decision = authorize({ kind: 'anonymous' }, ['admin']);
    expect(decision.ok).toBe(false);
    if (decision.ok) return;
    expect(decision.response.status).toBe(401);
    expect(decision.response.headers).toMatchObject({ 'Content-Type': 'application/problem+json', 'WWW-Authenticate': 'Bearer' });
  });

  it('answers 403 for a known caller without the role', () => {
    const decision = authorize(shop, ['admin']);
    expect(decision.ok ? 200 : decision.response.status).toBe(403);
  });

  it('lets support read what an admin reads, and nothing else', () => {
    const support: Caller = { kind: 'apiKey', name: 'desk', roles: ['support'] };
    const status = (roles: Parameters<typeof authorize>[1], method: string) => {
      const decision = authorize(support, roles, method);
      return decision.ok ? 200 : decision.response.status;
    };
    expect([status(['admin'], 'GET'), status(['orders', 'admin'], 'HEAD'), status(['admin'], 'get')]).toEqual([200, 200, 200]);
    expect([status(['admin'], 'POST'), status(['admin'], 'DELETE'), status(['admin'], 'PATCH'), status(['admin'], 'PUT')]).toEqual([403, 403, 403, 403]);
    // Where an admin may not read, neither may support.
    expect(status(['workshop'], 'GET')).toBe(403);
    expect(acceptedRoles(['workshop', 'admin'], 'GET')).toEqual(['workshop', 'admin', 'support']);
    expect(acceptedRoles(['workshop', 'admin'], 'POST')).toEqual(['workshop', 'admin']);
  });
});
