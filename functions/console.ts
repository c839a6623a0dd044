import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defineHttp, type HttpFunctionDef, type HttpRequestData } from '../shared/function-table';
import { notFound } from '../shared/http/problem';

/**
 * The console's own policy: its script, style and icon from this origin only, API calls to this
 * origin only, nothing inline, no <base>, no form posts, never framed.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The files beside the page, by the name the page asks for. */
export const CONSOLE_ASSETS: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  gzip: Buffer;
  /** The first 16 hex digits of the content's SHA-256: the ETag and the page's `?v=`. */
  hash: string;
  contentType: string;
}

/**
 * Where the files are: `console/` beside the bundle (`dist/console`, copied there by scripts/build.mjs),
 * or the repository's `console/` when the source runs (npm start, tests).
 */
export function consoleDir(): string {
  const beside = join(__dirname, 'console');
  return existsSync(join(beside, 'index.html')) ? beside : join(__dirname, '..', 'console');
}

function asset(body: Buffer, contentType: string): Asset {
  return { body, gzip: gzipSync(body, { level: 9 }), hash: createHash('sha256').update(body).digest('hex').slice(0, 16), contentType };
}

/** Reads the page and its assets once; the page names each asset with its hash, so a deploy is never mixed with a cached old file. */
function load(dir: string): { page: Asset; assets: Map<string, Asset> } {
  const assets = new Map(Object.entries(CONSOLE_ASSETS).map(([name, type]) => [name, asset(readFileSync(join(dir, name)), type)]));
  let html = readFileSync(join(dir, 'index.html'), 'utf8');
  for (const [name, { hash }] of assets) html = html.replaceAll(`"console/${name}"`, `"console/${name}?v=${hash}"`);
  return { page: asset(Buffer.from(html, 'utf8'), 'text/html; charset=utf-8'), assets };
}

const acceptsGzip = (request: HttpRequestData) => /\bgzip\b/i.test(request.headers['accept-encoding'] ?? '');

/** The answer for one file: gzip when the browser takes it, 304 when its copy is current. */
function serve(file: Asset, request: HttpRequestData, cacheControl: string) {
  const etag = `"${file.hash}"`;
  const headers: Record<string, string> = {
    'Content-Type': file.contentType,
    'Content-Security-Policy': CONSOLE_CSP,
    'Cache-Control': cacheControl,
    ETag: etag,
    Vary: 'Accept-Encoding',
  };
  if (request.headers['if-none-match'] === etag) return { status: 304, headers };
  if (!acceptsGzip(request)) return { status: 200, headers, body: file.body };
  return { status: 200, headers: { ...headers, 'Content-Encoding': 'gzip' }, body: file.gzip };
}

const page = { 200: { description: 'The operations console', mediaTypes: ['text/html'] }, 304: { description: 'Not modified (If-None-Match)' } };

/**
 * `GET /api/console` (the page) and `GET /api/console/{asset}` (its script, style and icon): the
 * operations console, anonymous because it holds no data; every call it makes carries the API key
 * the user signs in with. The page is never stored; an asset asked for by its current hash is
 * cached for a year, any other request for it revalidates.
 */
export function consoleFunctions(dir: string = consoleDir()): HttpFunctionDef[] {
  let files: ReturnType<typeof load> | undefined;
  const loaded = () => (files ??= load(dir));
  return [
    defineHttp({
      kind: 'http',
      name: 'console',
      route: 'console',
      methods: ['GET'],
      summary: 'The operations console (HTML); sign in with an API key of role admin or support',
      tags: ['ops'],
      responses: page,
      handler: async ({ request }) => serve(loaded().page, request, 'no-store'),
    }),
    defineHttp({
      kind: 'http',
      name: 'console-asset',
      route: 'console/{asset}',
      methods: ['GET'],
      summary: "The operations console's script, style sheet and icon",
      tags: ['ops'],
      responses: {
        200: { description: 'The file', mediaTypes: [...new Set(Object.values(CONSOLE_ASSETS).map((type) => type.split(';')[0] as string))] },
        304: { description: 'Not modified (If-None-Match)' },
        404: { description: 'No such file' },
      },
      handler: async ({ params, request, query }) => {
        const name = params.asset ?? '';
        const file = Object.hasOwn(CONSOLE_ASSETS, name) ? loaded().assets.get(name) : undefined;
        if (!file) return notFound('The console has no file by that name.');
        return serve(file, request, query.v === file.hash ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  ];
}
