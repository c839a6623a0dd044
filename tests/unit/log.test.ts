import { RestError } from '@azure/data-tables';
import Stripe from 'stripe';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OdooError } from '../../shared/adapters/odoo/odoo-client';
import { TableStoreError } from '../../shared/adapters/table-storage/tables';
import { consoleLogger, formatLogLine } from '../../shared/adapters/telemetry/log';
import { ApiKeyAuthenticator } from '../../shared/http/auth';
import { createHttpPipeline } from '../../shared/http/pipeline';
import { FixedWindowRateLimiter } from '../../shared/http/rate-limit';

const AT = new Date('2025-01-02T03:04:05.000Z');
const line = (data: Record<string, unknown>, message = 'something failed') =>
  JSON.parse(formatLogLine('error', message, data, AT)) as Record<string, unknown> & { error?: Record<string, unknown> };

// A connection string as Azure shows it: any error that quotes it must not print the key.
const TABLES = 'DefaultEndpointsProtocol=https;AccountName=hub;AccountKey=c2VjcmV0LWtleQ+/==;EndpointSuffix=core.windows.net';

describe('log lines', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints an error as its name, message, code and stack instead of {} (the `http handler failed` defect)', () => {
    const error = Object.assign(new TypeError('cannot read properties of undefined'), { code: 'E_BROKEN' });
    const logged = line({ operationId: 'op-1', error });
    expect(logged).toMatchObject({ level: 'error', at: AT.toISOString(), message: 'something failed', operationId: 'op-1' });
    expect(logged.error).toMatchObject({ name: 'TypeError', message: 'cannot read properties of undefined', code: 'E_BROKEN' });
    expect(logged.error?.stack).toContain('log.test.ts');
    expect(logged.error).not.toEqual({});
  });

  it('follows the cause chain and keeps the Azure request ids of a RestError', () => {
    const rest = new RestError('The specified entity already exists.', {
      code: 'EntityAlreadyExists',
      statusCode: 409,
      request: { requestId: 'client-req-1', headers: { get: () => undefined } } as never,
      response: { status: 409, headers: { get: (name: string) => (name === 'x-ms-request-id' ? 'ms-req-42' : undefined) } } as never,
    });
    const error = new TableStoreError('duplicate', 'create booking: the entity already exists', { cause: rest });
    const logged = line({ error });
    expect(logged.error).toMatchObject({
      name: 'TableStoreError',
      code: 'duplicate',
      message: 'create booking: the entity already exists',
      cause: { name: 'RestError', code: 'EntityAlreadyExists', statusCode: 409, requestId: 'ms-req-42', clientRequestId: 'client-req-1' },
    });
    // The request itself (with its Authorization header) is never printed.
    expect(JSON.stringify(logged)).not.toContain('"request"');
  });

  it("takes Azure's request id from `details` when the response is not there", () => {
    const rest = new RestError('Server busy', { statusCode: 503 });
    rest.details = { errorCode: 'ServerBusy', requestId: 'ms-req-7' };
    expect(line({ error: rest }).error).toMatchObject({ statusCode: 503, errorCode: 'ServerBusy', requestId: 'ms-req-7' });
  });

  it("keeps Stripe's request id, error class, type and decline code", () => {
    const error = new Stripe.errors.StripeCardError({
      message: 'Your card was declined.',
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      requestId: 'req_abc123',
      statusCode: 402,
    });
    expect(line({ error }).error).toMatchObject({
      name: 'StripeCardError',
      message: 'Your card was declined.',
      code: 'card_declined',
      type: 'card_error',
      declineCode: 'insufficient_funds',
      statusCode: 402,
      requestId: 'req_abc123',
    });
  });

  it("keeps Odoo's fault code and the job error's kind", () => {
    const error = new OdooError('permanent', 'ODOO_VALIDATION', 'Odoo refused the partner', { code: 2, string: 'ValidationError' });
    expect(line({ error }).error).toMatchObject({ name: 'OdooError', kind: 'permanent', code: 'ODOO_VALIDATION', faultCode: 2 });
  });

  it('finds errors wherever they sit in the data, and keeps a cause that is not an Error', () => {
    const logged = line({ attempts: [{ at: 1, error: new Error('first') }], nested: { error: new Error('outer', { cause: { status: 'x' } }) } });
    expect(logged.attempts).toEqual([{ at: 1, error: expect.objectContaining({ name: 'Error', message: 'first' }) }]);
    expect(logged.nested).toEqual({ error: expect.objectContaining({ message: 'outer', cause: { status: 'x' } }) });
  });

  it('lists the errors of an AggregateError', () => {
    const error = new AggregateError([new Error('connect ECONNREFUSED ::1:8069'), new Error('connect ECONNREFUSED 127.0.0.1:8069')], 'fetch failed');
    const logged = line({ error });
    expect(logged.error).toMatchObject({ name: 'AggregateError', message: 'fetch failed' });
    expect((logged.error?.errors as Array<{ message: string }> | undefined)?.map((inner) => inner.message)).toEqual([
      'connect ECONNREFUSED ::1:8069',
      'connect ECONNREFUSED 127.0.0.1:8069',
    ]);
  });

  it('never prints a secret: connection strings, tokens, URL passwords and credential-named fields', () => {
    const error = new Error(`cannot connect with ${TABLES}`, {
      cause: new Error('smtp://mailer:hunter2@mail.example.com refused; Authorization: Bearer ohk_abc-DEF_123'),
    });
    const logged = line(
      { error, password: 'hunter2', apiKey: 'ohk_x', webhookSecret: 'whsec_x', partitionKey: 'bk_1', rowKey: 'booking', note: 'token bat_a-b_c' },
      `failed with ${TABLES}`,
    );
    const text = JSON.stringify(logged);
    for (const secret of ['c2VjcmV0LWtleQ', 'hunter2', 'ohk_', 'whsec_', 'bat_', 'abc-DEF', '-DEF_123', 'a-b_c']) expect(text).not.toContain(secret);
    expect(logged.error?.message).toBe(
      'cannot connect with DefaultEndpointsProtocol=https;AccountName=hub;AccountKey=[redacted];EndpointSuffix=core.windows.net',
    );
    expect((logged.error?.cause as { message: string } | undefined)?.message).toBe(
      'smtp://mailer:[redacted]@mail.example.com refused; Authorization: Bearer [redacted]',
    );
    expect(logged.error?.stack).not.toContain('c2VjcmV0');
    expect(logged).toMatchObject({ password: '[redacted]', apiKey: '[redacted]', webhookSecret: '[redacted]', partitionKey: 'bk_1', rowKey: 'booking' });
    expect(logged.message).toContain('AccountKey=[redacted]');
  });

  it('survives what JSON.stringify throws on or loops over, and keeps its own fields', () => {
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    const error = new Error('looping');
    (error as Error & { cause: unknown }).cause = error;
    const logged = line({ loop, big: 10n, error, level: 'info', message: 'not mine', when: new Date(0), bytes: Buffer.from('abc') });
    expect(logged).toMatchObject({ level: 'error', message: 'something failed', loop: { name: 'loop', self: '[circular]' }, big: '10' });
    expect(logged).toMatchObject({ when: '1970-01-01T00:00:00.000Z', bytes: '[3 bytes]', error: { message: 'looping', cause: '[circular]' } });
  });

  it('writes errors to stderr, info to stdout, and nothing below the minimum level', () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const log = consoleLogger({ minLevel: 'warn' });
    log.info('quiet');
    log.error('queue function failed', { error: new Error('broker gone') });
    expect(stdout).not.toHaveBeenCalled();
    expect(stderr).toHaveBeenCalledTimes(1);
    const written = JSON.parse(String(stderr.mock.calls[0]?.[0])) as { error: { message: string } };
    expect(written.error.message).toBe('broker gone');
  });

  it('logs the cause of a 500 from the HTTP pipeline: message and stack, with the connection string masked', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const pipeline = createHttpPipeline({
      auth: new ApiKeyAuthenticator([]),
      rateLimiter: new FixedWindowRateLimiter({ limit: 9, windowMs: 60_000 }),
      log: consoleLogger(),
      newOperationId: () => 'op-500',
    });
    const response = await pipeline.handle(
      {
        kind: 'http',
        name: 'fails',
        route: 'v1/fails',
        methods: ['GET'],
        summary: 'fails',
        responses: {},
        handler: async () => {
          throw new Error(`table storage create failed: ${TABLES}`);
        },
      },
      { method: 'GET', url: 'v1/fails', params: {}, query: new URLSearchParams(), headers: {}, rawBody: Buffer.alloc(0), clientIp: '127.0.0.1' },
    );
    expect(response.status).toBe(500);
    const written = JSON.parse(String(stderr.mock.calls[0]?.[0])) as { message: string; operationId: string; error: Record<string, string> };
    expect(written).toMatchObject({ message: 'http handler failed', operationId: 'op-500', function: 'fails' });
    expect(written.error.message).toContain('table storage create failed');
    expect(written.error.stack).toContain('log.test.ts');
    expect(JSON.stringify(written)).not.toContain('c2VjcmV0');
  });
});
