import type { PaymentFailure, PaymentGateway } from '../../../shared/platform/payments';
import { type Booking, type BookingProblem, type CreateBookingRequest, createBooking as createBookingInDomain } from '../domain/booking';
import type { Catalogue } from '../domain/catalogue';
import type { OpeningHours, SlotRules } from '../domain/opening-hours';
import { hashToken } from './access';
import { ACCESS_TOKEN_HASH, type BookingContext } from './ports';

export interface CreateBookingDeps extends BookingContext {
  payments: PaymentGateway;
  catalogue: Catalogue;
  hours: OpeningHours;
  rules: SlotRules;
  /** A fresh random access token (returned once; only its hash is stored). */
  newAccessToken: () => string;
}

export type CreateBookingOutcome =
  | { ok: true; booking: Booking; accessToken: string; clientSecret: string }
  | { ok: false; error: { code: 'INVALID_BOOKING'; problems: BookingProblem[] } | { code: 'PAYMENT_PROVIDER'; failure: PaymentFailure } };

/**
 * Creates a booking: validated and priced by the domain, a Stripe customer and a PaymentIntent that
 * saves the card for findings, then stored with its first history row. Stripe comes first: when it
 * fails nothing is stored, and its idempotency keys (derived from our ids) make a retry safe.
 */
export async function createBooking(deps: CreateBookingDeps, request: CreateBookingRequest): Promise<CreateBookingOutcome> {
  const created = createBookingInDomain(request, {
    id: deps.clock.newId(),
    now: deps.clock.now(),
    catalogue: deps.catalogue,
    hours: deps.hours,
    rules: deps.rules,
  });
  if (!created.ok) return { ok: false, error: { code: 'INVALID_BOOKING', problems: created.error.problems } };
  const booking = created.booking;

  // One Stripe customer per address in any case: Stripe's e-mail filter is case-sensitive, and a
  // look-up with `Erika@…` that misses `erika@…` would reuse the key with other parameters (400).
  const email = booking.customer.email.toLowerCase();
  const customer = await deps.payments.ensureCustomer({
    email,
    name: booking.customer.name,
    phone: booking.customer.phone,
    idempotencyKey: `customer:${hashToken(email)}`,
  });
  if (!customer.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: customer.error } };

  const intent = await deps.payments.createPaymentIntent({
    amount: booking.priceCents,
    currency: booking.currency,
    customerId: customer.value.id,
    metadata: { bookingId: booking.id },
    description: `Booking ${booking.id}: ${booking.serviceType}`,
    idempotencyKey: `booking:${booking.id}:payment`,
    saveCard: true,
  });
  if (!intent.ok) return { ok: false, error: { code: 'PAYMENT_PROVIDER', failure: intent.error } };

  const stored: Booking = {
    ...booking,
    payment: { ...booking.payment, status: 'pending', paymentIntentId: intent.value.id, stripeCustomerId: customer.value.id },
  };
  const accessToken = deps.newAccessToken();
  const saved = await deps.bookings.create({ state: stored, history: [created.history], jobs: [] }, { [ACCESS_TOKEN_HASH]: hashToken(accessToken) });
  // Ids are fresh UUIDs: a taken one is a bug, not a case to handle.
  if (saved === 'exists') throw new Error(`booking id ${booking.id} is already taken`);
  return { ok: true, booking: stored, accessToken, clientSecret: intent.value.clientSecret };
}
