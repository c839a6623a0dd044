// `npm run bench`: prints the platform's figures (see README, "Figures"). Not a test.
import { benchBookings } from './bookings';
import { benchCallbacks } from './callbacks';
import { benchColdStart } from './cold-start';
import { benchConsole } from './console';
import { benchDeadLetters } from './dead-letters';
import { benchDriver } from './driver';
import { benchOdoo } from './odoo';
import { benchOrders } from './orders';
import { benchPipeline } from './pipeline';
import { benchImport, benchStartToHealthy } from './startup';
import { benchWooCommerce } from './woocommerce';

async function main(): Promise<void> {
  const only = process.argv[2];
  const jobs = Number(process.env.BENCH_JOBS ?? 2000);
  if (!only || only === 'pipeline') {
    for (const concurrency of [1, 16]) console.log('pipeline', JSON.stringify(await benchPipeline(concurrency, jobs)));
  }
  if (!only || only === 'bookings') {
    await benchBookings({
      concurrency: Number(process.env.BENCH_BOOKINGS_CONCURRENCY ?? 16),
      createSeconds: Number(process.env.BENCH_BOOKINGS_SECONDS ?? 10),
      webhookEvents: Number(process.env.BENCH_BOOKINGS_EVENTS ?? 3000),
      onFigure: (figure) => console.log('bookings', JSON.stringify(figure)),
    });
  }
  if (!only || only === 'orders') {
    await benchOrders({
      concurrency: Number(process.env.BENCH_ORDERS_CONCURRENCY ?? 16),
      createSeconds: Number(process.env.BENCH_ORDERS_SECONDS ?? 6),
      webhookEvents: Number(process.env.BENCH_ORDERS_EVENTS ?? 1500),
      onFigure: (figure) => console.log('orders', JSON.stringify(figure)),
    });
  }
  if (!only || only === 'callbacks') {
    await benchCallbacks({ orders: Number(process.env.BENCH_CALLBACK_ORDERS ?? 100), onFigure: (figure) => console.log('callbacks', JSON.stringify(figure)) });
  }
  if (!only || only === 'woocommerce') {
    await benchWooCommerce({
      orders: Number(process.env.BENCH_WOOCOMMERCE_ORDERS ?? 100),
      onFigure: (figure) => console.log('woocommerce', JSON.stringify(figure)),
    });
  }
  if (!only || only === 'odoo') await benchOdoo({ onFigure: (figure) => console.log('odoo', JSON.stringify(figure)) });
  if (!only || only === 'driver') {
    console.log('driver-app', JSON.stringify(await benchDriver(Number(process.env.BENCH_DRIVER_BOOKINGS ?? 100))));
  }
  if (!only || only === 'dead-letters') {
    await benchDeadLetters({
      letters: Number(process.env.BENCH_DEAD_LETTERS ?? 1000),
      healthy: Number(process.env.BENCH_DEAD_LETTERS_HEALTHY ?? 200),
      onFigure: (figure) => console.log('dead-letters', JSON.stringify(figure)),
    });
  }
  if (!only || only === 'console') {
    await benchConsole({ loads: Number(process.env.BENCH_CONSOLE_LOADS ?? 10), onFigure: (figure) => console.log('console', JSON.stringify(figure)) });
  }
  if (!only || only === 'cold-start') {
    const runs = Number(process.env.BENCH_COLD_RUNS ?? 7);
    for (const figure of await benchColdStart(runs, { app: process.env.BENCH_COLD_APP })) console.log('cold-start', JSON.stringify(figure));
  }
  if (!only || only === 'startup') {
    console.log('npm start -> healthy', JSON.stringify(await benchStartToHealthy(3)));
    console.log('import', JSON.stringify(benchImport(7)));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
