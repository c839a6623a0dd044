/**
 * What Odoo holds about bookings, read back over XML-RPC the way an accountant's script would: the
 * partner (by e-mail), the invoice (by ref), the payment (by the PaymentIntent in its memo) and, for
 * a booking cancelled after payment, the credit note reversing the invoice and the refund paid out.
 */
import { MOVE_FIELDS, type OdooMove, type OdooPartner, type OdooPayment } from '../tests/support/odoo-reader';
import { waitFor } from '../tests/support/wait';
import type { DrillContext } from './context';
import type { Check } from './drill';
import type { Booking } from './fixtures';

const PAYMENT_FIELDS = ['memo', 'ref', 'amount', 'state', 'payment_type', 'partner_id', 'reconciled_invoice_ids'];

/** One booking's records in Odoo. */
export interface Books {
  partners: OdooPartner[];
  invoices: OdooMove[];
  payments: OdooPayment[];
  creditNotes: OdooMove[];
  refunds: OdooPayment[];
}

/** A read that tries again: the drills' own reads meet the faults they queue in Odoo, too. */
async function read<T>(ctx: DrillContext, model: string, domain: unknown[], fields: string[]): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.odooReader.searchRead<T>(model, domain, fields);
    } catch (error) {
      if (attempt >= 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

const refundMemo = (booking: Booking) => `refund:${booking.paymentIntentId}`;
const idOf = (many2one: OdooMove['reversed_entry_id']) => (many2one === false ? undefined : many2one[0]);

/** Every booking's records, in four reads. */
export async function booksOf(ctx: DrillContext, bookings: readonly Booking[]): Promise<Map<string, Books>> {
  const [partners, invoices, payments] = await Promise.all([
    read<OdooPartner>(ctx, 'res.partner', [['email', 'in', bookings.map((booking) => booking.email)]], ['name', 'email', 'ref']),
    read<OdooMove>(
      ctx,
      'account.move',
      [
        ['move_type', '=', 'out_invoice'],
        ['ref', 'in', bookings.map((booking) => booking.id)],
      ],
      MOVE_FIELDS,
    ),
    read<OdooPayment>(ctx, 'account.payment', [['memo', 'in', bookings.flatMap((booking) => [booking.paymentIntentId, refundMemo(booking)])]], PAYMENT_FIELDS),
  ]);
  const creditNotes = await read<OdooMove>(
    ctx,
    'account.move',
    [
      ['move_type', '=', 'out_refund'],
      ['reversed_entry_id', 'in', invoices.map((invoice) => invoice.id)],
    ],
    MOVE_FIELDS,
  );
  return new Map(
    bookings.map((booking) => {
      const own = invoices.filter((invoice) => invoice.ref === booking.id);
      const ids = new Set(own.map((invoice) => invoice.id));
      return [
        booking.id,
        {
          partners: partners.filter((partner) => partner.email === booking.email),
          invoices: own,
          payments: payments.filter((payment) => payment.memo === booking.paymentIntentId),
          creditNotes: creditNotes.filter((note) => ids.has(idOf(note.reversed_entry_id) ?? -1)),
          refunds: payments.filter((payment) => payment.memo === refundMemo(booking)),
        },
      ];
    }),
  );
}

/** Whether the sync has run to its end: the invoice paid, or for a cancelled booking its credit note settled too. */
function settled(books: Books | undefined, cancelled: boolean): boolean {
  if (!books) return false;
  if (!cancelled) return books.invoices.some((invoice) => invoice.payment_state === 'paid');
  return books.creditNotes.some((note) => note.state === 'posted' && note.amount_residual === 0) && books.refunds.length > 0;
}

/** Waits until every booking's sync has run to its end, or the time is up (the checks then say what is missing). */
export async function awaitSettledBooks(
  ctx: DrillContext,
  bookings: readonly Booking[],
  timeoutMs: number,
  cancelled: ReadonlySet<string> = new Set(),
): Promise<void> {
  await waitFor(
    async () => {
      const books = await booksOf(ctx, bookings);
      return bookings.every((booking) => settled(books.get(booking.id), cancelled.has(booking.id)));
    },
    { timeoutMs, intervalMs: 200 },
  ).catch(() => undefined);
}

/**
 * Exactly one partner, one posted invoice for the price and one payment of the price reconciled with
 * it; the invoice paid — or, when the booking was cancelled after payment, exactly one posted credit
 * note reversing it and one refund of the price paid out against that note.
 */
export function checkBooks(check: Check, booking: Booking, books: Books | undefined, cancelled = false): void {
  const euros = booking.priceCents / 100;
  check(books?.partners.length === 1, `${books?.partners.length ?? 0} Odoo partners for ${booking.email}`);
  const invoices = books?.invoices ?? [];
  check(invoices.length === 1, `${invoices.length} Odoo invoices with ref ${booking.id}`);
  const invoice = invoices[0];
  const invoiceSettled = cancelled ? ['paid', 'reversed'].includes(String(invoice?.payment_state)) : invoice?.payment_state === 'paid';
  check(
    invoice?.state === 'posted' && invoiceSettled && invoice.amount_total === euros,
    `invoice ${invoice?.name ?? '(none)'} is ${invoice?.state}/${invoice?.payment_state} for ${invoice?.amount_total}, expected posted and settled for ${euros}`,
  );
  const payments = books?.payments ?? [];
  check(payments.length === 1, `${payments.length} Odoo payments with memo ${booking.paymentIntentId}`);
  const payment = payments[0];
  check(
    payment?.amount === euros && invoice !== undefined && payment.reconciled_invoice_ids.includes(invoice.id),
    `payment ${payment?.id ?? '(none)'} of ${payment?.amount} is not the reconciled ${euros}`,
  );
  const notes = books?.creditNotes ?? [];
  const refunds = books?.refunds ?? [];
  if (!cancelled) {
    check(notes.length === 0 && refunds.length === 0, `${notes.length} credit notes and ${refunds.length} refunds for a booking that was not cancelled`);
    return;
  }
  check(notes.length === 1, `${notes.length} credit notes reversing ${invoice?.name ?? 'the invoice'}`);
  const note = notes[0];
  check(
    note?.state === 'posted' && note.amount_total === euros && note.amount_residual === 0,
    `credit note ${note?.name ?? '(none)'} is ${note?.state} for ${note?.amount_total} with ${note?.amount_residual} open`,
  );
  check(refunds.length === 1, `${refunds.length} refund payments with memo refund:${booking.paymentIntentId}`);
  const refund = refunds[0];
  check(
    refund?.amount === euros && refund.payment_type === 'outbound' && note !== undefined && refund.reconciled_invoice_ids.includes(note.id),
    `refund payment ${refund?.id ?? '(none)'} of ${refund?.amount} (${refund?.payment_type}) is not the ${euros} paid out against the credit note`,
  );
}
