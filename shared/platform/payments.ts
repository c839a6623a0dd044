/** Why a payment call did not succeed, as use cases need to tell the cases apart. */
export type PaymentFailure =
  | { code: 'card_declined'; message: string; declineCode?: string; paymentIntentId?: string }
  | { code: 'authentication_required'; message: string; paymentIntentId?: string; clientSecret?: string }
  | { code: 'invalid_request'; message: string }
  | { code: 'unavailable'; message: string };

export type PaymentResult<T> = { ok: true; value: T } | { ok: false; error: PaymentFailure };

/** A PaymentIntent as the use cases see it. */
export interface PaymentIntentView {
  id: string;
  clientSecret: string;
  /** Stripe's status (`requires_payment_method`, `requires_action`, `processing`, `succeeded`, `canceled`, ...). */
  status: string;
  amount: number;
  currency: string;
  customerId?: string;
  paymentMethodId?: string;
  metadata: Record<string, string>;
}

/** A verified webhook event, reduced to what the use cases read. */
export interface PaymentEvent {
  id: string;
  type: string;
  created: number;
  /** The PaymentIntent the event is about (for charge/refund events: the charge's intent). */
  paymentIntent?: PaymentIntentView & { lastError?: { code?: string; declineCode?: string; message?: string } };
  /** For charge.refunded: how much of the charge was refunded in total. */
  amountRefunded?: number;
  /** For refund events (`refund.updated`, `refund.failed`): the refund as the provider has it now. */
  refund?: { id: string; status: string; amount: number };
}

/** The payment provider (Stripe) behind the booking and payment use cases. */
export interface PaymentGateway {
  /** The provider's customer for an e-mail address: found, or created once. */
  ensureCustomer(input: { email: string; name: string; phone?: string; idempotencyKey: string }): Promise<PaymentResult<{ id: string }>>;
  createPaymentIntent(input: {
    /** In the currency's minor unit (cents, yen, fils). */
    amount: number;
    currency: string;
    /** The provider's customer, when the payment belongs to one (bookings: to save the card). */
    customerId?: string;
    metadata: Record<string, string>;
    description: string;
    idempotencyKey: string;
    /** Save the card for later off-session charges (findings). */
    saveCard?: boolean;
  }): Promise<PaymentResult<PaymentIntentView>>;
  retrievePaymentIntent(id: string): Promise<PaymentResult<PaymentIntentView>>;
  /** Charges a saved card without the customer present. */
  chargeOffSession(input: {
    amount: number;
    currency: string;
    customerId: string;
    paymentMethodId: string;
    metadata: Record<string, string>;
    description: string;
    idempotencyKey: string;
  }): Promise<PaymentResult<PaymentIntentView>>;
  cancelPaymentIntent(id: string, idempotencyKey: string): Promise<PaymentResult<PaymentIntentView>>;
  /** Refunds all of a payment, or `amount` of it (minor units); `metadata` travels with the refund. */
  refund(input: {
    paymentIntentId: string;
    idempotencyKey: string;
    amount?: number;
    metadata?: Record<string, string>;
  }): Promise<PaymentResult<{ id: string; status: string }>>;
  /** Verifies the signature over the raw body; undefined when it does not verify. */
  verifyEvent(rawBody: Buffer, signatureHeader: string | undefined): PaymentEvent | undefined;
}

/**
 * Where Stripe events go: each slice names the metadata key its PaymentIntents carry (`bookingId`,
 * `orderId`), and the one webhook hands an event to the slice whose key it carries.
 */
export interface PaymentEventRoute {
  metadataKey: string;
  /** Applies the event; the outcome (`applied`, `duplicate`, `unchanged`, `ignored`) is acknowledged to Stripe. */
  handle(event: PaymentEvent): Promise<string>;
}
