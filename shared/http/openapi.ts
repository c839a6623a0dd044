import * as z from 'zod';
import type { ZodType } from 'zod';
import type { FunctionDef, HttpFunctionDef, Role } from '../function-table';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../platform/idempotency';
import { acceptedRoles } from './auth';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, MAX_BODY_BYTES } from './pipeline';
import { PROBLEM_CONTENT_TYPE, problemSchema } from './problem';

/** A JSON Schema / OpenAPI object; kept loose because the document is data, not code. */
type Json = Record<string, unknown>;

/** The `info` object of the document. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/** The generated document (OpenAPI 3.1, JSON Schema 2020-12 schemas). */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: OpenApiInfo;
  servers: Array<{ url: string; description?: string }>;
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; responses: Record<string, Json>; securitySchemes: Record<string, Json> };
}

/** A header or query parameter a handler reads without a schema in its def (an OpenAPI Parameter Object). */
export interface ExtraParameter {
  name: string;
  in: 'header' | 'query';
  required: boolean;
  description: string;
  schema: Json;
}

/** What the document needs to know about an operation that its def cannot say. */
export interface OperationNotes {
  /**
   * Credentials a handler checks itself (a def without `roles`, e.g. a booking's access token or a
   * staff key): bearer schemes named in `OpenApiOptions.bearerSchemes`, and API-key roles. Any one lets the request in.
   */
  access?: { schemes?: readonly string[]; roles?: readonly Role[] };
  /** Headers and query parameters the handler (or its webhook's `verify`) reads. */
  parameters?: readonly ExtraParameter[];
}

/** How the document is built beyond the defs. */
export interface OpenApiOptions {
  /** Base URL of every path, relative to the document's own address; default `/api` (the route prefix). */
  serverUrl?: string;
  /** Bearer credentials besides API keys (the same `Authorization` header), by scheme name: their descriptions. */
  bearerSchemes?: Record<string, string>;
  /** Notes by def name; a name that is not an HTTP def of the table throws, so a renamed def cannot lose its notes silently. */
  operations?: Record<string, OperationNotes>;
}

/** The scheme of API keys (`Authorization: Bearer <key>`); an operation lists one alternative per role it accepts. */
export const API_KEY_SCHEME = 'apiKey';
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const PROBLEM_CONTENT = { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } };

interface Header {
  description: string;
  schema: Json;
  required?: boolean;
}

/** One way an operation answers with a status; the variants of one status are joined into its Response Object. */
interface Variant {
  description: string;
  content?: Record<string, { schema: Json }>;
  /** `required` here: this variant always sends the header. */
  headers?: Record<string, Header>;
}

const retryAfter = (required: boolean): Header => ({
  description: 'Seconds to wait before retrying.',
  schema: { type: 'integer', format: 'int32', minimum: 1 },
  ...(required ? { required } : {}),
});

const wwwAuthenticate = (required: boolean): Header => ({
  description: '`Bearer`: the credential goes in `Authorization: Bearer <…>`.',
  schema: { type: 'string' },
  ...(required ? { required } : {}),
});

/** Headers every answer of a status may carry, whoever sends it (the pipeline or a handler). */
const STATUS_HEADERS: Record<number, Record<string, Header>> = {
  401: { 'WWW-Authenticate': wwwAuthenticate(false) },
  429: { 'Retry-After': retryAfter(true) },
  503: { 'Retry-After': retryAfter(false) },
};

const problemVariant = (description: string, headers?: Record<string, Header>): Variant => ({ description, content: PROBLEM_CONTENT, headers });

/** The answers of the request pipeline (`pipeline.ts`), in its order; each is derived from what the def declares. */
function pipelineVariants(def: HttpFunctionDef): Array<[number, Variant]> {
  const readsJson = Boolean(def.request?.body) && !def.verify;
  const readsBody = readsJson || Boolean(def.verify);
  const validates = Boolean(def.request?.params || def.request?.query || readsJson);
  const variants: Array<[number, Variant]> = [];
  if (readsBody) variants.push([413, problemVariant(`Request body over ${MAX_BODY_BYTES} bytes`)]);
  if (def.roles) {
    variants.push(
      [401, problemVariant('Missing or unknown API key', { 'WWW-Authenticate': wwwAuthenticate(true) })],
      [403, problemVariant('The API key holds none of the roles this operation accepts')],
      [429, problemVariant('Over the rate limit of this API key')],
    );
  }
  variants.push([
    415,
    problemVariant('Content-Encoding other than identity: bodies are taken uncompressed only', {
      'Accept-Encoding': { description: '`identity`: send the body uncompressed.', schema: { type: 'string', const: 'identity' } },
    }),
  ]);
  if (readsJson) {
    variants.push([415, problemVariant('Content-Type is not application/json (UTF-8)')], [400, problemVariant('Malformed JSON: empty, not UTF-8 or not JSON')]);
  }
  if (validates) variants.push([422, problemVariant('Validation failed: `errors` lists every field at fault')]);
  if (def.idempotent) {
    variants.push(
      [400, problemVariant(`Missing ${IDEMPOTENCY_KEY_HEADER}, or longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`)],
      [
        409,
        problemVariant(`A request with this ${IDEMPOTENCY_KEY_HEADER} is still in progress; retry after Retry-After seconds`, {
          'Retry-After': retryAfter(true),
        }),
      ],
      [422, problemVariant(`This ${IDEMPOTENCY_KEY_HEADER} was already used with another request body`)],
    );
  }
  variants.push([500, problemVariant('Internal server error; `operationId` names the logged cause')]);
  return variants;
}

/**
 * Answers of the host before any operation is chosen (`local/http-host.ts`), for every path: they
 * belong to no operation, so they are reusable responses that `info.description` points to.
 */
const HOST_RESPONSES: Record<string, Json> = {
  NotFound: { description: 'No route of this API at this path (404).', content: PROBLEM_CONTENT },
  MethodNotAllowed: {
    description: 'The path exists but not with this method (405); `Allow` lists the methods it takes.',
    headers: { Allow: { description: 'The methods this path accepts, e.g. `GET, POST`.', required: true, schema: { type: 'string' } } },
    content: PROBLEM_CONTENT,
  },
  BadRequest: { description: 'Not valid HTTP/1.1, no Host header, or a path that is not valid percent-encoding (400).', content: PROBLEM_CONTENT },
  PayloadTooLarge: { description: `Request body over ${MAX_BODY_BYTES} bytes, on any path (413).`, content: PROBLEM_CONTENT },
  RequestTimeout: { description: 'The request did not arrive in time (408).', content: PROBLEM_CONTENT },
  ExpectationFailed: { description: 'An `Expect` other than `100-continue` (417).', content: PROBLEM_CONTENT },
  HeaderFieldsTooLarge: { description: 'The request headers are too large (431).', content: PROBLEM_CONTENT },
};

const IDEMPOTENCY_KEY_PARAMETER: Json = {
  name: IDEMPOTENCY_KEY_HEADER,
  in: 'header',
  required: true,
  description:
    'A unique key per intended operation (e.g. a UUID). Repeating the request with the same key and body answers the first response again, with `Idempotent-Replayed: true`; keys are kept for at least 24 hours.',
  schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH },
};

const IDEMPOTENT_REPLAYED: Header = {
  description: 'Present (`true`) when this response is the replay of the first response to this Idempotency-Key.',
  schema: { type: 'string', enum: ['true'] },
};

const DESCRIPTION = [
  'Every error is RFC 9457 `application/problem+json` (`#/components/schemas/Problem`); a 422 lists the fields at fault in `errors`.',
  'Besides the answers listed per operation, the host answers any path with `#/components/responses/NotFound` (no such route),',
  '`MethodNotAllowed` (the path exists, not with this method; `Allow` lists the methods), `BadRequest`, `PayloadTooLarge`,',
  '`RequestTimeout`, `ExpectationFailed` and `HeaderFieldsTooLarge` before any operation is chosen.',
].join(' ');

/**
 * Generates the OpenAPI 3.1 document from the HTTP defs of the function table: paths, parameters,
 * bodies and responses all come from the defs' zod schemas and from what the pipeline does with
 * each def, so the document cannot drift from the validation and the answers that actually run.
 */
export function buildOpenApi(defs: readonly FunctionDef[], info: OpenApiInfo, options: OpenApiOptions = {}): OpenApiDocument {
  const http = defs.filter((def): def is HttpFunctionDef => def.kind === 'http');
  const notes = options.operations ?? {};
  const unknown = Object.keys(notes).filter((name) => !http.some((def) => def.name === name));
  if (unknown.length > 0) throw new Error(`OpenAPI notes for functions that are not HTTP defs of the table: ${unknown.join(', ')}`);
  const bearerSchemes = options.bearerSchemes ?? {};

  const schemas: Record<string, Json> = {};
  schemas.Problem = toSchema(problemSchema, 'output', 'Problem', schemas);
  const paths: OpenApiDocument['paths'] = {};
  for (const def of http) {
    const note = notes[def.name] ?? {};
    for (const scheme of note.access?.schemes ?? []) {
      if (!Object.hasOwn(bearerSchemes, scheme)) throw new Error(`${def.name}: security scheme ${scheme} is not one of OpenApiOptions.bearerSchemes`);
    }
    if (def.roles && note.access) throw new Error(`${def.name}: a def with roles is authorised by the pipeline; its handler checks no other credential`);
    const item = (paths[`/${def.route.replace(/^\/+/, '')}`] ??= {});
    for (const method of def.methods) {
      const name = camelCase(def.name);
      const operationId = def.methods.length > 1 ? `${name}${capitalise(method)}` : name;
      item[method.toLowerCase()] = operation(def, method, note, operationId, schemas);
    }
  }
  const roles = [
    ...new Set(http.flatMap((def) => def.methods.flatMap((method) => acceptedRoles(def.roles ?? notes[def.name]?.access?.roles ?? [], method)))),
  ].sort();
  const securitySchemes: Record<string, Json> = {
    [API_KEY_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      description: `API key: \`Authorization: Bearer <key>\`. A key holds roles (${roles.map((role) => `\`${role}\``).join(', ')}); an operation lists one security alternative per role it accepts, and any one suffices. Missing or unknown key: 401; none of the roles: 403.`,
    },
  };
  for (const [scheme, description] of Object.entries(bearerSchemes)) securitySchemes[scheme] = { type: 'http', scheme: 'bearer', description };
  return {
    openapi: '3.1.0',
    info: { ...info, description: info.description ? `${info.description}\n\n${DESCRIPTION}` : DESCRIPTION },
    servers: [{ url: options.serverUrl ?? '/api', description: 'Relative to this document: the host that serves it, under its route prefix' }],
    paths,
    components: { schemas, responses: HOST_RESPONSES, securitySchemes },
  };
}

function operation(def: HttpFunctionDef, method: string, note: OperationNotes, operationId: string, schemas: Record<string, Json>): Json {
  const op: Json = { operationId, summary: def.summary };
  if (def.tags?.length) op.tags = def.tags;
  const security = securityOf(def, method, note);
  if (security) {
    op.security = security.requirements;
    op.description = security.description;
  }
  const parameters = [
    ...pathParameters(def, operationId, schemas),
    ...queryParameters(def, operationId, schemas),
    ...(note.parameters ?? []),
    ...(def.idempotent ? [IDEMPOTENCY_KEY_PARAMETER] : []),
  ];
  if (parameters.length > 0) op.parameters = parameters;
  const body = def.request?.body;
  if (def.verify) {
    // A signed webhook reads its own body: the signature covers the raw bytes, so they are the contract.
    op.requestBody = {
      required: true,
      description: 'The event exactly as its sender signed it (the signature covers the raw bytes).',
      content: { 'application/json': { schema: {} } },
    };
  } else if (body) {
    // Any method: the pipeline reads a declared body whatever the method (the dead-letter discard is a DELETE with a reason).
    op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(body, 'input', `${operationId}Body`, schemas) } } };
  }
  op.responses = responses(def, operationId, schemas);
  return op;
}

/** Security alternatives: one per role (`roles` of the def, checked by the pipeline), or what the handler checks itself. */
function securityOf(def: HttpFunctionDef, method: string, note: OperationNotes): { requirements: Json[]; description: string } | undefined {
  const roles = acceptedRoles(def.roles ?? note.access?.roles ?? [], method);
  const schemes = note.access?.schemes ?? [];
  if (roles.length === 0 && schemes.length === 0) return undefined;
  const requirements = [...schemes.map((scheme) => ({ [scheme]: [] })), ...roles.map((role) => ({ [API_KEY_SCHEME]: [role] }))];
  const credentials = [
    ...schemes.map((scheme) => `a \`${scheme}\``),
    ...(roles.length > 0 ? [`an API key with one of the roles ${roles.map((role) => `\`${role}\``).join(', ')}`] : []),
  ];
  return { requirements, description: `Requires ${credentials.join(', or ')} (\`Authorization: Bearer <…>\`).` };
}

/** The handler's answers (its `responses`) joined with the pipeline's, one Response Object per status. */
function responses(def: HttpFunctionDef, operationId: string, schemas: Record<string, Json>): Json {
  const byStatus = new Map<number, Variant[]>();
  const add = (status: number, variant: Variant) => byStatus.set(status, [...(byStatus.get(status) ?? []), variant]);
  for (const [key, response] of Object.entries(def.responses)) {
    const status = Number(key);
    const schema = response.schema ? toSchema(response.schema, 'output', `${operationId}Response${status}`, schemas) : undefined;
    // An error answer whose schema extends the Problem (documenting its members) is problem+json too.
    const content: Variant['content'] = response.mediaTypes
      ? Object.fromEntries(response.mediaTypes.map((mediaType) => [mediaType, { schema: { type: 'string' } }]))
      : schema
        ? status >= 400 && isProblem(schema)
          ? { [PROBLEM_CONTENT_TYPE]: { schema: problemExtension(schema) } }
          : { 'application/json': { schema } }
        : status >= 400
          ? PROBLEM_CONTENT
          : undefined;
    // An idempotent operation's own answers below 500 may be replays (a 5xx releases the key; refusals before the handler record nothing).
    const headers = def.idempotent && status < 500 ? { [IDEMPOTENT_REPLAYED_HEADER]: IDEMPOTENT_REPLAYED } : undefined;
    add(status, { description: response.description, content, headers });
  }
  for (const [status, variant] of pipelineVariants(def)) add(status, variant);
  const result: Json = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) result[String(status)] = joinVariants(status, byStatus.get(status) ?? []);
  return result;
}

const PROBLEM_MEMBERS = ['type', 'title', 'status', 'detail', 'errors'];
const isProblem = (schema: Json): boolean =>
  Array.isArray(schema.required) && PROBLEM_MEMBERS.slice(0, 4).every((member) => (schema.required as string[]).includes(member));

/** `problemSchema.extend({ orderId })` as the shared Problem plus its own members, so generators see one Problem type. */
function problemExtension(schema: Json): Json {
  const properties = Object.fromEntries(Object.entries((schema.properties ?? {}) as Json).filter(([name]) => !PROBLEM_MEMBERS.includes(name)));
  const required = (schema.required as string[]).filter((name) => !PROBLEM_MEMBERS.includes(name));
  return { allOf: [PROBLEM_REF, { type: 'object', properties, ...(required.length > 0 ? { required } : {}) }] };
}

/** One Response Object for the variants of a status: descriptions joined, content and headers merged (a header is required when every variant sends it). */
function joinVariants(status: number, variants: readonly Variant[]): Json {
  const response: Json = { description: variants.map((variant) => variant.description).join('; or: ') };
  const content: Record<string, { schema: Json }> = {};
  for (const variant of variants) {
    for (const [mediaType, { schema }] of Object.entries(variant.content ?? {})) {
      const known = content[mediaType];
      if (!known) content[mediaType] = { schema };
      else if (JSON.stringify(known.schema) !== JSON.stringify(schema)) {
        const options = (known.schema.anyOf as Json[] | undefined) ?? [known.schema];
        content[mediaType] = { schema: { anyOf: [...options, schema] } };
      }
    }
  }
  if (Object.keys(content).length > 0) response.content = content;
  const names = new Set([...variants.flatMap((variant) => Object.keys(variant.headers ?? {})), ...Object.keys(STATUS_HEADERS[status] ?? {})]);
  const headers: Record<string, Header> = {};
  for (const name of [...names].sort()) {
    const sent = variants.map((variant) => variant.headers?.[name] ?? STATUS_HEADERS[status]?.[name]);
    const first = sent.find((header) => header !== undefined) as Header;
    const required = sent.every((header) => header?.required === true);
    headers[name] = { description: first.description, schema: first.schema, ...(required ? { required: true } : {}) };
  }
  if (names.size > 0) response.headers = headers;
  return response;
}

/** Every `{name}` of the route, typed from the params schema when it describes that name. */
function pathParameters(def: HttpFunctionDef, operationId: string, schemas: Record<string, Json>): Json[] {
  const names = [...def.route.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] as string);
  const described = objectProperties(def.request?.params, `${operationId}Params`, schemas);
  return names.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: described.properties[name] ?? { type: 'string' },
  }));
}

function queryParameters(def: HttpFunctionDef, operationId: string, schemas: Record<string, Json>): Json[] {
  const described = objectProperties(def.request?.query, `${operationId}Query`, schemas);
  return Object.entries(described.properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: described.required.includes(name),
    schema,
  }));
}

/** The properties of an object schema (the input side: defaults make a field optional). */
function objectProperties(schema: ZodType | undefined, owner: string, schemas: Record<string, Json>) {
  if (!schema) return { properties: {} as Record<string, Json>, required: [] as string[] };
  const json = toSchema(schema, 'input', owner, schemas);
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = Array.isArray(json.required) ? (json.required as string[]) : [];
  return { properties, required };
}

/**
 * zod -> JSON Schema 2020-12 (the dialect of OpenAPI 3.1). `$defs` that zod extracts (schemas with
 * a `.meta({ id })`, or recursive ones) are moved to `components.schemas`, because inside an
 * OpenAPI document `#/$defs/...` would resolve against the document root and point nowhere.
 * Unrepresentable parts (transforms on the output side, dates) become `{}` rather than failing
 * the whole document. Integers and amounts are then made explicit for client generators (`forClients`).
 */
function toSchema(schema: ZodType, io: 'input' | 'output', owner: string, schemas: Record<string, Json>): Json {
  const {
    $schema: _dialect,
    $defs,
    ...json
  } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Json;
  const renamed = new Map<string, string>();
  for (const name of Object.keys(($defs ?? {}) as Json)) {
    // zod names anonymous defs `__schema0`, ...: scope those to the operation to keep them apart.
    renamed.set(name, name.startsWith('__schema') ? `${owner}_${name.replace(/^_+/, '')}` : name);
  }
  // A recursive root refers to itself as `#`; it then needs a component name of its own.
  const rootName = `${owner}_root`;
  let refersToRoot = false;
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (!value || typeof value !== 'object') return value;
    const out: Json = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key !== '$ref' || typeof inner !== 'string') {
        out[key] = rewrite(inner);
      } else if (inner === '#') {
        refersToRoot = true;
        out[key] = `#/components/schemas/${rootName}`;
      } else {
        const target = /^#\/\$defs\/(.+)$/.exec(inner)?.[1];
        out[key] = target ? `#/components/schemas/${renamed.get(target) ?? target}` : inner;
      }
    }
    return forClients(out, io);
  };
  for (const [name, def] of Object.entries(($defs ?? {}) as Json)) {
    schemas[renamed.get(name) ?? name] ??= rewrite(def) as Json;
  }
  const root = rewrite(json) as Json;
  if (!refersToRoot) return root;
  schemas[rootName] = root;
  return { $ref: `#/components/schemas/${rootName}` };
}

const INT32 = 2 ** 31;

/** Property names that carry money: integer minor units (`amount`, `totalAmount`, `priceCents`, …). */
export const MONEY_PROPERTY = /^(?:amount|cents)$|(?:Amount|Cents)$/;

/**
 * Makes a generated schema node say what generators need: zod writes `.int().positive()` as
 * `exclusiveMinimum: 0`, which 3.0-era generators misread, so an integer's exclusive bound becomes
 * the inclusive one; an integer that may leave the 32-bit range gets `format: int64`, or generators
 * pick a 32-bit type (amounts in cents pass 2^31 at 21 million euros). On the output side, money is
 * never negative: an amount property whose schema says only "integer" (zod's `.int()` bounds are
 * ±2^53) gets `minimum: 0`. The request side is left as validated, so it never promises more than the server checks.
 */
function forClients(node: Json, io: 'input' | 'output'): Json {
  if (node.type === 'integer') {
    if (typeof node.exclusiveMinimum === 'number') {
      node.minimum = Math.max(Math.floor(node.exclusiveMinimum) + 1, typeof node.minimum === 'number' ? node.minimum : Number.NEGATIVE_INFINITY);
      delete node.exclusiveMinimum;
    }
    if (typeof node.exclusiveMaximum === 'number') {
      node.maximum = Math.min(Math.ceil(node.exclusiveMaximum) - 1, typeof node.maximum === 'number' ? node.maximum : Number.POSITIVE_INFINITY);
      delete node.exclusiveMaximum;
    }
    const fits32 = typeof node.minimum === 'number' && node.minimum >= -INT32 && typeof node.maximum === 'number' && node.maximum < INT32;
    if (!fits32 && node.format === undefined) node.format = 'int64';
  }
  if (io === 'output' && node.properties && typeof node.properties === 'object') {
    for (const [name, property] of Object.entries(node.properties as Record<string, Json>)) {
      if (MONEY_PROPERTY.test(name)) nonNegative(property);
    }
  }
  return node;
}

function nonNegative(schema: Json): void {
  if (schema.type === 'integer' && !(typeof schema.minimum === 'number' && schema.minimum >= 0)) schema.minimum = 0;
  for (const branch of [...((schema.anyOf as Json[] | undefined) ?? []), ...((schema.oneOf as Json[] | undefined) ?? [])]) nonNegative(branch);
}

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();

/** `bookings-create` → `bookingsCreate`: operation ids generators turn into method names as they are. */
const camelCase = (name: string): string => name.replace(/[-_.\s]+([a-zA-Z0-9])/g, (_, next: string) => next.toUpperCase());
