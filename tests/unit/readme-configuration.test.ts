// The README's configuration table is the one place an operator learns the settings: every variable
// the configuration schemas and the local runtime read is in it once, and every name in it is read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The configuration schemas: environment names are their keys (`NAME:` or `'NAME__part':`). */
const SCHEMA_FILES = ['shared/config.ts', 'functions/config.ts', 'slices/bookings/config.ts', 'slices/orders/config.ts'];
/** What `npm start` reads beside the schemas (ports, sandboxes switched off, log level). */
const LOCAL_FILES = ['local/start.ts', 'local/runtime.ts'];

/** The identity forms of the two connections, which shared/config.ts reads by building the names. */
const IDENTITY_NAMES = [
  ...['fullyQualifiedNamespace', 'credential', 'clientId'].map((part) => `SERVICEBUS_CONNECTION__${part}`),
  ...['tableServiceUri', 'credential', 'clientId'].map((part) => `TABLES_CONNECTION__${part}`),
];

function schemaNames(): Set<string> {
  const names = new Set<string>(IDENTITY_NAMES);
  for (const file of SCHEMA_FILES) {
    const text = read(file);
    for (const match of text.matchAll(/\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\s*:/g)) names.add(match[1] as string);
    for (const match of text.matchAll(/'([A-Z][A-Z0-9_]*__[A-Za-z]+)'\s*:/g)) names.add(match[1] as string);
  }
  return names;
}

function localNames(): Set<string> {
  const names = new Set<string>();
  for (const file of LOCAL_FILES) {
    const text = read(file);
    for (const match of text.matchAll(/portFrom\('([A-Z_]+)'/g)) names.add(match[1] as string);
    for (const match of text.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*(?:__[A-Za-z]+)?)/g)) names.add(match[1] as string);
  }
  return names;
}

/** The names the README's configuration table lists, with how often each is listed. */
function documented(): Map<string, number> {
  const readme = read('README.md');
  const start = readme.indexOf('\n## Configuration');
  const end = readme.indexOf('\n## ', start + 1);
  const rows = readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  const counts = new Map<string, number>();
  for (const row of rows) {
    const first = row.split(' | ')[0] ?? '';
    for (const match of first.matchAll(/`([A-Z<][A-Za-z0-9_<>]*)`/g)) counts.set(match[1] as string, (counts.get(match[1] as string) ?? 0) + 1);
  }
  return counts;
}

describe('README configuration table', () => {
  const table = documented();

  it('lists every variable the configuration schemas read, once', () => {
    const names = [...schemaNames()];
    expect(names.length).toBeGreaterThan(50);
    expect(names.filter((name) => !table.has(name))).toEqual([]);
    expect(names.filter((name) => (table.get(name) ?? 0) > 1)).toEqual([]);
  });

  it('lists what npm start reads (ports, sandboxes off, log level)', () => {
    const names = [...localNames()].filter((name) => !schemaNames().has(name));
    expect(names).toContain('PORT');
    expect(names.filter((name) => !table.has(name))).toEqual([]);
  });

  it('lists nothing that nothing reads', () => {
    const read = new Set([...schemaNames(), ...localNames()]);
    // Per-channel names are built from CHANNELS; the Functions host reads these itself.
    const patterns = ['<CHANNEL>_CALLBACK_URL', '<CHANNEL>_CALLBACK_SECRET'];
    expect([...table.keys()].filter((name) => !read.has(name) && !patterns.includes(name))).toEqual([]);
  });
});
