import * as z from 'zod';

/**
 * Who or what caused a change, kept in the history: a provider's webhook event (Stripe, BTCPay), a Driver-App update,
 * an API key (by its name, never the key), the customer, or the hub itself (timers, reconciliation).
 */
export type Cause = `stripe:${string}` | `btcpay:${string}` | `woocommerce:${string}` | `driver:${string}` | `api:${string}` | `system:${string}` | 'customer';

/** Validates a cause string. */
export const causeSchema = z
  .string()
  .max(200)
  .regex(/^(?:customer|(?:stripe|btcpay|woocommerce|driver|api|system):\S.*)$/, 'Expected customer or stripe:/btcpay:/woocommerce:/driver:/api:/system:<id>')
  .transform((value) => value as Cause);

/** Builds causes, so call sites cannot misspell a prefix. */
export const causes = {
  /** A Stripe webhook event, by its id (`evt_...`), so a duplicate delivery is traceable. */
  stripe: (eventId: string): Cause => `stripe:${eventId}`,
  /** A BTCPay webhook delivery (the first delivery's id, so a redelivery is traceable to it). */
  btcpay: (deliveryId: string): Cause => `btcpay:${deliveryId}`,
  /** A WooCommerce webhook delivery (its `X-WC-Webhook-Delivery-ID`). */
  woocommerce: (deliveryId: string): Cause => `woocommerce:${deliveryId}`,
  /** A Driver-App status update (its event or trip id). */
  driver: (id: string): Cause => `driver:${id}`,
  /** A staff or channel call, by the API key's configured name. */
  api: (keyName: string): Cause => `api:${keyName}`,
  /** Something the hub did on its own (a timer, a reconciliation). */
  system: (what: string): Cause => `system:${what}`,
  /** The customer, through the app with the booking's access token. */
  customer: (): Cause => 'customer',
} as const;

/** One status change: from (null for the creation), to, when, and why. */
export interface HistoryEntry<S extends string = string> {
  from: S | null;
  to: S;
  at: string;
  cause: Cause;
  /** Why, in the words of whoever asked (e.g. the reason a channel gave for a cancellation). */
  reason?: string;
}

/**
 * A history row as stored: the entry plus the state machine that wrote it and the subject it is
 * about, so one partition can keep several histories (an order and each of its payments).
 */
export interface HistoryRecord<S extends string = string> extends HistoryEntry<S> {
  machine: string;
  subject: string;
}

/** The history entry schema of a machine's statuses. */
export function historyEntrySchemaOf<S extends string>(status: z.ZodType<S>) {
  return z.object({
    from: status.nullable(),
    to: status,
    at: z.iso.datetime({ offset: true }),
    cause: causeSchema,
  });
}
