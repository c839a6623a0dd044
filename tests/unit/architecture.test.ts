import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, root, RULES, sourceFiles, violations } from '../support/dependency-rules';

// The layers and slices of ARCHITECTURE.md, checked on every import of the tree. Biome's
// `noRestrictedImports` (biome.json) backs the same rules in the editor and in `npm run lint`.
const files = sourceFiles('functions', 'shared', 'slices', 'local', 'console');
const tree = Object.fromEntries(files.map((file) => [file, importsOf(file)]));

describe('dependency rules', () => {
  it('finds the source files it checks', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(tree['functions/composition.ts']).toContain('shared/platform/dead-letters');
    expect(tree['slices/bookings/http/bookings.ts']).toContain('slices/bookings/app/create-booking');
    expect(tree['console/console.js']).toEqual([]);
  });

  it('holds for every import of the tree', () => {
    expect(violations(tree)).toEqual([]);
  });

  // One planted violation per rule: each must be caught, by that rule, so no rule is vacuous.
  const planted: Record<string, [file: string, spec: string]> = {
    'the shared kernel is pure: it imports only itself, zod and node:': ['shared/kernel/money.ts', 'shared/platform/jobs'],
    'a slice domain is pure: it imports only itself, the shared kernel, zod and node:': ['slices/bookings/domain/booking.ts', 'shared/platform/aggregate'],
    'the platform kit uses no SDK, adapter, HTTP layer or host': ['shared/platform/outbox.ts', '@azure/data-tables'],
    'use cases use no SDK, adapter, HTTP layer or host': ['slices/bookings/app/cancel-booking.ts', 'slices/bookings/adapters/driver-app-dispatcher'],
    'adapters and the HTTP layer do not depend on each other': ['shared/adapters/stripe/stripe-gateway.ts', 'shared/http/problem'],
    'the shared kit knows no slice and no entry point': ['shared/adapters/table-storage/outbox.ts', 'slices/bookings/domain/booking'],
    'slices do not import each other or the entry points': ['slices/bookings/app/cancel-booking.ts', 'slices/orders/app/refund-payment'],
    'production code never imports local/, tests/, bench/ or drill/': ['slices/orders/app/payments.ts', 'tests/support/requests'],
    'a sandbox owns its contract: it imports no production code': ['local/driver-sandbox.ts', 'slices/bookings/app/driver-app'],
    'the console is one browser script: it imports nothing': ['console/console.js', 'console/helpers'],
    'nothing imports the console: its files are served, not modules': ['functions/console.ts', 'console/console.js'],
  };

  it('has a planted violation for every rule', () => {
    expect(Object.keys(planted).sort()).toEqual(RULES.map((rule) => rule.name).sort());
  });

  it.each(Object.entries(planted))('catches a planted violation of "%s"', (rule, [file, spec]) => {
    const found = violations({ [file]: [spec] });
    expect(found).toContainEqual(`${file} -> ${spec} (${rule})`);
  });

  it('lets the composition root, hosts and tests import across layers', () => {
    expect(
      violations({
        'functions/composition.ts': ['slices/bookings/slice', 'shared/adapters/stripe/stripe-gateway'],
        'local/runtime.ts': ['functions/composition'],
      }),
    ).toEqual([]);
  });

  // The SDKs a cold instance may not need are required where used (scripts/build.mjs LAZY_SDKS bundles
  // them apart and fails on a static import); production code imports only their types.
  it('imports only the types of the lazily loaded SDKs in production code', () => {
    const list = /export const LAZY_SDKS = \[([^\]]*)\]/.exec(readFileSync(join(root, 'scripts/build.mjs'), 'utf8'))?.[1] ?? '';
    const LAZY_SDKS = [...list.matchAll(/'([^']+)'/g)].map((match) => match[1] as string);
    const valueImports = (text: string) =>
      [...text.matchAll(/^\s*(import|export)\s+(?!type\b)([^;]*?)\sfrom\s+['"]([^'"]+)['"]/gms)]
        .filter(([, , clause]) => !/^\{\s*(type\s+[\w$]+\s*,?\s*)+\}$/.test((clause as string).trim()))
        .map(([, , , spec]) => spec as string);
    const offenders = files
      .filter((file) => !file.startsWith('local/'))
      .flatMap((file) =>
        valueImports(readFileSync(join(root, file), 'utf8'))
          .filter((spec) => LAZY_SDKS.includes(spec))
          .map((spec) => `${file} -> ${spec}`),
      );
    expect(LAZY_SDKS).toContain('stripe');
    expect(offenders).toEqual([]);
    // The check itself sees a value import and passes a type-only one.
    expect(valueImports("import Stripe from 'stripe';\nimport type { Stripe as S } from 'stripe';\nimport { type A, type B } from 'rhea';")).toEqual([
      'stripe',
    ]);
  });

  // The named `z` makes esbuild build zod's whole namespace object (every locale, ~350 KB parsed at
  // each cold start); `import * as z` lets it keep what is used. Backs scripts/lint/zod-namespace-import.grit.
  it('imports zod as a namespace', () => {
    const namedZ = (text: string) =>
      [...text.matchAll(/^\s*import\s+(?!type\b)\{([^}]*)\}\s*from\s+['"]zod['"]/gm)].some(([, names]) => /(^|,)\s*z\s*(,|$)/.test(names as string));
    expect(files.filter((file) => namedZ(readFileSync(join(root, file), 'utf8')))).toEqual([]);
    expect(namedZ("import { z } from 'zod';")).toBe(true);
    expect(namedZ("import { type ZodType, z } from 'zod';")).toBe(true);
    expect(namedZ("import * as z from 'zod';\nimport type { ZodType } from 'zod';")).toBe(false);
  });

  // The Azure entry reads the timer schedule settings itself: the host needs them at registration,
  // before the configuration (and its schemas) loads (functions/manifest.ts).
  it("reads process.env only in the composition root's configuration (and the entry, for the timer schedules)", () => {
    const allowed = ['functions/config.ts', 'functions/index.ts'];
    const readers = files.filter(
      (file) => !file.startsWith('local/') && !allowed.includes(file) && /process\.env\b/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(readers).toEqual([]);
  });
});
