import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { FunctionDef, HttpFunctionDef } from '../../shared/function-table';
import { buildOpenApi, MONEY_PROPERTY, type OpenApiDocument } from '../../shared/http/openapi';
import { problemSchema } from '../../shared/http/problem';
import { documentSchemas, pointer, servedOpenApiDocument } from '../support/openapi-contract';

const addressSchema = z.object({ street: z.string(), zip: z.string(), city: z.string() }).meta({ id: 'Address' });

const bookingBodySchema = z.object({
  customer: z.object({ name: z.string(), email: z.email(), language: z.string().default('de') }),
  pickup: z.object({ address: addressSchema }),
  delivery: z.object({ address: addressSchema }).optional(),
  notes: z.string().max(500).optional(),
});

interface TreeNode {
  name: string;
  children: TreeNode[];
}
const treeSchema: z.ZodType<TreeNode> = z.object({
  name: z.string(),
  get children() {
    return z.array(treeSchema);
  },
});

const defs: FunctionDef[] = [
  {
    kind: 'http',
    name: 'createBooking',
    route: 'v1/bookings',
    methods: ['POST'],
    summary: 'Create a booking',
    tags: ['bookings'],
    request: { body: bookingBodySchema },
    responses: { 201: { description: 'created', schema: z.object({ id: z.string(), status: z.literal('PENDING_PAYMENT') }) } },
    handler: async () => ({ status: 201 }),
  },
  {
    kind: 'http',
    name: 'getFinding',
    route: 'v1/bookings/{id}/findings/{findingId}',
    methods: ['GET'],
    summary: 'A finding',
    request: {
      params: z.object({ id: z.string().uuid(), findingId: z.string() }),
      query: z.object({ expand: z.string().optional(), page: z.coerce.number() }),
    },
    responses: { 200: { description: 'the finding' }, 404: { description: 'no such finding' } },
    handler: async () => ({ status: 200 }),
  },
  {
    kind: 'http',
    name: 'replayDeadLetters',
    route: 'v1/admin/dead-letters/{queue}/replay',
    methods: ['POST', 'DELETE'],
    roles: ['admin'],
    summary: 'Replay',
    request: { body: z.object({ tree: treeSchema, root: treeSchema }) },
    responses: { 202: { description: 'accepted' } },
    handler: async () => ({ status: 202 }),
  },
  { kind: 'timer', name: 'relay', schedule: '0 * * * * *', handler: async () => {} },
];

const doc = buildOpenApi(defs, { title: 'Order Hub', version: '1.2.3' });

/** Resolves a local `$ref` against the document, as a client would. */
function deref(schema: unknown): Record<string, any> {
  const ref = (schema as { $ref?: string }).$ref;
  if (!ref) return schema as Record<string, any>;
  return ref
    .slice(2)
    .split('/')
    .reduce<any>((node, part) => node[part], doc);
}

describe('buildOpenApi', () => {
  it('is an OpenAPI 3.1 document with the given info', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'Order Hub', version: '1.2.3' });
    // The host's own answers (no route, wrong method) belong to no operation: the description points to them.
    expect(doc.info.description).toContain('#/components/responses/NotFound');
    expect(doc.components.responses.MethodNotAllowed).toMatchObject({ headers: { Allow: { required: true } } });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc); // plain JSON, servable as is
  });

  it('has one path per HTTP route, with OpenAPI path templates, under the relative server /api', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/api' })]);
    expect(Object.keys(doc.paths).sort()).toEqual(['/v1/admin/dead-letters/{queue}/replay', '/v1/bookings', '/v1/bookings/{id}/findings/{findingId}']);
    expect(Object.keys(doc.paths['/v1/admin/dead-letters/{queue}/replay']!).sort()).toEqual(['delete', 'post']);
    expect(buildOpenApi(defs, { title: 't', version: '1' }, { serverUrl: '/base' }).servers[0]?.url).toBe('/base');
  });

  it('generates the request body schema with the zod schema’s required fields', () => {
    const op = doc.paths['/v1/bookings']!.post!;
    expect(op).toMatchObject({ operationId: 'createBooking', summary: 'Create a booking', tags: ['bookings'] });
    const schema = (op.requestBody as any).content['application/json'].schema;
    expect(schema.type).toBe('object');
    expect(schema.required.sort()).toEqual(['customer', 'pickup']);
    // Input side: a field with a default is optional for the client.
    expect(schema.properties.customer.required.sort()).toEqual(['email', 'name']);
    expect(schema.properties.customer.properties.email.format).toBe('email');
    expect(schema).not.toHaveProperty('$schema');
    expect((op.responses as any)['201'].content['application/json'].schema.properties.status).toEqual({ type: 'string', const: 'PENDING_PAYMENT' });
  });

  it('describes path and query parameters from the schemas', () => {
    const op = doc.paths['/v1/bookings/{id}/findings/{findingId}']!.get!;
    expect(op.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: expect.objectContaining({ type: 'string', format: 'uuid' }) },
      { name: 'findingId', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'expand', in: 'query', required: false, schema: { type: 'string' } },
      { name: 'page', in: 'query', required: true, schema: expect.objectContaining({ type: 'number' }) },
    ]);
    expect(op).not.toHaveProperty('requestBody');
    expect(op).not.toHaveProperty('security');
  });

  it('documents errors with the shared Problem schema', () => {
    const problem = doc.components.schemas.Problem as any;
    expect(problem.required.sort()).toEqual(['detail', 'status', 'title', 'type']);
    const responses = doc.paths['/v1/bookings']!.post!.responses as any;
    for (const status of ['400', '413', '415', '422', '500']) {
      expect(responses[status].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    }
    expect(responses).not.toHaveProperty('401');
    const get = doc.paths['/v1/bookings/{id}/findings/{findingId}']!.get!.responses as any;
    expect(get['404']).toMatchObject({ description: 'no such finding', content: { 'application/problem+json': {} } });
    // Only a body can be too large, malformed or of the wrong type; a content-coded body is refused on every operation.
    expect(get).not.toHaveProperty('413');
    expect(get['415'].description).toMatch(/^Content-Encoding/);
    expect(get['415'].headers['Accept-Encoding']).toBeDefined();
  });

  it('marks API-key operations with the bearer scheme and their extra problems', () => {
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const op = doc.paths['/v1/admin/dead-letters/{queue}/replay']!.post!;
    expect(op.security).toEqual([{ apiKey: ['admin'] }]);
    expect(op.description).toContain('`admin`');
    expect(op.operationId).toBe('replayDeadLettersPost');
    expect(Object.keys(op.responses as object)).toEqual(expect.arrayContaining(['401', '403', '429']));
  });

  it('moves extracted $defs into components so every $ref resolves', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1] as string);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(deref({ $ref: ref }), ref).toBeTypeOf('object');
    }
    // A schema with a meta id keeps its name; both addresses share it.
    const booking = (doc.paths['/v1/bookings']!.post!.requestBody as any).content['application/json'].schema;
    expect(booking.properties.pickup.properties.address).toEqual({ $ref: '#/components/schemas/Address' });
    expect(doc.components.schemas.Address).toMatchObject({ required: ['street', 'zip', 'city'] });
    // A recursive schema is extracted once and refers to itself.
    const replay = (doc.paths['/v1/admin/dead-letters/{queue}/replay']!.post!.requestBody as any).content['application/json'].schema;
    const tree = deref(replay.properties.tree);
    expect(tree.required).toEqual(['name', 'children']);
    expect(deref(tree.properties.children.items)).toBe(tree);
  });

  it('keeps anonymous $defs of different operations apart', () => {
    interface Link {
      value: number;
      next?: Link;
    }
    const linkSchema: z.ZodType<Link> = z.object({
      value: z.number(),
      get next() {
        return linkSchema.optional();
      },
    });
    const base = defs[2] as any;
    const twoDoc = buildOpenApi(
      [
        { ...base, name: 'trees', route: 'v1/trees', methods: ['POST'], request: { body: z.object({ a: treeSchema, b: treeSchema }) } },
        { ...base, name: 'links', route: 'v1/links', methods: ['POST'], request: { body: z.object({ a: linkSchema, b: linkSchema }) } },
      ],
      { title: 't', version: '1' },
    );
    const bodyOf = (path: string) => (twoDoc.paths[path]!.post!.requestBody as any).content['application/json'].schema;
    const resolve = (ref: string) => twoDoc.components.schemas[ref.replace('#/components/schemas/', '')] as any;
    expect(resolve(bodyOf('/v1/trees').properties.a.$ref).required).toEqual(['name', 'children']);
    expect(resolve(bodyOf('/v1/links').properties.a.$ref).required).toEqual(['value']);
  });

  it('gives a recursive root schema a component of its own', () => {
    const rootDoc = buildOpenApi([{ ...(defs[2] as any), name: 'tree', route: 'v1/tree', methods: ['POST'], request: { body: treeSchema } }], {
      title: 't',
      version: '1',
    });
    const schema = (rootDoc.paths['/v1/tree']!.post!.requestBody as any).content['application/json'].schema;
    expect(schema).toEqual({ $ref: '#/components/schemas/treeBody_root' });
    const root = rootDoc.components.schemas.treeBody_root as any;
    expect(root.properties.children.items).toEqual({ $ref: '#/components/schemas/treeBody_root' });
  });
});

describe('buildOpenApi for idempotent operations', () => {
  const idempotentDoc = buildOpenApi(
    [
      {
        kind: 'http',
        name: 'createOrder',
        route: 'v1/orders',
        methods: ['POST'],
        roles: ['orders'],
        summary: 'Create an order',
        idempotent: true,
        request: { body: z.object({ sku: z.string() }) },
        responses: {
          201: { description: 'created', schema: z.object({ id: z.string() }) },
          409: { description: 'sold out' },
          502: { description: 'payment provider failed' },
        },
        handler: async () => ({ status: 201 }),
      },
      defs[0] as FunctionDef,
    ],
    { title: 't', version: '1' },
  );
  const op = idempotentDoc.paths['/v1/orders']!.post! as any;

  it('documents the required Idempotency-Key header (at most 255 characters)', () => {
    expect(op.parameters).toEqual([
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true, schema: expect.objectContaining({ maxLength: 255 }) }),
    ]);
    const plain = idempotentDoc.paths['/v1/bookings']!.post! as any;
    expect(plain).not.toHaveProperty('parameters');
  });

  it('documents the 400, 409 (with Retry-After) and 422 answers as problems, joined to those of the same status', () => {
    for (const status of ['400', '409', '422']) {
      expect(op.responses[status].content['application/problem+json'].schema, status).toEqual({ $ref: '#/components/schemas/Problem' });
    }
    expect(op.responses['400'].description).toMatch(/Malformed JSON.*Idempotency-Key/);
    expect(op.responses['409'].description).toMatch(/^sold out; or: .*still in progress/);
    expect(op.responses['409'].headers['Retry-After']).toBeDefined();
    expect(op.responses['422'].description).toMatch(/Validation failed.*another request body/);
  });

  it('marks the handler’s answers below 500 with the Idempotent-Replayed header, and leaves other operations alone', () => {
    expect(op.responses['201'].headers['Idempotent-Replayed'].schema).toEqual({ type: 'string', enum: ['true'] });
    expect(op.responses['409'].headers).toHaveProperty('Idempotent-Replayed');
    // Refused before the handler, or released: never a replay.
    expect(op.responses['401'].headers).not.toHaveProperty('Idempotent-Replayed');
    expect(op.responses['502']).not.toHaveProperty('headers');
    expect(op.responses['500']).not.toHaveProperty('headers');
    expect(JSON.stringify(idempotentDoc.paths['/v1/bookings'])).not.toContain('Idempotent');
    expect(JSON.stringify(doc)).not.toContain('Idempotency-Key');
  });
});

/** A def with the given parts; the handler is never called. */
const http = (def: Partial<HttpFunctionDef> & Pick<HttpFunctionDef, 'name' | 'route'>): HttpFunctionDef => ({
  kind: 'http',
  methods: ['POST'],
  summary: def.name,
  responses: { 200: { description: 'ok' } },
  handler: async () => ({ status: 200 }),
  ...def,
});

describe('buildOpenApi: what the pipeline answers, derived from the def', () => {
  const built = buildOpenApi(
    [
      http({ name: 'discard', route: 'v1/things/{id}', methods: ['DELETE'], roles: ['admin', 'orders'], request: { body: z.object({ reason: z.string() }) } }),
      http({
        name: 'read-thing',
        route: 'v1/things/{id}',
        methods: ['GET'],
        responses: { 200: { description: 'the thing' }, 401: { description: 'no token' } },
      }),
      http({
        name: 'hook',
        route: 'v1/webhooks/thing',
        verify: () => ({ ok: true, event: undefined }),
        responses: { 200: { description: 'ok' }, 401: { description: 'bad signature' } },
      }),
    ],
    { title: 't', version: '1' },
    {
      bearerSchemes: { thingToken: 'The token of a thing.' },
      operations: {
        'read-thing': { access: { schemes: ['thingToken'], roles: ['admin'] } },
        hook: { parameters: [{ name: 'Thing-Signature', in: 'header', required: true, description: 'HMAC', schema: { type: 'string' } }] },
      },
    },
  );
  const discard = built.paths['/v1/things/{id}']!.delete as any;
  const read = built.paths['/v1/things/{id}']!.get as any;
  const hook = built.paths['/v1/webhooks/thing']!.post as any;

  it('documents a DELETE that reads a body with its request body and the body problems', () => {
    expect(discard.requestBody.content['application/json'].schema.required).toEqual(['reason']);
    expect(Object.keys(discard.responses)).toEqual(['200', '400', '401', '403', '413', '415', '422', '429', '500']);
    expect(discard.responses['415'].description).toMatch(/Content-Encoding.*; or: Content-Type/);
  });

  it('gives API-key operations one security alternative per role, 401 with WWW-Authenticate and 429 with Retry-After', () => {
    expect(discard.security).toEqual([{ apiKey: ['admin'] }, { apiKey: ['orders'] }]);
    expect(discard.responses['401'].headers['WWW-Authenticate'].required).toBe(true);
    expect(discard.responses['429'].headers['Retry-After']).toMatchObject({ required: true, schema: { type: 'integer', format: 'int32', minimum: 1 } });
    expect(built.components.securitySchemes.apiKey!.description).toContain('`admin`, `orders`');
  });

  it('gives an operation whose handler checks its caller the schemes of its notes, and no pipeline 403 or 429', () => {
    // A read an admin may make, support may make too.
    expect(read.security).toEqual([{ thingToken: [] }, { apiKey: ['admin'] }, { apiKey: ['support'] }]);
    expect(built.components.securitySchemes.thingToken).toEqual({ type: 'http', scheme: 'bearer', description: 'The token of a thing.' });
    expect(Object.keys(read.responses)).toEqual(['200', '401', '415', '500']);
    // The handler's 401 may come without WWW-Authenticate: documented, not promised.
    expect(read.responses['401'].headers['WWW-Authenticate']).not.toHaveProperty('required');
  });

  it('documents a signed webhook: its signature header, the raw body, and only the problems before verify', () => {
    expect(hook.parameters).toEqual([expect.objectContaining({ name: 'Thing-Signature', in: 'header', required: true })]);
    expect(hook.requestBody).toMatchObject({ required: true, content: { 'application/json': { schema: {} } } });
    expect(Object.keys(hook.responses)).toEqual(['200', '401', '413', '415', '500']);
    expect(hook).not.toHaveProperty('security');
  });

  it('refuses notes for a def that is not in the table, an unknown scheme, or a def that has roles', () => {
    const base = [http({ name: 'a', route: 'v1/a', roles: ['admin'] }), http({ name: 'b', route: 'v1/b' })];
    const info = { title: 't', version: '1' };
    expect(() => buildOpenApi(base, info, { operations: { gone: {} } })).toThrow(/gone/);
    expect(() => buildOpenApi(base, info, { operations: { b: { access: { schemes: ['nope'] } } } })).toThrow(/nope/);
    expect(() => buildOpenApi(base, info, { operations: { a: { access: { roles: ['orders'] } } } })).toThrow(/roles/);
  });
});

describe('buildOpenApi: schemas a client generator can trust', () => {
  const amount = z.number().int();
  const built = buildOpenApi(
    [
      http({
        name: 'pay',
        route: 'v1/pay',
        request: { body: z.object({ amount: amount.positive(), delta: amount, count: z.number().int().min(0).max(10) }) },
        responses: {
          200: {
            description: 'ok',
            schema: z.object({ amount, priceCents: amount, balance: amount, lines: z.array(z.object({ lineAmount: amount.nullable() })) }),
          },
          409: { description: 'conflict', schema: problemSchema.extend({ orderId: z.string(), allowed: z.array(z.string()).optional() }) },
          503: { description: 'down', schema: z.object({ status: z.literal('degraded') }) },
        },
      }),
    ],
    { title: 't', version: '1' },
  );
  const op = built.paths['/v1/pay']!.post as any;
  const body = op.requestBody.content['application/json'].schema;
  const answer = op.responses['200'].content['application/json'].schema;

  it('writes an integer bound as the inclusive one, and int64 for integers beyond 32 bits', () => {
    expect(body.properties.amount).toMatchObject({ type: 'integer', minimum: 1, format: 'int64' });
    expect(body.properties.amount).not.toHaveProperty('exclusiveMinimum');
    expect(body.properties.count).toEqual({ type: 'integer', minimum: 0, maximum: 10 });
  });

  it('makes money in answers non-negative, and leaves requests as the server validates them', () => {
    expect(answer.properties.amount.minimum).toBe(0);
    expect(answer.properties.priceCents.minimum).toBe(0);
    expect(answer.properties.lines.items.properties.lineAmount.anyOf[0].minimum).toBe(0);
    expect(answer.properties.balance.minimum).toBeLessThan(0);
    expect(body.properties.delta.minimum).toBeLessThan(0);
  });

  it('serves a Problem with members as problem+json extending the shared Problem; other error bodies stay JSON', () => {
    expect(op.responses['409'].content['application/problem+json'].schema).toEqual({
      allOf: [
        { $ref: '#/components/schemas/Problem' },
        { type: 'object', properties: { orderId: { type: 'string' }, allowed: expect.any(Object) }, required: ['orderId'] },
      ],
    });
    expect(Object.keys(op.responses['503'].content)).toEqual(['application/json']);
    expect(op.responses['503'].headers['Retry-After']).not.toHaveProperty('required');
  });

  it('gives operations ids a generator turns into method names as they are', () => {
    expect(op.operationId).toBe('pay');
    expect(
      (buildOpenApi([http({ name: 'admin-dead-letters-list', route: 'v1/x' })], { title: 't', version: '1' }).paths['/v1/x']!.post as any).operationId,
    ).toBe('adminDeadLettersList');
  });
});

describe('the served document (GET /api/v1/openapi.json)', () => {
  let served: OpenApiDocument;
  const operations = () =>
    Object.entries(served.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op: op as Record<string, any> })));

  beforeAll(async () => {
    served = await servedOpenApiDocument();
  });

  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(served as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has only schemas that compile as strict JSON Schema 2020-12, every $ref resolving', () => {
    const compile = documentSchemas(served);
    const at: string[] = Object.keys(served.components.schemas).map((name) => pointer('components', 'schemas', name));
    for (const { path, method, op } of operations()) {
      for (const index of (op.parameters ?? []).keys()) at.push(pointer('paths', path, method, 'parameters', String(index), 'schema'));
      for (const mediaType of Object.keys(op.requestBody?.content ?? {}))
        at.push(pointer('paths', path, method, 'requestBody', 'content', mediaType, 'schema'));
      for (const [status, response] of Object.entries<any>(op.responses)) {
        for (const mediaType of Object.keys(response.content ?? {}))
          at.push(pointer('paths', path, method, 'responses', status, 'content', mediaType, 'schema'));
      }
    }
    expect(at.length).toBeGreaterThan(300);
    for (const schema of at) expect(() => compile(schema), schema).not.toThrow();
  });

  it('names only defined security schemes, each of them used, with operation ids unique', () => {
    const used = new Set(operations().flatMap(({ op }) => (op.security ?? []).flatMap((requirement: object) => Object.keys(requirement))));
    expect([...used].sort()).toEqual(Object.keys(served.components.securitySchemes).sort());
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents a credential for every operation that answers 401: a security scheme, or a signed webhook’s header', () => {
    for (const { path, method, op } of operations()) {
      if (!op.responses['401']) continue;
      const signed = (op.parameters ?? []).some((parameter: any) => parameter.in === 'header' && parameter.required && /sig/i.test(parameter.name));
      expect(Boolean(op.security) || signed, `${method} ${path}`).toBe(true);
    }
    expect(served.paths['/v1/bookings/{id}']!.get!.security).toEqual([
      { bookingToken: [] },
      { apiKey: ['workshop'] },
      { apiKey: ['admin'] },
      { apiKey: ['support'] },
    ]);
    // Support reads what an admin reads and changes nothing.
    expect(served.paths['/v1/admin/dead-letters/{queue}']!.get!.security).toEqual([{ apiKey: ['admin'] }, { apiKey: ['support'] }]);
    expect(served.paths['/v1/admin/dead-letters/{queue}/replay']!.post!.security).toEqual([{ apiKey: ['admin'] }]);
  });

  it('documents 415 and 500 on every operation, and every error as problem+json (health’s 503 is its report)', () => {
    for (const { path, method, op } of operations()) {
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['415', '500']));
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (Number(status) < 400) continue;
        const types = Object.keys(response.content ?? {});
        const report = path.endsWith('/health') && status === '503';
        expect(types, `${method} ${path} ${status}`).toEqual(report ? ['application/json'] : ['application/problem+json']);
      }
    }
  });

  it('documents the request body of the dead-letter discard (a DELETE)', () => {
    const discard = served.paths['/v1/admin/dead-letters/{queue}/{messageId}']!.delete as any;
    expect(discard.requestBody.content['application/json'].schema.required).toEqual(['reason']);
  });

  it('shows money as integer minor units, never negative, in requests and answers alike', () => {
    const found: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) {
        for (const [index, item] of node.entries()) walk(item, `${where}/${index}`);
        return;
      }
      if (!node || typeof node !== 'object') return;
      const schema = node as Record<string, any>;
      for (const [name, property] of Object.entries<any>(schema.properties ?? {})) {
        if (!MONEY_PROPERTY.test(name)) continue;
        for (const branch of property.anyOf ?? [property]) {
          if (branch.type === undefined) continue;
          found.push(`${where}/${name}`);
          expect(branch, `${where}/${name}`).toMatchObject({ type: 'integer', minimum: expect.any(Number) });
          expect(branch.minimum, `${where}/${name}`).toBeGreaterThanOrEqual(0);
        }
      }
      for (const [key, value] of Object.entries(schema)) walk(value, `${where}/${key}`);
    };
    walk(served.paths, '#/paths');
    walk(served.components.schemas, '#/components/schemas');
    expect(found.some((where) => where.includes('requestBody'))).toBe(true);
    expect(found.filter((where) => where.endsWith('/priceCents')).length).toBeGreaterThan(5);
  });

  it('has no exclusive bounds on integers, and int64 on every integer that may leave 32 bits', () => {
    const text = JSON.stringify(served);
    expect(text).not.toMatch(/"exclusiveM(in|ax)imum"/);
    const walk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const schema = node as Record<string, any>;
      if (schema.type === 'integer' && schema.format !== 'int32' && !(schema.minimum >= -(2 ** 31) && schema.maximum < 2 ** 31))
        expect(schema.format).toBe('int64');
      for (const value of Object.values(schema)) walk(value);
    };
    walk(served);
  });
});
