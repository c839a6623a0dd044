// The attention list over HTTP: a booking whose refund failed (Stripe down through its sandbox's fault
// switch) is listed with its reason; support reads the list and may not resolve; an admin resolves it
// with a note, which the booking's history keeps, and the item leaves the list.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { api, createBooking, getBooking, startBookingRuntime, stripeClient } from '../support/bookings';

describe('attention list (local host, Stripe sandbox)', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;
  const admin = () => runtime.apiKeys.admin as string;
  const support = () => runtime.apiKeys.support as string;

  beforeAll(async () => {
    runtime = await startBookingRuntime({ TABLE_PREFIX: 'attention' });
    stripe = stripeClient(runtime);
  });
  afterAll(() => runtime?.stop());

  it('lists a booking whose refund failed; support reads, an admin resolves it with a note kept in its history', async () => {
    const booking = await createBooking(runtime);
    await stripe.paymentIntents.confirm(booking.paymentIntentId, { payment_method: 'pm_card_visa' });
    await runtime.stripe?.idle();
    expect((await getBooking(runtime, booking)).status).toBe('CONFIRMED');

    // Stripe is down for the refund: the booking is cancelled and flagged for a person.
    const armed = await fetch(`${runtime.stripe?.url}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seconds: 30, kind: 'api_error' }),
    });
    expect(armed.status).toBe(200);
    try {
      const cancelled = await api(runtime, 'POST', `/v1/bookings/${booking.id}/cancel`, { token: booking.accessToken });
      expect(cancelled.status).toBeGreaterThanOrEqual(500);
    } finally {
      await fetch(`${runtime.stripe?.url}/sandbox/faults`, { method: 'DELETE' });
    }

    const list = await api(runtime, 'GET', '/v1/admin/attention', { token: support() });
    expect(list.status).toBe(200);
    const item = (list.body.items as Array<{ id: string; kind: string; subject: string; reason: string; since: string }>).find(
      (entry) => entry.subject === booking.id,
    );
    expect(item).toMatchObject({ id: `booking:${booking.id}`, kind: 'booking', reason: expect.stringMatching(/^refund failed/) });
    expect(Date.parse(item?.since ?? '')).toBeGreaterThan(Date.now() - 60_000);

    // Staff see the flag on the booking itself; the customer's app does not.
    expect((await api(runtime, 'GET', `/v1/bookings/${booking.id}`, { token: support() })).body.attention).toEqual({
      reason: item?.reason,
      since: item?.since,
    });
    expect((await api(runtime, 'GET', `/v1/bookings/${booking.id}`, { token: booking.accessToken })).body).not.toHaveProperty('attention');

    const denied = await api(runtime, 'POST', `/v1/admin/attention/${encodeURIComponent(item?.id as string)}/resolve`, {
      token: support(),
      body: { note: 'refunded by hand in the dashboard' },
    });
    expect(denied.status).toBe(403);
    expect(
      await api(runtime, 'POST', `/v1/admin/attention/${encodeURIComponent(item?.id as string)}/resolve`, { token: admin(), body: { note: '' } }),
    ).toMatchObject({
      status: 422,
    });

    const resolved = await api(runtime, 'POST', `/v1/admin/attention/${encodeURIComponent(item?.id as string)}/resolve`, {
      token: admin(),
      body: { note: 'refunded by hand in the dashboard' },
    });
    expect(resolved).toMatchObject({ status: 200, body: { id: item?.id, resolved: true } });
    expect((await api(runtime, 'GET', `/v1/bookings/${booking.id}`, { token: admin() })).body).not.toHaveProperty('attention');
    const after = await api(runtime, 'GET', '/v1/admin/attention', { token: admin() });
    expect((after.body.items as Array<{ subject: string }>).some((entry) => entry.subject === booking.id)).toBe(false);

    const history = await api(runtime, 'GET', `/v1/bookings/${booking.id}/history`, { token: admin() });
    expect(history.body.items.at(-1)).toMatchObject({ kind: 'attention', from: 'open', to: 'resolved', note: 'refunded by hand in the dashboard' });
    expect(history.body.items.at(-1).cause).toMatch(/^api:/);

    // Resolved already, or never listed: 404, and nothing changes.
    const again = await api(runtime, 'POST', `/v1/admin/attention/${encodeURIComponent(item?.id as string)}/resolve`, {
      token: admin(),
      body: { note: 'again' },
    });
    expect(again.status).toBe(404);
    expect((await api(runtime, 'POST', '/v1/admin/attention/ticket:42/resolve', { token: admin(), body: { note: 'nothing' } })).status).toBe(404);
  });
});
