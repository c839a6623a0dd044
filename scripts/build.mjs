// `npm run build`: bundles the Azure entry point into dist/index.js (CommonJS), the file package.json
// "main" names. `npm run package` (scripts/package.mjs) bundles the deploy package with the same options.
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

/** The repository root (this file is in scripts/). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Bundles functions/index.ts into `outfile` (relative to the root, or absolute); resolves with the bytes written. */
export async function bundle({ outfile = 'dist/index.js', sourcemap = true } = {}) {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['functions/index.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap,
    metafile: true,
    external: [...HOST_PROVIDED, ...RUNTIME_DEPENDENCIES],
    logLevel: 'warning',
  });
  return Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const bytes = await bundle();
  console.log(`dist/index.js built (${(bytes / 1024 / 1024).toFixed(1)} MiB with source map)`);
}
