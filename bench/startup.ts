// `npm start` time to healthy, and the import time of the built bundle next to a bare
// @azure/functions app (the floor). Prints figures; not a test.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { npmStartEnv } from '../tests/support/ports';
import { CORE_STAND_IN } from './cold-start';
import { percentile } from './stats';

const root = resolve(__dirname, '..');

export async function benchStartToHealthy(runs: number): Promise<Record<string, number>> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const { env, httpPort } = await npmStartEnv();
    const started = Date.now();
    const child = spawn('npm', ['start', '--silent'], { cwd: root, env, stdio: 'ignore' });
    const exited = new Promise((done) => child.once('exit', done));
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${httpPort}/api/health`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() - started > 30_000) throw new Error('npm start did not become healthy in 30 s');
      await new Promise((r) => setTimeout(r, 25));
    }
    times.push(Date.now() - started);
    child.kill('SIGINT');
    await exited;
  }
  times.sort((a, b) => a - b);
  return { runs, medianMs: percentile(times, 50), maxMs: times.at(-1) as number };
}

/**
 * Median time of `require(file)` in a new process, over `runs`, with `@azure/functions-core` answered by
 * a stand-in of the Functions worker (`preload`): as the worker loads an app, registrations included
 * (outside it @azure/functions would only print a warning per registration).
 */
function requireTime(file: string, runs: number, env: NodeJS.ProcessEnv, preload: string): number {
  const measure = (code: string) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(
        process.execPath,
        ['-r', preload, '-e', `const t=process.hrtime.bigint();${code};console.log(Number(process.hrtime.bigint()-t)/1e6)`],
        {
          cwd: root,
          env,
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      samples.push(Number(out.toString().trim().split('\n').at(-1)));
    }
    return percentile(
      samples.sort((a, b) => a - b),
      50,
    );
  };
  return Math.round(measure(`require(${JSON.stringify(file)})`));
}

export function benchImport(runs: number): Record<string, number> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'ignore' });
  const floorDir = mkdtempSync(join(tmpdir(), 'bare-func-'));
  const floor = join(floorDir, 'index.js');
  const preload = join(floorDir, 'core-stand-in.cjs');
  writeFileSync(preload, CORE_STAND_IN);
  writeFileSync(
    floor,
    `const { app } = require(${JSON.stringify(require.resolve('@azure/functions', { paths: [root] }))});
app.http('hello', { route: 'hello', handler: async () => ({ body: 'hi' }) });`,
  );
  const env = {
    ...process.env,
    SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
    TABLES_CONNECTION: 'UseDevelopmentStorage=true',
  };
  const bundleImportMs = requireTime(join(root, 'dist/index.js'), runs, env, preload);
  const bareFunctionsAppImportMs = requireTime(floor, runs, env, preload);
  return { bundleImportMs, bareFunctionsAppImportMs, ratio: Number((bundleImportMs / bareFunctionsAppImportMs).toFixed(2)) };
}
