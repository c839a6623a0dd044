/**
 * The Stripe adapter's `ensureCustomer` against the Stripe sandbox (issue 9): first bookings of one
 * new e-mail address at once used to create the customer under one idempotency key with different
 * names — a conflicting reuse of the key, answered 502. Now every racer gets the one customer.
 */
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeSandbox } from '../../local/stripe-sandbox';
import { StripeGateway } from '../../shared/adapters/stripe/stripe-gateway';
import { hashToken } from '../../slices/bookings/app/access';

const SECRET_KEY = 'sk_test_order_hub_customers';
let sandbox: StripeSandbox;
let stripe: Stripe;
let gateway: StripeGateway;

beforeAll(async () => {
  sandbox = await StripeSandbox.start({ port: 0, webhookSecret: 'whsec_customers' });
  const apiBase = `http://127.0.0.1:${sandbox.port}`;
  stripe = new Stripe(SECRET_KEY, { host: '127.0.0.1', port: sandbox.port, protocol: 'http' });
  gateway = new StripeGateway({ secretKey: SECRET_KEY, webhookSecret: 'whsec_customers', apiBase, timeoutMs: 5_000 });
});

afterAll(async () => {
  await sandbox?.stop();
});

/** The input the booking use case sends: the e-mail lower-cased, the key derived from it alone. */
const input = (email: string, name: string, phone?: string) => ({ email, name, ...(phone ? { phone } : {}), idempotencyKey: `customer:${hashToken(email)}` });

const customersOf = async (email: string) => (await stripe.customers.list({ email, limit: 100 })).data;

describe('StripeGateway.ensureCustomer against the Stripe sandbox', () => {
  it('gives concurrent first requests of one address, with different names, one customer', async () => {
    const email = `race.${randomUUID().slice(0, 8)}@example.de`;
    const names = ['Erika Mustermann', 'E. Mustermann', 'Erika M.', 'Max Mustermann', 'Erika Musterfrau', 'Frau Mustermann'];

    const answers = await Promise.all(names.map((name, i) => gateway.ensureCustomer(input(email, name, `+4917112345${i}0`))));

    for (const answer of answers) expect(answer, JSON.stringify(answer)).toMatchObject({ ok: true });
    const ids = new Set(answers.map((answer) => (answer.ok ? answer.value.id : '')));
    expect(ids.size).toBe(1);
    const customers = await customersOf(email);
    expect(customers.map((customer) => customer.id)).toEqual([...ids]);
    // Named by one of the racers (the last to name it wins), never left without a name.
    expect(names).toContain(customers[0]?.name);
    expect(customers[0]?.phone).toMatch(/^\+4917112345\d0$/);
  });

  it('finds the customer of a later booking by its address, and keeps the name it has', async () => {
    const email = `later.${randomUUID().slice(0, 8)}@example.de`;
    const first = await gateway.ensureCustomer(input(email, 'Erika Mustermann', '+491711234567'));
    const later = await gateway.ensureCustomer(input(email, 'Someone Else'));

    expect(first.ok && later.ok && later.value.id === first.value.id).toBe(true);
    expect((await customersOf(email)).map((customer) => [customer.name, customer.phone])).toEqual([['Erika Mustermann', '+491711234567']]);
  });

  it('names a customer whose naming did not finish (created by the e-mail alone) on the next request', async () => {
    const email = `unnamed.${randomUUID().slice(0, 8)}@example.de`;
    const created = await stripe.customers.create({ email }, { idempotencyKey: `customer:${hashToken(email)}` });

    const answer = await gateway.ensureCustomer(input(email, 'Erika Mustermann'));

    expect(answer).toEqual({ ok: true, value: { id: created.id } });
    expect((await stripe.customers.retrieve(created.id)) as Stripe.Customer).toMatchObject({ name: 'Erika Mustermann', email });
  });
});
