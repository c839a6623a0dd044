// The operations console in headless Chromium (playwright-core, Debian's chromium: nothing is
// downloaded) against the local runtime. A benchmark that prints figures, not a test.
//
// Figures, over `loads` cold loads (each in a new browser context: empty cache, no session), after
// one untimed warm-up load that lets the server read and gzip its files once:
// 1. Bytes transferred for `GET /api/console` and what it pulls in, per resource as the server sends
//    them (Content-Encoding, encoded body and headers from `request.sizes()`, decoded body).
// 2. Time to usable: from navigation start until the sign-in form's key input is in the page,
//    laid out and enabled, stamped in the page (`performance.now()` in a MutationObserver, so the
//    clock starts at the navigation); next to it the same moment as Playwright sees it
//    (wall clock around `goto` and a visible + enabled check, polling included).
// 3. Sign-in: from submitting a valid admin key (the form's submit event) until the overview shows a
//    link for every dead-letter queue (the overview waits for health, the dead-letter summary and the
//    attention list), stamped in the page; and as Playwright sees it (click to the last link visible).
// The floor, measured in the same run, load for load: a static HTML page of the same decoded size
// (the console's own text, escaped, with a key input at its end), gzipped at the same level, from a
// bare node:http server on this machine; time to usable stamped the same way.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium, type Page, type Request } from 'playwright-core';
import { consoleDir } from '../functions/console';
import { FREE_PORTS, startLocalRuntime } from '../local/runtime';
import { consoleLogger } from '../shared/adapters/telemetry/log';
import { newEnvelope } from '../shared/platform/jobs';
import { QUEUE_NAMES, QUEUES } from '../shared/platform/queues';
import { latencySummary, percentile } from './stats';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Dead letters put in one queue first, so the overview's summary has something to count. */
const DEAD_LETTERS = 20;

export interface BenchConsoleOptions {
  /** Cold loads of the console (and of the floor page), default 10. */
  loads?: number;
  onFigure?: (figure: Record<string, unknown>) => void;
}

/** One resource of a load, as it went over the wire. */
interface Transfer {
  path: string;
  status: number;
  contentEncoding: string | null;
  /** The body as sent (gzip when the server compressed it). */
  bodyBytes: number;
  headerBytes: number;
  /** The body after decoding. */
  decodedBytes: number;
  /** From the request's start to the last byte of its response (ms). */
  ms: number;
}

/** Stamps (ms since navigation start) the page's own clock takes; installed before any page script runs. */
interface Stamps {
  usableAt: number | null;
  submitAt: number | null;
  overviewAt: number | null;
}

/**
 * In the page: on every DOM change, stamp when the key input is first laid out and enabled, and
 * (after a submit) when every queue's link is in the overview. Runs as an init script, beside the
 * page's CSP (which governs the page's own scripts).
 */
function stampScript(queues: number): string {
  return `(() => {
    const stamps = { usableAt: null, submitAt: null, overviewAt: null };
    globalThis.__benchStamps = stamps;
    const check = () => {
      if (stamps.usableAt === null) {
        const key = document.querySelector('input[name="key"]');
        if (key && !key.disabled && key.getClientRects().length > 0 && getComputedStyle(key).visibility !== 'hidden') stamps.usableAt = performance.now();
      }
      if (stamps.submitAt !== null && stamps.overviewAt === null && document.querySelectorAll('main a[href^="#/dead-letters/"]').length >= ${queues}) {
        stamps.overviewAt = performance.now();
      }
    };
    new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
    document.addEventListener('submit', () => { stamps.submitAt = performance.now(); }, true);
  })();`;
}

const escapeHtml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** A static page of `bytes` decoded bytes: text like the console's own, a key input at the very end. */
function floorPage(bytes: number): { html: Buffer; gzip: Buffer } {
  const dir = consoleDir();
  const filler = escapeHtml(['index.html', 'console.css', 'console.js', 'icon.svg'].map((name) => readFileSync(join(dir, name), 'utf8')).join('\n'));
  const head = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>floor</title></head><body><pre hidden>';
  const tail = '</pre><form><label for="key">API key</label><input id="key" name="key" type="password"></form></body></html>';
  const room = bytes - Buffer.byteLength(head + tail);
  let body = filler;
  while (Buffer.byteLength(body) < room) body += `\n${filler}`;
  // The filler is ASCII apart from a few characters; trim by characters until the bytes fit.
  body = body.slice(0, room);
  while (Buffer.byteLength(body) > room) body = body.slice(0, -1);
  const html = Buffer.from(head + body + tail, 'utf8');
  return { html, gzip: gzipSync(html, { level: 9 }) };
}

async function serveFloor(page: { html: Buffer; gzip: Buffer }): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const gzip = /\bgzip\b/i.test(String(request.headers['accept-encoding'] ?? ''));
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    response.end(gzip ? page.gzip : page.html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/floor` };
}

/** Records every finished request of a page with its sizes. */
function recordTransfers(page: Page): () => Promise<Transfer[]> {
  const pending: Array<Promise<Transfer>> = [];
  const measure = async (request: Request): Promise<Transfer> => {
    const [sizes, response] = await Promise.all([request.sizes(), request.response()]);
    const body = await response?.body().catch(() => undefined);
    return {
      path: new URL(request.url()).pathname,
      status: response?.status() ?? 0,
      contentEncoding: (await response?.headerValue('content-encoding')) ?? null,
      bodyBytes: sizes.responseBodySize,
      headerBytes: sizes.responseHeadersSize,
      decodedBytes: body?.length ?? 0,
      ms: request.timing().responseEnd,
    };
  };
  page.on('requestfinished', (request) => pending.push(measure(request)));
  return () => Promise.all(pending);
}

interface Load {
  usableMs: number;
  usableSeenMs: number;
  responseEndMs: number;
  transfers: Transfer[];
  signInMs?: number;
  signInSeenMs?: number;
  signInTransfers?: Transfer[];
}

const stamps = (page: Page) => page.evaluate(() => (globalThis as unknown as { __benchStamps: Stamps }).__benchStamps);

/** One cold load in a new context: until the key input is usable, then (when a key is given) the sign-in. */
async function coldLoad(browser: Browser, url: string, script: string, key?: string): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.addInitScript(script);
    const transfers = recordTransfers(page);
    const started = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    const input = page.locator('input[name="key"]');
    await input.waitFor({ state: 'visible' });
    if (!(await input.isEnabled())) throw new Error('the key input is visible but disabled');
    const usableSeenMs = performance.now() - started;
    await page.waitForLoadState('load');
    const usable = await stamps(page);
    // A string, not a function: the bundler would rename `performance` to this file's import.
    const responseEndMs = (await page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")) as number;
    const loaded = await transfers();
    if (usable.usableAt === null) throw new Error('the page never stamped the key input as usable');
    const load: Load = { usableMs: usable.usableAt, usableSeenMs, responseEndMs, transfers: loaded };
    if (key === undefined) return load;

    const before = loaded.length;
    await input.fill(key);
    const clicked = performance.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .locator('main a[href^="#/dead-letters/"]')
      .nth(QUEUE_NAMES.length - 1)
      .waitFor({ state: 'visible' });
    const signInSeenMs = performance.now() - clicked;
    const signedIn = await stamps(page);
    if (signedIn.submitAt === null || signedIn.overviewAt === null) throw new Error('the page never stamped the submit or the overview');
    return { ...load, signInMs: signedIn.overviewAt - signedIn.submitAt, signInSeenMs, signInTransfers: (await transfers()).slice(before) };
  } finally {
    await context.close();
  }
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const sum = (transfers: Transfer[], field: 'bodyBytes' | 'headerBytes' | 'decodedBytes') => transfers.reduce((total, t) => total + t[field], 0);
const timing = (values: number[]) => {
  const { p50, p90, max } = latencySummary(values);
  return { p50, p90, max };
};

export async function benchConsole(options: BenchConsoleOptions = {}): Promise<void> {
  const loads = options.loads ?? 10;
  const report = options.onFigure ?? ((figure) => console.log(JSON.stringify(figure)));
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; or set CHROMIUM_PATH). Nothing is downloaded.`);

  const [runtime, browser] = await Promise.all([
    startLocalRuntime({
      ports: FREE_PORTS,
      env: { RATE_LIMIT_PER_KEY: '1000000', TABLE_PREFIX: 'benchconsole' },
      timers: false,
      log: consoleLogger({ silent: true }),
    }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
  ]);
  let floorServer: Server | undefined;
  try {
    // A few dead letters (a job type no handler knows), so the overview's counts are not all zero.
    const queue = QUEUES.odooSync;
    await runtime.composition.services.sender.send(
      Array.from({ length: DEAD_LETTERS }, (_, i) => ({
        queue,
        envelope: newEnvelope({ queue, type: 'bench.unknown', subject: `bench-${i}`, payload: {} }, new Date(), randomUUID),
      })),
    );
    const deadline = Date.now() + 30_000;
    while ((runtime.broker?.stats(queue).deadLetter ?? DEAD_LETTERS) < DEAD_LETTERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const consoleUrl = `${runtime.url}/console`;
    const key = runtime.apiKeys.admin as string;
    const script = stampScript(QUEUE_NAMES.length);

    // Warm-up (untimed): the server reads and gzips its files on the first request.
    const warmup = await coldLoad(browser, consoleUrl, script, key);
    const page = floorPage(sum(warmup.transfers, 'decodedBytes'));
    const floor = await serveFloor(page);
    floorServer = floor.server;
    await coldLoad(browser, floor.url, script);

    const runs: Load[] = [];
    const floors: Load[] = [];
    for (let i = 0; i < loads; i++) {
      runs.push(await coldLoad(browser, consoleUrl, script, key));
      floors.push(await coldLoad(browser, floor.url, script));
    }

    const first = runs[0] as Load;
    const usable = timing(runs.map((run) => run.usableMs));
    const floorUsable = timing(floors.map((run) => run.usableMs));
    report({
      figure: 'console cold load: bytes transferred (GET /api/console and what it pulls in)',
      loads,
      // The page first, then what it pulls in.
      resources: [...first.transfers]
        .sort((a, b) => Number(b.path.endsWith('/console')) - Number(a.path.endsWith('/console')))
        .map(({ path, status, contentEncoding, bodyBytes, headerBytes, decodedBytes }) => ({
          path: path.replace(/^\/api\//, ''),
          status,
          contentEncoding,
          bodyBytes,
          headerBytes,
          decodedBytes,
        })),
      totalBodyBytes: median(runs.map((run) => sum(run.transfers, 'bodyBytes'))),
      totalHeaderBytes: median(runs.map((run) => sum(run.transfers, 'headerBytes'))),
      totalDecodedBytes: median(runs.map((run) => sum(run.transfers, 'decodedBytes'))),
      signInApiCalls: first.signInTransfers?.length ?? 0,
      signInApiBodyBytes: median(runs.map((run) => sum(run.signInTransfers ?? [], 'bodyBytes'))),
      floorDecodedBytes: page.html.length,
      floorBodyBytes: median(floors.map((run) => sum(run.transfers, 'bodyBytes'))),
    });
    report({
      figure: 'console cold load: time to usable (navigation start -> key input laid out and enabled, ms)',
      loads,
      usable,
      usableSeenByPlaywright: timing(runs.map((run) => run.usableSeenMs)),
      documentResponseEnd: timing(runs.map((run) => run.responseEndMs)),
      floorStaticPage: floorUsable,
      floorSeenByPlaywright: timing(floors.map((run) => run.usableSeenMs)),
      floorDocumentResponseEnd: timing(floors.map((run) => run.responseEndMs)),
      ratioP50: Math.round((usable.p50 / floorUsable.p50) * 10) / 10,
    });
    report({
      figure: 'console sign-in: submit a valid admin key -> overview shows every dead-letter queue (ms)',
      loads,
      queues: QUEUE_NAMES.length,
      signIn: timing(runs.map((run) => run.signInMs as number)),
      signInSeenByPlaywright: timing(runs.map((run) => run.signInSeenMs as number)),
      // Each call the overview waits for, request start to response end: the slowest one sets the pace.
      apiCallsP50Ms: Object.fromEntries(
        (first.signInTransfers ?? []).map(({ path }) => [
          path.replace(/^\/api\//, ''),
          Math.round(median(runs.map((run) => run.signInTransfers?.find((transfer) => transfer.path === path)?.ms ?? Number.NaN)) * 10) / 10,
        ]),
      ),
    });
  } finally {
    await new Promise<void>((resolve) => (floorServer ? floorServer.close(() => resolve()) : resolve()));
    await browser.close();
    await runtime.stop();
  }
}
