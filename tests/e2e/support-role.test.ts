// The `support` role over HTTP: it reads everything an admin reads (bookings, orders, dead letters,
// the audit trail, callbacks, health) and every change an admin may make is refused with 403,
// before anything changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { createBooking, startBookingRuntime } from '../support/bookings';
import { createOrder, hub } from '../support/orders';

describe('the support role (local host)', () => {
  let runtime: LocalRuntime;
  let support: string;
  beforeAll(async () => {
    runtime = await startBookingRuntime({ TABLE_PREFIX: 'supportrole' });
    support = runtime.apiKeys.support as string;
  });
  afterAll(() => runtime?.stop());

  it('reads bookings, orders, customers, dead letters, the audit trail and callbacks', async () => {
    const booking = await createBooking(runtime);
    const order = await createOrder(runtime);
    const customer = order.customerId as string;
    const reads = [
      `/v1/bookings/${booking.id}`,
      `/v1/bookings/${booking.id}/history`,
      `/v1/orders/${order.id}`,
      `/v1/orders/${order.id}/history`,
      `/v1/customers/${customer}`,
      '/v1/admin/dead-letters',
      '/v1/admin/dead-letters/odoo-sync',
      '/v1/admin/audit',
      '/v1/admin/callbacks',
    ];
    const statuses = await Promise.all(reads.map(async (path) => [path, (await hub(runtime, 'GET', path, { key: support })).status]));
    expect(statuses).toEqual(reads.map((path) => [path, 200]));
  });

  it('changes nothing: every write is 403, and the booking is still as it was', async () => {
    const booking = await createBooking(runtime);
    const order = await createOrder(runtime);
    const writes: Array<[string, string, unknown?]> = [
      ['POST', '/v1/orders', { source: 'pos' }],
      ['POST', `/v1/orders/${order.id}/transitions`, { to: 'cancelled' }],
      ['POST', `/v1/bookings/${booking.id}/cancel`, {}],
      ['POST', '/v1/admin/dead-letters/odoo-sync/replay', {}],
      ['POST', '/v1/admin/dead-letters/odoo-sync/m-1/replay'],
      ['DELETE', '/v1/admin/dead-letters/odoo-sync/m-1', { reason: 'not mine to discard' }],
    ];
    for (const [method, path, body] of writes) {
      const response = await hub(runtime, method, path, { key: support, body, idempotencyKey: `support-${method}-${path}` });
      expect([method, path, response.status]).toEqual([method, path, 403]);
    }
    const read = await hub(runtime, 'GET', `/v1/bookings/${booking.id}`, { key: support });
    expect(read.body).toMatchObject({ id: booking.id, status: 'PENDING_PAYMENT' });
    expect((await hub(runtime, 'GET', `/v1/orders/${order.id}`, { key: support })).body).toMatchObject({ status: order.status });
  });
});
