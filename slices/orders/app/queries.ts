import type { HistoryRecord } from '../../../shared/kernel/history';
import type { Stored } from '../../../shared/platform/aggregate';
import type { Customer } from '../domain/customer';
import type { Order, Payment } from '../domain/order';
import { findPayment } from '../domain/payments';
import { paymentMachine } from '../domain/status';
import { type CustomerStore, type OrderIndex, type OrderStore, paymentKey, sourceKey } from './ports';

/** What the read use cases need. */
export interface OrderQueryDeps {
  orders: OrderStore;
  customers: CustomerStore;
  index: OrderIndex;
}

export function getOrder(deps: Pick<OrderQueryDeps, 'orders'>, id: string): Promise<Stored<Order> | undefined> {
  return deps.orders.get(id);
}

/** An order by the channel's own id. */
export async function getOrderBySource(deps: Pick<OrderQueryDeps, 'orders' | 'index'>, source: string, externalId: string): Promise<Stored<Order> | undefined> {
  const id = await deps.index.find(sourceKey(source, externalId));
  const stored = id ? await deps.orders.get(id) : undefined;
  // A claim whose create never finished names no order; a stored order must carry the same channel id.
  return stored && stored.state.source === source && stored.state.externalId === externalId ? stored : undefined;
}

/** The order's history and its payments', oldest first. */
export function orderHistory(deps: Pick<OrderQueryDeps, 'orders'>, id: string): Promise<HistoryRecord[]> {
  return deps.orders.history(id);
}

/** A payment with the order it belongs to. */
export async function getPayment(deps: Pick<OrderQueryDeps, 'orders' | 'index'>, paymentId: string): Promise<{ order: Order; payment: Payment } | undefined> {
  const orderId = await deps.index.find(paymentKey(paymentId));
  const stored = orderId ? await deps.orders.get(orderId) : undefined;
  const payment = stored ? findPayment(stored.state, paymentId) : undefined;
  return stored && payment ? { order: stored.state, payment } : undefined;
}

/** A payment's own history, oldest first. */
export async function paymentHistory(deps: Pick<OrderQueryDeps, 'orders' | 'index'>, paymentId: string): Promise<HistoryRecord[] | undefined> {
  const orderId = await deps.index.find(paymentKey(paymentId));
  if (!orderId) return undefined;
  const found = await getPayment(deps, paymentId);
  return found ? deps.orders.history(orderId, { machine: paymentMachine.name, subject: paymentId }) : undefined;
}

/** How many of a customer's newest orders a read shows with their current status. */
export const CUSTOMER_ORDERS_SHOWN = 100;

/** A customer with its newest orders as they stand (newest last; orders whose create never finished are left out). */
export async function getCustomer(
  deps: Pick<OrderQueryDeps, 'orders' | 'customers'>,
  id: string,
): Promise<{ customer: Customer; orders: Order[] } | undefined> {
  const stored = await deps.customers.get(id);
  if (!stored) return undefined;
  const orders = await Promise.all(stored.state.orders.slice(-CUSTOMER_ORDERS_SHOWN).map((order) => deps.orders.get(order.id)));
  return { customer: stored.state, orders: orders.flatMap((order) => (order ? [order.state] : [])) };
}
