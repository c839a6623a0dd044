/**
 * A fuzz pass over every HTTP function of the function table (fast-check, one request at a time):
 * never a 5xx; every refusal is problem+json; a refused request writes nothing — no table row, no
 * Stripe object, no Odoo record, no trip, no e-mail, no job, no dead letter; and a free-text field
 * with a control character, NUL or a lone surrogate, or a webhook without a valid signature, is
 * always refused.
 */
import { randomUUID } from 'node:crypto';
import type { HttpFunctionDef } from '../../shared/function-table';
import { QUEUE_NAMES } from '../../shared/platform/queues';
import { type Answer, isProblem } from '../client';
import type { DrillContext } from '../context';
import { type Drill, Tally } from '../drill';
import { acceptedTrips, bookingInWorkshop, createBooking, createOrder, createPayment, paidOrder } from '../fixtures';
import { type FuzzTargets, generateProbes, type Probe, routesOf } from '../fuzz-probes';
import { WriteWatch } from '../write-watch';

/** Refusals that come before the operation runs: these keep no idempotency record either. */
const BEFORE_THE_OPERATION = new Set([400, 401, 403, 405, 413, 415, 429]);

/** Real things to aim at: bookings, a finding, orders, payments, a customer, queues, trips, callback deliveries. */
async function makeTargets(ctx: DrillContext): Promise<FuzzTargets> {
  const inWorkshop = await bookingInWorkshop(ctx);
  const finding = await ctx.api.expect<{ id: string }>(201, 'POST', `/v1/bookings/${inWorkshop.id}/findings`, {
    token: ctx.keys.workshop,
    body: { description: 'Wischerblätter', priceCents: 2_990 },
  });
  const unpaid = await createBooking(ctx);
  const pending = await createOrder(ctx);
  const paid = await paidOrder(ctx);
  const open = await createPayment(ctx, (await createOrder(ctx)).id);
  const deliveries = await ctx.api.expect<{ items: Array<{ id: string }> }>(200, 'GET', '/v1/admin/callbacks?limit=3', { token: ctx.keys.admin });
  return {
    keys: ctx.keys,
    bookingToken: inWorkshop.accessToken,
    ids: {
      'bookings:id': [inWorkshop.id, unpaid.id],
      'bookings:findingId': [finding.id],
      'bookings:leg': ['pickup', 'delivery'],
      'orders:id': [pending.id, paid.order.id],
      'orders:source': ['pos', 'b2b'],
      'orders:externalId': [pending.externalId],
      'customers:id': [pending.customerId],
      'payments:id': [paid.payment.id, open.id],
      'payments:orderId': [pending.id, paid.order.id],
      'admin:queue': [...QUEUE_NAMES],
      'admin:messageId': [randomUUID()],
      'admin:deliveryId': deliveries.items.map((item) => item.id),
      'driver:tripId': acceptedTrips(ctx, inWorkshop, 'pickup').map((trip) => trip.tripId),
      'stripe:paymentIntent': [inWorkshop.paymentIntentId, paid.payment.providerRef, open.providerRef],
    },
    stripeWebhookSecret: ctx.stripeWebhookSecret,
    driverSecret: ctx.secrets.get('Driver-App secret') ?? '',
    signStripe: (payload, secret) => ctx.stripe.webhooks.generateTestHeaderString({ payload, secret }),
  };
}

/** Sends a probe; undefined when fetch cannot send it at all (a header value that is not a ByteString). */
async function send(ctx: DrillContext, probe: Probe): Promise<Answer | undefined> {
  const headers = new Headers();
  try {
    if (probe.token !== undefined) headers.set('authorization', `Bearer ${probe.token}`);
    for (const [name, value] of Object.entries(probe.headers)) headers.set(name, value);
    if (probe.contentType !== undefined) headers.set('content-type', probe.contentType);
  } catch {
    return undefined;
  }
  const bodyless = probe.method === 'GET' || probe.method === 'HEAD';
  const response = await fetch(`${ctx.api.baseUrl}${probe.path}`, { method: probe.method, headers, body: bodyless ? undefined : probe.body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

const describeProbe = (probe: Probe) =>
  `${probe.method} ${probe.path.slice(0, 120)} [${probe.kind}${probe.mustRefuse ? `: ${probe.mustRefuse}` : ''}] body ${JSON.stringify((probe.body ?? '').slice(0, 160))}`;

export const fuzzRoutes: Drill = {
  name: 'fuzz every route',
  async run(ctx) {
    const tally = new Tally();
    const defs = ctx.runtime.composition.functions.filter((def): def is HttpFunctionDef => def.kind === 'http');
    const targets = await makeTargets(ctx);
    await ctx.quiesce();
    const probes = generateProbes(defs, targets, ctx.count(22, 7), ctx.seed);
    const watch = new WriteWatch(ctx);
    // Without this, "a refusal wrote nothing" could hold with a detector that sees nothing.
    await tally.attempt('the write detector', async (check) => {
      const mark = await watch.mark();
      await createBooking(ctx);
      await createPayment(ctx, (await createOrder(ctx)).id);
      await ctx.quiesce();
      const seen = await watch.writesSince(mark, { idempotency: true });
      const expected = ['Bookings', 'Orders', 'Customers', 'OrderIndex', 'IdempotencyKeys', 'Stripe PaymentIntents', 'Stripe customers', 'jobs sent'];
      for (const what of expected) {
        check(
          seen.some((line) => line.startsWith(what)),
          `a new booking, order and payment wrote ${seen.join(', ') || 'nothing'}: the detector missed ${what}`,
        );
      }
    });
    const hit = new Set<string>();
    const statuses = new Map<string, number>();
    let skipped = 0;

    for (const probe of probes) {
      const mark = await watch.mark();
      const answer = await send(ctx, probe);
      if (!answer) {
        skipped += 1;
        continue;
      }
      hit.add(probe.target);
      const status = answer.status < 400 ? `${String(answer.status).charAt(0)}xx` : String(answer.status);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      await tally.attempt(`${describeProbe(probe)} → ${answer.status} ${answer.text.slice(0, 200)}`, async (check) => {
        check(answer.status < 500, `answered ${answer.status}`);
        if (probe.mustRefuse) check(answer.status >= 400, `accepted with ${answer.status}`);
        if (answer.status < 400) return;
        check(isProblem(answer), `${answer.status} is not problem+json`);
        await ctx.stripeSandbox.idle();
        const writes = await watch.writesSince(mark, { idempotency: BEFORE_THE_OPERATION.has(answer.status) });
        check(writes.length === 0, `refused, yet wrote ${writes.join(', ')}`);
      });
      if (answer.status < 400) {
        // Accepted: its writes and the jobs it caused are legitimate; let them finish before the next mark.
        await ctx.quiesce({ timeoutMs: 20_000 }).catch(() => undefined);
      }
    }

    const routes = routesOf(defs);
    const missed = routes.filter((route) => !hit.has(route));
    await tally.attempt('coverage', async (check) => {
      check(missed.length === 0, `routes never probed: ${missed.join(', ')}`);
    });
    const textRule = probes.filter((probe) => probe.kind === 'text rule').length;
    const answered = [...statuses]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status}×${n}`)
      .join(' ');
    tally.note(
      `${probes.length - skipped} requests over ${routes.length} routes and unknown paths (seed ${ctx.seed}; ${textRule} text-rule probes): ${answered}`,
    );
    return tally.result();
  },
};
