import { describe, expect, it } from 'vitest';
import { deadLetterFunctions } from '../../functions/admin-dead-letters';
import type { HttpFunctionDef, HttpRequestData } from '../../shared/function-table';
import { ApiKeyAuthenticator, hashApiKey } from '../../shared/http/auth';
import { createHttpPipeline } from '../../shared/http/pipeline';
import { FixedWindowRateLimiter } from '../../shared/http/rate-limit';
import type { AdminResult, DeadLetterAdmin } from '../../shared/platform/dead-letters';

const MARKUP_QUEUE = '<img src=x onerror=alert(1)>';
const MARKUP_ID = '"><script>alert(2)</script>';

/** An admin that knows one queue and holds no dead letters. */
const admin = {
  knows: (queue: string) => queue === 'odoo-sync',
  summary: async () => [],
  list: async () => [],
  replayMany: async () => 0,
  replayOne: async (queue: string): Promise<AdminResult> => ({ ok: false, problem: queue === 'odoo-sync' ? 'not-found' : 'unknown-queue' }),
  discard: async (queue: string): Promise<AdminResult> => ({ ok: false, problem: queue === 'odoo-sync' ? 'not-found' : 'unknown-queue' }),
} as unknown as DeadLetterAdmin;

const functions = deadLetterFunctions(admin);
const byName = (name: string) => functions.find((def) => def.name === name) as HttpFunctionDef;
const pipeline = createHttpPipeline({
  auth: new ApiKeyAuthenticator([{ name: 'ops', roles: ['admin'], sha256: hashApiKey('ohk_ops') }]),
  rateLimiter: new FixedWindowRateLimiter({ limit: 100, windowMs: 60_000 }),
});

function call(name: string, params: Record<string, string>, body?: unknown) {
  const request: HttpRequestData = {
    method: byName(name).methods[0] as string,
    url: 'v1/admin/dead-letters/x',
    params,
    query: new URLSearchParams(),
    headers: { authorization: 'Bearer ohk_ops', 'content-type': 'application/json' },
    rawBody: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
    clientIp: '127.0.0.1',
  };
  return pipeline.handle(byName(name), request);
}

describe('admin dead-letter problems quote no client input', () => {
  it.each([
    ['admin-dead-letters-list', { queue: MARKUP_QUEUE }, undefined],
    ['admin-dead-letters-replay-many', { queue: MARKUP_QUEUE }, {}],
    ['admin-dead-letters-replay-one', { queue: MARKUP_QUEUE, messageId: MARKUP_ID }, undefined],
    ['admin-dead-letters-discard', { queue: MARKUP_QUEUE, messageId: MARKUP_ID }, { reason: 'cleanup' }],
  ])('%s: an unknown queue is a 404 that does not repeat its name', async (name, params, body) => {
    const response = await call(name, params, body);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ title: 'Unknown queue' });
    const text = JSON.stringify(response.body);
    expect(text).not.toContain('img');
    expect(text).not.toContain('script');
  });

  it.each([
    ['admin-dead-letters-replay-one', undefined],
    ['admin-dead-letters-discard', { reason: 'cleanup' }],
  ])('%s: a missing dead letter is a 404 that does not repeat the message id', async (name, body) => {
    const response = await call(name, { queue: 'odoo-sync', messageId: MARKUP_ID }, body);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ title: 'Dead letter not found' });
    expect(JSON.stringify(response.body)).not.toContain('script');
  });
});

describe('bulk replay answer', () => {
  /** POST …/odoo-sync/replay through the pipeline, with `startReplay` answering `started`. */
  const replayAll = (started: Awaited<ReturnType<DeadLetterAdmin['startReplay']>>) => {
    const of = { ...admin, startReplay: async () => started } as unknown as DeadLetterAdmin;
    const def = deadLetterFunctions(of).find((fn) => fn.name === 'admin-dead-letters-replay-many') as HttpFunctionDef;
    return pipeline.handle(def, {
      method: 'POST',
      url: 'v1/admin/dead-letters/odoo-sync/replay',
      params: { queue: 'odoo-sync' },
      query: new URLSearchParams(),
      headers: { authorization: 'Bearer ohk_ops', 'content-type': 'application/json' },
      rawBody: Buffer.from('{}'),
      clientIp: '127.0.0.1',
    });
  };

  it('answers 200 when one batch held everything, `more` when letters may be left and no run carries them on', async () => {
    expect((await replayAll({ replayed: 1, more: false })).body).toEqual({ replayed: 1, more: false });
    expect((await replayAll({ replayed: 2, more: true })).body).toEqual({ replayed: 2, more: true });
  });

  it('answers 202 with the run and where to follow it when the rest goes on in the background', async () => {
    const run = { id: 'run-7' } as NonNullable<Awaited<ReturnType<DeadLetterAdmin['startReplay']>>['run']>;
    const response = await replayAll({ replayed: 500, more: true, run });
    expect(response).toMatchObject({ status: 202, body: { replayed: 500, more: true, runId: 'run-7' } });
    expect(response.headers?.Location).toBe('/api/v1/admin/replays/run-7');
  });
});
