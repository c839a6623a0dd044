import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FunctionDef } from '../../shared/function-table';
import { buildOpenApi } from '../../shared/http/openapi';

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
    expect(doc.info).toEqual({ title: 'Order Hub', version: '1.2.3' });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc); // plain JSON, servable as is
  });

  it('has one path per HTTP route under /api, with OpenAPI path templates', () => {
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/v1/admin/dead-letters/{queue}/replay',
      '/api/v1/bookings',
      '/api/v1/bookings/{id}/findings/{findingId}',
    ]);
    expect(Object.keys(doc.paths['/api/v1/admin/dead-letters/{queue}/replay']!).sort()).toEqual(['delete', 'post']);
  });

  it('generates the request body schema with the zod schema’s required fields', () => {
    const op = doc.paths['/api/v1/bookings']!.post!;
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
    const op = doc.paths['/api/v1/bookings/{id}/findings/{findingId}']!.get!;
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
    const responses = doc.paths['/api/v1/bookings']!.post!.responses as any;
    for (const status of ['400', '413', '415', '422', '500']) {
      expect(responses[status].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    }
    expect(responses).not.toHaveProperty('401');
    const get = doc.paths['/api/v1/bookings/{id}/findings/{findingId}']!.get!.responses as any;
    expect(get['404']).toMatchObject({ description: 'no such finding', content: { 'application/problem+json': {} } });
    expect(get).not.toHaveProperty('415');
  });

  it('marks API-key operations with the bearer scheme and their extra problems', () => {
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const op = doc.paths['/api/v1/admin/dead-letters/{queue}/replay']!.post!;
    expect(op.security).toEqual([{ apiKey: [] }]);
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
    const booking = (doc.paths['/api/v1/bookings']!.post!.requestBody as any).content['application/json'].schema;
    expect(booking.properties.pickup.properties.address).toEqual({ $ref: '#/components/schemas/Address' });
    expect(doc.components.schemas.Address).toMatchObject({ required: ['street', 'zip', 'city'] });
    // A recursive schema is extracted once and refers to itself.
    const replay = (doc.paths['/api/v1/admin/dead-letters/{queue}/replay']!.post!.requestBody as any).content['application/json'].schema;
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
    expect(resolve(bodyOf('/api/v1/trees').properties.a.$ref).required).toEqual(['name', 'children']);
    expect(resolve(bodyOf('/api/v1/links').properties.a.$ref).required).toEqual(['value']);
  });

  it('gives a recursive root schema a component of its own', () => {
    const rootDoc = buildOpenApi([{ ...(defs[2] as any), name: 'tree', route: 'v1/tree', methods: ['POST'], request: { body: treeSchema } }], {
      title: 't',
      version: '1',
    });
    const schema = (rootDoc.paths['/api/v1/tree']!.post!.requestBody as any).content['application/json'].schema;
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
  const op = idempotentDoc.paths['/api/v1/orders']!.post! as any;

  it('documents the required Idempotency-Key header (at most 255 characters)', () => {
    expect(op.parameters).toEqual([
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true, schema: expect.objectContaining({ maxLength: 255 }) }),
    ]);
    const plain = idempotentDoc.paths['/api/v1/bookings']!.post! as any;
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
    expect(op.responses['401']).not.toHaveProperty('headers');
    expect(op.responses['502']).not.toHaveProperty('headers');
    expect(op.responses['500']).not.toHaveProperty('headers');
    expect(JSON.stringify(idempotentDoc.paths['/api/v1/bookings'])).not.toContain('Idempotent');
    expect(JSON.stringify(doc)).not.toContain('Idempotency-Key');
  });
});
