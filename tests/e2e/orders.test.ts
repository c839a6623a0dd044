/**
 * The order hub over HTTP against the local host: a channel creates orders and payments, the
 * customer pays in the Stripe sandbox (the real stripe SDK), webhooks come from the sandbox.
 */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { customerRef } from '../../shared/kernel/customer-ref';
import { postWebhook, startBookingRuntime, stripeClient } from '../support/bookings';
import { createOrder, createPayment, expectHubProblem, getOrder, hub, orderBody, payInSandbox } from '../support/orders';

describe('the order hub over HTTP (local host, Stripe sandbox)', () => {
  let runtime: LocalRuntime;
  let stripe: Stripe;

  beforeAll(async () => {
    runtime = await startBookingRuntime({ ORDER_CURRENCIES: 'EUR,JPY,KWD' });
    stripe = stripeClient(runtime);
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  const transition = (id: string, to: string, headers: Record<string, string> = {}) =>
    hub(runtime, 'POST', `/v1/orders/${id}/transitions`, { body: { to }, headers });

  it('takes an order from creation through payment to delivery, with both histories', async () => {
    const body = orderBody();
    const created = await hub(runtime, 'POST', '/v1/orders', { body, idempotencyKey: randomUUID() });
    expect(created.status).toBe(201);
    const order = created.body;
    expect(order).toMatchObject({
      source: 'pos',
      externalId: body.externalId,
      status: 'pending',
      paymentStatus: 'not_paid',
      currency: 'EUR',
      totalAmount: 6_480,
      paidAmount: 0,
      refundedAmount: 0,
      customerId: customerRef(body.customer.email),
      version: 1,
    });
    expect(order.items[0]).toEqual({ sku: 'WIPER-01', name: 'Wischerblätter', quantity: 2, unitAmount: 1_995, taxRatePercent: 19, lineAmount: 3_990 });
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.headers.get('location')).toBe(`/api/v1/orders/${order.id}`);

    const payment = await createPayment(runtime, order.id);
    expect(payment).toMatchObject({
      orderId: order.id,
      provider: 'stripe',
      status: 'pending',
      amount: 6_480,
      currency: 'EUR',
      providerRef: expect.stringMatching(/^pi_/),
    });
    expect(payment.clientSecret).toMatch(/^pi_.+_secret_/);
    const intent = await stripe.paymentIntents.retrieve(payment.providerRef);
    expect(intent).toMatchObject({ amount: 6_480, currency: 'eur', metadata: { orderId: order.id, paymentId: payment.id } });

    await payInSandbox(runtime, stripe, payment.providerRef);
    const paid = await getOrder(runtime, order.id);
    expect(paid.body).toMatchObject({ status: 'paid', paymentStatus: 'paid', paidAmount: 6_480 });
    expect((await hub(runtime, 'GET', `/v1/payments/${payment.id}`)).body).toMatchObject({ status: 'succeeded', amount: 6_480 });

    for (const to of ['processing', 'shipped', 'delivered']) expect((await transition(order.id, to)).body.status).toBe(to);

    const history = await hub(runtime, 'GET', `/v1/orders/${order.id}/history`);
    const event = expect.stringMatching(/^stripe:evt_/);
    expect(history.body.items.map((row: { machine: string; from: string | null; to: string }) => `${row.machine} ${row.from}->${row.to}`)).toEqual([
      'order null->pending',
      'payment null->pending',
      'payment pending->succeeded',
      'order pending->paid',
      'order paid->processing',
      'order processing->shipped',
      'order shipped->delivered',
    ]);
    expect(history.body.items[3]).toMatchObject({ machine: 'order', subject: order.id, cause: event });
    expect(history.body.items[2]).toMatchObject({ machine: 'payment', subject: payment.id, cause: event });
    expect(history.body.items[0].cause).toBe('api:local-orders');
    const paymentHistory = await hub(runtime, 'GET', `/v1/payments/${payment.id}/history`);
    expect(paymentHistory.body.items.map((row: { to: string }) => row.to)).toEqual(['pending', 'succeeded']);

    const bySource = await hub(runtime, 'GET', `/v1/orders/by-source/pos/${body.externalId}`);
    expect(bySource.body).toMatchObject({ id: order.id, status: 'delivered' });
    const customer = await hub(runtime, 'GET', `/v1/customers/${encodeURIComponent(order.customerId)}`);
    expect(customer.body).toEqual({
      id: order.customerId,
      email: body.customer.email,
      name: 'Karla Kundin',
      phone: '+49 30 1234567',
      orders: [{ id: order.id, status: 'delivered', totalAmount: 6_480, currency: 'EUR' }],
    });
  });

  it('becomes paid once two payments together cover the total; tells underpaid and overpaid apart', async () => {
    const order = await createOrder(runtime);
    const first = await createPayment(runtime, order.id, 2_480);
    const second = await createPayment(runtime, order.id);
    expect(second.amount).toBe(4_000);
    await payInSandbox(runtime, stripe, first.providerRef);
    expect((await getOrder(runtime, order.id)).body).toMatchObject({ status: 'pending', paymentStatus: 'partially_paid', paidAmount: 2_480 });
    await payInSandbox(runtime, stripe, second.providerRef);
    expect((await getOrder(runtime, order.id)).body).toMatchObject({ status: 'paid', paymentStatus: 'paid', paidAmount: 6_480 });

    const under = await createOrder(runtime);
    await payInSandbox(runtime, stripe, (await createPayment(runtime, under.id, 1_000)).providerRef);
    expect((await getOrder(runtime, under.id)).body).toMatchObject({ status: 'pending', paymentStatus: 'partially_paid', paidAmount: 1_000 });

    const over = await createOrder(runtime);
    await payInSandbox(runtime, stripe, (await createPayment(runtime, over.id, 7_000)).providerRef);
    expect((await getOrder(runtime, over.id)).body).toMatchObject({ status: 'paid', paymentStatus: 'paid', paidAmount: 7_000, totalAmount: 6_480 });
    // Paid in full: nothing is left to pay, and a paid order takes no further payment.
    expectHubProblem(await hub(runtime, 'POST', '/v1/payments', { body: { orderId: over.id, provider: 'stripe' }, idempotencyKey: randomUUID() }), 409);
  });

  it('refunds in part, then the rest, never more than was paid, also with ten refunds at once', async () => {
    const order = await createOrder(runtime);
    const payment = await createPayment(runtime, order.id);
    await payInSandbox(runtime, stripe, payment.providerRef);

    const partial = await hub(runtime, 'POST', `/v1/payments/${payment.id}/refunds`, {
      body: { amount: 1_480, reason: 'wiper returned' },
      idempotencyKey: randomUUID(),
    });
    expect(partial.status).toBe(201);
    expect(partial.body).toMatchObject({ paymentId: payment.id, amount: 1_480, status: 'succeeded', reason: 'wiper returned' });
    await runtime.stripe?.idle();
    expect((await getOrder(runtime, order.id)).body).toMatchObject({ status: 'paid', paymentStatus: 'partially_refunded', refundedAmount: 1_480 });
    expect((await hub(runtime, 'GET', `/v1/payments/${payment.id}`)).body).toMatchObject({ status: 'partially_refunded', refundedAmount: 1_480 });

    // Ten requests for 1,000 each race for the 5,000 left: exactly five get through.
    const racing = await Promise.all(
      Array.from({ length: 10 }, () => hub(runtime, 'POST', `/v1/payments/${payment.id}/refunds`, { body: { amount: 1_000 }, idempotencyKey: randomUUID() })),
    );
    expect(racing.filter((response) => response.status === 201)).toHaveLength(5);
    for (const refused of racing.filter((response) => response.status !== 201)) expectHubProblem(refused, 409);
    await runtime.stripe?.idle();
    const refunded = (await getOrder(runtime, order.id)).body;
    expect(refunded).toMatchObject({ status: 'refunded', paymentStatus: 'refunded', paidAmount: 6_480, refundedAmount: 6_480 });
    const refundsAtStripe = await stripe.refunds.list({ payment_intent: payment.providerRef, limit: 100 });
    expect(refundsAtStripe.data.reduce((sum, refund) => sum + refund.amount, 0)).toBe(6_480);

    const more = await hub(runtime, 'POST', `/v1/payments/${payment.id}/refunds`, { body: {}, idempotencyKey: randomUUID() });
    expectHubProblem(more, 409);
    const history = await hub(runtime, 'GET', `/v1/orders/${order.id}/history`);
    expect(history.body.items.slice(-3).map((row: { machine: string; to: string }) => `${row.machine} ${row.to}`)).toEqual([
      'payment partially_refunded',
      'payment refunded',
      'order refunded',
    ]);
  });

  it('applies a refund made in the Stripe dashboard (charge.refunded) once', async () => {
    const order = await createOrder(runtime);
    const payment = await createPayment(runtime, order.id);
    await payInSandbox(runtime, stripe, payment.providerRef);
    await stripe.refunds.create({ payment_intent: payment.providerRef, amount: 2_000 });
    await runtime.stripe?.idle();
    const after = (await hub(runtime, 'GET', `/v1/payments/${payment.id}`)).body;
    expect(after).toMatchObject({ status: 'partially_refunded', refundedAmount: 2_000 });
    expect(after.refunds).toEqual([expect.objectContaining({ amount: 2_000, status: 'succeeded', origin: 'provider' })]);

    // The same event delivered again changes nothing.
    const [event] = (await stripe.events.list({ type: 'charge.refunded', limit: 100 })).data.filter(
      (candidate) => (candidate.data.object as { payment_intent?: string }).payment_intent === payment.providerRef,
    );
    expect(event).toBeDefined();
    const repeat = await postWebhook(runtime, stripe, JSON.stringify(event));
    expect(repeat.body).toEqual({ received: true, outcome: 'duplicate' });
    expect((await hub(runtime, 'GET', `/v1/payments/${payment.id}`)).body).toMatchObject({ refundedAmount: 2_000, refunds: [expect.anything()] });
  });

  it('keeps every Idempotency-Key rule, and ten identical requests at once make one order', async () => {
    const body = orderBody();
    const key = randomUUID();
    const first = await hub(runtime, 'POST', '/v1/orders', { body, idempotencyKey: key });
    expect(first.status).toBe(201);
    const again = await hub(runtime, 'POST', '/v1/orders', { body, idempotencyKey: key });
    expect({ status: again.status, replayed: again.headers.get('idempotent-replayed'), body: again.body }).toEqual({
      status: 201,
      replayed: 'true',
      body: first.body,
    });
    expectHubProblem(await hub(runtime, 'POST', '/v1/orders', { body: { ...body, externalId: 'POS-other' }, idempotencyKey: key }), 422);
    expectHubProblem(await hub(runtime, 'POST', '/v1/orders', { body: orderBody() }), 400);
    expectHubProblem(await hub(runtime, 'POST', '/v1/orders', { body: orderBody(), idempotencyKey: 'k'.repeat(256) }), 400);
    // The same channel order under another key: 409 naming the existing order.
    const duplicate = await hub(runtime, 'POST', '/v1/orders', { body, idempotencyKey: randomUUID() });
    expectHubProblem(duplicate, 409);
    expect(duplicate.body.orderId).toBe(first.body.id);
    // The key is the API key's: another key holder with the same Idempotency-Key is a new request (here the same channel order: 409).
    expect((await hub(runtime, 'POST', '/v1/orders', { body, idempotencyKey: key, key: runtime.apiKeys.admin })).status).toBe(409);

    const racing = orderBody();
    const raceKey = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, () => hub(runtime, 'POST', '/v1/orders', { body: racing, idempotencyKey: raceKey })));
    const ids = new Set(answers.filter((answer) => answer.status === 201).map((answer) => answer.body.id));
    expect(ids.size).toBe(1);
    for (const answer of answers.filter((candidate) => candidate.status !== 201)) {
      expectHubProblem(answer, 409);
      expect(answer.headers.get('retry-after')).toBe('1');
    }
    expect((await hub(runtime, 'GET', `/v1/orders/by-source/pos/${racing.externalId}`)).body.id).toBe([...ids][0]);
  });

  it('refuses a stale If-Match (412) and a transition the machine forbids (409, naming the allowed ones), changing nothing', async () => {
    const order = await createOrder(runtime);
    const confirmed = await transition(order.id, 'confirmed', { 'if-match': '"1"' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('etag')).toBe('"2"');

    const stale = await transition(order.id, 'cancelled', { 'if-match': '"1"' });
    expectHubProblem(stale, 412);
    const forbidden = await transition(order.id, 'shipped');
    expectHubProblem(forbidden, 409);
    expect(forbidden.body.allowed).toEqual(['cancelled']);
    const derived = await transition(order.id, 'paid');
    expectHubProblem(derived, 409);
    expect(derived.body.detail).toMatch(/by its payments/);
    expect((await getOrder(runtime, order.id)).body).toMatchObject({ status: 'confirmed', version: 2 });
    expect((await hub(runtime, 'GET', `/v1/orders/${order.id}/history`)).body.items).toHaveLength(2);
  });

  it('cancels a paid order by refunding it first', async () => {
    const order = await createOrder(runtime);
    const payment = await createPayment(runtime, order.id);
    await payInSandbox(runtime, stripe, payment.providerRef);
    const cancelled = await transition(order.id, 'cancelled');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', paymentStatus: 'refunded', refundedAmount: 6_480 });
    await runtime.stripe?.idle();
    const refunds = await stripe.refunds.list({ payment_intent: payment.providerRef });
    expect(refunds.data.map((refund) => refund.amount)).toEqual([6_480]);
    // Cancelling again changes nothing and refunds nothing twice.
    expect((await transition(order.id, 'cancelled')).body.status).toBe('cancelled');
    expect((await stripe.refunds.list({ payment_intent: payment.providerRef })).data).toHaveLength(1);
  });

  it('takes JPY and KWD orders in their minor units, end to end', async () => {
    const yen = await createOrder(runtime, orderBody({ currency: 'JPY', items: [{ sku: 'TEA', name: 'Sencha', quantity: 3, unitAmount: 1_200 }] }));
    expect(yen).toMatchObject({ currency: 'JPY', totalAmount: 3_600 });
    const yenPayment = await createPayment(runtime, yen.id);
    expect(await stripe.paymentIntents.retrieve(yenPayment.providerRef)).toMatchObject({ amount: 3_600, currency: 'jpy' });
    await payInSandbox(runtime, stripe, yenPayment.providerRef);
    expect((await getOrder(runtime, yen.id)).body).toMatchObject({ status: 'paid', paidAmount: 3_600 });

    const fils = await createOrder(runtime, orderBody({ currency: 'KWD', items: [{ sku: 'DATE', name: 'Dates 1 kg', quantity: 2, unitAmount: 2_750 }] }));
    expect(fils).toMatchObject({ currency: 'KWD', totalAmount: 5_500 });
    const filsPayment = await createPayment(runtime, fils.id);
    expect(await stripe.paymentIntents.retrieve(filsPayment.providerRef)).toMatchObject({ amount: 5_500, currency: 'kwd' });
    await payInSandbox(runtime, stripe, filsPayment.providerRef);
    expect((await getOrder(runtime, fils.id)).body).toMatchObject({ status: 'paid', paidAmount: 5_500 });

    // KWD amounts must end in 0 (Stripe's rule for three-decimal currencies); GBP is not accepted here.
    const odd = await hub(runtime, 'POST', '/v1/orders', {
      body: orderBody({ currency: 'KWD', items: [{ sku: 'X', name: 'X', quantity: 1, unitAmount: 1_005 }] }),
      idempotencyKey: randomUUID(),
    });
    expectHubProblem(odd, 422);
    expect(odd.body.errors).toEqual([{ in: 'body', path: 'items.0.unitAmount', message: expect.stringMatching(/end in 0/) }]);
    const pounds = await hub(runtime, 'POST', '/v1/orders', { body: orderBody({ currency: 'GBP' }), idempotencyKey: randomUUID() });
    expectHubProblem(pounds, 422);
    expect(pounds.body.errors).toEqual([{ in: 'body', path: 'currency', message: expect.stringMatching(/not accepted/) }]);
  });

  it('refuses a total that is not the sum of the items, an unknown channel and a missing role', async () => {
    const wrongTotal = await hub(runtime, 'POST', '/v1/orders', { body: orderBody({ totalAmount: 1 }), idempotencyKey: randomUUID() });
    expectHubProblem(wrongTotal, 422);
    expect(wrongTotal.body.errors).toEqual([{ in: 'body', path: 'totalAmount', message: 'Does not match the items: they sum to 6480' }]);
    const unknown = await hub(runtime, 'POST', '/v1/orders', { body: orderBody({ source: 'ebay' }), idempotencyKey: randomUUID() });
    expectHubProblem(unknown, 422);
    expect(unknown.body.errors[0].path).toBe('source');
    expectHubProblem(await hub(runtime, 'POST', '/v1/orders', { body: orderBody(), idempotencyKey: randomUUID(), key: runtime.apiKeys.workshop }), 403);
    expectHubProblem(await hub(runtime, 'GET', '/v1/orders/ord_missing', { key: null }), 401);
    expectHubProblem(await hub(runtime, 'GET', '/v1/orders/ord_missing'), 404);
  });
});
