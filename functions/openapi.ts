import type { FunctionDef, HttpFunctionDef } from '../shared/function-table';
import { defineHttp } from '../shared/function-table';
import { buildOpenApi } from '../shared/http/openapi';

/** `GET /api/v1/openapi.json`: generated from the table's zod schemas on first request, then cached. */
export function openApiFunction(table: () => FunctionDef[]): HttpFunctionDef {
  let document: unknown;
  return defineHttp({
    kind: 'http',
    name: 'openapi',
    route: 'v1/openapi.json',
    methods: ['GET'],
    summary: 'This API as an OpenAPI 3.1 document',
    tags: ['ops'],
    responses: { 200: { description: 'OpenAPI 3.1 document' } },
    handler: async () => {
      document ??= buildOpenApi(table(), { title: 'Order Hub', version: '0.1.0' });
      return { status: 200, body: document };
    },
  });
}
