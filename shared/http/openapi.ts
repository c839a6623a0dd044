import { z, type ZodType } from 'zod';
import type { FunctionDef, HttpFunctionDef } from '../function-table';
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
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

const SECURITY_SCHEME = 'apiKey';
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

/** Problems the pipeline itself can answer, so every operation documents them without repeating. */
const PIPELINE_PROBLEMS = {
  body: { 400: 'Malformed JSON', 413: 'Payload too large', 415: 'Unsupported media type' },
  input: { 422: 'Validation failed' },
  roles: { 401: 'Missing or unknown API key', 403: 'API key lacks the required role', 429: 'Rate limit exceeded' },
  always: { 500: 'Internal server error' },
} as const;

/** Answers of the Idempotency-Key step (`idempotent` defs); each joins a problem of the same status. */
const IDEMPOTENCY_PROBLEMS = {
  400: 'Missing Idempotency-Key, or longer than 255 characters',
  409: 'A request with this Idempotency-Key is still in progress; retry after Retry-After seconds',
  422: 'This Idempotency-Key was already used with another request body',
} as const;

const IDEMPOTENCY_KEY_PARAMETER: Json = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description:
    'A unique key per intended operation (e.g. a UUID). Repeating the request with the same key and body answers the first response again, with `Idempotent-Replayed: true`; keys are kept for at least 24 hours.',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};

const IDEMPOTENT_REPLAYED_HEADER: Json = {
  description: 'Present (`true`) when this response is the replay of the first response to this Idempotency-Key.',
  schema: { type: 'string', enum: ['true'] },
};

const RETRY_AFTER_HEADER: Json = { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } };

/**
 * Generates the OpenAPI 3.1 document from the HTTP defs of the function table: paths, parameters,
 * bodies and responses all come from the defs' zod schemas, so the document cannot drift from the
 * validation that actually runs.
 */
export function buildOpenApi(defs: readonly FunctionDef[], info: OpenApiInfo): OpenApiDocument {
  const schemas: Record<string, Json> = {};
  schemas.Problem = toSchema(problemSchema, 'output', 'Problem', schemas);
  const paths: OpenApiDocument['paths'] = {};
  for (const def of defs) {
    if (def.kind !== 'http') continue;
    const path = `/api/${def.route.replace(/^\/+/, '')}`;
    const item = (paths[path] ??= {});
    for (const method of def.methods) {
      const operationId = def.methods.length > 1 ? `${def.name}${capitalise(method)}` : def.name;
      item[method.toLowerCase()] = operation(def, method, operationId, schemas);
    }
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas,
      securitySchemes: {
        [SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'API key: Authorization: Bearer <key>' },
      },
    },
  };
}

function operation(def: HttpFunctionDef, method: string, operationId: string, schemas: Record<string, Json>): Json {
  const op: Json = { operationId, summary: def.summary };
  if (def.tags?.length) op.tags = def.tags;
  if (def.roles) {
    op.security = [{ [SECURITY_SCHEME]: [] }];
    op.description = `Requires an API key with one of the roles: ${def.roles.join(', ')}.`;
  }
  const parameters = [
    ...pathParameters(def, operationId, schemas),
    ...queryParameters(def, operationId, schemas),
    ...(def.idempotent ? [IDEMPOTENCY_KEY_PARAMETER] : []),
  ];
  if (parameters.length > 0) op.parameters = parameters;
  const body = def.request?.body;
  if (body && method !== 'GET' && method !== 'DELETE') {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: toSchema(body, 'input', `${operationId}Body`, schemas) } },
    };
  }
  op.responses = responses(def, operationId, schemas, Boolean(body && !def.verify));
  return op;
}

function responses(def: HttpFunctionDef, operationId: string, schemas: Record<string, Json>, readsJson: boolean): Json {
  const result: Json = {};
  for (const [status, response] of Object.entries(def.responses)) {
    if (response.schema) {
      result[status] = {
        description: response.description,
        content: { 'application/json': { schema: toSchema(response.schema, 'output', `${operationId}Response${status}`, schemas) } },
      };
    } else if (Number(status) >= 400) {
      result[status] = { description: response.description, content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } } };
    } else {
      result[status] = { description: response.description };
    }
  }
  const hasInput = Boolean(def.request?.params || def.request?.query || readsJson);
  const implied = {
    ...(readsJson ? PIPELINE_PROBLEMS.body : {}),
    ...(hasInput ? PIPELINE_PROBLEMS.input : {}),
    ...(def.roles ? PIPELINE_PROBLEMS.roles : {}),
    ...PIPELINE_PROBLEMS.always,
  };
  for (const [status, description] of Object.entries(implied)) {
    result[status] ??= { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } } };
  }
  if (def.idempotent) documentIdempotency(def, result);
  return result;
}

/**
 * An idempotent operation: the handler's own answers below 500 may be replays (a 5xx releases the key,
 * the pipeline's refusals record nothing); the key's problems join those of their status.
 */
function documentIdempotency(def: HttpFunctionDef, result: Json): void {
  for (const status of Object.keys(def.responses)) {
    if (Number(status) >= 500) continue;
    const headers = ((result[status] as Json).headers ??= {}) as Json;
    headers['Idempotent-Replayed'] = IDEMPOTENT_REPLAYED_HEADER;
  }
  for (const [status, description] of Object.entries(IDEMPOTENCY_PROBLEMS)) {
    const existing = result[status] as Json | undefined;
    const response: Json = existing ?? { description };
    if (existing) response.description = `${existing.description}; or: ${description}`;
    const content = (response.content ??= {}) as Json;
    content[PROBLEM_CONTENT_TYPE] ??= { schema: PROBLEM_REF };
    if (status === '409') ((response.headers ??= {}) as Json)['Retry-After'] = RETRY_AFTER_HEADER;
    result[status] = response;
  }
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
 * the whole document.
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
    return out;
  };
  for (const [name, def] of Object.entries(($defs ?? {}) as Json)) {
    schemas[renamed.get(name) ?? name] ??= rewrite(def) as Json;
  }
  const root = rewrite(json) as Json;
  if (!refersToRoot) return root;
  schemas[rootName] = root;
  return { $ref: `#/components/schemas/${rootName}` };
}

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
