import { createHash } from 'node:crypto';
import { type Booking, createBooking as createBookingInDomain, type BookingProblem, type CreateBookingRequest } from '../domain/booking';
import type { Catalogue } from '../domain/catalogue';
import type { OpeningHours, SlotRules } from '../domain/opening-hours';
import type { PaymentFailure, PaymentGateway } from '../../../shared/platform/payments';
import type { BookingRepository } from './ports';

export interface BookingClock {
  now: () => Date;
  newId: () => string;
}

export interface CreateBookingDeps extends BookingClock {
  repo: BookingRepository;
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

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Creates a booking: validated and priced by the domain, a Stripe customer and a PaymentIntent that
 * saves the card for findings, then stored with its first history row. Stripe comes first: when it
 * fails nothing is stored, and its idempotency keys (derived from our ids) make a retry safe.
 */
export async function createBooking(deps: CreateBookingDeps, request: CreateBookingRequest): Promise<CreateBookingOutcome> {
  const created = createBookingInDomain(request, {
    id: deps.newId(),
    now: deps.now(),
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
    amountCents: booking.priceCents,
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
  await deps.repo.create({ booking: stored, history: [created.history], jobs: [] }, hashToken(accessToken));
  return { ok: true, booking: stored, accessToken, clientSecret: intent.value.clientSecret };
}
