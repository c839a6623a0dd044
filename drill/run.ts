/**
 * `npm run drill [-- --quick] [-- --seed=<n>] [-- --only=<name>,…]`: starts the local runtime in this
 * process on free ports, runs the fault drills against it over HTTP, prints one line per drill
 * (tried, held, broken, what it did) and every broken try, and exits 1 when anything broke.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputCapture } from './capture';
import { type DrillContext, startDrillRuntime } from './context';
import { type Drill, type DrillResult, describeError } from './drill';
import { deadLetterReplay } from './drills/dead-letter-replay';
import { driverTimeout } from './drills/driver-timeout';
import { duplicateWebhooks } from './drills/duplicate-webhooks';
import { flakyOdoo } from './drills/flaky-odoo';
import { fuzzRoutes } from './drills/fuzz-routes';
import { odooOutage } from './drills/odoo-outage';
import { outOfOrderWebhooks } from './drills/out-of-order-webhooks';
import { racingApprovals } from './drills/racing-approvals';
import { racingRefunds } from './drills/racing-refunds';
import { secretsInOutput } from './drills/secrets-in-output';
import { renderTable, type Row } from './table';

/** In this order: the secrets drill last, so it reads what every other drill made the runtime write. */
const DRILLS: readonly Drill[] = [
  duplicateWebhooks,
  outOfOrderWebhooks,
  racingApprovals,
  racingRefunds,
  odooOutage,
  flakyOdoo,
  driverTimeout,
  deadLetterReplay,
  fuzzRoutes,
  secretsInOutput,
];

/**
 * Longest a drill may take before it counts as broken (it then runs on in the background). The route
 * fuzz sets the bar: every refused probe is followed by a scan of the tables for writes, so its time
 * grows with the routes (44) and the rows the earlier drills left (~120 s on 2 cores).
 */
const DRILL_BUDGET_MS = { full: 180_000, quick: 60_000 };

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

async function runOne(drill: Drill, ctx: DrillContext, budgetMs: number): Promise<DrillResult> {
  let timer: NodeJS.Timeout | undefined;
  const overtime = new Promise<DrillResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ tried: 1, held: 0, broken: 1, notes: [`did not finish within ${budgetMs / 1000} s`], failures: ['the drill timed out'] }),
      budgetMs,
    );
  });
  try {
    return await Promise.race([drill.run(ctx), overtime]);
  } catch (error) {
    return { tried: 1, held: 0, broken: 1, notes: ['the drill itself failed'], failures: [describeError(error)] };
  } finally {
    clearTimeout(timer);
  }
}

/** Clears every fault a drill may have left switched on. */
function clearFaults(ctx: DrillContext): void {
  ctx.odoo.reset();
  ctx.driver.setLatency(0);
  ctx.driverProxy.down = false;
}

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  const seed = Number(option('seed') ?? Date.now() % 1_000_000);
  const only = option('only')?.split(',');
  const drills = only ? DRILLS.filter((drill) => only.some((name) => drill.name.includes(name))) : DRILLS;
  const output = new OutputCapture();
  const started = Date.now();
  output.print(`Order Hub drills (${quick ? 'quick' : 'full'}, seed ${seed}): starting the local runtime…\n`);
  output.start();
  const rows: Row[] = [];
  let stop: () => Promise<void> = async () => undefined;
  try {
    const runtime = await startDrillRuntime({ quick, seed, output });
    stop = runtime.stop;
    for (const drill of drills) {
      clearFaults(runtime.ctx);
      await runtime.ctx.quiesce().catch(() => undefined);
      output.print(`  ${drill.name}…\n`);
      const at = Date.now();
      const result = await runOne(drill, runtime.ctx, quick ? DRILL_BUDGET_MS.quick : DRILL_BUDGET_MS.full);
      rows.push({ name: drill.name, result, seconds: (Date.now() - at) / 1000 });
    }
  } catch (error) {
    rows.push({
      name: 'start-up',
      result: { tried: 1, held: 0, broken: 1, notes: ['the runtime did not start'], failures: [describeError(error)] },
      seconds: 0,
    });
  } finally {
    await stop();
    output.stop();
  }
  const log = join(tmpdir(), `order-hub-drill-${process.pid}.log`);
  writeFileSync(log, output.text());
  const broken = rows.reduce((sum, row) => sum + row.result.broken, 0);
  output.print(`\n${renderTable(rows)}\n`);
  output.print(
    `${broken === 0 ? 'Every drill held' : `${broken} broken`} in ${((Date.now() - started) / 1000).toFixed(0)} s (seed ${seed}; runtime output: ${log})\n`,
  );
  return broken === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
