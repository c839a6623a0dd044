import { type CallbackEvent, callbackJob } from '../../../shared/platform/callbacks';
import type { Clock } from '../../../shared/platform/clock';
import { type JobEnvelope, type OutgoingJob, toOutgoing } from '../../../shared/platform/jobs';
import type { Order } from '../domain/order';
import type { OrderStore } from './ports';
import { toOrderView, toPaymentView } from './representation';

/**
 * The channel's events for one change: `order.<status>` when the order's status moved (or the order
 * is new), `payment.<status>` for each payment that changed; each carries the resource as its GET
 * shows it after the change, with its version, and an id stable across retries.
 */
export function channelEvents(before: Order | undefined, after: Order): CallbackEvent[] {
  const events: CallbackEvent[] = [];
  if (!before || before.status !== after.status) {
    events.push({ id: `cb_${after.id}_order_v${after.version}`, type: `order.${after.status}`, createdAt: after.updatedAt, data: toOrderView(after) });
  }
  for (const payment of after.payments) {
    const previous = before?.payments.find((candidate) => candidate.id === payment.id);
    if (previous && previous.version === payment.version) continue;
    events.push({
      id: `cb_${payment.id}_v${payment.version}`,
      type: `payment.${payment.status}`,
      createdAt: payment.updatedAt,
      data: toPaymentView(after, payment),
    });
  }
  return events;
}

/**
 * The order store, with every committed change calling the order's channel back: the callback jobs
 * ride in the same transaction as the change (outbox), so no change is told twice or never. Channels
 * without a callback URL get none.
 */
export function withChannelCallbacks(
  store: OrderStore,
  options: {
    hasEndpoint: (channel: string) => boolean;
    clock: Clock;
    /** A channel told in its own terms (a shop's API) instead of the standard events. */
    eventsFor?: (channel: string) => ((before: Order | undefined, after: Order) => CallbackEvent[]) | undefined;
  },
): OrderStore {
  const jobsFor = (before: Order | undefined, after: Order, existing: OutgoingJob[]): OutgoingJob[] => {
    if (!options.hasEndpoint(after.source)) return [];
    const events = options.eventsFor?.(after.source) ?? channelEvents;
    const requests = events(before, after).map((event) => callbackJob(after.source, after.id, event));
    if (requests.length === 0) return [];
    // The change's own operation id, when it has one, follows the callbacks too.
    const correlation: JobEnvelope['correlation'] | undefined = existing[0]?.envelope.correlation;
    return toOutgoing(
      requests.map((request) => (correlation ? { ...request, correlation } : request)),
      { now: options.clock.now(), newId: options.clock.newId },
    );
  };
  return {
    get: (id) => store.get(id),
    history: (id, filter) => store.history(id, filter),
    hasEvent: (id, eventId) => store.hasEvent(id, eventId),
    whereSet: (column, limit) => store.whereSet(column, limit),
    create: (change, attributes) => store.create({ ...change, jobs: [...change.jobs, ...jobsFor(undefined, change.state, change.jobs)] }, attributes),
    update: (current, change) => {
      // The store moves the version on by one: the events show the order as it will be read.
      const after = { ...change.state, version: current.state.version + 1 };
      return store.update(current, { ...change, jobs: [...change.jobs, ...jobsFor(current.state, after, change.jobs)] });
    },
  };
}
