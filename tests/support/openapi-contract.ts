/**
 * The OpenAPI document as a client generator would read it, held against what the server really
 * sends: the served document (built from the whole function table), a JSON Schema 2020-12 validator
 * over its schemas, a recording proxy in front of the local host, and the check of one recorded
 * exchange against the document. No vitest imports: the helpers return findings, tests assert them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { compose } from '../../functions/composition';
import { loadConfig } from '../../functions/config';
import { consoleLogger } from '../../shared/adapters/telemetry/log';
import type { HttpFunctionDef } from '../../shared/function-table';
import { API_KEY_SCHEME, type OpenApiDocument } from '../../shared/http/openapi';

type Json = Record<string, any>;

/**
 * The document `GET /api/v1/openapi.json` serves, from a composition with every optional part
 * configured (BTCPay's webhook exists only then); nothing is connected, so no server is needed.
 */
export async function servedOpenApiDocument(): Promise<OpenApiDocument> {
  const config = loadConfig({
    SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
    TABLES_CONNECTION: 'UseDevelopmentStorage=true',
    STRIPE_SECRET_KEY: 'sk_test_unused',
    STRIPE_WEBHOOK_SECRET: 'whsec_unused',
    BTCPAY_URL: 'http://127.0.0.1:1',
    BTCPAY_API_KEY: 'unused',
    BTCPAY_STORE_ID: 'unused',
    BTCPAY_WEBHOOK_SECRET: 'unused',
  });
  const composition = compose(config, { log: consoleLogger({ silent: true }) });
  try {
    const def = composition.functions.find((candidate): candidate is HttpFunctionDef => candidate.kind === 'http' && candidate.name === 'openapi');
    if (!def) throw new Error('the function table has no openapi function');
    const response = await def.handler({} as never);
    return JSON.parse(JSON.stringify(response.body)) as OpenApiDocument;
  } finally {
    await composition.close();
  }
}

const DOCUMENT_ID = 'urn:order-hub:openapi';

/** JSON Pointer of a path of keys (RFC 6901). */
export const pointer = (...keys: string[]): string => keys.map((key) => `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/**
 * Validators of the document's schemas by JSON Pointer, compiled as JSON Schema 2020-12 (the dialect
 * of OpenAPI 3.1) with `$ref`s resolved against the document, as a generator resolves them. Strict:
 * a keyword Ajv does not know, or an invalid schema, throws at compile time.
 */
export function documentSchemas(doc: OpenApiDocument): (at: string) => ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  // Annotations OpenAPI puts next to schemas (not validation keywords), and the root that holds the components.
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs', 'components']);
  // The components are registered under the document's id; operation schemas are compiled one by one below.
  ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas: doc.components.schemas } }, undefined, undefined, false);
  const cache = new Map<string, ValidateFunction>();
  return (at) => {
    let validate = cache.get(at);
    if (!validate) {
      const schema = at
        .split('/')
        .slice(1)
        .reduce<any>((node, key) => node?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
      if (schema === undefined) throw new Error(`no schema at ${at}`);
      // A fragment's `#/components/...` refers to the document, so the fragment gets the document's base.
      validate = ajv.compile({ $id: `${DOCUMENT_ID}:${cache.size}`, ...rebase(schema) });
      cache.set(at, validate);
    }
    return validate;
  };
}

/** Points local `$ref`s at the registered document, so a fragment compiled on its own still resolves them. */
function rebase(node: unknown): any {
  if (Array.isArray(node)) return node.map(rebase);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${DOCUMENT_ID}${value}` : rebase(value),
    ]),
  );
}

// ---- exchanges

/** One request and its answer, as they crossed the wire. */
export interface Exchange {
  method: string;
  /** Path as requested, with the query. */
  url: string;
  requestHeaders: Record<string, string>;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A proxy in front of the local host that records every exchange; point clients and sandboxes at `url`. */
export interface RecordingProxy {
  /** Base URL with the route prefix, like `LocalRuntime.url`. */
  url: string;
  exchanges: Exchange[];
  stop(): Promise<void>;
}

const flatHeaders = (headers: http.IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]])),
  );

/** Starts a recording proxy to `target` (a host URL with its prefix, e.g. `http://127.0.0.1:7071/api`). */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let answered = false;
      const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        answered = true;
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(parts);
          exchanges.push({
            method: req.method ?? 'GET',
            url: req.url ?? '/',
            requestHeaders: flatHeaders(req.headers),
            status: answer.statusCode ?? 0,
            headers: flatHeaders(answer.headers),
            body: body.toString('utf8'),
          });
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(body);
        });
      });
      // The host may answer (413) and close before the whole body is written: that answer stands.
      forward.on('error', () => {
        if (answered) return;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('recording proxy: the host did not answer');
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, '')}`,
    exchanges,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- the check

/** What an exchange was, as the document sees it. */
export type Resolved = { kind: 'operation'; path: string; method: string; operation: Json } | { kind: 'methodNotAllowed'; path: string } | { kind: 'notFound' };

/** Who called: no credential, an API key of a role, or another bearer credential (a booking's token). */
export type Credential = { kind: 'none' } | { kind: 'apiKey'; role: string } | { kind: 'bearer' };

/** Holds exchanges against an OpenAPI document: routes them as a client would, then checks status, body, headers and security. */
export class OpenApiContract {
  private readonly schemaAt: (at: string) => ValidateFunction;
  private readonly base: string;
  private readonly templates: Array<{ path: string; segments: string[] }>;

  constructor(
    readonly doc: OpenApiDocument,
    private readonly apiKeys: Partial<Record<string, string>> = {},
  ) {
    this.schemaAt = documentSchemas(doc);
    this.base = (doc.servers[0]?.url ?? '').replace(/\/+$/, '');
    this.templates = Object.keys(doc.paths).map((path) => ({ path, segments: path.split('/').slice(1) }));
  }

  /** The operation of a method and request path (with the server's base), concrete segments before templated ones (OpenAPI 3.1, Paths Object). */
  resolve(method: string, url: string): Resolved {
    const path = url.split('?')[0] as string;
    if (!path.startsWith(`${this.base}/`)) return { kind: 'notFound' };
    const parts = path.slice(this.base.length).split('/').slice(1);
    const matches = this.templates.filter(
      ({ segments }) => segments.length === parts.length && segments.every((segment, i) => (/^\{.+\}$/.test(segment) ? parts[i] !== '' : segment === parts[i])),
    );
    if (matches.length === 0) return { kind: 'notFound' };
    const concrete = (segments: string[]) => segments.map((segment) => (/^\{.+\}$/.test(segment) ? '1' : '0')).join('');
    matches.sort((a, b) => concrete(a.segments).localeCompare(concrete(b.segments)));
    const withMethod = matches.find(({ path: template }) => this.doc.paths[template]?.[method.toLowerCase()]);
    if (!withMethod) return { kind: 'methodNotAllowed', path: (matches[0] as { path: string }).path };
    return {
      kind: 'operation',
      path: withMethod.path,
      method: method.toLowerCase(),
      operation: this.doc.paths[withMethod.path]?.[method.toLowerCase()] as Json,
    };
  }

  /** The credential a request carried. */
  credential(headers: Record<string, string>): Credential {
    const token = /^Bearer[ \t]+(\S+)/i.exec(headers.authorization ?? '')?.[1];
    if (!token) return { kind: 'none' };
    const role = Object.entries(this.apiKeys).find(([, key]) => key === token)?.[0];
    return role ? { kind: 'apiKey', role } : { kind: 'bearer' };
  }

  /** Everything about an exchange that the document does not describe; empty when it is described. */
  check(exchange: Exchange): string[] {
    const resolved = this.resolve(exchange.method, exchange.url);
    const label = `${exchange.method} ${exchange.url} -> ${exchange.status}`;
    if (resolved.kind !== 'operation') {
      const name = resolved.kind === 'notFound' ? 'NotFound' : 'MethodNotAllowed';
      const expected = resolved.kind === 'notFound' ? 404 : 405;
      if (exchange.status !== expected) return [`${label}: no operation; the document says the host answers ${expected} (${name})`];
      return this.checkResponse(label, exchange, this.doc.components.responses[name] as Json, pointer('components', 'responses', name));
    }
    const { operation, path, method } = resolved;
    const at = pointer('paths', path, method, 'responses', String(exchange.status));
    const response = (operation.responses as Json)[String(exchange.status)] as Json | undefined;
    const where = `${label} (${operation.operationId})`;
    if (!response) return [`${where}: status not documented (documented: ${Object.keys(operation.responses as Json).join(', ')})`];
    return [...this.checkResponse(where, exchange, response, at), ...this.checkSecurity(where, exchange, operation)];
  }

  private checkResponse(where: string, exchange: Exchange, response: Json, at: string): string[] {
    const findings: string[] = [];
    for (const [name, header] of Object.entries((response.headers ?? {}) as Json)) {
      if ((header as Json).required && exchange.headers[name.toLowerCase()] === undefined) findings.push(`${where}: required header ${name} missing`);
    }
    const content = (response.content ?? {}) as Json;
    if (exchange.body === '') {
      if (Object.keys(content).length > 0) findings.push(`${where}: empty body, documented ${Object.keys(content).join(', ')}`);
      return findings;
    }
    const mediaType = (exchange.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!content[mediaType])
      return [...findings, `${where}: content type ${mediaType || '(none)'} not documented (documented: ${Object.keys(content).join(', ') || 'none'})`];
    let body: unknown = exchange.body;
    // A page, a script or a style sheet is validated as the text it is (its schema: a string).
    const json = mediaType === 'application/json' || mediaType.endsWith('+json');
    try {
      if (json) body = JSON.parse(exchange.body);
    } catch {
      return [...findings, `${where}: ${mediaType} body is not JSON`];
    }
    const validate = this.schemaAt(`${at}${pointer('content', mediaType, 'schema')}`);
    if (!validate(body)) {
      const errors = (validate.errors ?? []).slice(0, 5).map((error) => `${error.instancePath || '/'} ${error.message}`);
      findings.push(`${where}: body does not match the schema: ${errors.join('; ')}`);
    }
    return findings;
  }

  /** An answer that let the caller in (2xx) must be one the operation's security admits for the credential it carried. */
  private checkSecurity(where: string, exchange: Exchange, operation: Json): string[] {
    if (exchange.status >= 300 || !operation.security) return [];
    const alternatives = operation.security as Array<Record<string, string[]>>;
    const credential = this.credential(exchange.requestHeaders);
    const admitted = alternatives.some((requirement) => {
      const schemes = Object.entries(requirement);
      if (schemes.length === 0) return true;
      return schemes.every(([scheme, roles]) => {
        const definition = this.doc.components.securitySchemes[scheme] as Json | undefined;
        if (definition?.type !== 'http' || definition.scheme !== 'bearer') return false;
        if (scheme === API_KEY_SCHEME) return credential.kind === 'apiKey' && (roles.length === 0 || roles.includes(credential.role));
        return credential.kind === 'bearer';
      });
    });
    return admitted ? [] : [`${where}: answered ${exchange.status} to a caller with ${JSON.stringify(credential)}, which its security does not admit`];
  }
}
