// Orders in Odoo end to end, once per transport (ODOO_API=xmlrpc, ODOO_API=json2): orders and payments
// over HTTP, paid and refunded through the Stripe sandbox, the worker consuming `odoo-sync` over the
// chosen API, and the Odoo sandbox read back over XML-RPC as an accountant's script would.
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OdooSandbox } from '../../local/odoo-sandbox';
import type { LocalRuntime } from '../../local/runtime';
import { ODOO_APIS, type OdooApi } from '../../shared/adapters/odoo/odoo-transport';
import { newEnvelope } from '../../shared/platform/jobs';
import { startBookingRuntime, stripeClient } from '../support/bookings';
import { type OdooMove, OdooReader } from '../support/odoo-reader';
import { createOrder, createPayment, getOrder, hub, orderBody, payInSandbox } from '../support/orders';
import { waitFor } from '../support/wait';

describe.each(ODOO_APIS)('orders in Odoo over %s (local host, Stripe and Odoo sandboxes)', (odooApi: OdooApi) => {
  let runtime: LocalRuntime;
  let stripe: Stripe;
  let odoo: OdooSandbox;
  let reader: OdooReader;

  beforeAll(async () => {
    runtime = await startBookingRuntime({ ODOO_SANDBOX: 'on', ODOO_API: odooApi, TABLE_PREFIX: `ordersodoo${odooApi}`, ORDER_CURRENCIES: 'EUR,JPY,KWD' });
    if (!runtime.odoo) throw new Error('the runtime runs no Odoo sandbox');
    odoo = runtime.odoo;
    stripe = stripeClient(runtime);
    reader = await OdooReader.login(odoo.url);
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  /** The order's invoice once Odoo holds it in the state `until` asks for. */
  async function invoiceOf(orderId: string, until: (invoice: OdooMove) => boolean): Promise<OdooMove> {
    let found: OdooMove | undefined;
    await waitFor(
      async () => {
        found = (await reader.invoices(orderId)).find(until);
        return found !== undefined;
      },
      { message: `no matching invoice for ${orderId}` },
    );
    return found as OdooMove;
  }

  async function paidOrder(body = orderBody()) {
    const order = await createOrder(runtime, body);
    const payment = await createPayment(runtime, order.id);
    await payInSandbox(runtime, stripe, payment.providerRef);
    return { order, payment, invoice: await invoiceOf(order.id, (invoice) => invoice.payment_state === 'paid') };
  }

  it('bills an order once: one partner per customer, one invoice with a line per item, the payment as Stripe took it; a repeat sync changes nothing', async () => {
    const body = orderBody();
    const { order, payment, invoice } = await paidOrder(body);
    const partners = await reader.partners(body.customer.email);
    expect(partners).toEqual([{ id: expect.any(Number), name: 'Karla Kundin', email: body.customer.email, ref: order.customerId }]);
    expect(invoice).toMatchObject({ move_type: 'out_invoice', state: 'posted', ref: order.id, amount_total: 64.8, amount_residual: 0 });
    expect(await reader.lines(invoice.id)).toEqual([
      expect.objectContaining({ name: 'Wischerblätter (WIPER-01)', quantity: 2, price_unit: 19.95, price_subtotal: 39.9 }),
      expect.objectContaining({ name: 'Motoröl 5W-30, 1 l (OIL-5W30)', quantity: 1, price_unit: 24.9, price_subtotal: 24.9 }),
    ]);
    const received = (await stripe.paymentIntents.retrieve(payment.providerRef)).amount_received;
    expect(await reader.payments(payment.providerRef)).toEqual([
      expect.objectContaining({ amount: received / 100, payment_type: 'inbound', reconciled_invoice_ids: [invoice.id] }),
    ]);
    await waitFor(async () => (await getOrder(runtime, order.id)).body.version >= 4, { message: 'ERP ids not stored back' });

    // A second order of the same customer (e-mail in another case): the same partner, a second invoice.
    const second = await paidOrder(orderBody({ customer: { ...body.customer, email: body.customer.email.toUpperCase() } }));
    expect(second.order.customerId).toBe(order.customerId);
    expect(await reader.partners(body.customer.email)).toHaveLength(1);
    expect(second.invoice.partner_id).toEqual(invoice.partner_id);

    // A repeat sync (a fresh job id) finds everything and writes nothing.
    const snapshot = () => ({
      moves: odoo.records('account.move').filter((move) => move.ref === order.id),
      payments: odoo.records('account.payment').filter((candidate) => candidate.memo === payment.providerRef),
    });
    const before = snapshot();
    const calls = odoo.calls(odooApi);
    const job = newEnvelope(
      { queue: 'odoo-sync', type: 'order.sync', subject: order.id, payload: { orderId: order.id, reason: 'repeat' }, id: randomUUID() },
      new Date(),
      randomUUID,
    );
    await runtime.composition.services.sender.send([{ queue: 'odoo-sync', envelope: job }]);
    await waitFor(
      async () =>
        odoo.calls(odooApi) > calls &&
        (await runtime.composition.services.tables
          .client('ProcessedJobs')
          .getEntity(`odoo-sync:${job.id}`, '')
          .then(
            () => true,
            () => false,
          )),
    );
    expect(snapshot()).toEqual(before);
  });

  it('writes a credit note per refund, partial refunds too, with the money paid out against each', async () => {
    const { order, payment, invoice } = await paidOrder();
    const refund = (amount: number) =>
      hub(runtime, 'POST', `/v1/payments/${payment.id}/refunds`, { body: { amount, reason: 'returned goods' }, idempotencyKey: randomUUID() });
    expect((await refund(1_480)).status).toBe(201);
    expect((await refund(5_000)).status).toBe(201);
    await runtime.stripe?.idle();
    let notes: OdooMove[] = [];
    await waitFor(
      async () => {
        notes = await reader.creditNotesFor(invoice.id);
        return notes.length === 2 && notes.every((note) => note.state === 'posted' && note.payment_state === 'paid');
      },
      { message: 'two paid credit notes expected' },
    );
    expect(notes.map((note) => note.amount_total).sort()).toEqual([14.8, 50]);
    expect((await getOrder(runtime, order.id)).body).toMatchObject({ status: 'refunded', paymentStatus: 'refunded' });
    const stripeRefunds = (await stripe.refunds.list({ payment_intent: payment.providerRef })).data;
    for (const stripeRefund of stripeRefunds) {
      expect(await reader.payments(`refund:${stripeRefund.id}`)).toEqual([
        expect.objectContaining({ amount: stripeRefund.amount / 100, payment_type: 'outbound' }),
      ]);
    }
  });

  it('bills JPY and KWD orders in their own currency and decimals', async () => {
    const yen = await paidOrder(orderBody({ currency: 'JPY', items: [{ sku: 'TEA', name: 'Sencha', quantity: 3, unitAmount: 1_200 }] }));
    expect(yen.invoice).toMatchObject({ amount_total: 3_600, amount_residual: 0 });
    expect(await reader.payments(yen.payment.providerRef)).toEqual([expect.objectContaining({ amount: 3_600 })]);
    const fils = await paidOrder(orderBody({ currency: 'KWD', items: [{ sku: 'DATE', name: 'Dates 1 kg', quantity: 2, unitAmount: 2_750 }] }));
    expect(fils.invoice).toMatchObject({ amount_total: 5.5, amount_residual: 0 });
    const currencies = await reader.searchRead<{ id: number; currency_id: [number, string] }>(
      'account.move',
      [['ref', 'in', [yen.order.id, fils.order.id]]],
      ['currency_id'],
    );
    expect(currencies.map((move) => move.currency_id[1]).sort()).toEqual(['JPY', 'KWD']);
  });
});
