import { causes } from '../../../shared/kernel/history';
import type { InvoiceGateway, InvoiceView, InvoiceWebhook } from '../../../shared/platform/invoices';
import type { Telemetry } from '../../../shared/platform/telemetry';
import type { ProviderReport } from '../domain/payments';
import type { OrdersContext } from './ports';
import { applyProviderReport, type ReportOutcome } from './provider-reports';

export interface BtcpayEventDeps extends OrdersContext {
  invoices: Pick<InvoiceGateway, 'getInvoice'>;
  telemetry?: Pick<Telemetry, 'event'>;
}

/** The invoice's status in BTCPay's words, `Status` or `Status/AdditionalStatus`. */
export const invoiceWords = (invoice: Pick<InvoiceView, 'status' | 'additionalStatus'>) =>
  invoice.additionalStatus === 'None' ? invoice.status : `${invoice.status}/${invoice.additionalStatus}`;

/**
 * What an invoice means for its payment. New: still pending (a partial payment is noted). Processing:
 * paid, waiting for confirmations. Settled: succeeded (overpaid: a person refunds the difference).
 * Expired and Invalid: failed, not cancelled — a merchant who accepts money that came late marks the
 * invoice Settled in BTCPay and the payment still succeeds; money that came in partly or late needs
 * a person (refund it, or accept it).
 */
export function invoiceReport(invoice: Pick<InvoiceView, 'id' | 'status' | 'additionalStatus'>): ProviderReport {
  const providerStatus = invoiceWords(invoice);
  const extra = invoice.additionalStatus;
  switch (invoice.status) {
    case 'New':
      // A fresh invoice says nothing the pending payment does not (no change, no callback); a partial payment does.
      return extra === 'None' ? {} : { providerStatus };
    case 'Processing':
      return { to: 'processing', providerStatus };
    case 'Settled':
      return {
        to: 'succeeded',
        providerStatus,
        ...(extra === 'PaidOver' ? { attention: `BTCPay invoice ${invoice.id} was overpaid: refund the difference to the customer` } : {}),
      };
    case 'Expired':
      if (extra === 'PaidPartial') {
        return {
          to: 'failed',
          failureReason: 'the invoice expired after a partial payment',
          providerStatus,
          attention: `BTCPay invoice ${invoice.id} expired after a partial payment: refund what came in`,
        };
      }
      if (extra === 'PaidLate' || extra === 'PaidOver') {
        return {
          to: 'failed',
          failureReason: 'paid after the invoice expired',
          providerStatus,
          attention: `BTCPay invoice ${invoice.id} was paid after it expired: mark it Settled in BTCPay to accept the payment, or refund it`,
        };
      }
      return { to: 'failed', failureReason: 'the invoice expired unpaid', providerStatus };
    case 'Invalid':
      return {
        to: 'failed',
        failureReason: extra === 'Marked' ? 'the invoice was marked invalid in BTCPay' : 'the payment was not confirmed in time',
        providerStatus,
      };
  }
}

/**
 * Applies an invoice as BTCPay has it now to the order payment named in its metadata, through the
 * payment machine. An invoice whose amount or currency is not the payment's changes nothing.
 */
export async function applyInvoice(
  deps: OrdersContext & { telemetry?: Pick<Telemetry, 'event'> },
  invoice: InvoiceView,
  context: { cause: ReturnType<typeof causes.btcpay> | ReturnType<typeof causes.system>; eventId?: string },
): Promise<ReportOutcome> {
  const { orderId, paymentId } = invoice.metadata;
  if (!orderId || !paymentId) return 'ignored';
  const outcome = await applyProviderReport(deps, { orderId, paymentId, provider: 'btcpay', providerRef: invoice.id }, invoiceReport(invoice), {
    ...context,
    matches: (order, payment) => invoice.currency === order.currency && invoice.amount === payment.amount,
  });
  if (outcome === 'mismatch') deps.telemetry?.event('BTCPayInvoiceMismatch', { orderId, paymentId, invoiceId: invoice.id });
  return outcome;
}

/**
 * A verified BTCPay webhook: a trigger, not the truth. The invoice is read back from BTCPay and that
 * is applied, so a forged or replayed body can never move money; the delivery (its first delivery's
 * id) is stored with the change, so redeliveries apply once. Events about no invoice are ignored;
 * BTCPay being unreachable throws, so the webhook is answered 5xx and BTCPay retries it.
 */
export async function handleBtcpayWebhook(deps: BtcpayEventDeps, webhook: InvoiceWebhook): Promise<ReportOutcome> {
  if (!webhook.type.startsWith('Invoice') || !webhook.invoiceId) return 'ignored';
  const read = await deps.invoices.getInvoice(webhook.invoiceId);
  if (!read.ok) {
    if (read.error.code === 'unavailable') throw new Error(`BTCPay invoice ${webhook.invoiceId} could not be read back: ${read.error.message}`);
    return 'ignored';
  }
  if (!read.value) return 'ignored';
  return applyInvoice(deps, read.value, { cause: causes.btcpay(webhook.eventKey), eventId: `btcpay:${webhook.eventKey}` });
}
