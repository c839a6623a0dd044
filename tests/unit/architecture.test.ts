import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// DESIGN.md §2: functions -> shared/app -> shared/domain; adapters implement ports from shared/app;
// shared/domain imports nothing of the project but itself; nothing imports local/ except local/ and tests/.
const root = resolve(__dirname, '../..');
const SDKS = /^(@azure\/|stripe$|xmlrpc$|applicationinsights$|rhea$|nodemailer$)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports, re-exports or requires, with relative ones made project paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gms),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1] as string);
  return specifiers.map((spec) => (spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)) : spec));
}

const layer = (path: string) =>
  ['shared/domain', 'shared/app', 'shared/adapters', 'shared/http', 'functions', 'local', 'tests', 'bench'].find(
    (prefix) => path === prefix || path.startsWith(`${prefix}/`),
  ) ?? (path.startsWith('shared/') ? 'shared' : path);

const production = ['functions', 'shared'];

describe('dependency rule (DESIGN.md §2)', () => {
  const files = production.flatMap(sourceFiles);

  it('finds the source files it checks', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(importsOf('functions/composition.ts')).toContain('shared/platform/dead-letters');
  });

  it('keeps shared/domain free of the project, SDKs and the environment', () => {
    const violations = files
      .filter((file) => layer(file) === 'shared/domain')
      .flatMap((file) => {
        const bad = importsOf(file).filter((spec) =>
          spec.startsWith('node:') ? false : spec.includes('/') && !spec.startsWith('@') ? layer(spec) !== 'shared/domain' : spec !== 'zod',
        );
        const env = readFileSync(join(root, file), 'utf8').includes('process.env') ? ['process.env'] : [];
        return [...bad, ...env].map((spec) => `${file} -> ${spec}`);
      });
    expect(violations).toEqual([]);
  });

  it('keeps use cases in shared/app away from adapters, HTTP, hosts and SDKs', () => {
    const violations = files
      .filter((file) => layer(file) === 'shared/app')
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) => SDKS.test(spec) || ['shared/adapters', 'shared/http', 'functions', 'local'].includes(layer(spec)))
          .map((spec) => `${file} -> ${spec}`),
      );
    expect(violations).toEqual([]);
  });

  it('keeps adapters and the HTTP layer from depending on entry points or each other', () => {
    const violations = files
      .filter((file) => ['shared/adapters', 'shared/http'].includes(layer(file)))
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) => {
            const target = layer(spec);
            if (target === 'functions' || target === 'local') return true;
            return layer(file) === 'shared/http' ? target === 'shared/adapters' : target === 'shared/http';
          })
          .map((spec) => `${file} -> ${spec}`),
      );
    expect(violations).toEqual([]);
  });

  it('never lets production code import local/', () => {
    const violations = files.flatMap((file) =>
      importsOf(file)
        .filter((spec) => layer(spec) === 'local')
        .map((spec) => `${file} -> ${spec}`),
    );
    expect(violations).toEqual([]);
  });

  it('reads process.env only in the configuration', () => {
    const readers = files.filter(
      (file) => file !== 'shared/config.ts' && /process\.env\b/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(readers).toEqual([]);
  });
});
