// `npm run build`: bundles the Azure entry point into dist/index.js (CommonJS), the file package.json
// "main" names, the app it loads on first use into dist/app.js, and writes the function manifest. `npm run package` (scripts/package.mjs) bundles the deploy package with the same options.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** Provided by the Functions host's Node worker at run time: never bundled, never in node_modules. */
export const HOST_PROVIDED = ['@azure/functions-core'];

/**
 * Loaded from node_modules at run time, so the deploy package carries them with their production
 * dependencies. The Service Bus extension loads .proto files from its own folder and registers itself
 * with @azure/functions, so both stay out of the bundle, one copy each. Application Insights (with
 * OpenTelemetry) is loaded on demand only.
 */
export const RUNTIME_DEPENDENCIES = ['@azure/functions', '@azure/functions-extensions-servicebus', 'applicationinsights'];

/**
 * SDKs the app requires on first use only (a `require` inside the function that needs it, or `import()`).
 * Each is bundled into a file of its own beside the entry (`sdk/<name>.js`, see LAZY_SDK_FILES): in the
 * entry file V8 would parse their code at every cold start (esbuild defers a lazily required module's
 * evaluation, not its parsing), and a cold start that never sends mail or calls Odoo need not read it.
 * A static import of one of them from the app fails the build.
 */
export const LAZY_SDKS = ['stripe', '@azure/service-bus', '@azure/identity', 'nodemailer', 'xmlrpc', 'rhea', 'long'];

/** The function manifest's file beside the entry bundle (functions/manifest.ts MANIFEST_FILE). */
export const MANIFEST_FILE = 'function-manifest.json';

/** Where each lazy SDK's bundle goes, relative to the entry bundle's folder. */
export const LAZY_SDK_FILES = Object.fromEntries(LAZY_SDKS.map((name) => [name, `sdk/${name.replace(/^@/, '').replace(/\//g, '-')}.js`]));

/**
 * The operations console's files (page, script, style, icon), served by functions/console.ts from
 * `console/` beside the entry bundle: copied as they are, nothing to compile.
 */
export const CONSOLE_FILES = ['index.html', 'console.js', 'console.css', 'icon.svg'];

/** The repository root (this file is in scripts/). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Sends the app's requires of a lazy SDK to its own bundle; an SDK's own dependencies resolve as usual. */
export const lazySdks = {
  name: 'lazy-sdks',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${LAZY_SDKS.map(escapeRegExp).join('|')})$`) }, (args) => {
      if (/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      if (args.kind !== 'require-call' && args.kind !== 'dynamic-import') {
        return {
          errors: [{ text: `${args.path} is loaded on first use (scripts/build.mjs LAZY_SDKS): import its types only and require it where it is needed` }],
        };
      }
      return { path: `./${LAZY_SDK_FILES[args.path]}`, external: true };
    });
  },
};

/**
 * The app behind the entry (functions/app.ts: configuration, composition, every route and schema),
 * bundled on its own beside the entry: the entry registers from the function manifest and requires
 * it on first use, so a cold start does not even parse it before it registers.
 */
export const APP_FILE = 'app.js';

/** Sends the entry's `require('./app')` to the app's own bundle. */
const appApart = {
  name: 'app-apart',
  setup(build) {
    build.onResolve({ filter: /^\.\/app$/ }, (args) =>
      args.importer.endsWith(join('functions', 'index.ts')) ? { path: `./${APP_FILE}`, external: true } : undefined,
    );
  },
};

/** What every bundle of the app shares (the entry's, the app's and each lazy SDK's). */
const common = { absWorkingDir: ROOT, bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, metafile: true, logLevel: 'warning' };

/**
 * Bundles functions/index.ts into `outfile` (relative to the root, or absolute), functions/app.ts into
 * APP_FILE and each lazy SDK into `sdk/` beside it, and writes the function manifest there; resolves
 * with the bytes written.
 */
export async function bundle({ outfile = 'dist/index.js', sourcemap = true } = {}) {
  const external = [...HOST_PROVIDED, ...RUNTIME_DEPENDENCIES];
  const outDir = dirname(resolve(ROOT, outfile));
  const [entry, appBundle, sdks] = await Promise.all([
    build({ ...common, entryPoints: ['functions/index.ts'], outfile, sourcemap, external, plugins: [appApart, lazySdks] }),
    build({ ...common, entryPoints: ['functions/app.ts'], outfile: join(outDir, APP_FILE), sourcemap, external, plugins: [lazySdks] }),
    build({
      ...common,
      entryPoints: Object.fromEntries(LAZY_SDKS.map((name) => [LAZY_SDK_FILES[name].replace(/\.js$/, ''), `lazy-sdk:${name}`])),
      outdir: outDir,
      sourcemap,
      external,
      plugins: [
        {
          name: 'lazy-sdk-entries',
          setup(build) {
            build.onResolve({ filter: /^lazy-sdk:/ }, (args) => ({ path: args.path.slice('lazy-sdk:'.length), namespace: 'lazy-sdk' }));
            build.onLoad({ filter: /.*/, namespace: 'lazy-sdk' }, (args) => ({
              contents: `module.exports = require(${JSON.stringify(args.path)});`,
              resolveDir: ROOT,
            }));
          },
        },
      ],
    }),
  ]);
  // The function manifest the entry registers from (functions/manifest.ts), composed from the source.
  const manifest = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'function-manifest.ts')], { cwd: ROOT, encoding: 'utf8' });
  writeFileSync(join(outDir, MANIFEST_FILE), manifest);
  const consoleDir = join(outDir, 'console');
  mkdirSync(consoleDir, { recursive: true });
  for (const file of CONSOLE_FILES) copyFileSync(join(ROOT, 'console', file), join(consoleDir, file));
  return [entry, appBundle, sdks].flatMap((result) => Object.values(result.metafile.outputs)).reduce((sum, output) => sum + output.bytes, 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const bytes = await bundle();
  console.log(`dist/index.js built (${(bytes / 1024 / 1024).toFixed(1)} MiB with source map)`);
}
