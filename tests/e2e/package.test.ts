import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose } from '../../functions/composition';
import { loadConfig } from '../../functions/config';
import { type FunctionsApp, registerFunctions } from '../../functions/register';
import { QUEUE_NAMES } from '../../shared/platform/queues';
import { unzip } from '../support/unzip';

const root = resolve(__dirname, '../..');

/**
 * Where the package is built and unpacked: ~40,000 files are written twice, which takes well under a
 * second on tmpfs and can take tens of seconds on a busy disk. Outside the repository either way, so
 * nothing above the unpacked folder holds a node_modules.
 */
function scratch(): string {
  try {
    const shm = statfsSync('/dev/shm');
    if (shm.bavail * shm.bsize > 1024 ** 3) return '/dev/shm';
  } catch {
    // No /dev/shm (macOS, Windows).
  }
  return tmpdir();
}
const settings = JSON.parse(readFileSync(join(root, 'local.settings.example.json'), 'utf8')) as { Values: Record<string, string> };

interface Binding {
  type: string;
  direction: string;
  [key: string]: unknown;
}
interface HostReport {
  main: string;
  registrations: Array<{ metadata: { name: string; bindings: Record<string, Binding> }; hasHandler: boolean }>;
  outside: string[];
  sdkBinding?: { function?: string; messageId?: string; lockToken?: string; body?: unknown; actions?: string[]; error?: string };
  applicationInsights?: string;
  logs: Array<{ level: string; category: string; message: string }>;
}
interface Expected {
  kind: 'http' | 'serviceBusQueue' | 'timer';
  name: string;
  options: Record<string, unknown>;
}

/** Runs tests/support/functions-host.cjs in `dir` with exactly `env` (plus PATH), as the worker would be started. */
function runHost(dir: string, env: Record<string, string>) {
  const run = spawnSync(
    process.execPath,
    [join(root, 'tests/support/functions-host.cjs'), '--host', '127.0.0.1', '--port', '50051', '--functions-grpc-max-message-length', '2147483647'],
    // HOME too: Node also looks for modules in ~/.node_modules and ~/.node_libraries.
    { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, encoding: 'utf8', timeout: 60_000 },
  );
  const report = JSON.parse(run.stdout.split('\nHOST ')[1] ?? 'null') as HostReport | null;
  if (!report) throw new Error(`the host stand-in reported nothing (exit ${run.status}): ${run.stderr}`);
  return { status: run.status, stderr: run.stderr, report };
}

/** Every file under `dir`, relative, with its size. */
function listing(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listing(dir, path) : [`${path} ${statSync(join(dir, path)).size}`];
  });
}

/** node_modules locations (`node_modules/a`, `node_modules/a/node_modules/@s/b`) holding a package under `dir`. */
function installed(dir: string, at = 'node_modules'): string[] {
  if (!existsSync(join(dir, at))) return [];
  return readdirSync(join(dir, at)).flatMap((name) => {
    const names = name.startsWith('@') ? readdirSync(join(dir, at, name)).map((inner) => `${name}/${inner}`) : [name];
    return names.flatMap((pkg) => (existsSync(join(dir, at, pkg, 'package.json')) ? [`${at}/${pkg}`, ...installed(dir, `${at}/${pkg}/node_modules`)] : []));
  });
}

describe('the deploy package (scripts/package.mjs, what azd deploys), unpacked into an empty folder', () => {
  const work = mkdtempSync(join(scratch(), 'order-hub-package-'));
  const unpacked = mkdtempSync(join(scratch(), 'order-hub-unpacked-'));
  let host: ReturnType<typeof runHost>;
  const expected: Expected[] = [];

  beforeAll(async () => {
    // As azure.yaml's prepackage hook runs it (there into dist/).
    execFileSync(process.execPath, ['scripts/package.mjs', '--out-dir', work], { cwd: root, stdio: 'pipe' });
    unzip(join(work, 'package.zip'), unpacked);
    host = runHost(unpacked, settings.Values);

    // What the composition registers with these settings, through the same registration code.
    const composition = compose(loadConfig(settings.Values));
    const record =
      (kind: Expected['kind']) =>
      (name: string, { handler, ...options }: { handler: unknown } & Record<string, unknown>) =>
        expected.push({ kind, name, options });
    const app = { http: record('http'), serviceBusQueue: record('serviceBusQueue'), timer: record('timer') } as unknown as FunctionsApp;
    registerFunctions(app, { functions: composition.functions, pipeline: composition.pipeline, log: composition.services.log, ready: async () => {} });
    await composition.close();
  }, 120_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(unpacked, { recursive: true, force: true });
  });

  it('holds host.json, package.json, its lockfile, the bundle with its function manifest, the console and node_modules, nothing else', () => {
    expect(readdirSync(unpacked).sort()).toEqual(['dist', 'host.json', 'node_modules', 'package-lock.json', 'package.json']);
    expect(readdirSync(join(unpacked, 'dist')).sort()).toEqual(['app.js', 'console', 'function-manifest.json', 'index.js', 'sdk']);
    // The operations console, beside the bundle where functions/console.ts looks for it, as it is in the repository.
    expect(readdirSync(join(unpacked, 'dist', 'console')).sort()).toEqual(['console.css', 'console.js', 'icon.svg', 'index.html']);
    for (const file of readdirSync(join(root, 'console'))) {
      expect(readFileSync(join(unpacked, 'dist', 'console', file)), file).toEqual(readFileSync(join(root, 'console', file)));
    }
    // The SDKs the app loads on first use, each bundled on its own (scripts/build.mjs LAZY_SDKS).
    expect(readdirSync(join(unpacked, 'dist', 'sdk')).sort()).toEqual([
      'azure-identity.js',
      'azure-service-bus.js',
      'long.js',
      'nodemailer.js',
      'rhea.js',
      'stripe.js',
      'xmlrpc.js',
    ]);
    expect(readFileSync(join(unpacked, 'host.json'), 'utf8')).toBe(readFileSync(join(root, 'host.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'));
    expect(manifest.main).toBe('dist/index.js');
    expect(manifest.scripts).toBeUndefined();
    expect(manifest.devDependencies).toBeUndefined();
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@azure/functions', '@azure/functions-extensions-servicebus', 'applicationinsights']);
    // The zip is the folder azd zips.
    expect(listing(unpacked).sort()).toEqual(listing(join(work, 'package')).sort());
  });

  it('is what azd deploys: azure.yaml builds it before packaging and uploads dist/package as it is', () => {
    const azure = readFileSync(join(root, 'azure.yaml'), 'utf8');
    // npm run package writes <dir>/package with the default dir dist: the folder `dist` names.
    expect(azure).toMatch(/^ {4}dist: dist\/package$/m);
    expect(azure).toMatch(/^ {4}remoteBuild: false$/m);
    expect(azure.match(/^ +run: (.*)$/gm)?.map((line) => line.trim())).toEqual([
      'run: npm ci && npm run package',
      'run: npm ci && npm run package # PowerShell 7 pipeline chain',
    ]);
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.package).toBe('node scripts/package.mjs');
  });

  it('carries the runtime dependencies and their production dependencies only, as package-lock.json places them', () => {
    const rootLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages as Record<string, { dev?: boolean; version: string }>;
    const packageLock = JSON.parse(readFileSync(join(unpacked, 'package-lock.json'), 'utf8')).packages as Record<string, { version: string }>;
    const locations = installed(unpacked).sort();
    expect(locations.length).toBeGreaterThan(3);
    expect(Object.keys(packageLock).filter(Boolean).sort()).toEqual(locations);
    for (const at of locations) {
      expect(rootLock[at], at).toBeDefined();
      expect(rootLock[at]?.dev, `${at} is a dev dependency`).toBeUndefined();
      expect(JSON.parse(readFileSync(join(unpacked, at, 'package.json'), 'utf8')).version).toBe(rootLock[at]?.version);
    }
    // A devDependency may also be a production dependency of a package carried (protobufjs needs @types/node).
    const devOnly = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies).filter(
      (name) => rootLock[`node_modules/${name}`]?.dev,
    );
    expect(devOnly).toContain('vitest');
    for (const name of devOnly) expect(locations, name).not.toContain(`node_modules/${name}`);
    expect(locations).not.toContain('node_modules/@azure/functions-core');
    // npm's own check of the tree against package.json: nothing missing, invalid or extraneous.
    const ls = spawnSync('npm', ['ls', '--all', '--parseable'], { cwd: unpacked, encoding: 'utf8' });
    expect(ls.stderr).not.toMatch(/missing|invalid|extraneous/);
    expect(ls.status).toBe(0);
  });

  it('loads there with nothing else and registers every function of the table with the host', () => {
    const { status, stderr, report } = host;
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(report.main).toBe('dist/index.js');
    expect(report.outside).toEqual([]);

    const registered = new Map(report.registrations.map((r) => [r.metadata.name, r]));
    expect([...registered.keys()].sort()).toEqual(expected.map((e) => e.name).sort());
    expect(report.registrations.every((r) => r.hasHandler)).toBe(true);
    const trigger = (name: string) => Object.values(registered.get(name)?.metadata.bindings ?? {}).find((b) => b.direction === 'in') as Binding;
    for (const { kind, name, options } of expected) {
      const binding = trigger(name);
      if (kind === 'http') {
        expect(binding, name).toMatchObject({ type: 'httpTrigger', route: options.route, methods: options.methods, authLevel: 'anonymous' });
      } else if (kind === 'serviceBusQueue') {
        expect(binding, name).toMatchObject({
          type: 'serviceBusTrigger',
          queueName: options.queueName,
          connection: 'SERVICEBUS_CONNECTION',
          autoCompleteMessages: false,
          cardinality: 'one',
          properties: { supportsDeferredBinding: 'true' },
        });
      } else {
        expect(binding, name).toMatchObject({ type: 'timerTrigger', schedule: options.schedule });
      }
    }
    // Anchors, so the comparison above cannot pass on an empty table.
    expect(trigger('health')).toMatchObject({ route: 'health', methods: ['GET'] });
    expect(trigger('admin-dead-letters-discard')).toMatchObject({ route: 'v1/admin/dead-letters/{queue}/{messageId}', methods: ['DELETE'] });
    expect(trigger('outbox-relay')).toMatchObject({ type: 'timerTrigger', schedule: '0 */1 * * * *' });
    const queues = expected.filter((e) => e.kind === 'serviceBusQueue');
    expect(queues.map((e) => e.options.queueName).sort()).toEqual([...QUEUE_NAMES].sort());
  });

  it('hands a Service Bus delivery to the app as the extension builds it (SDK binding: message and settlement actions)', () => {
    expect(host.report.sdkBinding).toEqual({
      function: expect.stringMatching(/^jobs-/),
      messageId: 'probe-1',
      lockToken: '33221100-5544-7766-8899-aabbccddeeff',
      body: '{"probe":true}',
      actions: ['complete', 'abandon', 'deadletter'],
    });
  });

  it('loads Application Insights from the package when the app asks for it', () => {
    expect(host.report.applicationInsights).toBe('loaded');
  });

  it('loads each SDK the app requires on first use from its own bundle, with nothing outside the package', () => {
    const sdks = readdirSync(join(unpacked, 'dist', 'sdk')).map((file) => `./dist/sdk/${file}`);
    const run = spawnSync(process.execPath, ['-e', `for (const file of ${JSON.stringify(sdks)}) if (!require(file)) throw new Error(file)`], {
      cwd: unpacked,
      env: { PATH: process.env.PATH ?? '', HOME: unpacked },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('registers every function with a bad setting too, and names the setting at start-up', () => {
    const { SERVICEBUS_CONNECTION: _, ...rest } = settings.Values;
    const { status, stderr, report } = runHost(unpacked, { ...rest, JOB_MAX_ATTEMPTS: 'zero' });
    expect(status).toBe(0);
    // The worker's log (where the host's start-up log comes from) or its stderr.
    const logged = [stderr, ...report.logs.map((entry) => `${entry.level} ${entry.message}`)].join('\n');
    expect(logged).toMatch(/order-hub cannot start: invalid configuration: .*SERVICEBUS_CONNECTION.*JOB_MAX_ATTEMPTS/);
    expect(report.registrations.map((r) => r.metadata.name).sort()).toEqual(expected.map((e) => e.name).sort());
  });

  it('names a timer schedule setting that gives no schedule, at load, and registers nothing', () => {
    const { status, stderr, report } = runHost(unpacked, { ...settings.Values, PAYMENT_RECONCILE_EVERY: '7m' });
    expect(status).toBe(1);
    expect(stderr).toContain('Worker was unable to load entry point "dist/index.js": invalid configuration: PAYMENT_RECONCILE_EVERY');
    expect(stderr).not.toContain('7m');
    expect(report.registrations).toEqual([]);
  });
});
