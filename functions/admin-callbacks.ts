import * as z from 'zod';
import { defineHttp, type HttpFunctionDef } from '../shared/function-table';
import { notFound } from '../shared/http/problem';
import type { CallbackAdmin } from '../shared/platform/callbacks';

const channel = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'Expected a channel name');
const status = z.enum(['pending', 'delivered', 'retrying', 'failed']);
const listQuery = z.object({
  source: channel.optional(),
  status: status.optional(),
  /** The order (or other subject) the callbacks are about. */
  subject: z.string().min(1).max(200).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
const attemptView = z.object({
  at: z.string(),
  statusCode: z.number().int().optional(),
  durationMs: z.number(),
  response: z.string().optional(),
  error: z.string().optional(),
  retryAfterMs: z.number().optional(),
});
const deliveryView = z.object({
  id: z.string(),
  channel: z.string(),
  subject: z.string(),
  type: z.string(),
  status,
  attempts: z.array(attemptView),
  attemptCount: z.number().int(),
  event: z.object({ id: z.string(), type: z.string(), createdAt: z.string(), data: z.unknown() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const tags = ['admin'];

/** The admin's view of channel callbacks: the delivery log, resending one, replaying what failed. */
export function callbackAdminFunctions(admin: CallbackAdmin): HttpFunctionDef[] {
  return [
    defineHttp({
      kind: 'http',
      name: 'admin-callbacks-list',
      route: 'v1/admin/callbacks',
      methods: ['GET'],
      roles: ['admin'],
      summary: 'Channel callback deliveries with their attempts, newest first (by channel, status, order, time)',
      tags,
      request: { query: listQuery },
      responses: { 200: { description: 'Deliveries', schema: z.object({ items: z.array(deliveryView) }) } },
      handler: async ({ query }) => ({
        status: 200,
        body: {
          items: await admin.list({
            channel: query.source,
            status: query.status,
            subject: query.subject,
            since: query.since ? new Date(query.since) : undefined,
            limit: query.limit,
          }),
        },
      }),
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-callbacks-resend',
      route: 'v1/admin/callbacks/{deliveryId}/resend',
      methods: ['POST'],
      roles: ['admin'],
      summary: 'Send one delivery again (the same event and webhook-id)',
      tags,
      request: { params: z.object({ deliveryId: z.string().min(1).max(200) }) },
      responses: { 202: { description: 'Queued', schema: z.object({ queued: z.literal(1) }) }, 404: { description: 'No such delivery' } },
      handler: async ({ params }) => ((await admin.resend(params.deliveryId)) ? { status: 202, body: { queued: 1 } } : notFound('No delivery with this id.')),
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-callbacks-replay',
      route: 'v1/admin/callbacks/replay',
      methods: ['POST'],
      roles: ['admin'],
      summary: 'Send every failed delivery of a channel since a time again',
      tags,
      request: { body: z.strictObject({ source: channel, since: z.iso.datetime({ offset: true }) }) },
      responses: { 202: { description: 'How many were queued', schema: z.object({ queued: z.number().int() }) } },
      handler: async ({ body }) => ({ status: 202, body: { queued: await admin.replayFailed(body.source, new Date(body.since)) } }),
    }),
  ];
}
