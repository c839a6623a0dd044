/**
 * Money going back, many requests at once: refunds of one order payment under different
 * Idempotency-Keys, cancellations of one order (which refund what was paid), both mixed, and
 * cancellations of one paid booking. Read back at the Stripe sandbox: never more refunded than paid,
 * the hub's refunded amount is Stripe's, and there is one cancellation.
 */
import { randomUUID } from 'node:crypto';
import type { DrillContext } from '../context';
import type { Answer } from '../client';
import { isProblem } from '../client';
import { type Check, type Drill, Tally } from '../drill';
import {
  bookingHistory,
  bookingReaches,
  createBooking,
  getBooking,
  getOrder,
  inBatches,
  orderHistory,
  paidOrder,
  payBooking,
  refundedAtStripe,
} from '../fixtures';

type Race = 'refunds' | 'cancels' | 'refunds and cancels';
const RACES: readonly Race[] = ['refunds', 'cancels', 'refunds and cancels'];

function checkAnswers(check: Check, answers: readonly Answer[]): void {
  check(
    answers.every((answer) => answer.status < 500),
    `answers ${answers.map((answer) => answer.status).join(',')}`,
  );
  check(
    answers.every((answer) => answer.status < 400 || isProblem(answer)),
    'a refusal was not problem+json',
  );
}

async function orderRace(ctx: DrillContext, race: Race, racers: number, check: Check): Promise<void> {
  const { order, payment } = await paidOrder(ctx);
  const paid = payment.amount;
  const refund = () =>
    ctx.api.call('POST', `/v1/payments/${payment.id}/refunds`, {
      token: ctx.keys.orders,
      // Between a quarter and 60 % of what was paid each: some must be refused.
      body: { amount: Math.round(paid * (0.25 + ctx.random() * 0.35)), reason: 'drill' },
      idempotencyKey: randomUUID(),
    });
  const cancel = () => ctx.api.call('POST', `/v1/orders/${order.id}/transitions`, { token: ctx.keys.orders, body: { to: 'cancelled', reason: 'drill' } });
  const calls = Array.from({ length: racers }, (_, i) => {
    if (race === 'refunds') return refund;
    if (race === 'cancels') return cancel;
    return i % 2 === 0 ? refund : cancel;
  });
  const answers = await Promise.all(calls.map((call) => call()));
  checkAnswers(check, answers);
  await ctx.stripeSandbox.idle();

  const atStripe = await refundedAtStripe(ctx, payment.providerRef);
  const view = await getOrder(ctx, order.id);
  check(atStripe.amount <= paid, `Stripe refunded ${atStripe.amount} of ${paid} paid`);
  check(view.refundedAmount === atStripe.amount, `the hub shows ${view.refundedAmount} refunded, Stripe ${atStripe.amount}`);
  const refunded201 = answers.filter((answer, i) => calls[i] === refund && answer.status === 201);
  const answered = refunded201.reduce((sum, answer) => sum + ((answer.json as { amount?: number }).amount ?? 0), 0);
  if (race === 'refunds') {
    check(refunded201.length === atStripe.count, `${refunded201.length} refunds answered 201, ${atStripe.count} at Stripe`);
    check(answered === atStripe.amount, `201 answers add up to ${answered}, Stripe refunded ${atStripe.amount}`);
    check(refunded201.length >= 1, 'no refund got through');
    return;
  }
  const cancelled = (await orderHistory(ctx, order.id)).filter((row) => row.machine === 'order' && row.to === 'cancelled' && row.from !== 'cancelled');
  check(cancelled.length === 1, `${cancelled.length} order→cancelled rows`);
  check(view.status === 'cancelled' && atStripe.amount === paid, `order ends ${view.status} with ${atStripe.amount} of ${paid} refunded at Stripe`);
}

async function bookingRace(ctx: DrillContext, racers: number, check: Check): Promise<void> {
  const booking = await createBooking(ctx);
  await payBooking(ctx, booking);
  await bookingReaches(ctx, booking, 'CONFIRMED');
  const answers = await Promise.all(
    Array.from({ length: racers }, (_, i) =>
      ctx.api.call('POST', `/v1/bookings/${booking.id}/cancel`, { token: i % 2 === 0 ? booking.accessToken : ctx.keys.admin }),
    ),
  );
  checkAnswers(check, answers);
  await ctx.stripeSandbox.idle();
  const atStripe = await refundedAtStripe(ctx, booking.paymentIntentId);
  check(
    atStripe.count === 1 && atStripe.amount === booking.priceCents,
    `${atStripe.count} refunds of ${atStripe.amount} at Stripe for ${booking.priceCents} paid`,
  );
  const cancelled = (await bookingHistory(ctx, booking)).filter((row) => row.to === 'CANCELLED' && row.from !== 'CANCELLED');
  check(cancelled.length === 1, `${cancelled.length} CANCELLED rows`);
  const view = await getBooking(ctx, booking);
  check(view.status === 'CANCELLED' && view.payment.status === 'refunded', `booking ends ${view.status}, payment ${view.payment.status}`);
}

export const racingRefunds: Drill = {
  name: 'racing refunds and cancels',
  async run(ctx) {
    const tally = new Tally();
    const racers = ctx.count(10, 6);
    const rounds = ctx.count(9, 3);
    await inBatches(Array.from({ length: rounds }), 3, (_, round) => {
      const race = RACES[round % RACES.length] as Race;
      return tally.attempt(`order (${race})`, (check) => orderRace(ctx, race, racers, check));
    });
    const bookingRounds = ctx.count(3, 1);
    await inBatches(Array.from({ length: bookingRounds }), 3, () => tally.attempt('booking (cancels)', (check) => bookingRace(ctx, racers, check)));
    tally.note(
      `${rounds} paid orders under ${racers} racing refunds, cancels or both; ${bookingRounds} paid bookings under ${racers} racing cancels; refunds read at Stripe`,
    );
    return tally.result();
  },
};
