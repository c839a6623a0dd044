import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { fieldErrorsFromZod, internalError, methodNotAllowed, problem, problemSchema, tooManyRequests, validationFailed } from '../../shared/http/problem';

describe('problem', () => {
  it('builds an RFC 9457 body with a stable type per kind', () => {
    const response = problem(409, 'Conflict', 'Already picked up');
    expect(response.status).toBe(409);
    expect(response.headers).toEqual({ 'Content-Type': 'application/problem+json' });
    expect(response.body).toEqual({
      type: 'https://order-hub.dev/problems/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'Already picked up',
    });
  });

  it('uses about:blank for a status without a kind, and always has a detail', () => {
    const body = problemSchema.parse(problem(418, "I'm a teapot").body);
    expect(body).toMatchObject({ type: 'about:blank', detail: "I'm a teapot" });
  });

  it('does not let extension members overwrite the standard members', () => {
    const response = problem(404, 'Not found', 'gone', { members: { status: 200, title: 'x', hint: 'h' } });
    expect(response.body).toMatchObject({ status: 404, title: 'Not found', hint: 'h' });
  });

  it('sets Allow and Retry-After', () => {
    expect(methodNotAllowed(['POST', 'GET', 'POST']).headers).toMatchObject({ Allow: 'GET, POST' });
    expect(tooManyRequests(12.2).headers).toMatchObject({ 'Retry-After': '13' });
    expect(tooManyRequests(0).headers).toMatchObject({ 'Retry-After': '1' });
  });

  it('gives a 500 only a generic detail', () => {
    expect(internalError('op-1').body).toEqual({
      type: 'https://order-hub.dev/problems/internal',
      title: 'Internal server error',
      status: 500,
      detail: 'The request could not be completed.',
      operationId: 'op-1',
    });
  });
});

describe('fieldErrorsFromZod', () => {
  const schema = z.strictObject({
    email: z.email(),
    items: z.array(z.object({ sku: z.string() })),
    slot: z.object({ start: z.string() }).refine(() => false, 'slot must start in opening hours'),
  });

  it('lists each field with a dotted path and the schema message', () => {
    const result = schema.safeParse({ email: 'not-an-email', items: [{ sku: 1 }], slot: { start: 'x' } });
    expect(result.success).toBe(false);
    const errors = fieldErrorsFromZod(result.error!.issues, 'body');
    expect(errors).toEqual([
      { in: 'body', path: 'email', message: expect.any(String) },
      { in: 'body', path: 'items.0.sku', message: 'Invalid input: expected string, received number' },
      { in: 'body', path: 'slot', message: 'slot must start in opening hours' },
    ]);
    expect(JSON.stringify(errors)).not.toContain('not-an-email');
  });

  it('names unknown keys without quoting zod’s message, and bounds their length', () => {
    const result = schema.safeParse({ email: 'a@b.de', items: [], slot: { start: '' }, ['k'.repeat(500)]: 1 });
    const errors = fieldErrorsFromZod(result.error!.issues);
    const unknown = errors.find((error) => error.message === 'Unknown field');
    expect(unknown?.path.length).toBeLessThanOrEqual(64);
    expect(unknown).not.toHaveProperty('in');
  });

  it('caps the number of errors', () => {
    const result = z.array(z.string()).safeParse(Array.from({ length: 500 }, (_, i) => i));
    expect(fieldErrorsFromZod(result.error!.issues)).toHaveLength(50);
  });

  it('wraps the errors in a 422', () => {
    const response = validationFailed([{ in: 'query', path: 'limit', message: 'Too big' }]);
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ type: 'https://order-hub.dev/problems/validation', errors: [{ path: 'limit' }] });
  });
});
