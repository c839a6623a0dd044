import { describe, expect, it } from 'vitest';
import { customerRef } from '../../../../shared/kernel/customer-ref';
import { createOrder } from '../../../../slices/orders/app/create-order';
import { sourceKey } from '../../../../slices/orders/app/ports';
import { customerSchema } from '../../../../slices/orders/domain/customer';
import { orderSchema } from '../../../../slices/orders/domain/order';
import { anOrder, anOrderRequest, CAUSE, NOW, ordersWorld, seedOrder } from '../../../support/order-fixtures';

const ERIKA = customerRef('erika@example.com');
const KEY = sourceKey('pos', 'POS-1001');
const TOKEN = 'idem-0123456789abcdef0123456789abcdef-tail';
/** The order id a request with `TOKEN` gets: the token's first 32 characters. */
const TOKEN_ID = 'ord_idem-0123456789abcdef0123456789a';

describe('createOrder', () => {
  it('stores a pending order with its first history row, claims the channel id and creates the customer with the order', async () => {
    const world = ordersWorld();

    const outcome = await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: TOKEN });

    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.order).toMatchObject({ id: TOKEN_ID, status: 'pending', totalAmount: 6_480, customerId: ERIKA, version: 1, createdAt: NOW });
    expect(() => orderSchema.parse(outcome.order)).not.toThrow();
    expect(world.orders.current(TOKEN_ID)).toEqual(outcome.order);
    expect(await world.orders.history(TOKEN_ID)).toEqual([{ machine: 'order', subject: TOKEN_ID, from: null, to: 'pending', at: NOW, cause: CAUSE }]);
    expect(await world.index.find(KEY)).toBe(TOKEN_ID);

    const customer = world.customers.current(ERIKA);
    expect(customer).toMatchObject({
      id: ERIKA,
      email: 'erika@example.com',
      name: 'Erika Mustermann',
      phone: '+49 171 1234567',
      orders: [{ id: TOKEN_ID, createdAt: NOW }],
      version: 1,
    });
    expect(() => customerSchema.parse(customer)).not.toThrow();
  });

  it('derives the id from the clock without a token', async () => {
    const world = ordersWorld();

    const outcome = await createOrder(world.create, anOrderRequest(), { cause: CAUSE });

    expect(outcome).toMatchObject({ ok: true, order: { id: 'ord_id1' } });
    expect(world.clock.issued).toEqual(['id-1']);
  });

  it('remembers a second order of the same e-mail (written in another case) on the same customer, with its newer details', async () => {
    const world = ordersWorld();
    await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: 'token-a' });
    world.clock.set('2026-11-25T09:30:00.000Z');

    const second = await createOrder(
      world.create,
      anOrderRequest({
        externalId: 'POS-1002',
        customer: {
          email: '  Erika@EXAMPLE.com ',
          name: 'Erika Musterfrau',
          phone: '+49 30 1234567',
          address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin', country: 'DE' },
        },
      }),
      { cause: CAUSE, token: 'token-b' },
    );

    expect(second).toMatchObject({ ok: true, order: { id: 'ord_token-b', customerId: ERIKA } });
    expect(world.customers.current(ERIKA)).toMatchObject({
      email: 'erika@example.com',
      name: 'Erika Musterfrau',
      phone: '+49 30 1234567',
      address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin', country: 'DE' },
      orders: [
        { id: 'ord_token-a', createdAt: NOW },
        { id: 'ord_token-b', createdAt: '2026-11-25T09:30:00.000Z' },
      ],
      createdAt: NOW,
      updatedAt: '2026-11-25T09:30:00.000Z',
      version: 2,
    });
    expect(world.customers.changes).toHaveLength(2);
  });

  it('lists both orders when two orders of a new customer are created at once', async () => {
    const world = ordersWorld();

    const outcomes = await Promise.all([
      createOrder(world.create, anOrderRequest({ externalId: 'POS-A' }), { cause: CAUSE, token: 'token-a' }),
      createOrder(world.create, anOrderRequest({ externalId: 'POS-B' }), { cause: CAUSE, token: 'token-b' }),
    ]);

    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true]);
    expect(
      world.customers
        .current(ERIKA)
        ?.orders.map((order) => order.id)
        .sort(),
    ).toEqual(['ord_token-a', 'ord_token-b']);
  });

  it('answers the same token twice with the same order: stored once, listed once on the customer', async () => {
    const world = ordersWorld();

    const first = await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: TOKEN });
    world.clock.set('2026-11-24T08:00:05.000Z');
    const again = await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: TOKEN });

    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.order).toEqual(first.order);
    expect(world.orders.changes).toHaveLength(1);
    expect(world.customers.current(ERIKA)?.orders).toEqual([{ id: TOKEN_ID, createdAt: NOW }]);
    expect(world.customers.changes).toHaveLength(1);
    expect(await world.index.find(KEY)).toBe(TOKEN_ID);
  });

  it('refuses a second order for the same channel id (another token) as DUPLICATE, naming the existing one', async () => {
    const world = ordersWorld();
    await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: 'token-a' });

    const duplicate = await createOrder(world.create, anOrderRequest({ customer: { email: 'other@example.com', name: 'Otto' } }), {
      cause: CAUSE,
      token: 'token-b',
    });

    expect(duplicate).toEqual({ ok: false, error: { code: 'DUPLICATE', orderId: 'ord_token-a' } });
    expect(world.orders.current('ord_token-b')).toBeUndefined();
    expect(world.orders.changes).toHaveLength(1);
    expect(world.customers.current(customerRef('other@example.com'))).toBeUndefined();
  });

  it('refuses a duplicate even when the claim is old, as long as its order exists', async () => {
    const world = ordersWorld();
    seedOrder(world, anOrder({ id: 'ord_old' }));

    expect(await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: 'token-b' })).toEqual({
      ok: false,
      error: { code: 'DUPLICATE', orderId: 'ord_old' },
    });
  });

  it('takes over a claim abandoned more than 2 minutes ago by a create that never stored its order', async () => {
    const world = ordersWorld();
    world.index.seed(KEY, 'ord_dead', '2026-11-24T07:57:59.999Z');

    const outcome = await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: 'token-b' });

    expect(outcome).toMatchObject({ ok: true, order: { id: 'ord_token-b' } });
    expect(await world.index.find(KEY)).toBe('ord_token-b');
    expect(world.orders.current('ord_token-b')?.status).toBe('pending');
  });

  it.each([
    ['a fresh claim (1 minute)', '2026-11-24T07:59:00.000Z'],
    ['a claim of exactly 2 minutes', '2026-11-24T07:58:00.000Z'],
  ])('does not take over %s: DUPLICATE, nothing stored', async (_, since) => {
    const world = ordersWorld();
    world.index.seed(KEY, 'ord_in_flight', since);

    const outcome = await createOrder(world.create, anOrderRequest(), { cause: CAUSE, token: 'token-b' });

    expect(outcome).toEqual({ ok: false, error: { code: 'DUPLICATE', orderId: 'ord_in_flight' } });
    expect(await world.index.find(KEY)).toBe('ord_in_flight');
    expect(world.orders.changes).toEqual([]);
    expect(world.customers.changes).toEqual([]);
  });

  it('refuses an invalid order with every problem, claiming and storing nothing', async () => {
    const world = ordersWorld();

    const outcome = await createOrder(world.create, anOrderRequest({ source: 'amazon', currency: 'USD', totalAmount: 1 }), { cause: CAUSE, token: TOKEN });

    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('INVALID_ORDER');
    if (outcome.error.code === 'INVALID_ORDER') expect(outcome.error.problems.map((problem) => problem.path)).toEqual(['source', 'currency', 'totalAmount']);
    expect(world.index.rows.size).toBe(0);
    expect(world.orders.changes).toEqual([]);
    expect(world.customers.changes).toEqual([]);
  });
});
