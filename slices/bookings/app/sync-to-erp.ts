import { customerRef } from '../../../shared/kernel/customer-ref';
import { mutate, save, skip } from '../../../shared/platform/aggregate';
import type { Clock } from '../../../shared/platform/clock';
import type { JobHandler } from '../../../shared/platform/consume-job';
import type { Erp } from '../../../shared/platform/erp';
import { JobError } from '../../../shared/platform/jobs';
import type { Logger } from '../../../shared/platform/log';
import {
  type Billable,
  type BillableDocument,
  berlinDate,
  emptySyncReport,
  erpSyncHandler,
  reconcileBillable,
  type SyncReport,
} from '../../../shared/platform/reconcile-billable';
import type { Telemetry } from '../../../shared/platform/telemetry';
import type { Booking } from '../domain/booking';
import type { HistoryEntry } from '../domain/booking-status';
import type { Catalogue } from '../domain/catalogue';
import { BOOKING_SYNC_JOB } from './jobs';
import { type BookingStore, bookingHistory, type StoredBooking } from './ports';

/**
 * A booking in the ERP: the booking reduced to a `Billable` and reconciled (see
 * `shared/platform/reconcile-billable.ts`): the service invoice, one invoice per paid finding, the
 * payments, and a credit note (ref `credit:<bookingId>`) with its refund when the booking was cancelled
 * or refunded after payment.
 */

export interface BookingSyncDeps {
  bookings: BookingStore;
  erp: Erp;
  catalogue: Catalogue;
  clock: Clock;
  log?: Logger;
  /** Receives the sync latency (`OdooSyncLatencyMs`). */
  telemetry?: Pick<Telemetry, 'metric'>;
}

/**
 * What the ERP should hold for a booking, or undefined when nothing is billable: a booking whose
 * payment never succeeded (awaiting payment, failed, cancelled unpaid) owes the books nothing.
 * `history` dates the documents (when the booking was paid / cancelled); `now` stands in when it says nothing.
 */
export function billableFromBooking(booking: Booking, catalogue: Catalogue, history: HistoryEntry[], now: Date): Billable | undefined {
  const documents: BillableDocument[] = [];
  const payment = booking.payment;
  const at = (to: HistoryEntry['to']) => history.find((entry) => entry.to === to)?.at;
  // 'refunded' counts: the money came in before it went back, and the books show both.
  if (payment.status === 'succeeded' || payment.status === 'refunded') {
    const paidOn = berlinDate(at('CONFIRMED') ?? booking.updatedAt);
    const service = catalogue.find((item) => item.code === booking.serviceType)?.name.de ?? booking.serviceType;
    const undone = booking.status === 'CANCELLED' || payment.status === 'refunded';
    const refunded = payment.status === 'refunded' && payment.paymentIntentId !== undefined;
    documents.push({
      ref: booking.id,
      date: paidOn,
      lines: [{ name: `${service} - ${booking.vehicle.brand} ${booking.vehicle.model}`, quantity: 1, unitAmount: booking.priceCents }],
      payments: payment.paymentIntentId ? [{ memo: payment.paymentIntentId, amount: booking.priceCents, date: paidOn }] : [],
      // Undone after payment: the whole price is credited back; when the money went back, the refund is paid out against it.
      credits: undone
        ? [
            {
              ref: `credit:${booking.id}`,
              reason: booking.status === 'CANCELLED' ? `Buchung ${booking.id} storniert` : `Zahlung für Buchung ${booking.id} erstattet`,
              date: berlinDate(at('CANCELLED') ?? now),
              amount: booking.priceCents,
              ...(refunded ? { refund: { memo: `refund:${payment.paymentIntentId}`, amount: booking.priceCents } } : {}),
            },
          ]
        : [],
    });
  }
  for (const finding of booking.findings) {
    if (finding.status !== 'PAID') continue;
    // PAID is final, so the finding's last change is when it was paid.
    const paidOn = berlinDate(finding.updatedAt);
    documents.push({
      ref: finding.id,
      date: paidOn,
      lines: [{ name: finding.description, quantity: 1, unitAmount: finding.priceCents }],
      payments: finding.paymentIntentId ? [{ memo: finding.paymentIntentId, amount: finding.priceCents, date: paidOn }] : [],
      credits: [],
    });
  }
  if (documents.length === 0) return undefined;
  const { name, email, phone } = booking.customer;
  // Findings are charged in the booking's currency (both are EUR today; see shared/kernel/money.ts).
  return { source: `booking:${booking.id}`, customer: { ref: customerRef(email), name, email, phone }, currency: booking.currency, documents };
}

/** Reconciles one booking with the ERP; throws JobError (permanent when the booking does not exist). */
export async function syncBookingToErp(deps: BookingSyncDeps, bookingId: string): Promise<SyncReport> {
  const stored = await deps.bookings.get(bookingId);
  if (!stored) throw JobError.permanent('BOOKING_NOT_FOUND', `booking ${bookingId} does not exist`);
  const booking = stored.state;
  // History dates the documents; only billable bookings need it.
  const worthBilling = booking.payment.status === 'succeeded' || booking.payment.status === 'refunded' || booking.findings.some((f) => f.status === 'PAID');
  const history = worthBilling ? await bookingHistory(deps.bookings, bookingId) : [];
  const billable = billableFromBooking(booking, deps.catalogue, history, deps.clock.now());
  if (!billable) return emptySyncReport(`booking:${bookingId}`);
  const report = await reconcileBillable(deps.erp, billable);
  await storeErpIds(deps, stored, report);
  return report;
}

const sameIds = (a: Booking['erp'], b: NonNullable<Booking['erp']>) =>
  a?.partnerId === b.partnerId && JSON.stringify(Object.entries(a.invoiceIds).sort()) === JSON.stringify(Object.entries(b.invoiceIds).sort());

/** The ERP ids go back onto the booking (only when they changed, so a repeated sync writes nothing). */
async function storeErpIds(deps: BookingSyncDeps, read: StoredBooking, report: SyncReport): Promise<void> {
  if (report.partnerId === undefined) return;
  const ids = { partnerId: report.partnerId, invoiceIds: report.invoices };
  // The booking read for this sync usually has them already: nothing to write then.
  if (sameIds(read.state.erp, ids)) return;
  await mutate(deps.bookings, read.state.id, ({ state }) => (sameIds(state.erp, ids) ? skip(undefined) : save({ ...state, erp: ids }, undefined)), {
    clock: deps.clock,
    first: read,
  });
}

/** The `booking.sync` handler of the `odoo-sync` queue. */
export function bookingSyncHandlers(deps: BookingSyncDeps): Record<string, JobHandler> {
  return erpSyncHandler({
    type: BOOKING_SYNC_JOB,
    payloadKey: 'bookingId',
    sync: (bookingId) => syncBookingToErp(deps, bookingId),
    log: deps.log,
    telemetry: deps.telemetry,
    now: () => deps.clock.now(),
  });
}
