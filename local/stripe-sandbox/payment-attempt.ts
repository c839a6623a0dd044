/**
 * One confirmation of a PaymentIntent with a test card, with the outcomes, charges and events
 * Stripe produces: succeeded, declined (402 + `requires_payment_method`), or 3-D Secure
 * (`requires_action` on-session; 402 `authentication_required` off-session).
 */
import type { HandlerContext } from './context';
import { ApiError } from './errors';
import { newId } from './ids';
import { type LastPaymentError, newCharge, type PaymentIntentObject, snapshot } from './objects';
import { attachPaymentMethod } from './payment-methods';
import type { StoredPaymentMethod } from './store';

const docUrl = (code: string): string => `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}`;

export function attemptPayment(context: HandlerContext, intent: PaymentIntentObject, method: StoredPaymentMethod, options: { offSession: boolean }): void {
  const behaviour = method.card.behaviour;
  if (behaviour.kind === 'succeed') return succeed(context, intent, method, false);
  if (behaviour.kind === 'decline') return decline(context, intent, method, 'card_declined', behaviour.declineCode, behaviour.message);
  if (options.offSession) {
    // Off-session nobody can answer the challenge: Stripe declines and the intent waits for a new attempt.
    return decline(
      context,
      intent,
      method,
      'authentication_required',
      'authentication_required',
      'Your card was declined. This transaction requires authentication.',
    );
  }
  requireAction(context, intent, method);
}

/** The customer passed (or failed) the 3-D Secure challenge of an intent in `requires_action`. */
export function completeAuthentication(context: HandlerContext, intent: PaymentIntentObject, method: StoredPaymentMethod, outcome: 'succeed' | 'fail'): void {
  if (outcome === 'succeed') return succeed(context, intent, method, true);
  const code = 'payment_intent_authentication_failure';
  Object.assign(intent, {
    status: 'requires_payment_method',
    payment_method: null,
    next_action: null,
    last_payment_error: {
      type: 'invalid_request_error',
      code,
      doc_url: docUrl(code),
      message:
        'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
      payment_method: snapshot(method.object),
    } satisfies LastPaymentError,
  });
  context.store.emit('payment_intent.payment_failed', intent, context.request);
}

function succeed(context: HandlerContext, intent: PaymentIntentObject, method: StoredPaymentMethod, threeDSecure: boolean): void {
  const charge = newCharge({ intent, method: method.object, threeDSecure });
  context.store.charges.set(charge.id, charge);
  Object.assign(intent, {
    status: 'succeeded',
    amount_received: intent.amount,
    latest_charge: charge.id,
    payment_method: method.object.id,
    next_action: null,
    last_payment_error: null,
  });
  if (intent.setup_future_usage !== null && intent.customer !== null) {
    attachPaymentMethod(context, method, intent.customer);
  } else if (method.object.customer === null) {
    method.consumed = true;
  }
  context.store.emit('charge.succeeded', charge, context.request);
  context.store.emit('payment_intent.succeeded', intent, context.request);
}

function decline(context: HandlerContext, intent: PaymentIntentObject, method: StoredPaymentMethod, code: string, declineCode: string, message: string): never {
  const charge = newCharge({ intent, method: method.object, failure: { code, declineCode, message }, threeDSecure: false });
  context.store.charges.set(charge.id, charge);
  const error: LastPaymentError = {
    type: 'card_error',
    code,
    decline_code: declineCode,
    doc_url: docUrl(code),
    message,
    charge: charge.id,
    payment_method: snapshot(method.object),
  };
  Object.assign(intent, {
    status: 'requires_payment_method',
    payment_method: null,
    latest_charge: charge.id,
    next_action: null,
    last_payment_error: error,
  });
  context.store.emit('charge.failed', charge, context.request);
  context.store.emit('payment_intent.payment_failed', intent, context.request);
  throw new ApiError(402, {
    type: 'card_error',
    code,
    decline_code: declineCode,
    message,
    charge: charge.id,
    payment_intent: snapshot(intent),
    payment_method: snapshot(method.object),
  });
}

function requireAction(context: HandlerContext, intent: PaymentIntentObject, method: StoredPaymentMethod): void {
  Object.assign(intent, {
    status: 'requires_action',
    payment_method: method.object.id,
    last_payment_error: null,
    next_action: {
      type: 'use_stripe_sdk',
      use_stripe_sdk: {
        type: 'three_d_secure_redirect',
        // Where the sandbox lets the "customer" pass the challenge (POST; see local/stripe-sandbox.ts).
        stripe_js: `${context.baseUrl}/sandbox/payment_intents/${intent.id}/authenticate`,
        source: newId('src'),
      },
    },
  });
  context.store.emit('payment_intent.requires_action', intent, context.request);
}
