import type { PaymentResult } from './payments';

/**
 * A payment server that sells through invoices the customer pays on its checkout page (BTCPay
 * Server, Greenfield API): the port the order payments use; the adapter is
 * `shared/adapters/btcpay/greenfield.ts`. Greenfield has no idempotency keys, so callers look an
 * invoice up by their own ids (kept in its metadata) before creating one.
 */

/** Where an invoice is (Greenfield's `status`). */
export const INVOICE_STATUSES = ['New', 'Processing', 'Settled', 'Expired', 'Invalid'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

/** What else happened to it (Greenfield's `additionalStatus`): paid too little, too much, too late, or marked by hand. */
export const INVOICE_ADDITIONAL_STATUSES = ['None', 'PaidLate', 'PaidPartial', 'Marked', 'Invalid', 'PaidOver'] as const;
export type InvoiceAdditionalStatus = (typeof INVOICE_ADDITIONAL_STATUSES)[number];

/** An invoice as the use cases read it. */
export interface InvoiceView {
  id: string;
  storeId: string;
  status: InvoiceStatus;
  additionalStatus: InvoiceAdditionalStatus;
  /** The invoice's price in the minor unit of `currency`; undefined when it has finer digits than the currency. */
  amount: number | undefined;
  /** Upper case, as the invoice was priced. */
  currency: string;
  /** The checkout page the customer pays on. */
  checkoutLink: string;
  /** Our ids, as the invoice was created with them (`orderId`, `paymentId`); other keys dropped. */
  metadata: { orderId?: string; paymentId?: string };
  createdAt: string;
  expiresAt: string;
}

/** A verified invoice webhook, reduced to what the use cases read: a trigger to re-read the invoice, not its truth. */
export interface InvoiceWebhook {
  /** The delivery this request is (`deliveryId`). */
  deliveryId: string;
  /** The first delivery of the same event when this is a redelivery (`originalDeliveryId`): the event's identity. */
  eventKey: string;
  type: string;
  storeId?: string;
  invoiceId?: string;
}

/** A refund the customer claims: BTCPay answers a refund with a pull payment and its claim page. */
export interface InvoiceRefund {
  id: string;
  /** The page where the customer claims the refund (gives an address). */
  link: string;
}

export interface InvoiceGateway {
  createInvoice(input: {
    /** In the currency's minor unit. */
    amount: number;
    currency: string;
    orderId: string;
    paymentId: string;
    description: string;
  }): Promise<PaymentResult<InvoiceView>>;
  /** Undefined when the store has no such invoice. */
  getInvoice(invoiceId: string): Promise<PaymentResult<InvoiceView | undefined>>;
  /** The store's invoices created with this `orderId` in their metadata, newest first. */
  findInvoices(orderId: string): Promise<PaymentResult<InvoiceView[]>>;
  /**
   * Refunds `amount` (minor units of `currency`) of an invoice as a pull payment named `name`. A
   * pull payment of that name made earlier is returned instead of a second one.
   */
  refundInvoice(input: { invoiceId: string; amount: number; currency: string; name: string; description: string }): Promise<PaymentResult<InvoiceRefund>>;
  /** Marks an unpaid invoice invalid, so it can no longer be paid. */
  invalidate(invoiceId: string): Promise<PaymentResult<void>>;
  /** Verifies the signature over the raw body; undefined when it does not verify or is not a webhook. */
  verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): InvoiceWebhook | undefined;
}
