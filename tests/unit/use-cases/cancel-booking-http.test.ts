import { describe, expect, it } from 'vitest';
import type { HttpFunctionDef } from '../../../shared/function-table';
import { FixedWindowRateLimiter } from '../../../shared/http/rate-limit';
import { bookingFunctions } from '../../../slices/bookings/http/bookings';
import { DEFAULT_CATALOGUE } from '../../../slices/bookings/domain/catalogue';
import { aBooking, BOOKING_ID, currentOf, FakePaymentGateway, fixedClock, NOW, storeWith, TOKEN } from '../../support/booking-fixtures';

// The cancel endpoint's contract around the refund: the booking view shows the refund, and a refund
// Stripe did not take is a 503/502 problem that says the booking IS cancelled (cancel again to retry).

function setup() {
  const bookings = storeWith(aBooking({ status: 'CONFIRMED' }));
  const payments = new FakePaymentGateway();
  payments.seedIntent({ id: 'pi_booking', status: 'succeeded', amount: 14900, metadata: { bookingId: BOOKING_ID } });
  const deps = { bookings, clock: fixedClock(NOW), payments };
  const functions = bookingFunctions({
    bookings,
    create: {} as never,
    cancel: deps,
    findings: deps,
    catalogue: DEFAULT_CATALOGUE,
    creationLimiter: new FixedWindowRateLimiter({ limit: 1, windowMs: 1000 }),
  });
  const cancel = functions.find((def) => def.name === 'bookings-cancel') as HttpFunctionDef;
  const post = () =>
    cancel.handler({
      request: {
        method: 'POST',
        url: `v1/bookings/${BOOKING_ID}/cancel`,
        params: { id: BOOKING_ID },
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${TOKEN}` },
        rawBody: Buffer.alloc(0),
        clientIp: '127.0.0.1',
      },
      body: undefined,
      params: { id: BOOKING_ID },
      query: {},
      caller: { kind: 'anonymous' },
      event: undefined,
      operationId: 'op-1',
    });
  return { bookings, payments, post };
}

describe('POST /v1/bookings/{id}/cancel: the refund', () => {
  it("answers 200 with the booking, its payment refunded and the refund's status", async () => {
    const { post } = setup();

    const response = await post();

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'CANCELLED', payment: { status: 'refunded', refund: { status: 'succeeded' } } });
  });

  it('answers 503 with Retry-After while Stripe is down, saying the booking is cancelled and its refund flagged; the retry answers 200', async () => {
    const { bookings, payments, post } = setup();
    payments.goDown();

    const response = await post();

    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '5', 'Content-Type': 'application/problem+json' });
    expect(response.body).toMatchObject({ status: 503, bookingStatus: 'CANCELLED', refundStatus: 'failed', detail: expect.stringContaining('is cancelled') });
    expect(currentOf(bookings).status).toBe('CANCELLED');

    payments.goDown(false);
    const retried = await post();
    expect(retried.status).toBe(200);
    expect(payments.refunds).toHaveLength(1);
  });

  it('answers 502 when Stripe refuses the refund, saying the booking is cancelled and the refund flagged', async () => {
    const { payments, post } = setup();
    payments.intent('pi_booking').status = 'processing';

    const response = await post();

    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ bookingStatus: 'CANCELLED', refundStatus: 'failed', detail: expect.stringContaining('flagged for our staff') });
  });
});
