/**
 * The same signed Stripe event delivered many times at once (Stripe retries, a replayed delivery,
 * two webhook endpoints racing): applied once — one CONFIRMED history row, one Odoo invoice and
 * payment, one pick-up trip, one e-mail; for an order, paid once and never counted twice.
 */
import type Stripe from 'stripe';
import { waitFor } from '../../tests/support/wait';
import type { DrillContext } from '../context';
import { type Drill, Tally } from '../drill';
import {
  acceptedTrips,
  type Booking,
  bookingHistory,
  createBooking,
  createOrder,
  createPayment,
  deliverEvent,
  eventsHeldDuring,
  getOrder,
  inBatches,
  orderHistory,
  paidOrder,
  payWithEventsHeld,
} from '../fixtures';
import { awaitSettledBooks, booksOf, checkBooks } from '../odoo-books';

const outcomeOf = (json: unknown) => (json as { outcome?: string } | undefined)?.outcome;

/** Delivers one event `copies` times at once: half byte-identical, half re-signed with another timestamp, as Stripe's retries are. */
async function deliverAtOnce(ctx: DrillContext, event: Stripe.Event, copies: number) {
  const payload = JSON.stringify(event, null, 2);
  const now = Math.floor(Date.now() / 1000);
  return Promise.all(Array.from({ length: copies }, (_, i) => deliverEvent(ctx, payload, i % 2 === 0 ? now : now - i)));
}

export const duplicateWebhooks: Drill = {
  name: 'duplicate webhooks',
  async run(ctx) {
    const tally = new Tally();
    const copies = ctx.count(10, 6);
    const bookings = await inBatches(Array.from({ length: ctx.count(8, 3) }), 4, () => createBooking(ctx));
    const payments = await inBatches(Array.from({ length: ctx.count(4, 2) }), 4, async () => createPayment(ctx, (await createOrder(ctx)).id));
    const held = await payWithEventsHeld(ctx, [...bookings.map((booking) => booking.paymentIntentId), ...payments.map((payment) => payment.providerRef)]);
    const succeeded = (intent: string) => held.get(intent)?.find((event) => event.type === 'payment_intent.succeeded');
    /** Delivers one event `copies` times at once: every delivery answered 200, exactly one of them applied. */
    const deliveredOnce = async (check: (ok: boolean, why: string) => boolean, event: Stripe.Event) => {
      const answers = await deliverAtOnce(ctx, event, copies);
      check(
        answers.every((answer) => answer.status === 200),
        `answers ${answers.map((answer) => answer.status).join(',')}`,
      );
      const applied = answers.filter((answer) => outcomeOf(answer.json) === 'applied').length;
      check(applied === 1, `${applied} of ${copies} deliveries answered "applied"`);
    };

    const booked = (booking: Booking) =>
      tally.attempt(`booking ${booking.id}`, async (check) => {
        const event = succeeded(booking.paymentIntentId);
        if (!check(event !== undefined, 'the sandbox recorded no payment_intent.succeeded')) return;
        await deliveredOnce(check, event as Stripe.Event);

        const history = await bookingHistory(ctx, booking);
        const confirmations = history.filter((row) => row.to === 'CONFIRMED');
        check(
          confirmations.length === 1 && confirmations[0]?.cause === `stripe:${event?.id}`,
          `${confirmations.length} CONFIRMED history rows (${confirmations.map((row) => row.cause).join(', ')})`,
        );
        check(history.length === 2, `${history.length} history rows, expected created + confirmed`);

        await awaitSettledBooks(ctx, [booking], 20_000);
        checkBooks(check, booking, (await booksOf(ctx, [booking])).get(booking.id));
        const trips = () => acceptedTrips(ctx, booking, 'pickup');
        await waitFor(() => trips().length > 0, { timeoutMs: 10_000 }).catch(() => undefined);
        check(trips().length === 1, `${trips().length} pick-up trips at the Driver-App`);
        await waitFor(() => ctx.smtp.inbox({ to: booking.email }).length > 0, { timeoutMs: 10_000 }).catch(() => undefined);
        check(ctx.smtp.inbox({ to: booking.email }).length === 1, `${ctx.smtp.inbox({ to: booking.email }).length} e-mails to the customer`);
      });

    const ordered = (payment: (typeof payments)[number]) =>
      tally.attempt(`order ${payment.orderId}`, async (check) => {
        const event = succeeded(payment.providerRef);
        if (!check(event !== undefined, 'the sandbox recorded no payment_intent.succeeded')) return;
        await deliveredOnce(check, event as Stripe.Event);
        const order = await getOrder(ctx, payment.orderId);
        check(order.status === 'paid' && order.paidAmount === payment.amount, `order is ${order.status} with ${order.paidAmount} paid of ${payment.amount}`);
        const history = await orderHistory(ctx, payment.orderId);
        const paymentRows = history.filter((row) => row.machine === 'payment' && row.to === 'succeeded');
        const orderRows = history.filter((row) => row.machine === 'order' && row.to === 'paid');
        check(paymentRows.length === 1 && orderRows.length === 1, `${paymentRows.length} payment→succeeded and ${orderRows.length} order→paid rows`);
      });

    // A refund made in the Stripe dashboard: its charge.refunded delivered many times at once is counted once.
    const refunded = await inBatches(Array.from({ length: ctx.count(3, 1) }), 3, () => paidOrder(ctx));
    const refundAmount = 1_480;
    const refundEvents = await eventsHeldDuring(
      ctx,
      refunded.map(
        ({ payment }) =>
          () =>
            ctx.stripe.refunds.create({ payment_intent: payment.providerRef, amount: refundAmount }),
      ),
    );
    const dashboardRefund = ({ order, payment }: (typeof refunded)[number], i: number) =>
      tally.attempt(`dashboard refund of ${order.id}`, async (check) => {
        const event = refundEvents[i]?.find((candidate) => candidate.type === 'charge.refunded');
        if (!check(event !== undefined, 'the sandbox recorded no charge.refunded')) return;
        const answers = await deliverAtOnce(ctx, event as Stripe.Event, copies);
        check(
          answers.every((answer) => answer.status === 200),
          `answers ${answers.map((answer) => answer.status).join(',')}`,
        );
        const view = await ctx.api.expect<{ refundedAmount: number; refunds: unknown[] }>(200, 'GET', `/v1/payments/${payment.id}`, { token: ctx.keys.orders });
        check(
          view.refundedAmount === refundAmount && view.refunds.length === 1,
          `the payment shows ${view.refunds.length} refunds, ${view.refundedAmount} refunded of ${refundAmount}`,
        );
        const after = await getOrder(ctx, order.id);
        check(after.refundedAmount === refundAmount, `the order shows ${after.refundedAmount} refunded of ${refundAmount}`);
      });

    await Promise.all([...bookings.map(booked), ...payments.map(ordered), ...refunded.map(dashboardRefund)]);
    tally.note(
      `${bookings.length} bookings, ${payments.length} order payments and ${refunded.length} dashboard refunds, each event delivered ${copies}× at once; read back: history, Odoo, trips, e-mail, refunds`,
    );
    return tally.result();
  },
};
