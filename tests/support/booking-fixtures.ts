/**
 * Fixtures of the bookings use-case tests (tests/unit/use-cases): a fixed clock, a booking builder
 * that yields only bookings valid per `bookingSchema`, a store holding one booking with its token
 * hash, an in-memory Stripe (`FakePaymentGateway`) and an in-memory Driver-App dispatcher.
 */
import type { Clock } from '../../shared/platform/clock';
import type { JobEnvelope } from '../../shared/platform/jobs';
import type { PaymentEvent, PaymentFailure, PaymentGateway, PaymentIntentView, PaymentResult } from '../../shared/platform/payments';
import { hashToken } from '../../slices/bookings/app/access';
import type { B2CTrip, TripDispatcher } from '../../slices/bookings/app/driver-app';
import { ACCESS_TOKEN_HASH } from '../../slices/bookings/app/ports';
import { type Booking, type BookingPayment, bookingSchema } from '../../slices/bookings/domain/booking';
import { bookingMachine, type BookingStatus } from '../../slices/bookings/domain/booking-status';
import { attentionColumns } from '../../slices/bookings/app/attention';
import { type Finding, findingSchema } from '../../slices/bookings/domain/finding';
import { MemoryAggregateStore } from './memory-store';

// ---- clock

/** A Tuesday morning (UTC); the workshop (Europe/Berlin, Mon–Sat 07:00–19:00) is open. */
export const NOW = '2026-11-24T08:00:00.000Z';

/** A clock standing at `now` (movable with `set`) whose ids run `<prefix>-1`, `<prefix>-2`, … */
export interface FixedClock extends Clock {
  /** Every id handed out so far, in order. */
  readonly issued: string[];
  set(at: string): void;
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
  };
}

// ---- bookings

export const BOOKING_ID = 'bk-1';
export const TOKEN = 'bat_the-customers-token';
export const CUSTOMER_EMAIL = 'erika@example.com';

/** The payment a booking in this status has had (paid and card saved from CONFIRMED on). */
function paymentFor(status: BookingStatus): BookingPayment {
  if (status === 'PENDING_PAYMENT') return { status: 'pending', paymentIntentId: 'pi_booking', stripeCustomerId: 'cus_1' };
  return { status: 'succeeded', paymentIntentId: 'pi_booking', stripeCustomerId: 'cus_1', paymentMethodId: 'pm_card' };
}

export type BookingOverrides = Omit<Partial<Booking>, 'payment'> & { payment?: Partial<BookingPayment> };

/** A stored booking, valid per `bookingSchema` (the parse throws otherwise); the payment follows the status. */
export function aBooking(overrides: BookingOverrides = {}): Booking {
  const status = overrides.status ?? 'CONFIRMED';
  const { payment, ...rest } = overrides;
  return bookingSchema.parse({
    id: BOOKING_ID,
    status,
    customer: { name: 'Erika Mustermann', email: CUSTOMER_EMAIL, phone: '+491711234567', language: 'de' },
    vehicle: { brand: 'VW', model: 'Golf', licensePlate: 'M-AB 1234' },
    serviceType: 'inspection',
    priceCents: 14900,
    currency: 'EUR',
    pickup: {
      address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' },
      slotStart: '2026-11-25T08:00:00.000Z',
      slotEnd: '2026-11-25T10:00:00.000Z',
    },
    delivery: { address: { street: 'Hauptstr. 1', zip: '10115', city: 'Berlin' } },
    findings: [],
    flags: {},
    createdAt: '2026-11-20T10:00:00.000Z',
    updatedAt: '2026-11-20T10:00:00.000Z',
    version: 3,
    ...rest,
    payment: { ...paymentFor(status), ...payment },
  });
}

/** A finding, valid per `findingSchema`. */
export function aFinding(overrides: Partial<Finding> = {}): Finding {
  return findingSchema.parse({
    id: 'f-1',
    description: 'Brake pads worn down to 2 mm',
    priceCents: 18900,
    currency: 'EUR',
    status: 'PENDING_APPROVAL',
    createdAt: '2026-11-23T09:00:00.000Z',
    updatedAt: '2026-11-23T09:00:00.000Z',
    ...overrides,
  });
}

/** A booking store as the slice has it (history rows written by the booking machine). */
export function bookingStore(): MemoryAggregateStore<Booking> {
  return new MemoryAggregateStore<Booking>(bookingMachine.name, attentionColumns);
}

/** A store holding `booking` with the hash of `TOKEN` as its access-token attribute. */
export function storeWith(booking: Booking, token: string = TOKEN): MemoryAggregateStore<Booking> {
  const store = bookingStore();
  store.seed(booking, { [ACCESS_TOKEN_HASH]: hashToken(token) });
  return store;
}

/** The booking as stored now; fails the test when it is gone. */
export function currentOf(store: MemoryAggregateStore<Booking>, id: string = BOOKING_ID): Booking {
  const booking = store.current(id);
  if (!booking) throw new Error(`booking ${id} is not in the store`);
  return booking;
}

/** `type id` of every job the store's committed changes queued, in order. */
export function jobsOf(store: MemoryAggregateStore<Booking>): string[] {
  return store.jobs.map((job) => `${job.envelope.type} ${job.envelope.id}`);
}

// ---- Stripe

/** What the next off-session charge comes to (like Stripe's test cards). */
export type ChargeOutcome = 'succeeded' | 'card_declined' | 'authentication_required';

type Call = { method: keyof PaymentGateway; idempotencyKey?: string; replayed: boolean; failed?: PaymentFailure['code'] };

interface IntentRecord extends PaymentIntentView {
  kind: 'payment' | 'off-session';
  description: string;
}

/**
 * An in-memory Stripe with Stripe's rules where the use cases rely on them:
 * - every request with an idempotency key is answered once and replayed after (errors included);
 *   the same key with other parameters is an `invalid_request` (Stripe's idempotency error);
 * - `unavailable` (set with `goDown`) means the request never reached Stripe: nothing is executed
 *   or saved for its key, so a retry executes it;
 * - customers are found by e-mail, PaymentIntents keep their metadata, an off-session charge ends
 *   as `chargeOutcome` says, a refund needs a succeeded intent and happens once per intent, and an
 *   intent that succeeded cannot be cancelled.
 * `charges` and `refunds` list what really happened (replays excluded); `calls` lists every request.
 */
export class FakePaymentGateway implements PaymentGateway {
  readonly calls: Call[] = [];
  readonly customers = new Map<string, { id: string; email: string; name: string }>();
  readonly intents = new Map<string, IntentRecord>();
  /** Off-session charges really attempted on the card, in order. */
  readonly charges: Array<{ idempotencyKey: string; paymentIntentId: string; amountCents: number; outcome: ChargeOutcome }> = [];
  /** Refunds really made, in order. */
  readonly refunds: Array<{ id: string; paymentIntentId: string; idempotencyKey: string; amountCents: number }> = [];
  /** How the next off-session charges end. */
  chargeOutcome: ChargeOutcome = 'succeeded';
  /** The decline code of a declined card. */
  declineCode = 'insufficient_funds';
  /** Runs inside every request after Stripe executed it and before the answer arrives (races). */
  during: (method: keyof PaymentGateway) => void | Promise<void> = () => {};

  private down = false;
  private sequence = 0;
  private readonly saved = new Map<string, { fingerprint: string; result: PaymentResult<unknown> }>();

  /** Stripe unreachable (true) or back (false). */
  goDown(down = true): void {
    this.down = down;
  }

  /** The idempotency keys of every request of one method, in order (replays and failures included). */
  keysOf(method: keyof PaymentGateway): Array<string | undefined> {
    return this.calls.filter((call) => call.method === method).map((call) => call.idempotencyKey);
  }

  /** A stored PaymentIntent; fails the test when there is none. */
  intent(id: string): IntentRecord {
    const intent = this.intents.get(id);
    if (!intent) throw new Error(`no PaymentIntent ${id}`);
    return intent;
  }

  /** A webhook event about a stored PaymentIntent, as the Stripe adapter reduces it. */
  event(id: string, type: string, intentId: string, lastError?: NonNullable<PaymentEvent['paymentIntent']>['lastError']): PaymentEvent {
    const { kind: _kind, description: _description, ...view } = this.intent(intentId);
    return { id, type, created: 1_800_000_000, paymentIntent: { ...view, metadata: { ...view.metadata }, ...(lastError ? { lastError } : {}) } };
  }

  ensureCustomer(input: { email: string; name: string; phone?: string; idempotencyKey: string }): Promise<PaymentResult<{ id: string }>> {
    return this.request('ensureCustomer', input.idempotencyKey, input, () => {
      const found = [...this.customers.values()].find((customer) => customer.email === input.email);
      if (found) return ok({ id: found.id });
      const customer = { id: this.newId('cus'), email: input.email, name: input.name };
      this.customers.set(customer.id, customer);
      return ok({ id: customer.id });
    });
  }

  createPaymentIntent(input: Parameters<PaymentGateway['createPaymentIntent']>[0]): Promise<PaymentResult<PaymentIntentView>> {
    return this.request('createPaymentIntent', input.idempotencyKey, input, () => {
      if (input.customerId !== undefined && !this.customers.has(input.customerId)) return invalid(`No such customer: '${input.customerId}'`);
      const intent = this.newIntent('payment', input, 'requires_payment_method');
      return ok(view(intent));
    });
  }

  retrievePaymentIntent(id: string): Promise<PaymentResult<PaymentIntentView>> {
    return this.request('retrievePaymentIntent', undefined, { id }, () => {
      const intent = this.intents.get(id);
      return intent ? ok(view(intent)) : invalid(`No such payment_intent: '${id}'`);
    });
  }

  chargeOffSession(input: Parameters<PaymentGateway['chargeOffSession']>[0]): Promise<PaymentResult<PaymentIntentView>> {
    return this.request('chargeOffSession', input.idempotencyKey, input, () => {
      if (input.customerId !== undefined && !this.customers.has(input.customerId)) return invalid(`No such customer: '${input.customerId}'`);
      const outcome = this.chargeOutcome;
      const status = outcome === 'succeeded' ? 'succeeded' : 'requires_payment_method';
      const intent = this.newIntent('off-session', input, status, input.paymentMethodId);
      this.charges.push({ idempotencyKey: input.idempotencyKey, paymentIntentId: intent.id, amountCents: input.amount, outcome });
      if (outcome === 'succeeded') return ok(view(intent));
      if (outcome === 'authentication_required') {
        return fail({
          code: 'authentication_required',
          message: 'This payment requires authentication.',
          paymentIntentId: intent.id,
          clientSecret: intent.clientSecret,
        });
      }
      return fail({ code: 'card_declined', message: 'Your card was declined.', declineCode: this.declineCode, paymentIntentId: intent.id });
    });
  }

  cancelPaymentIntent(id: string, idempotencyKey: string): Promise<PaymentResult<PaymentIntentView>> {
    return this.request('cancelPaymentIntent', idempotencyKey, { id }, () => {
      const intent = this.intents.get(id);
      if (!intent) return invalid(`No such payment_intent: '${id}'`);
      if (intent.status === 'succeeded') return invalid('You cannot cancel this PaymentIntent because it has a status of succeeded.');
      intent.status = 'canceled';
      return ok(view(intent));
    });
  }

  refund(input: { paymentIntentId: string; idempotencyKey: string; amount?: number }): Promise<PaymentResult<{ id: string; status: string }>> {
    return this.request('refund', input.idempotencyKey, input, () => {
      const intent = this.intents.get(input.paymentIntentId);
      if (!intent) return invalid(`No such payment_intent: '${input.paymentIntentId}'`);
      if (intent.status !== 'succeeded') return invalid('This PaymentIntent does not have a successful charge to refund.');
      if (this.refunds.some((refund) => refund.paymentIntentId === intent.id)) return invalid(`Charge for ${intent.id} has already been refunded.`);
      const refund = {
        id: this.newId('re'),
        paymentIntentId: intent.id,
        idempotencyKey: input.idempotencyKey,
        amountCents: input.amount ?? intent.amount,
      };
      this.refunds.push(refund);
      return ok({ id: refund.id, status: 'succeeded' });
    });
  }

  verifyEvent(): PaymentEvent | undefined {
    return undefined;
  }

  /** Marks an intent as paid by the customer (the on-session confirmation a booking's payment is). */
  pay(id: string, paymentMethodId = 'pm_card'): void {
    const intent = this.intent(id);
    intent.status = 'succeeded';
    intent.paymentMethodId = paymentMethodId;
  }

  /** Puts a customer as if created earlier (e.g. the customer of a seeded booking). */
  seedCustomer(id: string, email: string): void {
    this.customers.set(id, { id, email, name: 'seeded' });
  }

  /** Puts an intent as if created earlier (e.g. the PaymentIntent of a seeded booking). */
  seedIntent(intent: Pick<PaymentIntentView, 'id' | 'status' | 'amount'> & Partial<PaymentIntentView>): void {
    this.intents.set(intent.id, {
      clientSecret: `${intent.id}_secret_seeded`,
      currency: 'eur',
      metadata: {},
      ...intent,
      kind: 'payment',
      description: 'seeded',
    });
  }

  private async request<T>(method: keyof PaymentGateway, key: string | undefined, params: unknown, execute: () => PaymentResult<T>): Promise<PaymentResult<T>> {
    if (this.down) {
      this.calls.push({ method, idempotencyKey: key, replayed: false, failed: 'unavailable' });
      return fail({ code: 'unavailable', message: 'Could not connect to Stripe (fake: down)' });
    }
    const fingerprint = `${method}:${JSON.stringify(params)}`;
    const saved = key === undefined ? undefined : this.saved.get(key);
    let result: PaymentResult<T>;
    if (saved && saved.fingerprint !== fingerprint) {
      result = invalid(`Keys for idempotent requests can only be used with the same parameters they were first used with (${key}).`);
    } else if (saved) {
      result = structuredClone(saved.result) as PaymentResult<T>;
    } else {
      result = execute();
      if (key !== undefined) this.saved.set(key, { fingerprint, result: structuredClone(result) });
    }
    this.calls.push({ method, idempotencyKey: key, replayed: Boolean(saved), ...(result.ok ? {} : { failed: result.error.code }) });
    await this.during(method);
    return result;
  }

  private newId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}_${String(this.sequence).padStart(4, '0')}`;
  }

  private newIntent(
    kind: IntentRecord['kind'],
    input: { amount: number; currency: string; customerId?: string; metadata: Record<string, string>; description: string },
    status: string,
    paymentMethodId?: string,
  ): IntentRecord {
    const id = this.newId('pi');
    const intent: IntentRecord = {
      id,
      clientSecret: `${id}_secret_${this.sequence}`,
      status,
      amount: input.amount,
      currency: input.currency.toLowerCase(),
      customerId: input.customerId,
      ...(paymentMethodId ? { paymentMethodId } : {}),
      metadata: { ...input.metadata },
      kind,
      description: input.description,
    };
    this.intents.set(id, intent);
    return intent;
  }
}

function view(intent: IntentRecord): PaymentIntentView {
  const { kind: _kind, description: _description, ...rest } = intent;
  return { ...rest, metadata: { ...rest.metadata } };
}

const ok = <T>(value: T): PaymentResult<T> => ({ ok: true, value });
const fail = <T>(error: PaymentFailure): PaymentResult<T> => ({ ok: false, error });
const invalid = <T>(message: string): PaymentResult<T> => fail({ code: 'invalid_request', message });

// ---- Driver-App

/**
 * An in-memory Driver-App: one trip per idempotency key (a re-send answers the first trip id), every
 * call recorded. `during` runs after the app took the trip and before the answer arrives.
 */
export class FakeDispatcher implements TripDispatcher {
  readonly sent: Array<{ trip: B2CTrip; idempotencyKey: string }> = [];
  readonly trips = new Map<string, string>();
  /** The trip id the app answers with; `undefined` models an app that returns none. */
  answerWithTripId = true;
  during: () => void | Promise<void> = () => {};

  async send(trip: B2CTrip, idempotencyKey: string): Promise<{ tripId?: string }> {
    this.sent.push({ trip, idempotencyKey });
    let tripId = this.trips.get(idempotencyKey);
    if (!tripId) {
      tripId = `trip-${this.trips.size + 1}`;
      this.trips.set(idempotencyKey, tripId);
    }
    await this.during();
    return this.answerWithTripId ? { tripId } : {};
  }
}

/** A queue job as the dispatcher's consumer receives it. */
export function aJob(type: string, id: string, subject: string = BOOKING_ID): JobEnvelope {
  return { id, type, subject, attempt: 1, correlation: { operationId: 'op-1' }, payload: { bookingId: subject }, errors: [], createdAt: NOW };
}
