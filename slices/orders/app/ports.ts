import type { PaymentFailure } from '../../../shared/platform/payments';
import type { AggregateStore } from '../../../shared/platform/aggregate';
import type { Clock } from '../../../shared/platform/clock';
import type { Result } from '../../../shared/kernel/result';
import type { Customer } from '../domain/customer';
import type { Order, PaymentProviderName } from '../domain/order';

/** Orders: one partition per order holds it with its payments and refunds, their histories, events and outbox. */
export type OrderStore = AggregateStore<Order>;

/** Customers, one per normalised e-mail. */
export type CustomerStore = AggregateStore<Customer>;

/**
 * Look-ups that are not an order's id: a channel's own id (`source` + `externalId`, unique per
 * channel) and a payment's id, each naming the order that holds it.
 */
export interface OrderIndex {
  /** Claims `key` for `orderId`, or answers who holds it (and since when). */
  claim(key: string, orderId: string, now: Date): Promise<{ claimed: true } | { claimed: false; orderId: string; since: Date }>;
  /** Hands a key from a holder that never became an order over to `orderId`; false when someone else changed it first. */
  reassign(key: string, from: string, orderId: string, now: Date): Promise<boolean>;
  find(key: string): Promise<string | undefined>;
}

/** The index key of a channel's order. */
export const sourceKey = (source: string, externalId: string) => `source|${source}|${externalId}`;
/** The index key of a payment. */
export const paymentKey = (paymentId: string) => `payment|${paymentId}`;

/** What a provider hands the customer to pay with. */
export interface OpenedPayment {
  providerRef: string;
  /** Stripe: the PaymentIntent's client secret for Stripe.js (never stored). */
  clientSecret?: string;
  /** BTCPay: the checkout page. */
  checkoutLink?: string;
}

/**
 * A payment provider (Stripe, BTCPay). Idempotency keys derive from
 * our ids, so a retried call returns what the first one made.
 */
export interface PaymentProvider {
  open(payment: { id: string; orderId: string; amount: number; currency: string; description: string }): Promise<Result<OpenedPayment, PaymentFailure>>;
  /** The client secret or checkout link of an open payment again (never stored). */
  reopen(providerRef: string): Promise<Result<OpenedPayment, PaymentFailure>>;
  refund(input: {
    orderId: string;
    paymentId: string;
    refundId: string;
    providerRef: string;
    amount: number;
  }): Promise<Result<{ providerRef: string; status: 'succeeded' | 'pending' | 'failed'; claimLink?: string }, PaymentFailure>>;
  cancel(input: { paymentId: string; providerRef: string }): Promise<Result<void, PaymentFailure>>;
}

/** What the order use cases work with. */
export interface OrdersContext {
  orders: OrderStore;
  clock: Clock;
}

/** The providers this hub is configured with. */
export type PaymentProviders = Partial<Record<PaymentProviderName, PaymentProvider>>;
