/** The sandbox account's data, in memory. Maps keep insertion order: oldest first. */
import type { TestCard } from './cards';
import { newId, nowSeconds } from './ids';
import {
  type ChargeObject,
  type CustomerObject,
  type EventObject,
  type PaymentIntentObject,
  type PaymentMethodObject,
  type RefundObject,
  snapshot,
} from './objects';

export interface StoredPaymentMethod {
  object: PaymentMethodObject;
  card: TestCard;
  /** Charged once without being attached to a customer: Stripe refuses to reuse it. */
  consumed: boolean;
}

/** The API request an event came from (null for the customer's own actions). */
export interface RequestInfo {
  id: string | null;
  idempotencyKey: string | null;
}

export class SandboxStore {
  readonly customers = new Map<string, CustomerObject>();
  /** Deleted customers still answer GET with `{ id, object, deleted: true }`, as on Stripe. */
  readonly deletedCustomers = new Set<string>();
  readonly paymentIntents = new Map<string, PaymentIntentObject>();
  readonly charges = new Map<string, ChargeObject>();
  readonly refunds = new Map<string, RefundObject>();
  readonly paymentMethods = new Map<string, StoredPaymentMethod>();
  readonly events = new Map<string, EventObject>();

  constructor(
    readonly apiVersion: string,
    private readonly onEvent: (event: EventObject) => void,
  ) {}

  /** Records an event with a snapshot of `object` and hands it to webhook delivery. */
  emit(type: string, object: unknown, request: RequestInfo, previous?: Record<string, unknown>): EventObject {
    const event: EventObject = {
      id: newId('evt'),
      object: 'event',
      api_version: this.apiVersion,
      created: nowSeconds(),
      data: { object: snapshot(object), ...(previous && { previous_attributes: snapshot(previous) }) },
      livemode: false,
      pending_webhooks: 0,
      request: { id: request.id, idempotency_key: request.idempotencyKey },
      type,
    };
    this.events.set(event.id, event);
    this.onEvent(event);
    return event;
  }

  /** Any stored object by id, for `expand[]`. */
  find(id: string): unknown {
    const maps: Record<string, Map<string, unknown>> = {
      cus: this.customers,
      pi: this.paymentIntents,
      ch: this.charges,
      re: this.refunds,
      evt: this.events,
    };
    const prefix = id.slice(0, id.indexOf('_'));
    if (prefix === 'pm') return this.paymentMethods.get(id)?.object;
    return maps[prefix]?.get(id);
  }
}
