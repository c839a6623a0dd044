import { readBody } from './http-body';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FunctionDef, HttpFunctionDef, HttpRequestData, HttpResponseData } from '../shared/function-table';
import type { CorsOrigins } from '../shared/http/cors';
import { MAX_BODY_BYTES, toWire, type PipelineLog } from '../shared/http/pipeline';
import {
  badRequest,
  expectationFailed,
  headerFieldsTooLarge,
  internalError,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  problem,
  requestTimeout,
} from '../shared/http/problem';

/** Options of {@link startHttpHost}. */
export interface HttpHostOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Interface to bind; default 127.0.0.1 so the local host is never reachable from the network. */
  host?: string;
  functions: readonly FunctionDef[];
  pipeline: { handle(def: HttpFunctionDef, request: HttpRequestData): Promise<HttpResponseData> };
  /** First path segment of every route, as Azure's `routePrefix`; default `api`. */
  routePrefix?: string;
  /** Where failures outside the pipeline (serialisation, socket errors) are reported. */
  log?: PipelineLog;
  /**
   * How long a client has to send a whole request, headers and body (408 after); default node's 300 s.
   * The headers alone get at most node's 60 s. Tests shorten it.
   */
  requestTimeoutMs?: number;
  /** Origins whose preflights are answered and whose answers carry `Access-Control-Allow-Origin`, as the Functions platform does for its CORS list. */
  cors?: CorsOrigins;
}

/** A running host. */
export interface HttpHost {
  port: number;
  /** Base URL including the prefix, e.g. `http://127.0.0.1:7071/api`. */
  url: string;
  /** Closes the listener and every open (keep-alive) connection, so the port is free at once. */
  stop(): Promise<void>;
}

type Segment = { literal: string } | { param: string };

interface CompiledRoute {
  def: HttpFunctionDef;
  segments: Segment[];
}

/** What the router found for a method and path. */
export type RouteResult =
  | { kind: 'match'; def: HttpFunctionDef; params: Record<string, string> }
  | { kind: 'methodNotAllowed'; allowed: string[] }
  | { kind: 'notFound' }
  | { kind: 'badPath' };

const compile = (def: HttpFunctionDef): CompiledRoute => ({
  def,
  segments: def.route
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map((part) => {
      const param = /^\{([^{}]+)\}$/.exec(part)?.[1];
      return param ? { param } : { literal: part.toLowerCase() };
    }),
});

/** Literal segments beat parameters, position by position from the left (`by-source/{s}` beats `{id}/history`). */
function moreSpecific(a: CompiledRoute, b: CompiledRoute): boolean {
  for (let i = 0; i < a.segments.length; i += 1) {
    const aLiteral = 'literal' in (a.segments[i] as Segment);
    const bLiteral = 'literal' in (b.segments[i] as Segment);
    if (aLiteral !== bLiteral) return aLiteral;
  }
  return false;
}

/**
 * Builds the router of the table's HTTP defs. Literals match case-insensitively, as Azure Functions
 * routes do; parameters are percent-decoded per segment (so `%2F` stays inside its parameter) and
 * must not be empty. Throws when two defs claim the same method and route shape.
 */
export function createRouter(functions: readonly FunctionDef[]): (method: string, path: string) => RouteResult {
  const routes = functions.filter((def): def is HttpFunctionDef => def.kind === 'http').map(compile);
  const claimed = new Set<string>();
  for (const route of routes) {
    const shape = route.segments.map((segment) => ('param' in segment ? '{}' : segment.literal)).join('/');
    for (const method of route.def.methods) {
      if (claimed.has(`${method} ${shape}`)) throw new Error(`two HTTP functions claim ${method} ${route.def.route}`);
      claimed.add(`${method} ${shape}`);
    }
  }

  return (method, path) => {
    let parts: string[];
    try {
      parts = path.split('/').map(decodeURIComponent);
    } catch {
      return { kind: 'badPath' };
    }
    const candidates: Array<{ route: CompiledRoute; params: Record<string, string> }> = [];
    for (const route of routes) {
      const params = matchSegments(route.segments, parts);
      if (params) candidates.push({ route, params });
    }
    if (candidates.length === 0) return { kind: 'notFound' };
    // Method first, then specificity, as ASP.NET endpoint routing (the Functions host) does.
    let best: (typeof candidates)[number] | undefined;
    for (const candidate of candidates) {
      if (!candidate.route.def.methods.includes(method as never)) continue;
      if (!best || moreSpecific(candidate.route, best.route)) best = candidate;
    }
    if (!best) return { kind: 'methodNotAllowed', allowed: candidates.flatMap((candidate) => candidate.route.def.methods) };
    return { kind: 'match', def: best.route.def, params: best.params };
  };
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    const part = parts[i] as string;
    if ('param' in segment) {
      if (part === '') return undefined;
      params[segment.param] = part;
    } else if (segment.literal !== part.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

/** Reads the body up to `limit` bytes; resolves `undefined` as soon as it is exceeded. */

function send(res: http.ServerResponse, response: HttpResponseData, closeConnection = false, allowOrigin?: string): void {
  const wire = toWire(response);
  // The platform's CORS header, on every answer to an allowed origin (the app's own cross-origin headers came with the response).
  if (allowOrigin) {
    wire.headers['access-control-allow-origin'] = allowOrigin;
    wire.headers.vary ??= 'Origin';
  }
  const body = typeof wire.body === 'string' ? Buffer.from(wire.body, 'utf8') : wire.body;
  const headers: Record<string, string> = { ...wire.headers, 'content-length': String(body.length) };
  if (closeConnection) headers.connection = 'close';
  res.writeHead(wire.status, headers);
  res.end(body);
}

function headerRecord(req: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  // Node already lower-cases names; repeated headers are joined as RFC 9110 §5.3 allows.
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Node's parser errors (`clientError`) and the status they are answered with; anything else is a 400. */
const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/** The problem for a request node refused before it became a request. */
function clientErrorProblem(code: string | undefined): HttpResponseData {
  switch (CLIENT_ERROR_STATUS[code ?? ''] ?? 400) {
    case 431:
      return headerFieldsTooLarge();
    case 413:
      return problem(413, 'Payload too large', 'The request has chunk extensions that are too large.');
    case 408:
      return requestTimeout();
    default:
      // Conflicting Content-Length, a bad chunk, an invalid header: the parser's reason quotes no input.
      return badRequest('The request is not valid HTTP/1.1.');
  }
}

/**
 * A complete HTTP/1.1 response as bytes, for the socket of a request node's parser refused (there is
 * no ServerResponse then): the same problem+json and security headers as every other answer.
 */
function rawResponse(response: HttpResponseData): Buffer {
  const wire = toWire(response);
  const body = typeof wire.body === 'string' ? Buffer.from(wire.body, 'utf8') : wire.body;
  const headers: Record<string, string> = { ...wire.headers, 'content-length': String(body.length), connection: 'close' };
  const head = [`HTTP/1.1 ${wire.status} ${http.STATUS_CODES[wire.status] ?? 'Error'}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/**
 * A CORS preflight from an allowed origin, answered as the Functions platform answers it for its
 * CORS list: 204, the origin (or `*`), the method and headers asked for, no credentials; cached by the
 * browser for an hour. Anything else is not a preflight the platform would take.
 */
function preflight(req: http.IncomingMessage, cors: CorsOrigins | undefined): HttpResponseData | undefined {
  const origin = req.headers.origin;
  const method = req.headers['access-control-request-method'];
  if (req.method !== 'OPTIONS' || !cors?.allows(origin) || typeof method !== 'string') return undefined;
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': cors.allowOriginFor(origin),
    'Access-Control-Allow-Methods': method,
    'Access-Control-Max-Age': '3600',
    Vary: 'Origin',
  };
  const asked = req.headers['access-control-request-headers'];
  if (typeof asked === 'string' && asked !== '') headers['Access-Control-Allow-Headers'] = asked;
  return { status: 204, headers };
}

/** The peer address; X-Forwarded-For is ignored because locally nothing trustworthy sets it. */
const clientIpOf = (req: http.IncomingMessage): string => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');

/**
 * Serves the function table's HTTP defs over node:http, the local stand-in for the Functions host:
 * routing, 404/405/413 at the edge, everything else through the shared pipeline.
 */
export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  const prefix = (options.routePrefix ?? 'api').replace(/^\/+|\/+$/g, '');
  const route = createRouter(options.functions);
  const bindHost = options.host ?? '127.0.0.1';

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    // Node's own check (`requireHostHeader`) would answer with an empty body; this one is problem+json.
    if (req.httpVersion === '1.1' && req.headers.host === undefined) return send(res, badRequest('An HTTP/1.1 request needs a Host header.'), true);
    const origin = req.headers.origin;
    const allowOrigin = options.cors?.allows(origin) ? options.cors.allowOriginFor(origin) : undefined;
    const reply = (response: HttpResponseData, closeConnection = false) => send(res, response, closeConnection, allowOrigin);
    const preflighted = preflight(req, options.cors);
    if (preflighted) return send(res, preflighted);
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));
    const base = prefix ? `/${prefix}/` : '/';
    if (!rawPath.toLowerCase().startsWith(base.toLowerCase())) return reply(notFound());
    const path = rawPath.slice(base.length);

    const found = route(req.method ?? 'GET', path);
    if (found.kind === 'notFound') return reply(notFound());
    if (found.kind === 'badPath') return reply(badRequest('The URL path is not valid percent-encoding.'));
    if (found.kind === 'methodNotAllowed') return reply(methodNotAllowed(found.allowed));

    const rawBody = await readBody(req, MAX_BODY_BYTES);
    if (!rawBody) return reply(payloadTooLarge(MAX_BODY_BYTES), true);
    const request: HttpRequestData = {
      method: req.method ?? 'GET',
      url: path,
      params: found.params,
      query,
      headers: headerRecord(req),
      rawBody,
      clientIp: clientIpOf(req),
    };
    reply(await options.pipeline.handle(found.def, request));
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    serve(req, res).catch((error: unknown) => {
      // A client that hung up mid-upload, or a request timed out on its socket: nobody is left to answer.
      if (res.destroyed || req.socket.destroyed) return;
      options.log?.error('local http host failed', { method: req.method, url: req.url, error });
      if (res.headersSent) res.destroy();
      else send(res, internalError());
    });
  };

  /** The response being written on each socket, so a late parser error never writes into it. */
  const responding = new WeakMap<Duplex, http.ServerResponse>();
  const requestTimeoutMs = options.requestTimeoutMs;
  const server = http.createServer(
    {
      // Checked in `serve`, so the 400 is problem+json rather than node's empty answer.
      requireHostHeader: false,
      ...(requestTimeoutMs === undefined
        ? {}
        : {
            requestTimeout: requestTimeoutMs,
            headersTimeout: Math.min(60_000, requestTimeoutMs),
            // How often node looks for expired requests (default 30 s).
            connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(requestTimeoutMs / 4))),
          }),
    },
    (req, res) => {
      responding.set(req.socket, res);
      res.once('close', () => {
        if (responding.get(req.socket) === res) responding.delete(req.socket);
      });
      handle(req, res);
    },
  );

  // What node's parser refuses (431 huge headers, 400 conflicting Content-Length or bad syntax, 408
  // timeout) would be answered with an empty body: write problem+json on the socket instead, unless a
  // response has already begun on it (the bytes would corrupt it) or the client is gone.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable || responding.get(socket)?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(rawResponse(clientErrorProblem(error.code)));
    // Do not wait for a client that keeps its side open.
    socket.once('finish', () => socket.destroy());
  });
  // An `Expect` other than 100-continue: node's own 417 has no body.
  server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => send(res, expectationFailed(), true));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost;

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `http://${urlHost}:${port}${prefix ? `/${prefix}` : ''}`,
    stop() {
      stopping ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
