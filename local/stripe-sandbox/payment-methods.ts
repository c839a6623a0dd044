/** PaymentMethods: test tokens become fresh `pm_…` objects; attachment follows Stripe's reuse rules. */
import { testCardOf } from './cards';
import { type HandlerContext, type HandlerResult, ok, type Route } from './context';
import { badParam, noSuch } from './errors';
import type { FormObject } from './form';
import { LIST_PARAMS, paginate } from './lists';
import { newPaymentMethod, type PaymentMethodObject } from './objects';
import { Params } from './params';
import type { StoredPaymentMethod } from './store';

/**
 * The PaymentMethod a payment or customer names, checked against Stripe's rules for reuse.
 * A test token creates a new PaymentMethod only when `create` is true (the caller is about to
 * use it), so a request that fails validation stores nothing.
 */
export function resolvePaymentMethod(
  context: HandlerContext,
  id: string,
  options: { param: string; customer: string | null; create: boolean },
): StoredPaymentMethod {
  const card = testCardOf(id);
  if (card) {
    const stored: StoredPaymentMethod = { object: newPaymentMethod(card), card, consumed: false };
    if (options.create) context.store.paymentMethods.set(stored.object.id, stored);
    return stored;
  }
  const stored = context.store.paymentMethods.get(id);
  if (!stored) throw noSuch('PaymentMethod', id, options.param, false);
  const owner = stored.object.customer;
  if (owner !== null && owner !== options.customer) {
    throw badParam(
      options.customer === null
        ? `The provided PaymentMethod belongs to a Customer (${owner}); pass that customer as well.`
        : `The provided PaymentMethod does not belong to the Customer ${options.customer}.`,
      options.param,
    );
  }
  if (owner === null && stored.consumed) {
    throw badParam(
      'The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.',
      options.param,
    );
  }
  return stored;
}

/** Attaches once; emits `payment_method.attached`. */
export function attachPaymentMethod(context: HandlerContext, stored: StoredPaymentMethod, customer: string): void {
  if (stored.object.customer === customer) return;
  stored.object.customer = customer;
  context.store.emit('payment_method.attached', stored.object, context.request);
}

function retrieve(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  new Params(form, []);
  const card = testCardOf(id);
  // The catalogue view of a token: what using it would create.
  if (card) return ok(newPaymentMethod(card, id));
  const stored = context.store.paymentMethods.get(id);
  if (!stored) throw noSuch('payment_method', id, 'payment_method', true);
  return ok(stored.object);
}

function listFor(context: HandlerContext, params: Params, customer: string, url: string): HandlerResult {
  if (!context.store.customers.has(customer)) throw noSuch('customer', customer, 'customer', url.startsWith('/v1/customers'));
  params.oneOf('type', ['card']);
  const methods: PaymentMethodObject[] = [];
  for (const stored of context.store.paymentMethods.values()) {
    if (stored.object.customer === customer) methods.push(stored.object);
  }
  return ok(paginate(methods, params, url));
}

export const paymentMethodRoutes: Route[] = [
  { method: 'GET', pattern: /^\/v1\/payment_methods\/([^/]+)$/, handler: retrieve },
  {
    method: 'GET',
    pattern: /^\/v1\/payment_methods$/,
    handler: (context, form) => {
      const params = new Params(form, ['customer', 'type', ...LIST_PARAMS]);
      return listFor(context, params, params.string('customer', { required: true }) as string, '/v1/payment_methods');
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/customers\/([^/]+)\/payment_methods$/,
    handler: (context, form, [customer = '']) =>
      listFor(context, new Params(form, ['type', ...LIST_PARAMS]), customer, `/v1/customers/${customer}/payment_methods`),
  },
];
