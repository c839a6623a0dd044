/**
 * Nothing the process printed during the whole run — the runtime's log lines at every level, what
 * the sandboxes and SDKs wrote to stdout/stderr — contains a secret the app was configured with (API
 * keys, the Stripe secret key and webhook secret, the Driver-App secret, the Odoo password, the
 * channels' callback secrets) or an access token it handed out. Runs last, so it reads what every
 * other drill's faults made the runtime write; first it provokes a few more failures around credentials.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FailureKind } from '../../local/odoo-sandbox';
import type { DrillContext } from '../context';
import { deadLetters, replayEach } from '../dead-letters';
import { type Drill, Tally } from '../drill';
import { createBooking, deliverEvent, payBooking } from '../fixtures';

/** Failures around credentials: near-miss keys, keys where none belongs, forged and stale signatures, Odoo refusing a sync for good. */
async function provoke(ctx: DrillContext): Promise<void> {
  const { admin, orders } = ctx.keys;
  const attempts: Array<[method: string, path: string, headers: Record<string, string>]> = [
    ['GET', '/v1/admin/dead-letters', { authorization: `Bearer ${admin}x` }],
    ['GET', '/v1/admin/dead-letters', { authorization: `Bearer ${admin.slice(0, -1)}` }],
    ['GET', '/v1/admin/dead-letters', { authorization: `Basic ${Buffer.from(`admin:${admin}`).toString('base64')}` }],
    ['GET', '/v1/admin/dead-letters', { authorization: `Bearer ${orders}` }],
    ['GET', `/v1/orders/${encodeURIComponent(admin)}`, { authorization: `Bearer ${orders}` }],
    ['GET', `/v1/admin/dead-letters/${encodeURIComponent(admin)}`, { authorization: `Bearer ${admin}` }],
    ['POST', '/v1/orders', { authorization: `Bearer ${orders}`, 'idempotency-key': admin }],
    ['POST', '/v1/orders', { authorization: `Bearer ${orders}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' }],
  ];
  // The last two carry a body that is not JSON (a key inside it): a parse error that must not quote it.
  for (const [method, path, headers] of attempts) await ctx.api.call(method, path, { headers, body: method === 'POST' ? `{"source": "${admin}",` : undefined });

  const payload = JSON.stringify({ id: `evt_${randomUUID()}`, object: 'event', type: 'payment_intent.succeeded', data: { object: {} } });
  await deliverEvent(ctx, payload, Math.floor(Date.now() / 1000) - 3_600);
  await ctx.api.call('POST', '/v1/webhooks/stripe', { body: payload, headers: { 'stripe-signature': `t=1,v1=${ctx.stripeWebhookSecret}` } });
  await ctx.api.call('POST', '/v1/webhooks/driver-app', { body: '{}', headers: { 'x-webhook-signature': 'f'.repeat(64), 'x-webhook-timestamp': '1' } });

  // Odoo refuses syncs for good (a validation error, a parse error, HTTP 400): dead-lettered with the error logged, then replayed.
  const kinds: FailureKind[] = ['validation', 'parseError', 'http400', 'valueError'];
  const bookings = [];
  for (const kind of kinds) {
    const booking = await createBooking(ctx);
    ctx.odoo.failNext(1, kind);
    await payBooking(ctx, booking);
    bookings.push(booking);
    await sleep(300);
  }
  await ctx.quiesce({ queues: ['odoo-sync'] }).catch(() => undefined);
  ctx.odoo.reset();
  const subjects = new Set(bookings.map((booking) => booking.id));
  await replayEach(ctx, 'odoo-sync', await deadLetters(ctx, 'odoo-sync', subjects));
  await ctx.quiesce({ queues: ['odoo-sync'] }).catch(() => undefined);
}

/** The neighbourhood of a secret in the output, with the secret itself masked (the report must not print it either). */
function excerpt(text: string, at: number, secret: string): string {
  const around = text.slice(Math.max(0, at - 120), at + secret.length + 120);
  return JSON.stringify(around.split(secret).join('<the secret>'));
}

export const secretsInOutput: Drill = {
  name: 'secrets in the output',
  async run(ctx) {
    const tally = new Tally();
    await provoke(ctx);

    // A canary through the app's own logger: its line must be captured, its credential-named fields redacted.
    const canary = `drill-canary-${randomUUID()}`;
    const driverSecret = ctx.secrets.get('Driver-App secret') ?? '';
    ctx.runtime.composition.services.log.warn(canary, { driverAppSecret: driverSecret, headers: { authorization: `Bearer ${ctx.keys.admin}` } });

    const text = ctx.output.text();
    await tally.attempt('the capture', async (check) => {
      check(text.includes(canary), 'the log lines of the runtime were not captured: there is nothing to search');
    });
    const issued = [...ctx.secrets].filter(([what]) => what.startsWith('access token'));
    const configured = [...ctx.secrets].filter(([what]) => !what.startsWith('access token'));
    for (const [what, secret] of configured) {
      await tally.attempt(what, async (check) => {
        const at = text.indexOf(secret);
        check(at < 0, `printed: ${at < 0 ? '' : excerpt(text, at, secret)}`);
      });
    }
    await tally.attempt(`${issued.length} booking access tokens`, async (check) => {
      for (const [what, secret] of issued) {
        const at = text.indexOf(secret);
        check(at < 0, `${what} printed: ${at < 0 ? '' : excerpt(text, at, secret)}`);
      }
    });
    const lines = ctx.output.lines().length;
    tally.note(
      `${configured.length} configured secrets and ${issued.length} access tokens searched in ${(text.length / 1024).toFixed(0)} KB (${lines} lines) of stdout/stderr from the whole run`,
    );
    return tally.result();
  },
};
