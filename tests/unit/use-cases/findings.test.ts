import { describe, expect, it } from 'vitest';
import type { BookingActor } from '../../../slices/bookings/app/access';
import { addFinding, approveFinding, declineFinding, type FindingDeps } from '../../../slices/bookings/app/findings';
import { handleStripeEvent } from '../../../slices/bookings/app/handle-stripe-event';
import { type BookingHistoryRow, bookingHistory, bookingTimeline } from '../../../slices/bookings/app/ports';
import type { Booking } from '../../../slices/bookings/domain/booking';
import type { BookingStatus } from '../../../slices/bookings/domain/booking-status';
import { FINDING_LIMITS, type Finding } from '../../../slices/bookings/domain/finding';
import { aBooking, aFinding, BOOKING_ID, currentOf, FakePaymentGateway, fixedClock, jobsOf, NOW, storeWith, TOKEN } from '../../support/booking-fixtures';

/** What a history row is: a status row has no `kind` (its shape is the one it always had). */
const kindOf = (row: BookingHistoryRow) => ('kind' in row ? row.kind : 'status');

const CUSTOMER: BookingActor = { kind: 'customer', token: TOKEN };
const ADMIN: BookingActor = { kind: 'staff', name: 'backoffice', roles: ['admin'] };
const FINDING_ID = 'f-1';
const WORKSHOP = 'api:workshop-tablet' as const;

/** Booking bk-1 in the workshop (card saved as cus_1/pm_card) with finding f-1, in a store and a Stripe. */
function setup(booking: Booking = aBooking({ status: 'IN_WORKSHOP', findings: [aFinding()] })) {
  const bookings = storeWith(booking);
  const payments = new FakePaymentGateway();
  payments.seedCustomer('cus_1', 'erika@example.com');
  const clock = fixedClock(NOW, 'fd');
  const deps: FindingDeps = { bookings, payments, clock };
  return { bookings, payments, clock, deps };
}

function withFinding(status: Finding['status'], bookingStatus: BookingStatus = 'IN_WORKSHOP', extra: Partial<Finding> = {}): Booking {
  return aBooking({ status: bookingStatus, findings: [aFinding({ status, ...extra })] });
}

const findingIn = (booking: Booking, id = FINDING_ID) => booking.findings.find((finding) => finding.id === id);

describe('addFinding', () => {
  it('adds a finding in PENDING_APPROVAL to a booking in the workshop, with its history row, and queues the approval e-mail', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'IN_WORKSHOP' }));

    const outcome = await addFinding(deps, BOOKING_ID, { description: 'Brake discs scored', priceCents: 24900 }, WORKSHOP, 'op-42');

    const expected: Finding = {
      id: 'fd-1',
      description: 'Brake discs scored',
      priceCents: 24900,
      currency: 'EUR',
      status: 'PENDING_APPROVAL',
      createdAt: NOW,
      updatedAt: NOW,
    };
    expect(outcome).toEqual({ ok: true, finding: expected });
    expect(currentOf(bookings)).toMatchObject({ status: 'IN_WORKSHOP', findings: [expected], version: 4, updatedAt: NOW });
    expect(jobsOf(bookings)).toEqual(['finding.added notify:finding.added:bk-1:fd-1']);
    expect(bookings.jobs[0]).toMatchObject({
      queue: 'notifications',
      envelope: { subject: BOOKING_ID, payload: { findingId: 'fd-1' }, correlation: { operationId: 'op-42' } },
    });
    // A finding row (the booking's status did not move: no status row).
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { kind: 'finding', subject: 'fd-1', from: null, to: 'PENDING_APPROVAL', at: NOW, cause: 'api:workshop-tablet' },
    ]);
    expect(await bookingHistory(bookings, BOOKING_ID)).toEqual([]);
  });

  it.each<BookingStatus>(['PENDING_PAYMENT', 'CONFIRMED', 'READY_FOR_DELIVERY', 'DELIVERED', 'CANCELLED'])(
    'refuses a finding while the booking is %s',
    async (status) => {
      const { bookings, deps } = setup(aBooking({ status }));

      const outcome = await addFinding(deps, BOOKING_ID, { description: 'Wipers', priceCents: 2900 }, WORKSHOP);

      expect(outcome).toEqual({ ok: false, error: { code: 'BOOKING_NOT_IN_WORKSHOP', status } });
      expect(bookings.changes).toEqual([]);
    },
  );

  it('answers NOT_FOUND for an unknown booking', async () => {
    const { bookings, deps } = setup();

    expect(await addFinding(deps, 'bk-unknown', { description: 'Wipers', priceCents: 2900 }, WORKSHOP)).toEqual({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(bookings.changes).toEqual([]);
  });

  // Issue 9: with many long findings a booking outgrew its entity, adding one answered 500 and
  // approving one charged the card, then failed to save. Now a full booking refuses before anything.
  it('refuses a finding on a full booking before saving, queueing or charging anything', async () => {
    const full = Array.from({ length: FINDING_LIMITS.perBooking }, (_, i) =>
      aFinding({ id: `f-${i + 1}`, description: 'x'.repeat(FINDING_LIMITS.description) }),
    );
    const { bookings, payments, deps } = setup(aBooking({ status: 'IN_WORKSHOP', findings: full }));

    const outcome = await addFinding(deps, BOOKING_ID, { description: 'One more', priceCents: 2900 }, WORKSHOP);

    expect(outcome).toEqual({ ok: false, error: { code: 'TOO_MANY_FINDINGS', limit: 20 } });
    expect(bookings.changes).toEqual([]);
    expect(bookings.jobs).toEqual([]);
    expect(payments.calls).toEqual([]);
    expect(currentOf(bookings).findings).toHaveLength(20);

    // The findings it holds can still be approved and charged, once.
    const approved = await approveFinding(deps, BOOKING_ID, 'f-20', CUSTOMER);
    expect(approved).toMatchObject({ ok: true, finding: { id: 'f-20', status: 'PAID' } });
    expect(payments.charges).toHaveLength(1);
  });
});

describe('approveFinding', () => {
  it('saves APPROVED, charges the saved card off-session once and records PAID with an Odoo sync', async () => {
    const { bookings, payments, deps } = setup();

    const outcome = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER, 'op-7');

    expect(payments.charges).toHaveLength(1);
    const charge = payments.charges[0];
    const intent = payments.intent(charge?.paymentIntentId ?? '');
    expect(charge).toMatchObject({ idempotencyKey: 'finding:f-1:charge', amountCents: 18900, outcome: 'succeeded' });
    expect(intent).toMatchObject({
      status: 'succeeded',
      customerId: 'cus_1',
      paymentMethodId: 'pm_card',
      metadata: { bookingId: BOOKING_ID, findingId: FINDING_ID },
    });

    const stored = findingIn(currentOf(bookings));
    expect(stored).toMatchObject({ status: 'PAID', paymentIntentId: intent.id, updatedAt: NOW });
    expect(outcome).toEqual({ ok: true, finding: stored });
    expect(bookings.changes.map((change) => findingIn(change.state)?.status)).toEqual(['APPROVED', 'PAID']);
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v5']);
    expect(bookings.jobs[0]?.envelope.correlation).toEqual({ operationId: 'op-7' });
    // Approved and paid, each a finding row caused by the customer's approval.
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { kind: 'finding', subject: FINDING_ID, from: 'PENDING_APPROVAL', to: 'APPROVED', at: NOW, cause: 'customer' },
      { kind: 'finding', subject: FINDING_ID, from: 'APPROVED', to: 'PAID', at: NOW, cause: 'customer' },
    ]);
  });

  it('reads the booking once for access and approval, and once more to record the charge', async () => {
    const { bookings, deps } = setup();

    await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(bookings.reads.get(BOOKING_ID)).toBe(2);
  });

  it('does not call Stripe for the second of two approvals at once when the first has recorded PAID by then', async () => {
    const { bookings, payments, deps } = setup();

    const [one, two] = await Promise.all([approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER), approveFinding(deps, BOOKING_ID, FINDING_ID, ADMIN)]);

    expect(payments.keysOf('chargeOffSession')).toEqual(['finding:f-1:charge']);
    const paid = findingIn(currentOf(bookings));
    expect(paid?.status).toBe('PAID');
    expect(one).toEqual({ ok: true, finding: paid });
    expect(two).toEqual({ ok: true, finding: paid });
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v5']);
  });

  it('charges once when two approvals run at once and the first charge answers late; both answer PAID', async () => {
    const { bookings, payments, deps } = setup();
    // Stripe executes the first charge at once but its answer arrives only after the second approval charged.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    payments.during = async (method) => {
      if (method !== 'chargeOffSession') return;
      if (payments.keysOf('chargeOffSession').length === 1) await held;
      else release();
    };

    const [one, two] = await Promise.all([approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER), approveFinding(deps, BOOKING_ID, FINDING_ID, ADMIN)]);

    expect(payments.keysOf('chargeOffSession')).toEqual(['finding:f-1:charge', 'finding:f-1:charge']);
    expect(payments.charges).toHaveLength(1);
    const paid = findingIn(currentOf(bookings));
    expect(paid?.status).toBe('PAID');
    expect(one).toEqual({ ok: true, finding: paid });
    expect(two).toEqual({ ok: true, finding: paid });
    expect(bookings.changes.map((change) => findingIn(change.state)?.status)).toEqual(['APPROVED', 'PAID']);
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v5']);
  });

  it('answers a declined card as CARD_DECLINED with the finding in PAYMENT_FAILED, and does not charge again on a repeat', async () => {
    const { bookings, payments, deps } = setup();
    payments.chargeOutcome = 'card_declined';
    payments.declineCode = 'insufficient_funds';

    const outcome = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    const failed = findingIn(currentOf(bookings));
    expect(failed).toMatchObject({ status: 'PAYMENT_FAILED', failureReason: 'insufficient_funds', paymentIntentId: payments.charges[0]?.paymentIntentId });
    expect(outcome).toEqual({ ok: false, error: { code: 'CARD_DECLINED', finding: failed } });
    expect(jobsOf(bookings)).toEqual([]);

    const again = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(again).toEqual({ ok: false, error: { code: 'CARD_DECLINED', finding: failed } });
    expect(payments.keysOf('chargeOffSession')).toEqual(['finding:f-1:charge']);
    expect(bookings.changes).toHaveLength(2);
    expect((await bookingTimeline(bookings, BOOKING_ID)).map((row) => `${kindOf(row)} ${row.from}->${row.to}`)).toEqual([
      'finding PENDING_APPROVAL->APPROVED',
      'finding APPROVED->PAYMENT_FAILED',
    ]);
  });

  it('answers REQUIRES_ACTION with the client secret when the bank wants 3-D Secure, and asks the customer by e-mail', async () => {
    const { bookings, payments, deps } = setup();
    payments.chargeOutcome = 'authentication_required';

    const outcome = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    const intent = payments.intent(payments.charges[0]?.paymentIntentId ?? '');
    const waiting = findingIn(currentOf(bookings));
    expect(waiting).toMatchObject({ status: 'REQUIRES_ACTION', paymentIntentId: intent.id });
    expect(outcome).toEqual({ ok: true, finding: waiting, clientSecret: intent.clientSecret });
    expect(jobsOf(bookings)).toEqual(['finding.requires-action notify:finding.requires-action:bk-1:f-1']);
    // The client secret confirms the payment: it is handed out, never stored.
    expect(JSON.stringify(bookings.changes)).not.toContain(intent.clientSecret);
  });

  it('answers a repeated approval of a finding waiting for 3-D Secure with a fresh look-up of the secret, without charging', async () => {
    const { bookings, payments, deps } = setup();
    payments.chargeOutcome = 'authentication_required';
    await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    const again = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    const intent = payments.intent(payments.charges[0]?.paymentIntentId ?? '');
    expect(again).toEqual({ ok: true, finding: findingIn(currentOf(bookings)), clientSecret: intent.clientSecret });
    expect(payments.keysOf('chargeOffSession')).toHaveLength(1);
    expect(payments.calls.filter((call) => call.method === 'retrievePaymentIntent')).toHaveLength(1);
    expect(bookings.changes).toHaveLength(2);
  });

  it('keeps the finding APPROVED when Stripe is unreachable; approving again charges with the same key, once', async () => {
    const { bookings, payments, deps } = setup();
    payments.goDown();

    const failed = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(failed).toMatchObject({ ok: false, error: { code: 'PAYMENT_PROVIDER', failure: { code: 'unavailable' } } });
    expect(findingIn(currentOf(bookings))?.status).toBe('APPROVED');
    expect(payments.charges).toEqual([]);

    payments.goDown(false);
    const retried = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(retried).toMatchObject({ ok: true, finding: { status: 'PAID' } });
    expect(payments.keysOf('chargeOffSession')).toEqual(['finding:f-1:charge', 'finding:f-1:charge']);
    expect(payments.charges).toHaveLength(1);
    expect(bookings.changes.map((change) => findingIn(change.state)?.status)).toEqual(['APPROVED', 'PAID']);
  });

  it('answers a repeated approval of a paid finding without charging again, even after the car left the workshop', async () => {
    const paid = aFinding({ status: 'PAID', paymentIntentId: 'pi_paid' });
    const { bookings, payments, deps } = setup(aBooking({ status: 'READY_FOR_DELIVERY', findings: [paid] }));

    const outcome = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(outcome).toEqual({ ok: true, finding: paid });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
  });

  it('answers the recorded outcome when the webhook recorded the payment while the charge was under way', async () => {
    const { bookings, payments, deps } = setup();
    payments.during = async (method) => {
      if (method !== 'chargeOffSession') return;
      const intentId = payments.charges[0]?.paymentIntentId ?? '';
      expect(await handleStripeEvent(deps, payments.event('evt_finding_paid', 'payment_intent.succeeded', intentId))).toBe('applied');
    };

    const outcome = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    const paid = findingIn(currentOf(bookings));
    expect(paid?.status).toBe('PAID');
    expect(outcome).toEqual({ ok: true, finding: paid });
    // The webhook's change queued the sync; the approval saved nothing more.
    expect(bookings.changes).toHaveLength(2);
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v5']);
    // The payment's row names the webhook's event, which recorded it.
    expect((await bookingTimeline(bookings, BOOKING_ID)).map((row) => `${row.from}->${row.to} ${row.cause}`)).toEqual([
      'PENDING_APPROVAL->APPROVED customer',
      'APPROVED->PAID stripe:evt_finding_paid',
    ]);
  });

  it('charges only once APPROVED is saved: at the charge the stored finding is APPROVED already', async () => {
    const { bookings, payments, deps } = setup();
    const seenAtCharge: Array<string | undefined> = [];
    payments.during = (method) => {
      if (method === 'chargeOffSession') seenAtCharge.push(findingIn(currentOf(bookings))?.status);
    };

    await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(seenAtCharge).toEqual(['APPROVED']);
  });

  it('charges nothing when saving APPROVED fails', async () => {
    const { bookings, payments, deps } = setup();
    bookings.update = async () => {
      throw new Error('Table Storage unavailable');
    };

    await expect(approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER)).rejects.toThrow('Table Storage unavailable');

    expect(payments.calls).toEqual([]);
    expect(findingIn(currentOf(bookings))?.status).toBe('PENDING_APPROVAL');
  });

  // Issue 9: the card was charged and the record of it failed. The charge is never lost: Stripe's
  // payment_intent.succeeded (metadata bookingId + findingId) records it, and approving again replays
  // the same idempotent charge instead of charging twice.
  it('lets the webhook record a charge whose record failed after the charge, and never charges twice', async () => {
    const { bookings, payments, deps } = setup();
    const update = bookings.update.bind(bookings);
    let saves = 0;
    bookings.update = async (current, change) => {
      saves += 1;
      // The first save (APPROVED) goes through; the one recording the charge fails.
      if (saves === 2) throw new Error('Table Storage unavailable');
      return update(current, change);
    };

    await expect(approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER)).rejects.toThrow('Table Storage unavailable');

    expect(payments.charges).toHaveLength(1);
    const intentId = payments.charges[0]?.paymentIntentId ?? '';
    expect(payments.intent(intentId)).toMatchObject({ status: 'succeeded', metadata: { bookingId: BOOKING_ID, findingId: FINDING_ID } });
    // Reserved, not recorded: the finding stays APPROVED, so nothing can charge it afresh.
    expect(findingIn(currentOf(bookings))?.status).toBe('APPROVED');
    expect(jobsOf(bookings)).toEqual([]);

    // Stripe's webhook for the charge records it, with the Odoo sync of the finding's invoice.
    expect(await handleStripeEvent(deps, payments.event('evt_finding_paid', 'payment_intent.succeeded', intentId))).toBe('applied');
    expect(findingIn(currentOf(bookings))).toMatchObject({ status: 'PAID', paymentIntentId: intentId });
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v5']);

    // The customer, told of a failure, approves again: answered PAID, nothing charged or queued anew.
    const again = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);
    expect(again).toMatchObject({ ok: true, finding: { status: 'PAID', paymentIntentId: intentId } });
    expect(payments.charges).toHaveLength(1);
    expect(payments.keysOf('chargeOffSession')).toEqual(['finding:f-1:charge']);
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v5']);
  });

  it('records a charge whose record failed when the customer approves again before the webhook arrives', async () => {
    const { bookings, payments, deps } = setup();
    const update = bookings.update.bind(bookings);
    let saves = 0;
    bookings.update = async (current, change) => {
      saves += 1;
      if (saves === 2) throw new Error('Table Storage unavailable');
      return update(current, change);
    };
    await expect(approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER)).rejects.toThrow('Table Storage unavailable');

    const again = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    // The same key replays Stripe's first answer: recorded PAID, the card charged once.
    expect(again).toMatchObject({ ok: true, finding: { status: 'PAID' } });
    expect(payments.keysOf('chargeOffSession')).toEqual(['finding:f-1:charge', 'finding:f-1:charge']);
    expect(payments.charges).toHaveLength(1);
    expect(findingIn(currentOf(bookings))?.status).toBe('PAID');
    // The webhook arriving after that changes nothing.
    const intentId = payments.charges[0]?.paymentIntentId ?? '';
    expect(await handleStripeEvent(deps, payments.event('evt_late', 'payment_intent.succeeded', intentId))).toBe('unchanged');
    expect(jobsOf(bookings)).toEqual(['booking.sync odoo:bk-1:v5']);
  });

  it('refuses without a saved card, before touching Stripe', async () => {
    const { bookings, payments, deps } = setup(aBooking({ status: 'IN_WORKSHOP', findings: [aFinding()], payment: { paymentMethodId: undefined } }));

    expect(await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER)).toEqual({ ok: false, error: { code: 'NO_SAVED_CARD' } });
    expect(await approveFinding(deps, BOOKING_ID, 'f-unknown', CUSTOMER)).toEqual({ ok: false, error: { code: 'FINDING_NOT_FOUND', findingId: 'f-unknown' } });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
  });

  it('refuses an unknown finding, and a fresh approval once the car left the workshop, without charging', async () => {
    const { bookings, payments, deps } = setup(withFinding('PENDING_APPROVAL', 'READY_FOR_DELIVERY'));

    expect(await approveFinding(deps, BOOKING_ID, 'f-unknown', CUSTOMER)).toEqual({ ok: false, error: { code: 'FINDING_NOT_FOUND', findingId: 'f-unknown' } });
    expect(await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER)).toEqual({
      ok: false,
      error: { code: 'BOOKING_NOT_IN_WORKSHOP', status: 'READY_FOR_DELIVERY' },
    });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
  });

  it('refuses to approve a declined finding', async () => {
    const { bookings, payments, deps } = setup(withFinding('DECLINED'));

    const outcome = await approveFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(outcome).toEqual({ ok: false, error: { code: 'ALREADY_DECLINED', finding: findingIn(currentOf(bookings)) } });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
  });
});

describe('declineFinding', () => {
  it('declines a pending finding with one read, no charge and no job', async () => {
    const { bookings, payments, deps } = setup();

    const outcome = await declineFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    const declined = findingIn(currentOf(bookings));
    expect(declined).toMatchObject({ status: 'DECLINED', updatedAt: NOW });
    expect(outcome).toEqual({ ok: true, finding: declined });
    expect(bookings.reads.get(BOOKING_ID)).toBe(1);
    expect(payments.calls).toEqual([]);
    expect(jobsOf(bookings)).toEqual([]);
    expect(await bookingTimeline(bookings, BOOKING_ID)).toEqual([
      { kind: 'finding', subject: FINDING_ID, from: 'PENDING_APPROVAL', to: 'DECLINED', at: NOW, cause: 'customer' },
    ]);
  });

  it('is too late once the finding was approved', async () => {
    const { bookings, deps } = setup(withFinding('APPROVED'));

    const outcome = await declineFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    expect(outcome).toEqual({ ok: false, error: { code: 'ALREADY_APPROVED', finding: findingIn(currentOf(bookings)) } });
    expect(bookings.changes).toEqual([]);
  });

  it('answers a repeated decline with ALREADY_DECLINED and saves nothing', async () => {
    const { bookings, deps } = setup();
    await declineFinding(deps, BOOKING_ID, FINDING_ID, CUSTOMER);

    const again = await declineFinding(deps, BOOKING_ID, FINDING_ID, ADMIN);

    expect(again).toMatchObject({ ok: false, error: { code: 'ALREADY_DECLINED', finding: { status: 'DECLINED' } } });
    expect(bookings.changes).toHaveLength(1);
    expect(await bookingTimeline(bookings, BOOKING_ID)).toHaveLength(1);
  });
});

describe('findings: access', () => {
  const cases: Array<[string, BookingActor, string]> = [
    ['no token', { kind: 'customer' }, 'UNAUTHENTICATED'],
    ['a wrong token', { kind: 'customer', token: 'bat_wrong' }, 'FORBIDDEN'],
    ['staff without the admin role', { kind: 'staff', name: 'workshop-tablet', roles: ['workshop'] }, 'FORBIDDEN'],
  ];

  it.each(cases)('approve refuses %s without charging', async (_name, actor, code) => {
    const { bookings, payments, deps } = setup();

    expect(await approveFinding(deps, BOOKING_ID, FINDING_ID, actor)).toEqual({ ok: false, error: { code } });
    expect(payments.calls).toEqual([]);
    expect(bookings.changes).toEqual([]);
  });

  it.each(cases)('decline refuses %s', async (_name, actor, code) => {
    const { bookings, deps } = setup();

    expect(await declineFinding(deps, BOOKING_ID, FINDING_ID, actor)).toEqual({ ok: false, error: { code } });
    expect(bookings.changes).toEqual([]);
  });

  it('answers NOT_FOUND for an unknown booking', async () => {
    const { payments, deps } = setup();

    expect(await approveFinding(deps, 'bk-unknown', FINDING_ID, CUSTOMER)).toEqual({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await declineFinding(deps, 'bk-unknown', FINDING_ID, ADMIN)).toEqual({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(payments.calls).toEqual([]);
  });

  it('lets an admin approve and decline without the token', async () => {
    const { bookings, deps } = setup(aBooking({ status: 'IN_WORKSHOP', findings: [aFinding(), aFinding({ id: 'f-2' })] }));

    expect(await approveFinding(deps, BOOKING_ID, FINDING_ID, ADMIN)).toMatchObject({ ok: true, finding: { status: 'PAID' } });
    expect(await declineFinding(deps, BOOKING_ID, 'f-2', ADMIN)).toMatchObject({ ok: true, finding: { status: 'DECLINED' } });
    expect(currentOf(bookings).findings.map((finding) => finding.status)).toEqual(['PAID', 'DECLINED']);
  });
});
