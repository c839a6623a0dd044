/** /v1/customers: create, retrieve, update, delete, list (filter by exact, case-sensitive e-mail). */
import { type HandlerContext, type HandlerResult, ok, type Route } from './context';
import { badParam, noSuch } from './errors';
import type { FormObject } from './form';
import { LIST_PARAMS, paginate } from './lists';
import { type Address, type CustomerObject, emptyAddress, newCustomer, snapshot } from './objects';
import { applyMetadata, initialMetadata, Params } from './params';
import { attachPaymentMethod, resolvePaymentMethod } from './payment-methods';

const WRITABLE = ['email', 'name', 'phone', 'description', 'metadata', 'address', 'preferred_locales', 'payment_method', 'invoice_settings'];
const ADDRESS_FIELDS = ['city', 'country', 'line1', 'line2', 'postal_code', 'state'] as const;

export function findCustomer(context: HandlerContext, id: string, param: string, inPath: boolean): CustomerObject {
  const customer = context.store.customers.get(id);
  if (!customer) throw noSuch('customer', id, param, inPath);
  return customer;
}

function readAddress(params: Params): Address | null | undefined {
  const raw = params.object('address');
  if (raw === null || raw === undefined) return raw;
  const address = emptyAddress();
  for (const [key, value] of Object.entries(raw)) {
    if (!(ADDRESS_FIELDS as readonly string[]).includes(key)) {
      throw badParam(`Received unknown parameter: address[${key}]`, `address[${key}]`, 'parameter_unknown');
    }
    if (typeof value !== 'string') throw badParam(`Invalid address[${key}]`, `address[${key}]`);
    address[key as keyof Address] = value === '' ? null : value;
  }
  return address;
}

function readDefaultPaymentMethod(params: Params): string | null | undefined {
  const settings = params.object('invoice_settings');
  if (settings === null || settings === undefined) return settings === null ? null : undefined;
  for (const key of Object.keys(settings)) {
    if (key !== 'default_payment_method') {
      throw badParam(`Received unknown parameter: invoice_settings[${key}]`, `invoice_settings[${key}]`, 'parameter_unknown');
    }
  }
  const value = settings.default_payment_method;
  if (value !== undefined && typeof value !== 'string') throw badParam('Invalid string', 'invoice_settings[default_payment_method]');
  return value === undefined ? undefined : value === '' ? null : value;
}

/** Reads every writable field; the payment method is resolved (not yet stored) for validation. */
function readWrite(context: HandlerContext, params: Params, customerId: string | null) {
  const email = params.nullableString('email', { max: 512 });
  const fields: Partial<CustomerObject> = {};
  if (email !== undefined) fields.email = email;
  for (const name of ['name', 'phone', 'description'] as const) {
    const value = params.nullableString(name, { max: name === 'description' ? 350 : 256 });
    if (value !== undefined) fields[name] = value;
  }
  const address = readAddress(params);
  if (address !== undefined) fields.address = address;
  const locales = params.has('preferred_locales') && params.all.preferred_locales === '' ? [] : params.stringArray('preferred_locales');
  if (locales !== undefined) fields.preferred_locales = locales;
  const methodId = params.string('payment_method');
  // Validate against the customer the method would belong to; a new customer owns nothing yet.
  if (methodId !== undefined) resolvePaymentMethod(context, methodId, { param: 'payment_method', customer: customerId, create: false });
  const defaultMethod = readDefaultPaymentMethod(params);
  if (defaultMethod) {
    const owner = context.store.paymentMethods.get(defaultMethod)?.object.customer;
    if (owner === undefined) throw noSuch('PaymentMethod', defaultMethod, 'invoice_settings[default_payment_method]', false);
    if (owner !== customerId && defaultMethod !== methodId) {
      throw badParam(`The PaymentMethod ${defaultMethod} is not attached to this customer.`, 'invoice_settings[default_payment_method]');
    }
  }
  return { fields, metadata: params.metadata(), methodId, defaultMethod };
}

function create(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, WRITABLE);
  const input = readWrite(context, params, null);
  const customer = newCustomer({ ...input.fields, metadata: initialMetadata(input.metadata) });
  context.store.customers.set(customer.id, customer);
  context.store.emit('customer.created', customer, context.request);
  if (input.methodId !== undefined) {
    const method = resolvePaymentMethod(context, input.methodId, { param: 'payment_method', customer: null, create: true });
    attachPaymentMethod(context, method, customer.id);
    if (input.defaultMethod === input.methodId) customer.invoice_settings.default_payment_method = method.object.id;
  }
  return ok(customer);
}

function update(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  const customer = findCustomer(context, id, 'id', true);
  const params = new Params(form, WRITABLE);
  const input = readWrite(context, params, customer.id);
  const before = snapshot(customer);
  Object.assign(customer, input.fields);
  customer.metadata = applyMetadata(customer.metadata, input.metadata);
  if (input.methodId !== undefined) {
    const method = resolvePaymentMethod(context, input.methodId, { param: 'payment_method', customer: customer.id, create: true });
    attachPaymentMethod(context, method, customer.id);
  }
  if (input.defaultMethod !== undefined) customer.invoice_settings.default_payment_method = input.defaultMethod;
  const previous = changedFields(before, customer);
  if (Object.keys(previous).length > 0) context.store.emit('customer.updated', customer, context.request, previous);
  return ok(customer);
}

/** `previous_attributes` of an update event: old values of the top-level fields that changed. */
function changedFields<T extends object>(before: T, after: T): Record<string, unknown> {
  const previous: Record<string, unknown> = {};
  for (const key of Object.keys(after) as (keyof T)[]) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) previous[key as string] = before[key];
  }
  return previous;
}

function remove(context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult {
  new Params(form, []);
  const customer = findCustomer(context, id, 'id', true);
  context.store.customers.delete(id);
  context.store.deletedCustomers.add(id);
  // Stripe detaches a deleted customer's payment methods; they cannot be charged again.
  for (const stored of context.store.paymentMethods.values()) {
    if (stored.object.customer === id) {
      stored.object.customer = null;
      stored.consumed = true;
    }
  }
  context.store.emit('customer.deleted', customer, context.request);
  return ok({ id, object: 'customer', deleted: true });
}

function list(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, ['email', ...LIST_PARAMS]);
  const email = params.string('email', { max: 512 });
  const all = [...context.store.customers.values()].filter((customer) => email === undefined || customer.email === email);
  return ok(paginate(all, params, '/v1/customers'));
}

export const customerRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/customers$/, handler: create },
  { method: 'GET', pattern: /^\/v1\/customers$/, handler: list },
  {
    method: 'GET',
    pattern: /^\/v1\/customers\/([^/]+)$/,
    handler: (context, form, [id = '']) => {
      new Params(form, []);
      if (context.store.deletedCustomers.has(id)) return ok({ id, object: 'customer', deleted: true });
      return ok(findCustomer(context, id, 'id', true));
    },
  },
  { method: 'POST', pattern: /^\/v1\/customers\/([^/]+)$/, handler: update },
  { method: 'DELETE', pattern: /^\/v1\/customers\/([^/]+)$/, handler: remove },
];
