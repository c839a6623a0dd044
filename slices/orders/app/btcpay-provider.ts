import type { InvoiceGateway } from '../../../shared/platform/invoices';
import type { PaymentProvider } from './ports';

/**
 * Orders paid through BTCPay Server: an invoice per payment (metadata `orderId` and `paymentId`,
 * which route its webhooks back here), refunds as pull payments the customer claims. Greenfield
 * has no idempotency keys, so the payment's invoice is looked up by the order before one is made
 * (a retried request finds the first one's invoice) and a refund's pull payment by its name.
 */
export function btcpayProvider(invoices: InvoiceGateway): PaymentProvider {
  return {
    async open(payment) {
      const made = await invoices.findInvoices(payment.orderId);
      if (!made.ok) return made;
      const earlier = made.value.find((invoice) => invoice.metadata.paymentId === payment.id);
      const invoice = earlier
        ? { ok: true as const, value: earlier }
        : await invoices.createInvoice({
            amount: payment.amount,
            currency: payment.currency,
            orderId: payment.orderId,
            paymentId: payment.id,
            description: payment.description,
          });
      return invoice.ok ? { ok: true, value: { providerRef: invoice.value.id, checkoutLink: invoice.value.checkoutLink } } : invoice;
    },
    async reopen(providerRef) {
      const invoice = await invoices.getInvoice(providerRef);
      if (!invoice.ok) return invoice;
      if (!invoice.value) return { ok: false, error: { code: 'invalid_request', message: `BTCPay has no invoice ${providerRef}` } };
      return { ok: true, value: { providerRef, checkoutLink: invoice.value.checkoutLink } };
    },
    async refund(input) {
      const invoice = await invoices.getInvoice(input.providerRef);
      if (!invoice.ok) return invoice;
      if (!invoice.value) return { ok: false, error: { code: 'invalid_request', message: `BTCPay has no invoice ${input.providerRef}` } };
      const refund = await invoices.refundInvoice({
        invoiceId: input.providerRef,
        amount: input.amount,
        currency: invoice.value.currency,
        // The name finds this refund again when a retry asks for it a second time.
        name: `Refund ${input.refundId}`,
        description: `Order ${input.orderId}, payment ${input.paymentId}`,
      });
      // The money goes back once the customer claims it on the link: until then the refund is pending.
      return refund.ok ? { ok: true, value: { providerRef: refund.value.id, status: 'pending', claimLink: refund.value.link } } : refund;
    },
    async cancel(input) {
      return invoices.invalidate(input.providerRef);
    },
  };
}
