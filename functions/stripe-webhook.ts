import { z } from 'zod';
import { handleStripeEvent, type StripeEventDeps } from '../slices/bookings/app/handle-stripe-event';
import type { PaymentGateway } from '../shared/platform/payments';
import { defineHttp, type HttpFunctionDef } from '../shared/function-table';
import { problem } from '../shared/http/problem';

/**
 * `POST /api/v1/webhooks/stripe`: the signature is checked over the raw body (a re-serialised body
 * would not verify), then the event is applied; slow work leaves through the outbox, so Stripe gets
 * its answer fast. Events we do not act on are acknowledged so Stripe stops retrying them.
 */
export function stripeWebhookFunction(deps: StripeEventDeps & { payments: Pick<PaymentGateway, 'verifyEvent'> }): HttpFunctionDef {
  return defineHttp({
    kind: 'http',
    name: 'webhooks-stripe',
    route: 'v1/webhooks/stripe',
    methods: ['POST'],
    summary: 'Stripe webhook (Stripe-Signature over the raw body)',
    tags: ['webhooks'],
    rawBody: true,
    responses: {
      200: { description: 'Acknowledged', schema: z.object({ received: z.literal(true), outcome: z.string() }) },
      400: { description: 'Missing, forged, tampered or stale signature, or not a Stripe event' },
    },
    handler: async ({ request }) => {
      const event = deps.payments.verifyEvent(request.rawBody, request.headers['stripe-signature']);
      if (!event) return problem(400, 'Invalid signature', 'The Stripe-Signature header does not verify against this body (or is older than 300 s), or the body is not a Stripe event.');
      const outcome = await handleStripeEvent(deps, event);
      return { status: 200, body: { received: true, outcome } };
    },
  });
}
