/**
 * Stripe does not promise order: `payment_intent.succeeded` may arrive before or after
 * `processing`, `requires_action` and a failed attempt of the same intent. Whatever the order —
 * shuffled, all at once, or the success first and the rest late — a paid booking ends CONFIRMED
 * with one confirmation, and a paid order payment ends succeeded with the order paid once.
 */
import type Stripe from 'stripe';
import type { DrillContext } from '../context';
import { type Check, type Drill, Tally } from '../drill';
import type { Answer } from '../client';
import {
  bookingHistory,
  createBooking,
  createOrder,
  createPayment,
  deliverEvent,
  getBooking,
  getOrder,
  inBatches,
  orderHistory,
  payWithEventsHeld,
  shuffle,
} from '../fixtures';

type Mode = 'shuffled' | 'all at once' | 'success first';
const MODES: readonly Mode[] = ['shuffled', 'all at once', 'success first'];

/** The intent's real events plus the earlier-state events Stripe would have sent before its success. */
function eventsAround(caused: readonly Stripe.Event[]): Stripe.Event[] | undefined {
  const succeeded = caused.find((event) => event.type === 'payment_intent.succeeded');
  if (!succeeded) return undefined;
  const intent = succeeded.data.object as Stripe.PaymentIntent;
  const earlier = (type: string, suffix: string, object: Record<string, unknown>): Stripe.Event =>
    ({ ...succeeded, id: `${succeeded.id}_${suffix}`, type, created: succeeded.created - 1, data: { object: { ...intent, ...object } } }) as Stripe.Event;
  return [
    ...caused,
    earlier('payment_intent.processing', 'processing', { status: 'processing' }),
    earlier('payment_intent.requires_action', 'action', { status: 'requires_action', next_action: { type: 'use_stripe_sdk', use_stripe_sdk: {} } }),
    earlier('payment_intent.payment_failed', 'failed', {
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
    }),
  ];
}

/** Delivers the events in the mode's order; resolves every answer. */
async function deliver(ctx: DrillContext, events: readonly Stripe.Event[], mode: Mode): Promise<Answer[]> {
  const send = (event: Stripe.Event) => deliverEvent(ctx, JSON.stringify(event, null, 2));
  if (mode === 'all at once') return Promise.all(shuffle(ctx, events).map(send));
  const ordered =
    mode === 'success first'
      ? [
          ...events.filter((event) => event.type === 'payment_intent.succeeded'),
          ...shuffle(
            ctx,
            events.filter((event) => event.type !== 'payment_intent.succeeded'),
          ),
        ]
      : shuffle(ctx, events);
  const answers: Answer[] = [];
  for (const event of ordered) answers.push(await send(event));
  return answers;
}

/** Checks the webhook's answers and counts them by outcome (`applied`, `unchanged`, `duplicate`, …) into `outcomes`. */
function checkAnswers(check: Check, answers: readonly Answer[], outcomes: Map<string, number>): void {
  for (const answer of answers) {
    const outcome = (answer.json as { outcome?: string } | undefined)?.outcome ?? String(answer.status);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  check(
    answers.every((answer) => answer.status === 200),
    `webhook answers ${answers.map((answer) => answer.status).join(',')}`,
  );
}

export const outOfOrderWebhooks: Drill = {
  name: 'out-of-order webhooks',
  async run(ctx) {
    const tally = new Tally();
    const outcomes = new Map<string, number>();
    const bookings = await inBatches(Array.from({ length: ctx.count(9, 3) }), 4, () => createBooking(ctx));
    const payments = await inBatches(Array.from({ length: ctx.count(6, 3) }), 4, async () => createPayment(ctx, (await createOrder(ctx)).id));
    const held = await payWithEventsHeld(ctx, [...bookings.map((booking) => booking.paymentIntentId), ...payments.map((payment) => payment.providerRef)]);

    const booked = bookings.map((booking, i) => {
      const mode = MODES[i % MODES.length] as Mode;
      return tally.attempt(`booking ${booking.id} (${mode})`, async (check) => {
        const events = eventsAround(held.get(booking.paymentIntentId) ?? []);
        if (!check(events !== undefined, 'the sandbox recorded no payment_intent.succeeded')) return;
        checkAnswers(check, await deliver(ctx, events as Stripe.Event[], mode), outcomes);
        const view = await getBooking(ctx, booking);
        check(view.status === 'CONFIRMED' && view.payment.status === 'succeeded', `booking ends ${view.status} with payment ${view.payment.status}`);
        const history = await bookingHistory(ctx, booking);
        const confirmed = history.filter((row) => row.to === 'CONFIRMED' && row.from !== 'CONFIRMED');
        check(confirmed.length === 1, `${confirmed.length} rows confirming the booking`);
        const away = history.filter((row) => row.from === 'CONFIRMED' && row.to !== 'CONFIRMED');
        check(away.length === 0, `left CONFIRMED: ${away.map((row) => `${row.from}→${row.to} (${row.cause})`).join(', ')}`);
      });
    });

    const ordered = payments.map((payment, i) => {
      const mode = MODES[i % MODES.length] as Mode;
      return tally.attempt(`order ${payment.orderId} (${mode})`, async (check) => {
        const events = eventsAround(held.get(payment.providerRef) ?? []);
        if (!check(events !== undefined, 'the sandbox recorded no payment_intent.succeeded')) return;
        checkAnswers(check, await deliver(ctx, events as Stripe.Event[], mode), outcomes);
        const view = await ctx.api.expect<{ status: string }>(200, 'GET', `/v1/payments/${payment.id}`, { token: ctx.keys.orders });
        check(view.status === 'succeeded', `payment ends ${view.status}`);
        const order = await getOrder(ctx, payment.orderId);
        check(order.status === 'paid' && order.paidAmount === payment.amount, `order ends ${order.status} with ${order.paidAmount} paid of ${payment.amount}`);
        const history = await orderHistory(ctx, payment.orderId);
        const rows = (machine: string, to: string) => history.filter((row) => row.machine === machine && row.to === to && row.from !== to).length;
        check(
          rows('payment', 'succeeded') === 1 && rows('order', 'paid') === 1,
          `${rows('payment', 'succeeded')} payment→succeeded, ${rows('order', 'paid')} order→paid rows`,
        );
        const away = history.filter((row) => row.machine === 'payment' && row.from === 'succeeded' && row.to !== 'succeeded');
        check(away.length === 0, `payment left succeeded: ${away.map((row) => `→${row.to} (${row.cause})`).join(', ')}`);
      });
    });

    await Promise.all([...booked, ...ordered]);
    const answered = [...outcomes].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
    tally.note(
      `${bookings.length} bookings and ${payments.length} order payments: succeeded, processing, requires_action, payment_failed and the charge events shuffled, at once, or success first (${answered})`,
    );
    return tally.result();
  },
};
