import * as z from 'zod';
import { defineHttp, type HttpFunctionDef } from '../shared/function-table';
import { callerCause } from '../shared/http/auth';
import { problem } from '../shared/http/problem';
import type { AttentionList } from '../shared/platform/attention';

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
const itemParams = z.object({ id: z.string().min(3).max(300) });
const resolveBody = z.object({ note: z.string().trim().min(3).max(1000) }).strict();

const listSchema = z.object({
  items: z.array(z.object({ id: z.string(), kind: z.string(), subject: z.string(), reason: z.string(), since: z.string() })),
});
const resolvedSchema = z.object({ id: z.string(), resolved: z.literal(true) });

const tags = ['admin'];

/** The attention list (role `admin`; `support` reads it): bookings and orders that need a person. */
export function attentionFunctions(attention: AttentionList): HttpFunctionDef[] {
  return [
    defineHttp({
      kind: 'http',
      name: 'admin-attention-list',
      route: 'v1/admin/attention',
      methods: ['GET'],
      roles: ['admin'],
      summary: 'Bookings and orders that need a person, with the reason, the longest waiting first',
      tags,
      request: { query: listQuery },
      responses: { 200: { description: 'Items needing attention', schema: listSchema } },
      handler: async ({ query }) => ({ status: 200, body: { items: await attention.list(query.limit) } }),
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-attention-resolve',
      route: 'v1/admin/attention/{id}/resolve',
      methods: ['POST'],
      roles: ['admin'],
      summary: 'Resolve an item with a note: the flag is cleared and the note kept in the booking’s or order’s history',
      tags,
      request: { params: itemParams, body: resolveBody },
      responses: {
        200: { description: 'Resolved', schema: resolvedSchema },
        404: { description: 'No booking or order needs attention under that id' },
      },
      handler: async ({ params, body, caller }) => {
        const outcome = await attention.resolve(params.id, body.note, callerCause(caller));
        // The answer never repeats the id: the client knows what it asked for.
        if (outcome !== 'resolved')
          return problem(404, 'Not on the attention list', 'No booking or order needs attention under that id (or it was resolved already).');
        return { status: 200, body: { id: params.id, resolved: true as const } };
      },
    }),
  ];
}
