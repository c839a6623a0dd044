import * as z from 'zod';
import type { AdminResult, DeadLetterAdmin } from '../shared/platform/dead-letters';
import { defineHttp, type HttpFunctionDef } from '../shared/function-table';
import { callerCause } from '../shared/http/auth';
import { problem } from '../shared/http/problem';

const queueParams = z.object({ queue: z.string().min(1).max(100) });
const messageParams = queueParams.extend({ messageId: z.string().min(1).max(200) });
/** The filters a listing and a bulk replay share: job type, subject, dead-letter reason, text in the errors. */
const filterFields = {
  type: z.string().min(1).max(100).optional(),
  subject: z.string().min(1).max(200).optional(),
  reason: z.string().min(1).max(100).optional(),
  q: z.string().min(1).max(200).optional(),
};
const listQuery = z.object({
  max: z.coerce.number().int().min(1).max(500).optional(),
  /** The `next` of the previous page: the sequence number of the last dead letter it examined. */
  after: z
    .string()
    .regex(/^\d{1,18}$/, 'Expected the `next` cursor of a previous page')
    .optional(),
  ...filterFields,
});
const replayManyBody = z.object(filterFields).strict();
const discardBody = z.object({ reason: z.string().trim().min(3).max(1000) }).strict();

const attemptErrorView = z.object({
  attempt: z.number(),
  at: z.string(),
  kind: z.enum(['transient', 'permanent']),
  code: z.string(),
  message: z.string(),
});
const summarySchema = z.object({
  queues: z.array(z.object({ name: z.string(), count: z.number().int(), oldest: z.string().nullable() })),
});
const listSchema = z.object({
  /** Pass as `after` for the next page; null when the queue's end was reached. */
  next: z.string().nullable(),
  items: z.array(
    z.object({
      id: z.string(),
      type: z.string().nullable(),
      subject: z.string().nullable(),
      jobId: z.string().nullable(),
      reason: z.string().nullable(),
      description: z.string().nullable(),
      errors: z.array(attemptErrorView),
      errorsOmitted: z.number().int().min(0),
      attempts: z.number().int(),
      firstFailedAt: z.string().nullable(),
      lastFailedAt: z.string().nullable(),
      body: z.unknown(),
    }),
  ),
});
const replayedSchema = z.object({ replayed: z.number().int() });
const auditQuery = z.object({ queue: z.string().min(1).max(100).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });
const auditSchema = z.object({
  items: z.array(
    z.object({
      action: z.enum(['discard', 'replay']),
      queue: z.string(),
      messageId: z.string(),
      jobId: z.string().nullable(),
      type: z.string().nullable(),
      subject: z.string().nullable(),
      reason: z.string(),
      actor: z.string(),
      at: z.string(),
      body: z.string(),
    }),
  ),
});

// Problems never quote the queue name or message id: the client knows what it asked for, and an
// answer that repeats input (markup, a script) is one more place for it to be rendered.
const unknownQueue = () => problem(404, 'Unknown queue', 'There is no dead-letter queue by that name; GET /api/v1/admin/dead-letters lists them.');

function resultResponse(result: AdminResult, done: Record<string, unknown>) {
  if (result.ok) return { status: 200, body: done };
  switch (result.problem) {
    case 'unknown-queue':
      return unknownQueue();
    case 'not-found':
      return problem(404, 'Dead letter not found', 'This queue holds no dead letter with that message id.');
    case 'not-a-job':
      return problem(409, 'Not a job', 'the dead letter is not a job envelope; it can only be discarded');
  }
}

const tags = ['admin'];

/** The admin's dead-letter API (role `admin`). */
export function deadLetterFunctions(admin: DeadLetterAdmin): HttpFunctionDef[] {
  return [
    defineHttp({
      kind: 'http',
      name: 'admin-dead-letters-summary',
      route: 'v1/admin/dead-letters',
      methods: ['GET'],
      roles: ['admin'],
      summary: 'Dead-letter queues with their counts and oldest message',
      tags,
      responses: { 200: { description: 'Dead-letter queues', schema: summarySchema } },
      handler: async () => ({ status: 200, body: { queues: await admin.summary() } }),
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-dead-letters-list',
      route: 'v1/admin/dead-letters/{queue}',
      methods: ['GET'],
      roles: ['admin'],
      summary:
        'Messages in one dead-letter queue, oldest first, filtered by job type, subject, reason and text in the errors (`q`) before `max`; page on with `after=<next>`',
      tags,
      request: { params: queueParams, query: listQuery },
      responses: { 200: { description: 'Dead letters', schema: listSchema }, 404: { description: 'No dead-letter queue by that name' } },
      handler: async ({ params, query }) => {
        if (!admin.knows(params.queue)) return unknownQueue();
        const { max, after, ...filter } = query;
        return { status: 200, body: await admin.list(params.queue, { max, after, filter }) };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-dead-letters-replay-one',
      route: 'v1/admin/dead-letters/{queue}/{messageId}/replay',
      methods: ['POST'],
      roles: ['admin'],
      summary: 'Replay one dead letter: a fresh copy goes to the main queue, the dead letter is removed',
      tags,
      request: { params: messageParams },
      responses: {
        200: { description: 'Replayed', schema: replayedSchema },
        404: { description: 'No dead-letter queue by that name, or no dead letter with that message id in it' },
        409: { description: 'The dead letter is not a job envelope; it can only be discarded' },
      },
      handler: async ({ params, caller }) => resultResponse(await admin.replayOne(params.queue, params.messageId, callerCause(caller)), { replayed: 1 }),
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-dead-letters-replay-many',
      route: 'v1/admin/dead-letters/{queue}/replay',
      methods: ['POST'],
      roles: ['admin'],
      summary: 'Replay every dead letter of a queue, or those matching the filter (job type, subject, reason, text in the errors)',
      tags,
      request: { params: queueParams, body: replayManyBody },
      responses: {
        200: { description: 'How many were replayed; `more` when letters may be left (call again)', schema: replayedSchema.extend({ more: z.boolean() }) },
        202: {
          description: 'One batch replayed; the rest goes on in the background (Location: the run, GET /api/v1/admin/replays/{runId})',
          schema: replayedSchema.extend({ more: z.literal(true), runId: z.string() }),
        },
        404: { description: 'No dead-letter queue by that name' },
      },
      handler: async ({ params, body, caller }) => {
        if (!admin.knows(params.queue)) return unknownQueue();
        const { replayed, more, run } = await admin.startReplay(params.queue, body, callerCause(caller));
        if (run) return { status: 202, headers: { Location: `/api/v1/admin/replays/${run.id}` }, body: { replayed, more: true as const, runId: run.id } };
        return { status: 200, body: { replayed, more } };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-replay-run',
      route: 'v1/admin/replays/{runId}',
      methods: ['GET'],
      roles: ['admin'],
      summary: 'How far a bulk replay that went on in the background got',
      tags,
      request: { params: z.object({ runId: z.string().min(1).max(100) }) },
      responses: {
        200: {
          description: 'The run',
          schema: z.object({
            id: z.string(),
            queue: z.string(),
            filter: replayManyBody,
            actor: z.string(),
            replayed: z.number().int(),
            done: z.boolean(),
            startedAt: z.string(),
            updatedAt: z.string(),
          }),
        },
        404: { description: 'No replay run by that id' },
      },
      handler: async ({ params }) => {
        const run = await admin.replayRun(params.runId);
        if (!run) return problem(404, 'Replay run not found', 'There is no bulk replay run by that id.');
        const { ceiling: _, ...view } = run;
        return { status: 200, body: view };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-audit',
      route: 'v1/admin/audit',
      methods: ['GET'],
      roles: ['admin'],
      summary: 'The audit trail of dead-letter replays and discards (who, when, what, why), newest first',
      tags,
      request: { query: auditQuery },
      responses: { 200: { description: 'Audit entries', schema: auditSchema }, 404: { description: 'No dead-letter queue by that name' } },
      handler: async ({ query }) => {
        if (query.queue !== undefined && !admin.knows(query.queue)) return unknownQueue();
        return { status: 200, body: { items: await admin.auditTrail(query.queue, query.limit) } };
      },
    }),
    defineHttp({
      kind: 'http',
      name: 'admin-dead-letters-discard',
      route: 'v1/admin/dead-letters/{queue}/{messageId}',
      methods: ['DELETE'],
      roles: ['admin'],
      summary: 'Discard one dead letter; the reason is kept in the audit table',
      tags,
      request: { params: messageParams, body: discardBody },
      responses: {
        200: { description: 'Discarded', schema: z.object({ discarded: z.number().int() }) },
        404: { description: 'No dead-letter queue by that name, or no dead letter with that message id in it' },
      },
      handler: async ({ params, body, caller }) =>
        resultResponse(await admin.discard(params.queue, params.messageId, body.reason, callerCause(caller)), { discarded: 1 }),
    }),
  ];
}
