import * as z from 'zod';
import { defineHttp, type HttpFunctionDef } from '../shared/function-table';
import { problem } from '../shared/http/problem';
import type { PaymentEvent, PaymentEventRoute, PaymentGateway } from '../shared/platform/payments';

/**
 * `POST /api/v1/webhooks/stripe`: the signature is checked over the raw body (a re-serialised body
 * would not verify), then the event goes to the slice whose metadata key its PaymentIntent carries;
 * slow work leaves through the outbox, so Stripe gets its answer fast. Events no slice acts on are
 * acknowledged so Stripe stops retrying them.
 */
export function stripeWebhookFunction(deps: { payments: Pick<PaymentGateway, 'verifyEvent'>; routes: readonly PaymentEventRoute[] }): HttpFunctionDef {
  return defineHttp<undefined, Record<string, string>, Record<string, string>, PaymentEvent>({
    kind: 'http',
    name: 'webhooks-stripe',
    route: 'v1/webhooks/stripe',
    methods: ['POST'],
    summary: 'Stripe webhook (Stripe-Signature over the raw body)',
    tags: ['webhooks'],
    verify: (request) => {
      const event = deps.payments.verifyEvent(request.rawBody, request.headers['stripe-signature']);
      return event
        ? { ok: true, event }
        : {
            ok: false,
            response: problem(
              400,
              'Invalid signature',
              'The Stripe-Signature header does not verify against this body (or is older than 300 s), or the body is not a Stripe event.',
            ),
          };
    },
    responses: {
      200: { description: 'Acknowledged', schema: z.object({ received: z.literal(true), outcome: z.string() }) },
      400: { description: 'Missing, forged, tampered or stale signature, or not a Stripe event' },
    },
    handler: async ({ event }) => {
      const metadata = event.paymentIntent?.metadata ?? {};
      const route = deps.routes.find((candidate) => metadata[candidate.metadataKey]);
      const outcome = route ? await route.handle(event) : 'ignored';
      return { status: 200, body: { received: true, outcome } };
    },
  });
}
