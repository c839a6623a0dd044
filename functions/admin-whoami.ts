import * as z from 'zod';
import { defineHttp, type HttpFunctionDef } from '../shared/function-table';

const whoamiSchema = z.object({ name: z.string(), roles: z.array(z.enum(['admin', 'workshop', 'orders', 'support'])) });

/**
 * `GET /api/v1/admin/whoami`: the name and roles of the presented API key (admin or support), so the
 * operations console shows only what the key may do without probing with a change.
 */
export function whoamiFunction(): HttpFunctionDef {
  return defineHttp({
    kind: 'http',
    name: 'admin-whoami',
    route: 'v1/admin/whoami',
    methods: ['GET'],
    roles: ['admin'],
    summary: 'The name and roles of the API key that calls (admin or support)',
    tags: ['admin'],
    responses: { 200: { description: 'The key', schema: whoamiSchema } },
    handler: async ({ caller }) => ({
      status: 200,
      body: caller.kind === 'apiKey' ? { name: caller.name, roles: caller.roles } : { name: '', roles: [] },
    }),
  });
}
