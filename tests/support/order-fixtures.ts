/**
 * Fixtures of the order-hub unit tests (tests/unit/order-domain.test.ts, tests/unit/use-cases/orders):
 * a fixed clock, builders that yield only orders, payments and refunds valid per the slice's schemas,
 * order and customer stores as the slice has them, an in-memory `OrderIndex` with the Table index's
 * rules, an in-memory `PaymentProvider` with per-test outcomes, and Stripe events as the adapter
 * reduces them.
 */
import type { Cause } from '../../shared/kernel/history';
import type { Clock } from '../../shared/platform/clock';
import type { PaymentEvent, PaymentFailure } from '../../shared/platform/payments';
import type { CreateOrderDeps } from '../../slices/orders/app/create-order';
import type { OrderStripeEventDeps } from '../../slices/orders/app/handle-stripe-event';
import type { PaymentDeps } from '../../slices/orders/app/payments';
import { type OpenedPayment, type OrderIndex, type PaymentProvider, paymentKey, sourceKey } from '../../slices/orders/app/ports';
import type { Customer } from '../../slices/orders/domain/customer';
import {
  type CreateOrderRequest,
  createOrderRequestSchema,
  type Order,
  orderSchema,
  type Payment,
  paymentSchema,
  type Refund,
  refundSchema,
} from '../../slices/orders/domain/order';
import { orderMachine } from '../../slices/orders/domain/status';
import { attentionColumns } from '../../slices/orders/app/attention';
import { MemoryAggregateStore } from './memory-store';

// ---- clock

/** A Tuesday morning (UTC). */
export const NOW = '2026-11-24T08:00:00.000Z';
/** When the seeded orders were created. */
export const EARLIER = '2026-11-20T10:00:00.000Z';

export const CAUSE: Cause = 'api:pos';

/** A clock standing at `now` (movable with `set` and `advance`) whose ids run `<prefix>-1`, `<prefix>-2`, … */
export interface FixedClock extends Clock {
  readonly issued: string[];
  set(at: string): void;
  advance(ms: number): void;
}

export function fixedClock(at: string = NOW, prefix = 'id'): FixedClock {
  let current = new Date(at);
  const issued: string[] = [];
  return {
    issued,
    now: () => new Date(current),
    newId: () => {
      const id = `${prefix}-${issued.length + 1}`;
      issued.push(id);
      return id;
    },
    set: (next: string) => {
      current = new Date(next);
    },
    advance: (ms: number) => {
      current = new Date(current.getTime() + ms);
    },
  };
}

// ---- builders (parsed by the slice's schemas: an invalid fixture throws)

export const ORDER_ID = 'ord_1';
export const PAYMENT_ID = 'pay_1';
export const INTENT_ID = 'pi_1';

/** A valid create request for the `pos` channel: 2 × 1995 + 1 × 2490 = 6480 EUR cents. */
export function anOrderRequest(overrides: Record<string, unknown> = {}): CreateOrderRequest {
  return createOrderRequestSchema.parse({
    source: 'pos',
    externalId: 'POS-1001',
    currency: 'EUR',
    customer: { email: 'erika@example.com', name: 'Erika Mustermann', phone: '+49 171 1234567' },
    items: [
      { sku: 'WIPER-01', name: 'Wischerblätter', quantity: 2, unitAmount: 1_995, taxRatePercent: 19 },
      { sku: 'OIL-5W30', name: 'Motoröl 5W-30, 1 l', quantity: 1, unitAmount: 2_490, taxRatePercent: 19 },
    ],
    ...overrides,
  });
}

/** A refund, valid per `refundSchema`. */
export function aRefund(overrides: Partial<Refund> = {}): Refund {
  return refundSchema.parse({ id: 'rfd_1', amount: 1_000, status: 'succeeded', origin: 'api', createdAt: EARLIER, updatedAt: EARLIER, ...overrides });
}

/** A Stripe payment, valid per `paymentSchema`; `refundedAmount` follows the refunds unless given. */
export function aPayment(overrides: Partial<Payment> = {}): Payment {
  const refunds = overrides.refunds ?? [];
  const refundedAmount = refunds
    .filter((refund) => refund.status === 'succeeded' || refund.status === 'pending')
    .reduce((sum, refund) => sum + refund.amount, 0);
  return paymentSchema.parse({
    id: PAYMENT_ID,
    provider: 'stripe',
    status: 'succeeded',
    amount: 6_480,
    refundedAmount,
    providerRef: INTENT_ID,
    refunds,
    version: 1,
    createdAt: EARLIER,
    updatedAt: EARLIER,
    ...overrides,
  });
}

/** A stored order, valid per `orderSchema` (6480 EUR cents, pending, no payments unless given). */
export function anOrder(overrides: Partial<Order> = {}): Order {
  return orderSchema.parse({
    id: ORDER_ID,
    source: 'pos',
    externalId: 'POS-1001',
    status: 'pending',
    currency: 'EUR',
    customerId: 'cust:0123456789abcdef0123456789abcdef',
    customer: { email: 'erika@example.com', name: 'Erika Mustermann' },
    items: [
      { sku: 'WIPER-01', name: 'Wischerblätter', quantity: 2, unitAmount: 1_995, lineAmount: 3_990 },
      { sku: 'OIL-5W30', name: 'Motoröl 5W-30, 1 l', quantity: 1, unitAmount: 2_490, lineAmount: 2_490 },
    ],
    totalAmount: 6_480,
    payments: [],
    createdAt: EARLIER,
    updatedAt: EARLIER,
    version: 3,
    ...overrides,
  });
}

/** A paid order: one succeeded payment of the whole total. */
export function aPaidOrder(overrides: Partial<Order> = {}, payment: Partial<Payment> = {}): Order {
  return anOrder({ status: 'paid', payments: [aPayment(payment)], ...overrides });
}

// ---- stores

export function orderStore(): MemoryAggregateStore<Order> {
  return new MemoryAggregateStore<Order>(orderMachine.name, attentionColumns);
}

export function customerStore(): MemoryAggregateStore<Customer> {
  return new MemoryAggregateStore<Customer>('customer');
}

/** The order as stored now; fails the test when it is gone. */
export function currentOrder(store: MemoryAggregateStore<Order>, id: string = ORDER_ID): Order {
  const order = store.current(id);
  if (!order) throw new Error(`order ${id} is not in the store`);
  return order;
}

/** A payment of the stored order; fails the test when it is not there. */
export function currentPayment(store: MemoryAggregateStore<Order>, paymentId: string = PAYMENT_ID, orderId: string = ORDER_ID): Payment {
  const payment = currentOrder(store, orderId).payments.find((candidate) => candidate.id === paymentId);
  if (!payment) throw new Error(`payment ${paymentId} is not on order ${orderId}`);
  return payment;
}

// ---- the index

/** An in-memory `OrderIndex` with the Table index's rules: a key is claimed once, handed over only from its holder. */
export class MemoryOrderIndex implements OrderIndex {
  readonly rows = new Map<string, { orderId: string; since: Date }>();

  async claim(key: string, orderId: string, now: Date): Promise<{ claimed: true } | { claimed: false; orderId: string; since: Date }> {
    const row = this.rows.get(key);
    if (row) return { claimed: false, orderId: row.orderId, since: new Date(row.since) };
    this.rows.set(key, { orderId, since: new Date(now) });
    return { claimed: true };
  }

  async reassign(key: string, from: string, orderId: string, now: Date): Promise<boolean> {
    const row = this.rows.get(key);
    if (!row || row.orderId !== from) return false;
    this.rows.set(key, { orderId, since: new Date(now) });
    return true;
  }

  async find(key: string): Promise<string | undefined> {
    return this.rows.get(key)?.orderId;
  }

  /** Puts a claim as if made at `since`. */
  seed(key: string, orderId: string, since: string = EARLIER): void {
    this.rows.set(key, { orderId, since: new Date(since) });
  }
}

// ---- the payment provider

/** What the provider does with the next operation of a kind. */
export type ProviderOutcome = 'ok' | 'unavailable' | 'invalid_request';
/** How the provider answers a refund it executes. */
export type RefundAnswer = 'succeeded' | 'pending' | 'failed';

type Operation = 'open' | 'reopen' | 'refund' | 'cancel';

interface Saved {
  operation: Operation;
  result: { ok: true; value: unknown } | { ok: false; error: PaymentFailure };
}

/**
 * An in-memory payment provider with the rules the use cases rely on:
 * - `open`, `refund` and `cancel` are idempotent per our id (payment id, refund id, payment id):
 *   the first request that reaches the provider is executed, every later one replays its answer
 *   (a refused one included);
 * - `unavailable` means the request never reached the provider: nothing is executed or saved, so a
 *   retry executes it;
 * - outcomes are set per test: `down` (every call unavailable), `next(operation, …outcomes)` (the
 *   next calls of one operation), `refundAnswer` (how an executed refund ends).
 * `operations` lists what the provider really executed (replays and unavailable calls excluded);
 * `calls` lists every request. `during` runs inside every request before its answer arrives.
 */
export class FakePaymentProvider implements PaymentProvider {
  readonly calls: Array<{ operation: Operation; key: string; replayed: boolean; outcome: ProviderOutcome }> = [];
  readonly operations: Array<{ operation: Operation; key: string; providerRef: string; amount?: number }> = [];
  /** How executed refunds end. */
  refundAnswer: RefundAnswer = 'succeeded';
  down = false;
  during: (operation: Operation, key: string) => void | Promise<void> = () => {};

  private readonly queued = new Map<Operation, ProviderOutcome[]>();
  private readonly saved = new Map<string, Saved>();
  private sequence = 0;

  /** The next calls of `operation` end as given (then `ok` again). */
  next(operation: Operation, ...outcomes: ProviderOutcome[]): void {
    this.queued.set(operation, [...(this.queued.get(operation) ?? []), ...outcomes]);
  }

  /** What was really executed of one operation. */
  executed(operation: Operation) {
    return this.operations.filter((entry) => entry.operation === operation);
  }

  /** The sum of the refunds really made against one provider reference. */
  refundedAt(providerRef: string = INTENT_ID): number {
    return this.executed('refund')
      .filter((entry) => entry.providerRef === providerRef)
      .reduce((sum, entry) => sum + (entry.amount ?? 0), 0);
  }

  open(payment: { id: string; orderId: string; amount: number; currency: string; description: string }) {
    return this.request<OpenedPayment>('open', `open:${payment.id}`, () => {
      const providerRef = `pi_${payment.id}`;
      this.operations.push({ operation: 'open', key: payment.id, providerRef, amount: payment.amount });
      return { providerRef, clientSecret: `${providerRef}_secret` };
    });
  }

  reopen(providerRef: string) {
    return this.request<OpenedPayment>('reopen', undefined, () => ({ providerRef, clientSecret: `${providerRef}_secret` }));
  }

  refund(input: { refundId: string; providerRef: string; amount: number }) {
    return this.request<{ providerRef: string; status: RefundAnswer }>('refund', `refund:${input.refundId}`, () => {
      this.sequence += 1;
      this.operations.push({ operation: 'refund', key: input.refundId, providerRef: input.providerRef, amount: input.amount });
      return { providerRef: `re_${this.sequence}`, status: this.refundAnswer };
    });
  }

  cancel(input: { paymentId: string; providerRef: string }) {
    return this.request<void>('cancel', `cancel:${input.paymentId}`, () => {
      this.operations.push({ operation: 'cancel', key: input.paymentId, providerRef: input.providerRef });
    });
  }

  private async request<T>(
    operation: Operation,
    key: string | undefined,
    execute: () => T,
  ): Promise<{ ok: true; value: T } | { ok: false; error: PaymentFailure }> {
    const queue = this.queued.get(operation) ?? [];
    const planned: ProviderOutcome = this.down ? 'unavailable' : (queue.shift() ?? 'ok');
    const replay = key === undefined ? undefined : this.saved.get(key);
    let result: Saved['result'];
    if (planned === 'unavailable') {
      result = { ok: false, error: { code: 'unavailable', message: 'Could not connect to the provider (fake: down)' } };
    } else if (replay) {
      result = structuredClone(replay.result);
    } else {
      result =
        planned === 'invalid_request'
          ? { ok: false, error: { code: 'invalid_request', message: `The provider refused ${operation} (fake)` } }
          : { ok: true, value: execute() };
      if (key !== undefined) this.saved.set(key, { operation, result: structuredClone(result) });
    }
    this.calls.push({ operation, key: key ?? operation, replayed: Boolean(replay) && planned !== 'unavailable', outcome: planned });
    await this.during(operation, key ?? operation);
    return result as { ok: true; value: T } | { ok: false; error: PaymentFailure };
  }
}

// ---- a world of ports

export interface OrdersWorld {
  orders: MemoryAggregateStore<Order>;
  customers: MemoryAggregateStore<Customer>;
  index: MemoryOrderIndex;
  provider: FakePaymentProvider;
  clock: FixedClock;
  create: CreateOrderDeps;
  payments: PaymentDeps;
  events: OrderStripeEventDeps & { telemetry: { event: (name: string, properties?: Record<string, string>) => void } };
  telemetry: Array<{ name: string; properties?: Record<string, string> }>;
}

/** Fresh in-memory ports: the `pos` and `woocommerce` channels, EUR, JPY and KWD, Stripe as provider. */
export function ordersWorld(options: { withStripe?: boolean } = {}): OrdersWorld {
  const orders = orderStore();
  const customers = customerStore();
  const index = new MemoryOrderIndex();
  const provider = new FakePaymentProvider();
  const clock = fixedClock(NOW);
  const telemetry: OrdersWorld['telemetry'] = [];
  return {
    orders,
    customers,
    index,
    provider,
    clock,
    telemetry,
    create: { orders, customers, index, clock, channels: ['pos', 'woocommerce'], currencies: ['EUR', 'JPY', 'KWD'] },
    payments: { orders, index, clock, providers: options.withStripe === false ? {} : { stripe: provider } },
    events: { orders, clock, telemetry: { event: (name, properties) => telemetry.push({ name, properties }) } },
  };
}

/** Seeds an order as if created earlier, with its channel key and its payments in the index. */
export function seedOrder(world: Pick<OrdersWorld, 'orders' | 'index'>, order: Order): Order {
  world.orders.seed(order);
  world.index.seed(sourceKey(order.source, order.externalId), order.id);
  for (const payment of order.payments) world.index.seed(paymentKey(payment.id), order.id);
  return order;
}

// ---- Stripe events

type LastError = NonNullable<PaymentEvent['paymentIntent']>['lastError'];

/** A Stripe event about an order's PaymentIntent, as the Stripe adapter hands it over. */
export function orderEvent(
  id: string,
  type: string,
  options: { intentId?: string; metadata?: Record<string, string>; amount?: number; amountRefunded?: number; lastError?: LastError } = {},
): PaymentEvent {
  return {
    id,
    type,
    created: 1_800_000_000,
    paymentIntent: {
      id: options.intentId ?? INTENT_ID,
      clientSecret: '',
      status: type.replace(/^payment_intent\./, ''),
      amount: options.amount ?? 6_480,
      currency: 'eur',
      metadata: options.metadata ?? { orderId: ORDER_ID, paymentId: PAYMENT_ID },
      ...(options.lastError ? { lastError: options.lastError } : {}),
    },
    ...(options.amountRefunded !== undefined ? { amountRefunded: options.amountRefunded } : {}),
  };
}
