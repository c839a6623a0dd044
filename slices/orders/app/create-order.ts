import { customerRef } from '../../../shared/kernel/customer-ref';
import type { Cause } from '../../../shared/kernel/history';
import type { Issue } from '../../../shared/kernel/result';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { Clock } from '../../../shared/platform/clock';
import { type CustomerDetails, newCustomer, rememberOrder } from '../domain/customer';
import { type CreateOrderRequest, createOrder as createInDomain, type Order } from '../domain/order';
import type { CustomerStore, OrderIndex, OrdersContext } from './ports';
import { sourceKey } from './ports';

export interface CreateOrderDeps extends OrdersContext {
  customers: CustomerStore;
  index: OrderIndex;
  /** Channels that may create orders. */
  channels: readonly string[];
  /** Currencies accepted. */
  currencies: readonly string[];
}

export type CreateOrderOutcome =
  | { ok: true; order: Order }
  | { ok: false; error: { code: 'INVALID_ORDER'; problems: Issue[] } | { code: 'DUPLICATE'; orderId: string } };

/** How long a channel id may stay claimed by a create that never finished before another may take it. */
const ABANDONED_CLAIM_MS = 120_000;

/**
 * Creates an order for a channel. The channel's own id is claimed first (one order per `source` +
 * `externalId`, whoever asks); the customer is remembered before the order is stored, so a customer
 * never misses an order that exists. A request that carries an idempotency token derives the order
 * id from it: a retry after a failure converges on the same order instead of a second one.
 */
export async function createOrder(
  deps: CreateOrderDeps,
  request: CreateOrderRequest,
  context: { cause: Cause; token?: string; eventId?: string },
): Promise<CreateOrderOutcome> {
  const now = deps.clock.now();
  const id = `ord_${context.token ? context.token.slice(0, 32) : deps.clock.newId().replaceAll('-', '')}`;
  const built = createInDomain(request, {
    id,
    now,
    customerId: customerRef(request.customer.email),
    cause: context.cause,
    channels: deps.channels,
    currencies: deps.currencies,
  });
  if (!built.ok) return { ok: false, error: { code: 'INVALID_ORDER', problems: built.problems } };
  const order = built.order;

  const key = sourceKey(order.source, order.externalId);
  const claim = await deps.index.claim(key, order.id, now);
  if (!claim.claimed && claim.orderId !== order.id) {
    // The holder may be a create that died before storing its order: after a while its claim is free.
    const abandoned = now.getTime() - claim.since.getTime() > ABANDONED_CLAIM_MS && !(await deps.orders.get(claim.orderId));
    if (!abandoned || !(await deps.index.reassign(key, claim.orderId, order.id, now)))
      return { ok: false, error: { code: 'DUPLICATE', orderId: claim.orderId } };
  }

  await rememberOnCustomer(deps.customers, deps.clock, order.customerId, order.customer, { id: order.id, createdAt: order.createdAt });
  // A webhook that creates the order (a shop's) is recorded with it, so its redelivery is seen.
  const created = await deps.orders.create({ state: order, history: [built.history], jobs: [], ...(context.eventId ? { eventId: context.eventId } : {}) });
  if (created === 'exists') {
    // Our own earlier attempt stored it (same token): answer with the order as it is.
    const stored = await deps.orders.get(order.id);
    if (stored) return { ok: true, order: stored.state };
  }
  return { ok: true, order };
}

/** Creates the customer, or lists the order on it and brings its details up to date. */
async function rememberOnCustomer(
  customers: CustomerStore,
  clock: Clock,
  customerId: string,
  details: CustomerDetails,
  order: { id: string; createdAt: string },
): Promise<void> {
  for (;;) {
    const updated = await mutate(
      customers,
      customerId,
      ({ state }) => {
        const next = rememberOrder(state, details, order);
        return next ? save(next, undefined) : skip(undefined);
      },
      { clock },
    );
    if (updated.kind !== 'not-found') return;
    const created = await customers.create({ state: newCustomer(customerId, details, order), history: [], jobs: [] });
    if (created === 'created') return;
    // Another order created the customer a moment ago: list this order on it.
  }
}
