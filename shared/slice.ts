import type { FunctionDef } from './function-table';
import type { AttentionSource } from './platform/attention';
import type { CallbackTransport, ChannelEndpoint } from './platform/callbacks';
import type { JobHandlers } from './platform/job-handlers';
import type { PaymentEventRoute } from './platform/payments';

/**
 * A vertical slice (bookings, orders): its own domain, use cases, ports and HTTP contract. The
 * composition root creates the tables a slice declares, builds the slice with the platform's ports
 * and serves what it hands back. Slices never import each other; what two need lives in `shared/`.
 */
export interface SliceDefinition<Deps> {
  name: string;
  /** Tables holding the slice's aggregates (their outbox rows are swept by the relay timer). */
  aggregateTables: readonly string[];
  /** Other tables the slice keeps (look-ups, indexes); created at start-up like the rest. */
  otherTables?: readonly string[];
  build(deps: Deps): Slice;
}

/** What a built slice hands the composition root. */
export interface Slice {
  functions: FunctionDef[];
  jobHandlers: JobHandlers;
  /** Stripe events about the slice's aggregates, by the metadata key their PaymentIntents carry. */
  paymentEvents?: PaymentEventRoute[];
  /** The slice's aggregates that need a person, for the admin's attention list. */
  attention?: AttentionSource;
  /** Channels the slice's callbacks reach through an API of their own (a shop's) instead of Standard Webhooks. */
  channelTransports?: Record<string, { endpoint: ChannelEndpoint; transport: CallbackTransport }>;
}
