import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The dependency rules of ARCHITECTURE.md ("Layers and slices"), as data: each rule says which
 * files it governs and which imports it refuses. `violations` applies them to any set of files, so
 * the architecture test runs them on the tree and on planted violations alike.
 */

export const root = resolve(__dirname, '../..');

/** SDKs and servers' libraries: only adapters, hosts and the composition root touch them. */
const SDK = /^(@azure\/|stripe$|xmlrpc$|applicationinsights$|rhea$|nodemailer$|smtp-server$|azurite|croner$)/;
const PURE_PACKAGES = (spec: string) => spec === 'zod' || spec.startsWith('node:');

const within = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);
/** `slices/<name>` of a path inside a slice. */
const sliceOf = (path: string) => /^slices\/([^/]+)/.exec(path)?.[1];
const isProject = (spec: string) => /^(shared|slices|functions|local|tests|bench|drill|scripts|console)(\/|$)/.test(spec);
const isSandbox = (path: string) => /^local\/[^/]*-sandbox(\.ts$|\/)/.test(path);

export interface Rule {
  name: string;
  /** Whether the rule governs this file. */
  governs(file: string): boolean;
  /** Whether importing `spec` (a project path without extension, or a package) breaks it. */
  refuses(spec: string, file: string): boolean;
}

export const RULES: Rule[] = [
  {
    name: 'the shared kernel is pure: it imports only itself, zod and node:',
    governs: (file) => within(file, 'shared/kernel'),
    refuses: (spec) => (isProject(spec) ? !within(spec, 'shared/kernel') : !PURE_PACKAGES(spec)),
  },
  {
    name: 'a slice domain is pure: it imports only itself, the shared kernel, zod and node:',
    governs: (file) => /^slices\/[^/]+\/domain\//.test(file),
    refuses: (spec, file) => (isProject(spec) ? !within(spec, `slices/${sliceOf(file)}/domain`) && !within(spec, 'shared/kernel') : !PURE_PACKAGES(spec)),
  },
  {
    name: 'the platform kit uses no SDK, adapter, HTTP layer or host',
    governs: (file) => within(file, 'shared/platform'),
    refuses: (spec) => SDK.test(spec) || ['shared/adapters', 'shared/http'].some((folder) => within(spec, folder)),
  },
  {
    name: 'use cases use no SDK, adapter, HTTP layer or host',
    governs: (file) => /^slices\/[^/]+\/app\//.test(file),
    refuses: (spec, file) =>
      SDK.test(spec) ||
      [
        'shared/adapters',
        'shared/http',
        'shared/function-table',
        `slices/${sliceOf(file)}/adapters`,
        `slices/${sliceOf(file)}/http`,
        `slices/${sliceOf(file)}/slice`,
      ].some((folder) => within(spec, folder)),
  },
  {
    name: 'adapters and the HTTP layer do not depend on each other',
    governs: (file) => within(file, 'shared/adapters') || within(file, 'shared/http') || /^slices\/[^/]+\/(adapters|http)\//.test(file),
    refuses: (spec, file) => {
      const slice = sliceOf(file);
      const http = within(file, 'shared/http') || /^slices\/[^/]+\/http\//.test(file);
      return http
        ? within(spec, 'shared/adapters') || (slice !== undefined && within(spec, `slices/${slice}/adapters`))
        : within(spec, 'shared/http') || (slice !== undefined && within(spec, `slices/${slice}/http`));
    },
  },
  {
    name: 'the shared kit knows no slice and no entry point',
    governs: (file) => within(file, 'shared'),
    refuses: (spec) => within(spec, 'slices') || within(spec, 'functions'),
  },
  {
    name: 'slices do not import each other or the entry points',
    governs: (file) => within(file, 'slices'),
    refuses: (spec, file) => (within(spec, 'slices') && sliceOf(spec) !== sliceOf(file)) || within(spec, 'functions'),
  },
  {
    name: 'production code never imports local/, tests/, bench/ or drill/',
    governs: (file) => ['functions', 'shared', 'slices'].some((folder) => within(file, folder)),
    refuses: (spec) => ['local', 'tests', 'bench', 'drill'].some((folder) => within(spec, folder)),
  },
  {
    // console/ is served to browsers as it is (functions/console.ts reads the files): no bundler resolves an import there.
    name: 'the console is one browser script: it imports nothing',
    governs: (file) => within(file, 'console'),
    refuses: () => true,
  },
  {
    name: 'nothing imports the console: its files are served, not modules',
    governs: (file) => !within(file, 'console'),
    refuses: (spec) => within(spec, 'console'),
  },
  {
    name: 'a sandbox owns its contract: it imports no production code',
    governs: isSandbox,
    refuses: (spec) => ['functions', 'shared', 'slices'].some((folder) => within(spec, folder)),
  },
];

/** Every `.ts` (and the console's `.js`) file under the folders, as project paths. */
export function sourceFiles(...dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(join(root, dir)).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
      return /\.(ts|js)$/.test(path) ? [path] : [];
    }),
  );
}

/** Every module specifier a source text imports, re-exports or requires; relative ones as project paths. */
export function importsOf(file: string, text = readFileSync(join(root, file), 'utf8')): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gms),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1] as string);
  return specifiers.map((spec) => (spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)) : spec));
}

/** `file -> import (rule)` for every import a rule refuses. */
export function violations(imports: Record<string, string[]>): string[] {
  return Object.entries(imports).flatMap(([file, specs]) =>
    RULES.filter((rule) => rule.governs(file)).flatMap((rule) =>
      specs.filter((spec) => rule.refuses(spec, file)).map((spec) => `${file} -> ${spec} (${rule.name})`),
    ),
  );
}
