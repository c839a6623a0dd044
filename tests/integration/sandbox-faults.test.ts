/**
 * The fault switches the Stripe and Driver-App sandboxes take over HTTP (`/sandbox/faults`), as an
 * admin uses them from a shell to make a job fail on purpose: what each kind answers, by count and
 * for a while, refused bodies, and clearing.
 */
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverSandbox } from '../../local/driver-sandbox';
import { StripeSandbox } from '../../local/stripe-sandbox';

const control = (base: string, method: string, body?: unknown) =>
  fetch(`${base}/sandbox/faults`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('Stripe sandbox fault switch', () => {
  let sandbox: StripeSandbox;
  let stripe: Stripe;
  beforeAll(async () => {
    sandbox = await StripeSandbox.start({ port: 0, webhookSecret: 'whsec_faults' });
    stripe = new Stripe('sk_test_faults', { host: '127.0.0.1', port: sandbox.port, protocol: 'http', maxNetworkRetries: 0, timeout: 500 });
  });
  afterAll(() => sandbox.stop());

  const listCustomers = () =>
    stripe.customers.list({ limit: 1 }).then(
      () => 'ok',
      (error: { type?: string; statusCode?: number }) => `${error.type}:${error.statusCode ?? '-'}`,
    );

  it('fails the next n API calls with a server error, then serves again', async () => {
    const armed = await control(sandbox.url, 'POST', { count: 2 });
    expect(armed.status).toBe(200);
    expect(await armed.json()).toEqual({ remaining: 2, until: null, kind: 'api_error' });
    expect([await listCustomers(), await listCustomers(), await listCustomers()]).toEqual(['StripeAPIError:500', 'StripeAPIError:500', 'ok']);
  });

  it('plays a rate limit, the edge being down and no answer at all', async () => {
    await control(sandbox.url, 'POST', { count: 1, kind: 'rate_limit' });
    expect(await listCustomers()).toBe('StripeRateLimitError:429');
    await control(sandbox.url, 'POST', { count: 1, kind: 'unavailable' });
    // An HTML page from the edge: stripe-node cannot read it as Stripe's JSON (no status on that error).
    expect(await listCustomers()).toMatch(/^StripeAPIError:/);
    await control(sandbox.url, 'POST', { count: 1, kind: 'timeout' });
    expect(await listCustomers()).toBe('StripeConnectionError:-');
    expect(await listCustomers()).toBe('ok');
  });

  it('fails every call for a while; GET shows it, DELETE clears it', async () => {
    await control(sandbox.url, 'POST', { seconds: 60, kind: 'api_error' });
    expect(await listCustomers()).toBe('StripeAPIError:500');
    const state = (await (await control(sandbox.url, 'GET')).json()) as { until: string | null };
    expect(Date.parse(state.until ?? '')).toBeGreaterThan(Date.now());
    expect((await control(sandbox.url, 'DELETE')).status).toBe(200);
    expect(await listCustomers()).toBe('ok');
  });

  it('refuses a body that is not one of count or seconds, or names an unknown kind, arming nothing', async () => {
    for (const body of [{}, { count: 1, seconds: 1 }, { count: 0 }, { count: 1, kind: 'meteor' }, { count: 1, extra: true }]) {
      const response = await control(sandbox.url, 'POST', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    }
    expect(await listCustomers()).toBe('ok');
  });
});

describe('Driver-App sandbox fault switch', () => {
  const SECRET = 'driver_faults_secret';
  let sandbox: DriverSandbox;
  beforeAll(async () => {
    sandbox = await DriverSandbox.start({ port: 0, secret: SECRET });
  });
  afterAll(() => sandbox.stop());

  const submit = async (timeoutMs = 2_000) => {
    const body = JSON.stringify({ type: 'b2c_pickup', bookingId: 'bk_1', pickup: {}, slot: {} });
    const response = await fetch(`${sandbox.url}/trips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': createHmac('sha256', SECRET).update(body).digest('hex') },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((error: Error) => error.name);
    return typeof response === 'string' ? response : { status: response.status, retryAfter: response.headers.get('retry-after') };
  };

  it('fails submissions by kind before recording them, then takes them again', async () => {
    const before = sandbox.trips().length;
    await control(sandbox.url, 'POST', { count: 1, kind: 'rate_limited' });
    expect(await submit()).toEqual({ status: 429, retryAfter: '1' });
    await control(sandbox.url, 'POST', { count: 2 });
    expect(sandbox.faultsPending()).toBe(2);
    expect(await submit()).toMatchObject({ status: 503 });
    expect(await submit()).toMatchObject({ status: 503 });
    await control(sandbox.url, 'POST', { count: 1, kind: 'timeout' });
    expect(await submit(300)).toBe('TimeoutError');
    expect(sandbox.trips()).toHaveLength(before);
    const accepted = await submit();
    expect(typeof accepted === 'object' && accepted.status).not.toBe(503);
    expect(sandbox.trips()).toHaveLength(before + 1);
  });

  it('fails for a while until cleared; refuses a bad body', async () => {
    await control(sandbox.url, 'POST', { seconds: 60, kind: 'http500' });
    expect(await submit()).toMatchObject({ status: 500 });
    expect(((await (await control(sandbox.url, 'GET')).json()) as { kind: string }).kind).toBe('http500');
    await control(sandbox.url, 'DELETE');
    expect(await submit()).not.toMatchObject({ status: 500 });
    expect((await control(sandbox.url, 'POST', { seconds: -1 })).status).toBe(400);
    expect((await control(sandbox.url, 'POST', { count: 1, kind: 'unknown' })).status).toBe(400);
  });
});
