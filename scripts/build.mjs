// Bundles the Azure entry point into dist/index.js (CommonJS), the file package.json "main" names.
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['functions/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: true,
  metafile: true,
  // The host provides functions-core; the Service Bus extension loads .proto files from its own
  // folder and registers itself with @azure/functions, so both stay in node_modules, one copy each.
  // Application Insights (with OpenTelemetry) is loaded on demand only: kept out of the bundle too.
  external: ['@azure/functions-core', '@azure/functions', '@azure/functions-extensions-servicebus', 'applicationinsights'],
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(`dist/index.js built (${(bytes / 1024 / 1024).toFixed(1)} MiB with source map)`);
