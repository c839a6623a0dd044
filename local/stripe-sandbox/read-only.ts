/** Read-only resources: charges (created by payments) and events (created by everything). */
import { type HandlerContext, type HandlerResult, ok, type Route } from './context';
import { noSuch } from './errors';
import type { FormObject } from './form';
import { LIST_PARAMS, paginate } from './lists';
import { Params } from './params';

function retrieve(kind: 'charge' | 'event') {
  return (context: HandlerContext, form: FormObject, [id = '']: string[]): HandlerResult => {
    new Params(form, []);
    const found = kind === 'charge' ? context.store.charges.get(id) : context.store.events.get(id);
    if (!found) throw noSuch(kind, id, 'id', true);
    return ok(found);
  };
}

function listCharges(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, ['customer', 'payment_intent', ...LIST_PARAMS]);
  const customer = params.string('customer');
  const intent = params.string('payment_intent');
  const all = [...context.store.charges.values()].filter(
    (charge) => (customer === undefined || charge.customer === customer) && (intent === undefined || charge.payment_intent === intent),
  );
  return ok(paginate(all, params, '/v1/charges'));
}

/** `type` takes one type or a wildcard (`payment_intent.*`); `types[]` several exact ones. */
function listEvents(context: HandlerContext, form: FormObject): HandlerResult {
  const params = new Params(form, ['type', 'types', ...LIST_PARAMS]);
  const type = params.string('type');
  const types = params.stringArray('types');
  const matches = (candidate: string): boolean => {
    if (types !== undefined && !types.includes(candidate)) return false;
    if (type === undefined) return true;
    return type.endsWith('.*') ? candidate.startsWith(type.slice(0, -1)) : candidate === type;
  };
  const all = [...context.store.events.values()].filter((event) => matches(event.type));
  return ok(paginate(all, params, '/v1/events'));
}

export const readOnlyRoutes: Route[] = [
  { method: 'GET', pattern: /^\/v1\/charges$/, handler: listCharges },
  { method: 'GET', pattern: /^\/v1\/charges\/([^/]+)$/, handler: retrieve('charge') },
  { method: 'GET', pattern: /^\/v1\/events$/, handler: listEvents },
  { method: 'GET', pattern: /^\/v1\/events\/([^/]+)$/, handler: retrieve('event') },
];
