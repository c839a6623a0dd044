// Type-only: the SDK is required by the first call that needs it (see `loadStripe`).
import type Stripe from 'stripe';
import * as z from 'zod';
import type { PaymentEvent, PaymentFailure, PaymentGateway, PaymentIntentView, PaymentResult } from '../../platform/payments';

export interface StripeSettings {
  secretKey: string;
  webhookSecret: string;
  /** A Stripe-compatible server instead of api.stripe.com (the local sandbox). */
  apiBase?: string;
  timeoutMs?: number;
}

/** Stripe's tolerance for webhook timestamps: older signatures are replays. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

function clientOptions(settings: StripeSettings): Stripe.StripeConfig {
  const options: Stripe.StripeConfig = { maxNetworkRetries: 1, timeout: settings.timeoutMs ?? 10_000 };
  if (!settings.apiBase) return options;
  const url = new URL(settings.apiBase);
  return {
    ...options,
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  };
}

function toView(intent: Stripe.PaymentIntent): PaymentIntentView {
  const idOf = (value: string | { id: string } | null | undefined) => (typeof value === 'string' ? value : value?.id);
  return {
    id: intent.id,
    clientSecret: intent.client_secret ?? '',
    status: intent.status,
    amount: intent.amount,
    currency: intent.currency,
    customerId: idOf(intent.customer),
    paymentMethodId: idOf(intent.payment_method),
    metadata: { ...intent.metadata },
  };
}

let sdk: typeof Stripe | undefined;
/**
 * The stripe package, required on first use: its import is a tenth of a cold start, and only the
 * paths that call Stripe or verify its webhooks need it (health probes with a plain request).
 */
function loadStripe(): typeof Stripe {
  sdk ??= require('stripe') as typeof Stripe;
  return sdk;
}

/** Stripe's errors as the closed set of failures the use cases handle; anything else is a bug. */
function toFailure(error: unknown): PaymentFailure {
  // Only reached after a call, so the SDK is loaded.
  const Stripe = loadStripe();
  if (error instanceof Stripe.errors.StripeCardError) {
    const raw = error.raw as { payment_intent?: Stripe.PaymentIntent } | undefined;
    const intent = raw?.payment_intent;
    if (error.code === 'authentication_required') {
      return {
        code: 'authentication_required',
        message: error.message,
        paymentIntentId: intent?.id,
        clientSecret: intent?.client_secret ?? undefined,
      };
    }
    return { code: 'card_declined', message: error.message, declineCode: error.decline_code, paymentIntentId: intent?.id };
  }
  if (error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeIdempotencyError) {
    return { code: 'invalid_request', message: error.message };
  }
  if (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAuthenticationError
  ) {
    return { code: 'unavailable', message: error.message };
  }
  throw error;
}

async function call<T>(run: () => Promise<T>): Promise<PaymentResult<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error: toFailure(error) };
  }
}

/** The payment gateway over the stripe SDK (Stripe itself, or the sandbox via STRIPE_API_BASE). */
export class StripeGateway implements PaymentGateway {
  private client?: Stripe;

  constructor(private readonly settings: StripeSettings) {}

  /** The SDK client, made by the first call that needs it. */
  private get stripe(): Stripe {
    if (!this.client) {
      const Stripe = loadStripe();
      this.client = new Stripe(this.settings.secretKey, clientOptions(this.settings));
    }
    return this.client;
  }

  /**
   * One customer per e-mail address, also when first bookings of one address race: the customer is
   * created with the e-mail alone under the key derived from it, so every racer sends the same
   * request under that key and gets the same customer (a name or phone in it would make the second
   * racer's request a conflicting reuse of the key). The name and phone are set afterwards, on a
   * customer that has none yet — also one found whose naming an earlier request did not finish.
   */
  ensureCustomer(input: { email: string; name: string; phone?: string; idempotencyKey: string }) {
    return call(async () => {
      const existing = await this.stripe.customers.list({ email: input.email, limit: 1 });
      const customer = existing.data[0] ?? (await this.stripe.customers.create({ email: input.email }, { idempotencyKey: input.idempotencyKey }));
      if (!customer.name) {
        // Updating is idempotent by itself; of two racers naming one new customer, the last one wins.
        await this.stripe.customers.update(customer.id, { name: input.name, ...(input.phone ? { phone: input.phone } : {}) });
      }
      return { id: customer.id };
    });
  }

  createPaymentIntent(input: Parameters<PaymentGateway['createPaymentIntent']>[0]) {
    return this.createIntent(input, {
      automatic_payment_methods: { enabled: true },
      ...(input.saveCard ? { setup_future_usage: 'off_session' as const } : {}),
    });
  }

  retrievePaymentIntent(id: string) {
    return call(async () => toView(await this.stripe.paymentIntents.retrieve(id)));
  }

  chargeOffSession(input: Parameters<PaymentGateway['chargeOffSession']>[0]) {
    return this.createIntent(input, { payment_method: input.paymentMethodId, off_session: true, confirm: true });
  }

  /** A PaymentIntent from our fields plus what the kind of payment adds. */
  private createIntent(
    input: { amount: number; currency: string; customerId?: string; description: string; metadata: Record<string, string>; idempotencyKey: string },
    extra: Partial<Stripe.PaymentIntentCreateParams>,
  ) {
    return call(async () =>
      toView(
        await this.stripe.paymentIntents.create(
          {
            amount: input.amount,
            currency: input.currency.toLowerCase(),
            customer: input.customerId,
            description: input.description,
            metadata: input.metadata,
            ...extra,
          },
          { idempotencyKey: input.idempotencyKey },
        ),
      ),
    );
  }

  cancelPaymentIntent(id: string, idempotencyKey: string) {
    return call(async () => toView(await this.stripe.paymentIntents.cancel(id, {}, { idempotencyKey })));
  }

  refund(input: { paymentIntentId: string; idempotencyKey: string; amount?: number; metadata?: Record<string, string> }) {
    return call(async () => {
      const refund = await this.stripe.refunds.create(
        { payment_intent: input.paymentIntentId, ...(input.amount ? { amount: input.amount } : {}), ...(input.metadata ? { metadata: input.metadata } : {}) },
        { idempotencyKey: input.idempotencyKey },
      );
      return { id: refund.id, status: refund.status ?? 'pending' };
    });
  }

  verifyEvent(rawBody: Buffer, signatureHeader: string | undefined): PaymentEvent | undefined {
    if (!signatureHeader) return undefined;
    let event: unknown;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signatureHeader, this.settings.webhookSecret, SIGNATURE_TOLERANCE_SECONDS);
    } catch {
      return undefined;
    }
    return toPaymentEvent(event);
  }
}

// A signature proves who sent the body, not its shape: the fields we read are parsed like any input.
const refSchema = z
  .union([z.string(), z.looseObject({ id: z.string() }).transform((object) => object.id)])
  .nullish()
  .transform((id) => id ?? undefined);
const metadataSchema = z
  .record(z.string(), z.string())
  .nullish()
  .transform((metadata) => metadata ?? {});
const optionalText = z
  .string()
  .nullish()
  .transform((text) => text ?? undefined);
const eventSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  created: z.number(),
  data: z.looseObject({ object: z.looseObject({ object: z.string().optional() }) }),
});
const intentSchema = z.looseObject({
  id: z.string(),
  client_secret: z.string().nullish(),
  status: z.string(),
  amount: z.number(),
  currency: z.string(),
  customer: refSchema,
  payment_method: refSchema,
  metadata: metadataSchema,
  last_payment_error: z.looseObject({ code: optionalText, decline_code: optionalText, message: optionalText }).nullish(),
});
const refundSchema = z.looseObject({
  id: z.string(),
  amount: z.number(),
  currency: z.string(),
  status: z.string().nullish(),
  payment_intent: refSchema,
  metadata: metadataSchema,
});
const chargeSchema = z.looseObject({
  amount: z.number(),
  amount_refunded: z.number(),
  currency: z.string(),
  payment_intent: refSchema,
  metadata: metadataSchema,
});

/** The verified event reduced to what the use cases read; undefined when it is not shaped like a Stripe event. */
function toPaymentEvent(input: unknown): PaymentEvent | undefined {
  const event = eventSchema.safeParse(input);
  if (!event.success) return undefined;
  const base = { id: event.data.id, type: event.data.type, created: event.data.created };
  const object = event.data.data.object;
  if (object.object === 'payment_intent') {
    const parsed = intentSchema.safeParse(object);
    if (!parsed.success) return undefined;
    const intent = parsed.data;
    const lastError = intent.last_payment_error
      ? { code: intent.last_payment_error.code, declineCode: intent.last_payment_error.decline_code, message: intent.last_payment_error.message }
      : undefined;
    return {
      ...base,
      paymentIntent: {
        id: intent.id,
        clientSecret: intent.client_secret ?? '',
        status: intent.status,
        amount: intent.amount,
        currency: intent.currency,
        customerId: intent.customer,
        paymentMethodId: intent.payment_method,
        metadata: intent.metadata,
        lastError,
      },
    };
  }
  if (object.object === 'charge') {
    const parsed = chargeSchema.safeParse(object);
    if (!parsed.success) return undefined;
    const charge = parsed.data;
    return {
      ...base,
      amountRefunded: charge.amount_refunded,
      paymentIntent: charge.payment_intent
        ? { id: charge.payment_intent, clientSecret: '', status: 'succeeded', amount: charge.amount, currency: charge.currency, metadata: charge.metadata }
        : undefined,
    };
  }
  if (object.object === 'refund') {
    const parsed = refundSchema.safeParse(object);
    if (!parsed.success) return undefined;
    const refund = parsed.data;
    return {
      ...base,
      refund: { id: refund.id, status: refund.status ?? 'pending', amount: refund.amount },
      // A refund carries the metadata it was created with (ours name the order, payment and refund).
      paymentIntent: refund.payment_intent
        ? { id: refund.payment_intent, clientSecret: '', status: 'succeeded', amount: refund.amount, currency: refund.currency, metadata: refund.metadata }
        : undefined,
    };
  }
  return base;
}

/** Stands in when Stripe is not configured: every payment call fails as "unavailable", no event verifies. */
export class UnconfiguredPaymentGateway implements PaymentGateway {
  private readonly failure = {
    ok: false as const,
    error: { code: 'unavailable' as const, message: 'Stripe is not configured (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)' },
  };
  ensureCustomer = async () => this.failure;
  createPaymentIntent = async () => this.failure;
  retrievePaymentIntent = async () => this.failure;
  chargeOffSession = async () => this.failure;
  cancelPaymentIntent = async () => this.failure;
  refund = async () => this.failure;
  verifyEvent(): undefined {
    return undefined;
  }
}
