/** /v1/refunds: full or partial refunds of a succeeded PaymentIntent (or charge), always `succeeded`. */
import { type HandlerContext, type HandlerResult, ok, type Route } from './context';
import { badParam, invalidRequest, noSuch } from './errors';
import type { FormObject } from './form';
import { LIST_PARAMS, paginate } from './lists';
import { type ChargeObject, newRefund, type RefundObject, snapshot } from './objects';
import { applyMetadata, initialMetadata, Params } from './params';

const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

/** The charge a refund applies to, from `payment_intent` or `charge`. */
function chargeToRefund(context: HandlerContext, params: Params): ChargeObject {
  const intentId = params.string('payment_intent');
  const chargeId = params.string('charge');
  if (intentId === undefined && chargeId === undefined) {
    throw badParam('One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent', 'parameter_missing');
  }
  if (chargeId !== undefined) {
    const charge = context.store.charges.get(chargeId);
    if (!charge) throw noSuch('charge', chargeId, 'charge', false);
    if (intentId !== undefined && charge.payment_intent !== intentId) {
      throw badParam(`Charge ${chargeId} does not belong to PaymentIntent ${intentId}.`, 'charge');
    }
    if (charge.status !== 'succeeded')
      throw invalidRequest(`Charge ${chargeId} has not succeeded and cannot be refunded.`, { param: 'charge', code: 'charge_not_refundable' });
    return charge;
  }
  const intent = context.store.paymentIntents.get(intentId as string);
  if (!intent) throw noSuch('payment_intent', intentId as string, 'payment_intent', false);
  const charge = intent.latest_charge === null ? undefined : context.store.charges.get(intent.latest_charge);
  if (intent.status !== 'succeeded' || charge?.status !== 'succeeded') {
    throw invalidRequest(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, {
      param: 'payment_intent',
      code: 'payment_intent_unexpected_state',
      payment_intent: snapshot(intent),
    });
  }
  return charge;
}

const money = (amount: number, currency: string): string => `${(amount / 100).toFixed(2)} ${currency}`;

function create(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, ['payment_intent', 'charge', 'amount', 'reason', 'metadata']);
  const requested = params.integer('amount', { min: 1 });
  const reason = params.oneOf('reason', REASONS) ?? null;
  const metadata = initialMetadata(params.metadata());
  const charge = chargeToRefund(context, params);
  const remaining = charge.amount_captured - charge.amount_refunded;
  if (remaining <= 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
  const amount = requested ?? remaining;
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${money(amount, charge.currency)}) is greater than unrefunded amount on charge (${money(remaining, charge.currency)})`,
      { param: 'amount', code: 'amount_too_large' },
    );
  }

  const refund = newRefund(charge, amount, reason, metadata);
  context.store.refunds.set(refund.id, refund);
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded, refunds: snapshot(charge.refunds) };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount_captured;
  charge.refunds.data.unshift(refund);
  context.store.emit('refund.created', refund, context.request);
  context.store.emit('charge.refunded', charge, context.request, previous);
  return ok(refund);
}

function findRefund(context: HandlerContext, id: string): RefundObject {
  const refund = context.store.refunds.get(id);
  if (!refund) throw noSuch('refund', id, 'id', true);
  return refund;
}

function update(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  const refund = findRefund(context, id);
  const patch = new Params(form, ['metadata']).metadata();
  const previous = { metadata: refund.metadata };
  refund.metadata = applyMetadata(refund.metadata, patch);
  // The charge's embedded copy is the same object, so it follows.
  if (patch !== undefined) context.store.emit('refund.updated', refund, context.request, previous);
  return ok(refund);
}

function list(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, ['payment_intent', 'charge', ...LIST_PARAMS]);
  const intent = params.string('payment_intent');
  const charge = params.string('charge');
  const all = [...context.store.refunds.values()].filter(
    (refund) => (intent === undefined || refund.payment_intent === intent) && (charge === undefined || refund.charge === charge),
  );
  return ok(paginate(all, params, '/v1/refunds'));
}

export const refundRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/refunds$/, handler: create },
  { method: 'GET', pattern: /^\/v1\/refunds$/, handler: list },
  {
    method: 'GET',
    pattern: /^\/v1\/refunds\/([^/]+)$/,
    handler: (context, form, [id = '']) => {
      new Params(form, []);
      return ok(findRefund(context, id));
    },
  },
  { method: 'POST', pattern: /^\/v1\/refunds\/([^/]+)$/, handler: update },
];
