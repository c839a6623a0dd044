import { describe, expect, it } from 'vitest';
import type { BookingStore, StoredBooking } from '../../slices/bookings/app/ports';
import type { Change, SaveResult } from '../../shared/platform/aggregate';
import { JobError, type JobEnvelope } from '../../shared/platform/jobs';
import { customerRef } from '../../shared/kernel/customer-ref';
import { BOOKING_SYNC_JOB } from '../../slices/bookings/app/jobs';
import { bookingSyncHandlers, syncBookingToErp } from '../../slices/bookings/app/sync-to-erp';
import type { Booking } from '../../slices/bookings/domain/booking';
import type { HistoryEntry } from '../../slices/bookings/domain/booking-status';
import { DEFAULT_CATALOGUE } from '../../slices/bookings/domain/catalogue';
import type { Finding } from '../../slices/bookings/domain/finding';
import { MemoryErp, type Move } from '../support/memory-erp';

// ---- Bookings.

const PAID_AT = '2026-03-01T23:30:00.000Z'; // already 2 March in Berlin

function booking(overrides: Partial<Booking> = {}): Booking {
  return {
    id: 'bk_1',
    status: 'CONFIRMED',
    customer: { name: 'Erika Mustermann', email: 'Erika@Example.de', phone: '+491711234567', language: 'de' },
    vehicle: { brand: 'VW', model: 'Golf' },
    serviceType: 'inspection',
    priceCents: 14900,
    currency: 'EUR',
    pickup: {
      address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' },
      slotStart: '2026-03-03T08:00:00.000Z',
      slotEnd: '2026-03-03T10:00:00.000Z',
    },
    delivery: { address: { street: 'Leopoldstraße 1', zip: '80802', city: 'München' } },
    payment: { status: 'succeeded', paymentIntentId: 'pi_booking' },
    findings: [],
    flags: {},
    createdAt: '2026-03-01T23:00:00.000Z',
    updatedAt: PAID_AT,
    version: 2,
    ...overrides,
  };
}

function finding(id: string, status: Finding['status'], extra: Partial<Finding> = {}): Finding {
  return {
    id,
    description: `Bremsbeläge vorne (${id})`,
    priceCents: 8900,
    currency: 'EUR',
    status,
    createdAt: PAID_AT,
    updatedAt: '2026-03-04T10:00:00.000Z',
    ...extra,
  };
}

class MemoryBookings implements BookingStore {
  constructor(
    public current: Booking | undefined,
    public rows: HistoryEntry[] = [{ from: 'PENDING_PAYMENT', to: 'CONFIRMED', at: PAID_AT, cause: 'stripe:evt_1' }],
  ) {}
  async get(id: string): Promise<StoredBooking | undefined> {
    return this.current?.id === id ? { state: this.current, etag: 'e', attributes: {} } : undefined;
  }
  async history() {
    return this.rows.map((row) => ({ machine: 'booking', subject: this.current?.id ?? '', ...row }));
  }
  async whereSet(): Promise<StoredBooking[]> {
    return [];
  }

  async hasEvent(): Promise<boolean> {
    throw new Error('not used');
  }
  async create(): Promise<'created'> {
    throw new Error('not used');
  }
  /** What the sync wrote back: only the ERP ids, never status, history or jobs. */
  readonly writes: Array<Change<Booking>> = [];
  async update(_current: StoredBooking, change: Change<Booking>): Promise<SaveResult> {
    this.writes.push(change);
    this.current = change.state;
    return 'saved';
  }
}

function job(subject = 'bk_1', payload: unknown = { bookingId: subject, reason: 'payment succeeded' }): JobEnvelope {
  return { id: `odoo:${subject}:v2`, type: BOOKING_SYNC_JOB, subject, attempt: 1, correlation: { operationId: 'op' }, payload, errors: [], createdAt: PAID_AT };
}

function setup(current: Booking | undefined, erp = new MemoryErp()) {
  const bookings = new MemoryBookings(current);
  const deps = { bookings, erp, catalogue: DEFAULT_CATALOGUE, clock: { now: () => new Date('2026-03-10T12:00:00Z'), newId: () => 'id' } };
  const handle = bookingSyncHandlers(deps)[BOOKING_SYNC_JOB] as (job: JobEnvelope) => Promise<void>;
  return { erp, bookings, deps, handle };
}

// ---- Tests.

describe('booking.sync: what a booking owes the books', () => {
  it.each([
    ['awaiting payment', booking({ status: 'PENDING_PAYMENT', payment: { status: 'pending', paymentIntentId: 'pi_x' } })],
    ['failed payment', booking({ status: 'PENDING_PAYMENT', payment: { status: 'failed', paymentIntentId: 'pi_x' } })],
    ['cancelled unpaid', booking({ status: 'CANCELLED', payment: { status: 'canceled', paymentIntentId: 'pi_x' } })],
  ])('does nothing at all for a booking %s', async (_, unpaid) => {
    const { erp, handle } = setup(unpaid);
    await handle(job());
    expect(erp.calls).toEqual([]);
  });

  it('creates the customer, one posted invoice with the service line, and the payment', async () => {
    const { erp, deps } = setup(booking());
    const report = await syncBookingToErp(deps, 'bk_1');

    expect(erp.partners).toEqual([{ id: 1, ref: customerRef('erika@example.de'), email: 'Erika@Example.de', name: 'Erika Mustermann' }]);
    expect(customerRef('  ERIKA@example.DE ')).toBe(customerRef('erika@example.de'));
    const { invoices, payments, creditNotes } = erp.live();
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ ref: 'bk_1', state: 'posted', partnerId: 1, amountTotal: 14900, amountResidual: 0, paymentState: 'paid' });
    expect(invoices[0]?.lines).toEqual([{ name: 'Inspektion - VW Golf', quantity: 1, unitAmount: 14900 }]);
    expect(payments).toEqual([expect.objectContaining({ memo: 'pi_booking', amount: 14900, invoiceId: invoices[0]?.id })]);
    expect(creditNotes).toEqual([]);
    expect(report).toMatchObject({ partnerId: 1, invoices: { bk_1: invoices[0]?.id }, warnings: [] });
    expect(report.changes).toHaveLength(3);
  });

  it('dates invoice and payment by the Berlin day the booking was paid', async () => {
    const dates: string[] = [];
    const erp = new MemoryErp();
    const createInvoice = erp.createInvoice.bind(erp);
    const registerPayment = erp.registerPayment.bind(erp);
    erp.createInvoice = async (draft) => {
      dates.push(`invoice ${draft.date}`);
      return createInvoice(draft);
    };
    erp.registerPayment = async (draft) => {
      dates.push(`payment ${draft.date}`);
      return registerPayment(draft);
    };
    await setup(booking(), erp).handle(job());
    expect(dates).toEqual(['invoice 2026-03-02', 'payment 2026-03-02']);
  });

  it('changes nothing when run again, and only looks (1 call)', async () => {
    const { erp, deps } = setup(booking({ findings: [finding('f_1', 'PAID', { paymentIntentId: 'pi_f1' })] }));
    await syncBookingToErp(deps, 'bk_1');
    const before = structuredClone({ partners: erp.partners, moves: erp.moves, payments: erp.payments });
    erp.calls = [];

    const again = await syncBookingToErp(deps, 'bk_1');
    expect(again.changes).toEqual([]);
    expect({ partners: erp.partners, moves: erp.moves, payments: erp.payments }).toEqual(before);
    expect(again.partnerId).toBe(1);
    expect(erp.calls).toEqual(['findInvoices']);
  });

  it('stores the Odoo ids back on the booking once, and writes nothing when they are unchanged', async () => {
    const { bookings, deps } = setup(booking({ findings: [finding('f_1', 'PAID', { paymentIntentId: 'pi_f1' })] }));
    const first = await syncBookingToErp(deps, 'bk_1');
    expect(bookings.writes).toHaveLength(1);
    expect(bookings.writes[0]).toMatchObject({ history: [], jobs: [] });
    expect(bookings.current?.erp).toEqual({ partnerId: first.partnerId, invoiceIds: first.invoices });
    expect(Object.keys(bookings.current?.erp?.invoiceIds ?? {}).sort()).toEqual(['bk_1', 'f_1']);
    await syncBookingToErp(deps, 'bk_1');
    expect(bookings.writes).toHaveLength(1);
  });

  it('finds an existing customer by e-mail (any case) before creating one', async () => {
    const erp = new MemoryErp();
    erp.partners.push({ id: 500, email: 'erika@example.DE', name: 'Erika M. (from the accountant)' });
    await setup(booking(), erp).handle(job());
    expect(erp.partners).toHaveLength(1);
    expect(erp.live().invoices[0]?.partnerId).toBe(500);
  });

  it('prefers the customer carrying our reference over an e-mail match', async () => {
    const erp = new MemoryErp();
    erp.partners.push({ id: 500, email: 'erika@example.de', name: 'older namesake' }, { id: 600, ref: customerRef('erika@example.de'), name: 'ours' });
    await setup(booking(), erp).handle(job());
    expect(erp.live().invoices[0]?.partnerId).toBe(600);
    expect(erp.calls).not.toContain('createPartner');
  });

  it('adds one invoice per PAID finding, with its own payment, and ignores the others', async () => {
    const findings = [
      finding('f_paid', 'PAID', { paymentIntentId: 'pi_f1', description: 'Bremsbeläge vorne', priceCents: 12000 }),
      finding('f_pending', 'PENDING_APPROVAL'),
      finding('f_declined', 'DECLINED'),
      finding('f_action', 'REQUIRES_ACTION', { paymentIntentId: 'pi_f3' }),
      finding('f_failed', 'PAYMENT_FAILED', { paymentIntentId: 'pi_f4' }),
    ];
    const { erp, handle } = setup(booking({ status: 'IN_WORKSHOP', findings }));
    await handle(job());

    const { invoices, payments } = erp.live();
    expect(invoices.map((i) => i.ref)).toEqual(['bk_1', 'f_paid']);
    expect(invoices[1]).toMatchObject({ state: 'posted', amountTotal: 12000, amountResidual: 0, partnerId: invoices[0]?.partnerId });
    expect(invoices[1]?.lines).toEqual([{ name: 'Bremsbeläge vorne', quantity: 1, unitAmount: 12000 }]);
    expect(payments.map((p) => [p.memo, p.invoiceId])).toEqual([
      ['pi_booking', invoices[0]?.id],
      ['pi_f1', invoices[1]?.id],
    ]);
  });

  it('syncs a finding paid later without touching the booking invoice', async () => {
    const current = booking({ status: 'IN_WORKSHOP' });
    const { erp, bookings, handle } = setup(current);
    await handle(job());
    bookings.current = { ...current, findings: [finding('f_1', 'PAID', { paymentIntentId: 'pi_f1' })], version: 4 };
    erp.calls = [];
    await handle(job());
    expect(erp.live().invoices.map((i) => i.ref)).toEqual(['bk_1', 'f_1']);
    expect(erp.live().payments).toHaveLength(2);
    // Only the new invoice's payment is registered, with no look-up: nothing can be paid on an invoice this run created.
    expect(erp.calls).toEqual(['findInvoices', 'findPartners', 'createInvoice', 'findInvoices', 'postInvoice', 'registerPayment', 'findPayments']);
  });

  it.each([
    [
      'cancelled and refunded',
      booking({ status: 'CANCELLED', payment: { status: 'refunded', paymentIntentId: 'pi_booking' } }),
      ['pi_booking', 'refund:pi_booking'],
    ],
    [
      'refunded while confirmed',
      booking({ status: 'CONFIRMED', payment: { status: 'refunded', paymentIntentId: 'pi_booking' } }),
      ['pi_booking', 'refund:pi_booking'],
    ],
    // Not refunded (yet): the credit note waits open for the refund.
    [
      'cancelled after a payment that raced it',
      booking({ status: 'CANCELLED', payment: { status: 'succeeded', paymentIntentId: 'pi_booking' } }),
      ['pi_booking'],
    ],
  ])('reverses the paid invoice by one posted credit note when %s, once', async (_, undone, memos) => {
    const { erp, handle } = setup(undone);
    await handle(job());
    await handle(job());
    const { invoices, creditNotes, payments } = erp.live();
    expect(invoices).toHaveLength(1);
    // The payment, and the refund registered against the credit note when the money went back.
    expect(payments.map((payment) => payment.memo)).toEqual(memos);
    expect(creditNotes).toHaveLength(1);
    expect(creditNotes[0]).toMatchObject({ reversedInvoiceId: invoices[0]?.id, state: 'posted', amountTotal: 14900 });
  });

  it('credits the whole price by credit note credit:<booking id>, and pays the refund out against it in EUR', async () => {
    const { erp, handle } = setup(booking({ status: 'CANCELLED', payment: { status: 'refunded', paymentIntentId: 'pi_booking' } }));
    await handle(job());
    const { invoices, creditNotes, payments } = erp.live();
    expect(creditNotes).toEqual([
      expect.objectContaining({ ref: 'credit:bk_1', currency: 'EUR', amountTotal: 14900, amountResidual: 0, reversedInvoiceId: invoices[0]?.id, partnerId: 1 }),
    ]);
    expect(creditNotes[0]?.lines).toEqual([{ name: 'Buchung bk_1 storniert', quantity: 1, unitAmount: 14900 }]);
    expect(payments.at(-1)).toMatchObject({ memo: 'refund:pi_booking', currency: 'EUR', amount: 14900, invoiceId: creditNotes[0]?.id });
  });

  it('adopts the credit note an older sync made with the reversal wizard instead of crediting the booking twice', async () => {
    const { erp, bookings, handle } = setup(booking());
    await handle(job());
    const wizard = erp.addWizardCreditNote(2);
    bookings.current = booking({ status: 'CANCELLED', payment: { status: 'refunded', paymentIntentId: 'pi_booking' }, version: 4 });
    await handle(job());
    expect(erp.live().creditNotes.map((note) => note.id)).toEqual([wizard.id]);
    expect(erp.live().payments.at(-1)).toMatchObject({ memo: 'refund:pi_booking', invoiceId: wizard.id });
  });

  it('adds the credit note to what an earlier run created when the cancellation comes later (a stale job changes nothing else)', async () => {
    const { erp, bookings, handle } = setup(booking());
    await handle(job());
    bookings.current = booking({ status: 'CANCELLED', payment: { status: 'refunded', paymentIntentId: 'pi_booking' }, version: 4 });
    bookings.rows.push({ from: 'CONFIRMED', to: 'CANCELLED', at: '2026-03-02T08:00:00.000Z', cause: 'customer' });
    const dates: string[] = [];
    const create = erp.createCreditNote.bind(erp);
    erp.createCreditNote = async (draft) => {
      dates.push(draft.date ?? '');
      return create(draft);
    };
    await handle(job('bk_1', { bookingId: 'bk_1', reason: 'payment succeeded' })); // the old job, delivered late
    await handle(job());
    expect(erp.live().invoices).toHaveLength(1);
    expect(erp.live().payments.map((payment) => payment.memo)).toEqual(['pi_booking', 'refund:pi_booking']);
    expect(erp.live().creditNotes).toHaveLength(1);
    expect(dates).toEqual(['2026-03-02']);
  });

  it('posts a draft a crashed run left behind instead of creating a second invoice', async () => {
    const erp = new MemoryErp();
    const { deps } = setup(booking(), erp);
    erp.partners.push({ id: 900, ref: customerRef('erika@example.de'), name: 'Erika' });
    await erp.createInvoice({ ref: 'bk_1', partnerId: 900, currency: 'EUR', lines: [{ name: 'Inspektion - VW Golf', quantity: 1, unitAmount: 14900 }] });
    const report = await syncBookingToErp(deps, 'bk_1');
    expect(erp.live().invoices).toEqual([expect.objectContaining({ ref: 'bk_1', state: 'posted', amountResidual: 0 })]);
    expect(report.changes[0]).toMatch(/posted/);
  });

  it('leaves an invoice someone cancelled in the ERP alone, and says so', async () => {
    const erp = new MemoryErp();
    const { deps } = setup(booking(), erp);
    await syncBookingToErp(deps, 'bk_1');
    (erp.moves[0] as Move).state = 'cancelled';
    const report = await syncBookingToErp(deps, 'bk_1');
    expect(report.changes).toEqual([]);
    expect(report.warnings).toEqual([expect.stringMatching(/cancelled in the ERP/)]);
    expect(erp.moves).toHaveLength(1);
  });

  it('warns when an invoice found in the ERP does not total what the customer paid (e.g. taxes added on top)', async () => {
    const erp = new MemoryErp();
    const { deps } = setup(booking(), erp);
    await syncBookingToErp(deps, 'bk_1');
    (erp.moves[0] as Move).amountTotal = 17731;
    const report = await syncBookingToErp(deps, 'bk_1');
    expect(report.warnings).toEqual(['invoice 2 for bk_1 totals 177.31, expected 149.00']);
  });

  it('names the service by its code when the catalogue no longer has it', async () => {
    const { erp, handle } = setup(booking({ serviceType: 'retired-service' }));
    await handle(job());
    expect(erp.live().invoices[0]?.lines[0]?.name).toBe('retired-service - VW Golf');
  });

  it('fails permanently for a booking that does not exist or a payload naming another booking', async () => {
    const { handle } = setup(undefined);
    await expect(handle(job('bk_gone'))).rejects.toMatchObject({ kind: 'permanent', code: 'BOOKING_NOT_FOUND' });
    await expect(setup(booking()).handle(job('bk_1', { bookingId: 'bk_2' }))).rejects.toMatchObject({ kind: 'permanent', code: 'INVALID_PAYLOAD' });
  });

  it('passes ERP failures through as they are (the consumer retries or dead-letters them)', async () => {
    const erp = new MemoryErp();
    erp.findPartners = async () => {
      throw JobError.transient('ODOO_UNAVAILABLE', 'Odoo is down');
    };
    await expect(setup(booking(), erp).handle(job())).rejects.toMatchObject({ kind: 'transient', code: 'ODOO_UNAVAILABLE' });
  });
});

describe('booking.sync under concurrency', () => {
  const expectOneOfEach = (erp: MemoryErp) => {
    const { partners, invoices, payments } = erp.live();
    expect({ partners, invoices: invoices.length, payments: payments.length }).toEqual({ partners: 1, invoices: 1, payments: 1 });
    expect(invoices[0]).toMatchObject({ state: 'posted', amountResidual: 0 });
  };

  it('runs jobs about one booking one after another in a worker', async () => {
    const erp = new MemoryErp(true);
    const { handle } = setup(booking(), erp);
    await Promise.all([handle(job()), handle(job()), handle(job())]);
    expectOneOfEach(erp);
  });

  it('converges when two workers (separate processes) race: the oldest record wins, the loser removes its own', async () => {
    const erp = new MemoryErp(true);
    const first = setup(booking(), erp);
    const second = setup(booking(), erp);
    const outcomes = await Promise.allSettled([first.handle(job()), second.handle(job())]);
    // The loser may have to wait for the winner's draft: a transient error, retried by the queue.
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ kind: 'transient', code: 'ERP_CONCURRENT_SYNC' });
    }
    await second.handle(job()); // the retry
    expectOneOfEach(erp);
    expect(erp.calls).toContain('discardPartner');
  });

  it('converges when two workers race for the invoice: the loser deletes its draft and retries', async () => {
    const erp = new MemoryErp(true);
    erp.partners.push({ id: 900, ref: customerRef('erika@example.de'), name: 'Erika' });
    const outcomes = await Promise.allSettled([setup(booking(), erp).handle(job()), setup(booking(), erp).handle(job())]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      kind: 'transient',
      code: 'ERP_CONCURRENT_SYNC',
    });
    expect(erp.calls).toContain('discardInvoice');
    await setup(booking(), erp).handle(job()); // the retry
    expectOneOfEach(erp);
  });

  it('cancels the younger of two payments registered by racing workers', async () => {
    const erp = new MemoryErp();
    const { handle } = setup(booking(), erp);
    await handle(job());
    // Undo the payment so both workers find the invoice open, then let them race for it.
    erp.payments = [];
    Object.assign(erp.moves[0] as Move, { amountResidual: 14900, paymentState: 'not_paid' });
    const racing = new MemoryErp(true);
    Object.assign(racing, { partners: erp.partners, moves: erp.moves, payments: erp.payments, nextId: 100 });
    await Promise.all([setup(booking(), racing).handle(job()), setup(booking(), racing).handle(job())]);
    expect(racing.payments.map((p) => [p.id, p.state])).toEqual([
      [100, 'posted'],
      [101, 'cancel'],
    ]);
    expect(racing.live().invoices[0]).toMatchObject({ amountResidual: 0 });
  });

  it('keeps one credit note when two workers reverse the same invoice at once', async () => {
    const undone = booking({ status: 'CANCELLED', payment: { status: 'refunded', paymentIntentId: 'pi_booking' } });
    const erp = new MemoryErp();
    await setup(booking(), erp).handle(job());
    const racing = new MemoryErp(true);
    Object.assign(racing, { partners: erp.partners, moves: erp.moves, payments: erp.payments, nextId: 100 });
    const outcomes = await Promise.allSettled([setup(undone, racing).handle(job()), setup(undone, racing).handle(job())]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ kind: 'transient', code: 'ERP_CONCURRENT_SYNC' });
    }
    await setup(undone, racing).handle(job());
    expect(racing.live().creditNotes).toEqual([expect.objectContaining({ state: 'posted' })]);
  });

  it('dead-letters with both ids when the ERP will not let the loser remove its duplicate', async () => {
    const erp = new MemoryErp();
    await setup(booking(), erp).handle(job());
    // Another worker's credit note appears between our look-up and our create, and ours cannot be removed.
    const create = erp.createCreditNote.bind(erp);
    erp.createCreditNote = async (draft) => {
      const theirs = await create(draft);
      await erp.postInvoice(theirs);
      return create(draft);
    };
    erp.discardInvoice = async () => {
      throw JobError.permanent('ODOO_USER_ERROR', 'You cannot delete an entry which has been posted once.');
    };
    const undone = booking({ status: 'CANCELLED', payment: { status: 'refunded', paymentIntentId: 'pi_booking' } });
    const error = await setup(undone, erp)
      .handle(job())
      .catch((reason: unknown) => reason);
    expect(error).toMatchObject({
      kind: 'permanent',
      code: 'ERP_DUPLICATE',
      message: 'credit notes 4 and 5 both reverse invoice 2 (bk_1); cancel 5 in the ERP',
    });
  });
});
