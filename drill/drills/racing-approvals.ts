/**
 * The customer taps "approve" on a finding many times (two devices, an admin helping out), sometimes
 * while someone declines it: the saved card is charged at most once. Read back at the Stripe
 * sandbox: a PAID finding has exactly one PaymentIntent with one successful charge of its price, a
 * DECLINED one none; and the API's answers agree with what happened.
 */
import type Stripe from 'stripe';
import type { DrillContext } from '../context';
import { type Drill, Tally } from '../drill';
import { type Booking, bookingInWorkshop, getBooking, inBatches } from '../fixtures';

/** The finding's PaymentIntents (the booking's Stripe customer is its own) and their successful charges. */
async function chargesOf(ctx: DrillContext, booking: Booking, findingId: string): Promise<{ intents: Stripe.PaymentIntent[]; charges: Stripe.Charge[] }> {
  const bookingIntent = await ctx.stripe.paymentIntents.retrieve(booking.paymentIntentId);
  const customer = typeof bookingIntent.customer === 'string' ? bookingIntent.customer : bookingIntent.customer?.id;
  const intents: Stripe.PaymentIntent[] = [];
  for await (const intent of ctx.stripe.paymentIntents.list({ customer, limit: 100 })) if (intent.metadata.findingId === findingId) intents.push(intent);
  const charges: Stripe.Charge[] = [];
  for (const intent of intents) {
    for await (const charge of ctx.stripe.charges.list({ payment_intent: intent.id, limit: 100 })) if (charge.status === 'succeeded') charges.push(charge);
  }
  return { intents, charges };
}

export const racingApprovals: Drill = {
  name: 'racing finding approvals',
  async run(ctx) {
    const tally = new Tally();
    const racers = ctx.count(8, 5);
    const rounds = ctx.count(6, 3);
    const bookings = await inBatches(Array.from({ length: rounds }), 3, () => bookingInWorkshop(ctx));

    await Promise.all(
      bookings.map((booking, round) => {
        // Every third round a decline races the approvals.
        const withDecline = round % 3 === 2;
        return tally.attempt(`booking ${booking.id}${withDecline ? ' (with a decline)' : ''}`, async (check) => {
          const priceCents = 4_990 + round * 10;
          const finding = await ctx.api.expect<{ id: string }>(201, 'POST', `/v1/bookings/${booking.id}/findings`, {
            token: ctx.keys.workshop,
            body: { description: 'Bremsbeläge vorne verschlissen', priceCents },
          });
          const base = `/v1/bookings/${booking.id}/findings/${finding.id}`;
          const calls = Array.from({ length: racers }, (_, i) => ({
            action: 'approve',
            token: i % 2 === 0 ? booking.accessToken : ctx.keys.admin,
          }));
          if (withDecline) calls.splice(Math.floor(racers / 2), 0, { action: 'decline', token: booking.accessToken });
          const answers = await Promise.all(calls.map((call) => ctx.api.call('POST', `${base}/${call.action}`, { token: call.token })));
          check(
            answers.every((answer) => answer.status < 500),
            `answers ${answers.map((answer) => answer.status).join(',')}`,
          );

          const view = await getBooking(ctx, booking);
          const status = view.findings.find((candidate) => candidate.id === finding.id)?.status;
          const { intents, charges } = await chargesOf(ctx, booking, finding.id);
          const approvedAnswers = answers.filter((answer, i) => calls[i]?.action === 'approve' && answer.status === 200);
          if (status === 'PAID') {
            check(intents.length === 1, `${intents.length} PaymentIntents for the finding`);
            check(
              charges.length === 1 && charges[0]?.amount === priceCents,
              `${charges.length} successful charges (${charges.map((c) => c.amount).join(', ')})`,
            );
            check(
              approvedAnswers.every((answer) => (answer.json as { status?: string }).status === 'PAID'),
              'an approval answered 200 with something other than PAID',
            );
          } else if (status === 'DECLINED') {
            check(withDecline, 'declined though nobody declined');
            check(charges.length === 0, `declined, yet ${charges.length} charges at Stripe`);
            check(approvedAnswers.length === 0, `declined, yet ${approvedAnswers.length} approvals answered 200`);
          } else check(false, `the finding ended ${status}`);
        });
      }),
    );
    tally.note(`${bookings.length} findings, each approved ${racers}× at once (customer and admin; every third also declined); charges read at Stripe`);
    return tally.result();
  },
};
