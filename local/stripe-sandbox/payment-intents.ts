/** /v1/payment_intents and the sandbox-only 3-D Secure endpoint. */
import { type HandlerContext, type HandlerResult, ok, type Route } from './context';
import { findCustomer } from './customers';
import { badParam, invalidRequest, noSuch } from './errors';
import type { FormObject } from './form';
import { LIST_PARAMS, paginate } from './lists';
import { newPaymentIntent, type PaymentIntentObject, type PaymentIntentStatus, snapshot } from './objects';
import { applyMetadata, initialMetadata, Params } from './params';
import { attemptPayment, completeAuthentication } from './payment-attempt';
import { resolvePaymentMethod } from './payment-methods';

const CONFIRMABLE: PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
const CANCELABLE: PaymentIntentStatus[] = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
const FUTURE_USAGE = ['off_session', 'on_session'] as const;
// Stripe's minimum charge amounts for the currencies this project is likely to see.
const MINIMUM_AMOUNT: Record<string, number> = { eur: 50, usd: 50, chf: 50, cad: 50, aud: 50, gbp: 30 };
const MAXIMUM_AMOUNT = 99_999_999;

function findIntent(context: HandlerContext, id: string): PaymentIntentObject {
  const intent = context.store.paymentIntents.get(id);
  if (!intent) throw noSuch('payment_intent', id, 'intent', true);
  return intent;
}

/** A publishable key must present the intent's client_secret; a secret key may. */
function checkClientSecret(context: HandlerContext, params: Params, intent: PaymentIntentObject): void {
  const secret = params.string('client_secret', { required: context.keyType === 'publishable' });
  if (secret !== undefined && secret !== intent.client_secret) {
    throw badParam('The client_secret provided does not match the client_secret associated with the PaymentIntent.', 'client_secret');
  }
}

const unexpectedState = (intent: PaymentIntentObject, message: string) =>
  invalidRequest(message, { code: 'payment_intent_unexpected_state', payment_intent: snapshot(intent) });

function readAmount(params: Params, currency: string | undefined, required: boolean): number | undefined {
  const amount = params.integer('amount', { required, min: 1 });
  if (amount === undefined) return undefined;
  const minimum = currency === undefined ? undefined : MINIMUM_AMOUNT[currency];
  if (minimum !== undefined && amount < minimum) {
    throw badParam(`Amount must be at least ${(minimum / 100).toFixed(2)} ${currency}`, 'amount', 'amount_too_small');
  }
  if (amount > MAXIMUM_AMOUNT) throw badParam(`Amount must be no more than ${MAXIMUM_AMOUNT}`, 'amount', 'amount_too_large');
  return amount;
}

function readCurrency(params: Params, required: boolean): string | undefined {
  const currency = params.string('currency', { required })?.toLowerCase();
  if (currency !== undefined && !/^[a-z]{3}$/.test(currency)) throw badParam(`Invalid currency: ${currency}`, 'currency');
  return currency;
}

/** `off_session`: a boolean, or `one_off` / `recurring` (both mean true). */
function readOffSession(params: Params): boolean | undefined {
  const value = params.string('off_session');
  if (value === undefined) return undefined;
  if (value === 'one_off' || value === 'recurring' || value === 'true') return true;
  if (value === 'false') return false;
  throw badParam(`Invalid off_session: must be a boolean, one_off or recurring`, 'off_session');
}

function readPaymentMethodTypes(params: Params): { types: string[]; automatic: PaymentIntentObject['automatic_payment_methods'] } {
  const types = params.stringArray('payment_method_types');
  const automatic = params.object('automatic_payment_methods');
  if (types !== undefined && automatic) {
    throw badParam('You may only specify one of these parameters: automatic_payment_methods, payment_method_types.', 'payment_method_types');
  }
  if (types !== undefined) {
    const unsupported = types.find((type) => type !== 'card');
    if (unsupported !== undefined) {
      throw badParam(`The payment method type "${unsupported}" is not supported by the Stripe sandbox (cards only).`, 'payment_method_types');
    }
    return { types: ['card'], automatic: null };
  }
  const enabled = automatic?.enabled;
  const redirects = automatic?.allow_redirects;
  if (enabled !== undefined && enabled !== 'true' && enabled !== 'false') {
    throw badParam('Invalid boolean', 'automatic_payment_methods[enabled]');
  }
  if (redirects !== undefined && redirects !== 'always' && redirects !== 'never') {
    throw badParam('Invalid automatic_payment_methods[allow_redirects]: must be one of always, never', 'automatic_payment_methods[allow_redirects]');
  }
  // Since API version 2023-08-16 automatic payment methods are on unless types are listed.
  return {
    types: ['card'],
    automatic: enabled === 'false' ? { enabled: false } : { enabled: true, ...(redirects !== undefined && { allow_redirects: redirects }) },
  };
}

const CREATE_PARAMS = [
  'amount',
  'currency',
  'customer',
  'setup_future_usage',
  'metadata',
  'payment_method',
  'payment_method_types',
  'automatic_payment_methods',
  'confirm',
  'off_session',
  'return_url',
  'description',
  'receipt_email',
  'statement_descriptor',
  'statement_descriptor_suffix',
  'capture_method',
  'confirmation_method',
];

function create(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, CREATE_PARAMS);
  const currency = readCurrency(params, true) as string;
  const amount = readAmount(params, currency, true) as number;
  const customerId = params.string('customer');
  if (customerId !== undefined) findCustomer(context, customerId, 'customer', false);
  const confirm = params.boolean('confirm') ?? false;
  const offSession = readOffSession(params);
  if (offSession !== undefined && !confirm) {
    throw badParam('You can only specify `off_session` when `confirm` is set to true.', 'off_session');
  }
  if (params.has('return_url') && !confirm) throw badParam('You can only specify `return_url` when `confirm` is set to true.', 'return_url');
  params.string('return_url');
  const methodId = params.string('payment_method');
  if (confirm && methodId === undefined) {
    throw badParam('You must provide a `payment_method` to confirm this PaymentIntent on creation.', 'payment_method', 'parameter_missing');
  }
  if (methodId !== undefined) resolvePaymentMethod(context, methodId, { param: 'payment_method', customer: customerId ?? null, create: false });
  const captureMethod = params.oneOf('capture_method', ['automatic', 'automatic_async', 'manual']);
  if (captureMethod === 'manual') throw badParam('capture_method=manual is not supported by the Stripe sandbox.', 'capture_method');
  if (params.oneOf('confirmation_method', ['automatic', 'manual']) === 'manual') {
    throw badParam('confirmation_method=manual is not supported by the Stripe sandbox.', 'confirmation_method');
  }
  const { types, automatic } = readPaymentMethodTypes(params);

  const intent = newPaymentIntent({
    amount,
    currency,
    customer: customerId ?? null,
    automatic_payment_methods: automatic,
    payment_method_types: types,
    capture_method: captureMethod ?? 'automatic',
    description: params.string('description', { max: 1000 }) ?? null,
    receipt_email: params.string('receipt_email', { max: 800 }) ?? null,
    setup_future_usage: params.oneOf('setup_future_usage', FUTURE_USAGE) ?? null,
    statement_descriptor: params.string('statement_descriptor', { max: 22 }) ?? null,
    statement_descriptor_suffix: params.string('statement_descriptor_suffix', { max: 22 }) ?? null,
    metadata: initialMetadata(params.metadata()),
    status: methodId === undefined ? 'requires_payment_method' : 'requires_confirmation',
  });
  const method =
    methodId === undefined ? undefined : resolvePaymentMethod(context, methodId, { param: 'payment_method', customer: intent.customer, create: true });
  if (method) intent.payment_method = method.object.id;
  context.store.paymentIntents.set(intent.id, intent);
  context.store.emit('payment_intent.created', intent, context.request);
  if (confirm && method) attemptPayment(context, intent, method, { offSession: offSession ?? false });
  return ok(intent);
}

function confirm(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  const intent = findIntent(context, id);
  const params = new Params(form, ['payment_method', 'off_session', 'return_url', 'setup_future_usage', 'receipt_email', 'client_secret']);
  checkClientSecret(context, params, intent);
  if (!CONFIRMABLE.includes(intent.status)) {
    throw unexpectedState(
      intent,
      `This PaymentIntent's status is ${intent.status}, but it can only be confirmed when its status is one of: ${CONFIRMABLE.join(', ')}.`,
    );
  }
  const offSession = readOffSession(params) ?? false;
  params.string('return_url');
  const futureUsage = params.has('setup_future_usage') && params.all.setup_future_usage === '' ? null : params.oneOf('setup_future_usage', FUTURE_USAGE);
  const receiptEmail = params.string('receipt_email', { max: 800 });
  const methodId = params.string('payment_method') ?? intent.payment_method;
  if (methodId === null) {
    throw unexpectedState(
      intent,
      "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm it, update it with a payment method or provide one in the confirm call.",
    );
  }
  resolvePaymentMethod(context, methodId, { param: 'payment_method', customer: intent.customer, create: false });

  if (futureUsage !== undefined) intent.setup_future_usage = futureUsage;
  if (receiptEmail !== undefined) intent.receipt_email = receiptEmail;
  const method = resolvePaymentMethod(context, methodId, { param: 'payment_method', customer: intent.customer, create: true });
  intent.payment_method = method.object.id;
  attemptPayment(context, intent, method, { offSession });
  return ok(intent);
}

function update(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  const intent = findIntent(context, id);
  const params = new Params(form, [
    'amount',
    'currency',
    'customer',
    'description',
    'metadata',
    'payment_method',
    'receipt_email',
    'setup_future_usage',
    'statement_descriptor',
    'statement_descriptor_suffix',
  ]);
  const paymentFields = ['amount', 'currency', 'customer', 'payment_method', 'setup_future_usage', 'statement_descriptor', 'statement_descriptor_suffix'];
  const touched = paymentFields.find((name) => params.has(name));
  if (touched !== undefined && !CONFIRMABLE.includes(intent.status)) {
    throw unexpectedState(intent, `You cannot update ${touched} on this PaymentIntent because it has a status of ${intent.status}.`);
  }
  const currency = readCurrency(params, false) ?? intent.currency;
  const amount = readAmount(params, currency, false);
  const customerId = params.string('customer');
  if (customerId !== undefined) findCustomer(context, customerId, 'customer', false);
  const customer = customerId ?? intent.customer;
  const methodId = params.string('payment_method');
  if (methodId !== undefined) resolvePaymentMethod(context, methodId, { param: 'payment_method', customer, create: false });
  const futureUsage = params.has('setup_future_usage') && params.all.setup_future_usage === '' ? null : params.oneOf('setup_future_usage', FUTURE_USAGE);
  const description = params.nullableString('description', { max: 1000 });
  const receiptEmail = params.nullableString('receipt_email', { max: 800 });
  const descriptor = params.nullableString('statement_descriptor', { max: 22 });
  const suffix = params.nullableString('statement_descriptor_suffix', { max: 22 });
  const metadata = params.metadata();

  if (amount !== undefined) intent.amount = amount;
  intent.currency = currency;
  intent.customer = customer;
  if (futureUsage !== undefined) intent.setup_future_usage = futureUsage;
  if (description !== undefined) intent.description = description;
  if (receiptEmail !== undefined) intent.receipt_email = receiptEmail;
  if (descriptor !== undefined) intent.statement_descriptor = descriptor;
  if (suffix !== undefined) intent.statement_descriptor_suffix = suffix;
  intent.metadata = applyMetadata(intent.metadata, metadata);
  if (methodId !== undefined) {
    intent.payment_method = resolvePaymentMethod(context, methodId, { param: 'payment_method', customer, create: true }).object.id;
  }
  // A pending 3-D Secure challenge no longer applies once what is being paid changes.
  if (touched !== undefined && intent.status !== 'requires_payment_method') {
    Object.assign(intent, { status: intent.payment_method ? 'requires_confirmation' : 'requires_payment_method', next_action: null });
  } else if (intent.status === 'requires_payment_method' && intent.payment_method !== null) {
    intent.status = 'requires_confirmation';
  }
  return ok(intent);
}

function cancel(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  const intent = findIntent(context, id);
  const params = new Params(form, ['cancellation_reason']);
  const reason = params.oneOf('cancellation_reason', ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']);
  if (!CANCELABLE.includes(intent.status)) {
    throw unexpectedState(
      intent,
      `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
    );
  }
  Object.assign(intent, { status: 'canceled', canceled_at: Math.floor(Date.now() / 1000), cancellation_reason: reason ?? null, next_action: null });
  context.store.emit('payment_intent.canceled', intent, context.request);
  return ok(intent);
}

function retrieve(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  const intent = findIntent(context, id);
  checkClientSecret(context, new Params(form, ['client_secret']), intent);
  return ok(intent);
}

function list(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, ['customer', ...LIST_PARAMS]);
  const customer = params.string('customer');
  const all = [...context.store.paymentIntents.values()].filter((intent) => customer === undefined || intent.customer === customer);
  return ok(paginate(all, params, '/v1/payment_intents'));
}

/** Sandbox only: the customer answers the 3-D Secure challenge (`outcome=fail` to refuse it). */
function authenticate(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  const intent = findIntent(context, id);
  const outcome = new Params(form, ['outcome']).oneOf('outcome', ['succeed', 'fail']) ?? 'succeed';
  const method = intent.payment_method === null ? undefined : context.store.paymentMethods.get(intent.payment_method);
  if (intent.status !== 'requires_action' || !method) {
    throw unexpectedState(intent, `This PaymentIntent's status is ${intent.status}; only a PaymentIntent in requires_action can be authenticated.`);
  }
  completeAuthentication(context, intent, method, outcome);
  return ok(intent);
}

export const paymentIntentRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/payment_intents$/, handler: create },
  { method: 'GET', pattern: /^\/v1\/payment_intents$/, handler: list },
  { method: 'GET', pattern: /^\/v1\/payment_intents\/([^/]+)$/, handler: retrieve, access: 'publishable' },
  { method: 'POST', pattern: /^\/v1\/payment_intents\/([^/]+)$/, handler: update },
  { method: 'POST', pattern: /^\/v1\/payment_intents\/([^/]+)\/confirm$/, handler: confirm, access: 'publishable' },
  { method: 'POST', pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/, handler: cancel },
  { method: 'POST', pattern: /^\/sandbox\/payment_intents\/([^/]+)\/authenticate$/, handler: authenticate, access: 'open' },
];
