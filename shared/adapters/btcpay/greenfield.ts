import * as z from 'zod';
import { type CurrencyCode, currencyCodeSchema, minorUnitDigits } from '../../kernel/currency';
import { verifyHexHmacSha256 } from '../../kernel/hmac';
import {
  INVOICE_ADDITIONAL_STATUSES,
  INVOICE_STATUSES,
  type InvoiceGateway,
  type InvoiceRefund,
  type InvoiceView,
  type InvoiceWebhook,
} from '../../platform/invoices';
import type { PaymentFailure, PaymentResult } from '../../platform/payments';

export interface GreenfieldSettings {
  /** The BTCPay Server's base URL (`BTCPAY_URL`), e.g. https://btcpay.example.com. */
  url: string;
  /** A Greenfield API key with invoice and pull-payment rights on the store (`BTCPAY_API_KEY`). */
  apiKey: string;
  storeId: string;
  /** The secret of the store's webhook (`BTCPAY_WEBHOOK_SECRET`). */
  webhookSecret: string;
  /** How long the customer has to pay an invoice; BTCPay's default is 15. */
  expirationMinutes?: number;
  timeoutMs?: number;
}

// ---- Greenfield's wire format, read leniently: fields we do not use may come and go between versions.

/** `decimal` in BTCPay's models: a JSON string (sometimes a number). */
const decimal = z.union([z.string(), z.number()]).transform(String);

const invoiceSchema = z.object({
  id: z.string().min(1),
  storeId: z.string(),
  status: z.enum(INVOICE_STATUSES),
  // A status a later BTCPay adds reads as None rather than failing every webhook.
  additionalStatus: z.string().transform((text) => ((INVOICE_ADDITIONAL_STATUSES as readonly string[]).includes(text) ? text : 'None')),
  amount: decimal,
  currency: z.string(),
  checkoutLink: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  createdTime: z.number(),
  expirationTime: z.number(),
});

const pullPaymentSchema = z.object({ id: z.string().min(1), name: z.string().nullish(), viewLink: z.string() });

const webhookSchema = z.object({
  deliveryId: z.string().min(1),
  originalDeliveryId: z.string().nullish(),
  type: z.string().min(1),
  storeId: z.string().nullish(),
  invoiceId: z.string().nullish(),
});

/** Greenfield's error bodies: `{code, message}`, or a list of `{path, message}` for validation. */
const errorSchema = z.union([z.object({ message: z.string() }), z.array(z.object({ path: z.string().nullish(), message: z.string() }))]);

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

const unixIso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** `12.5` EUR → 1250; undefined when the text has finer digits than the currency or the currency is not one we price in. */
export function toMinor(text: string, currency: string): number | undefined {
  const code = currencyCodeSchema.safeParse(currency.toUpperCase());
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(text.trim());
  if (!code.success || !match) return undefined;
  const digits = minorUnitDigits(code.data);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return undefined;
  return Number((match[1] as string) + fraction.padEnd(digits, '0'));
}

/** 1250 EUR → `12.50` (exact: no floating point). */
export function fromMinor(amount: number, currency: CurrencyCode): string {
  const digits = minorUnitDigits(currency);
  if (digits === 0) return String(amount);
  const text = String(amount).padStart(digits + 1, '0');
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

function toView(invoice: z.infer<typeof invoiceSchema>): InvoiceView {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const orderId = text(invoice.metadata?.orderId);
  const paymentId = text(invoice.metadata?.paymentId);
  return {
    id: invoice.id,
    storeId: invoice.storeId,
    status: invoice.status,
    additionalStatus: invoice.additionalStatus as InvoiceView['additionalStatus'],
    amount: toMinor(invoice.amount, invoice.currency),
    currency: invoice.currency.toUpperCase(),
    checkoutLink: invoice.checkoutLink,
    metadata: { ...(orderId ? { orderId } : {}), ...(paymentId ? { paymentId } : {}) },
    createdAt: unixIso(invoice.createdTime),
    expiresAt: unixIso(invoice.expirationTime),
  };
}

/** An answer that is not what was asked for (a failure the caller may retry, or not). */
class GreenfieldFailure extends Error {
  constructor(readonly failure: PaymentFailure) {
    super(failure.message);
  }
}

/**
 * BTCPay Server's Greenfield API for one store (`Authorization: token <key>`): invoices for order
 * payments, refunds as pull payments, and the store webhook's `BTCPay-Sig`. Network failures,
 * timeouts, 5xx, 429 and refused keys are `unavailable` (a later try may work); 400 and 422 are
 * `invalid_request` with BTCPay's own messages. Answers are parsed before use.
 */
export class GreenfieldClient implements InvoiceGateway {
  private readonly base: string;

  constructor(private readonly settings: GreenfieldSettings) {
    this.base = `${settings.url.replace(/\/+$/, '')}/api/v1/stores/${encodeURIComponent(settings.storeId)}`;
  }

  createInvoice(input: Parameters<InvoiceGateway['createInvoice']>[0]): Promise<PaymentResult<InvoiceView>> {
    return this.call(async () => {
      const currency = currencyCodeSchema.parse(input.currency);
      const body = {
        amount: fromMinor(input.amount, currency),
        currency,
        // `orderId` is what Greenfield searches by; `itemDesc` is shown on the checkout page.
        metadata: { orderId: input.orderId, paymentId: input.paymentId, itemDesc: input.description },
        checkout: this.settings.expirationMinutes ? { expirationMinutes: this.settings.expirationMinutes } : {},
      };
      return toView(await this.request('POST', '/invoices', invoiceSchema, body));
    });
  }

  getInvoice(invoiceId: string): Promise<PaymentResult<InvoiceView | undefined>> {
    return this.call(async () => {
      const invoice = await this.request('GET', `/invoices/${encodeURIComponent(invoiceId)}`, invoiceSchema.nullable(), undefined, { notFound: null });
      return invoice ? toView(invoice) : undefined;
    });
  }

  findInvoices(orderId: string): Promise<PaymentResult<InvoiceView[]>> {
    return this.call(async () => {
      const invoices = await this.request('GET', `/invoices?orderId=${encodeURIComponent(orderId)}`, z.array(invoiceSchema));
      return invoices.map(toView);
    });
  }

  refundInvoice(input: Parameters<InvoiceGateway['refundInvoice']>[0]): Promise<PaymentResult<InvoiceRefund>> {
    return this.call(async () => {
      // No idempotency keys at BTCPay: a refund asked for before (an answer lost on the way) is found by its name.
      const made = await this.request('GET', '/pull-payments?includeArchived=true', z.array(pullPaymentSchema));
      const earlier = made.find((pullPayment) => pullPayment.name === input.name);
      if (earlier) return { id: earlier.id, link: earlier.viewLink };
      const currency = currencyCodeSchema.parse(input.currency);
      const body = {
        name: input.name,
        description: input.description,
        refundVariant: 'Custom',
        customAmount: fromMinor(input.amount, currency),
        customCurrency: currency,
      };
      const pullPayment = await this.request('POST', `/invoices/${encodeURIComponent(input.invoiceId)}/refund`, pullPaymentSchema, body);
      return { id: pullPayment.id, link: pullPayment.viewLink };
    });
  }

  invalidate(invoiceId: string): Promise<PaymentResult<void>> {
    return this.call(async () => {
      await this.request('POST', `/invoices/${encodeURIComponent(invoiceId)}/status`, z.unknown(), { status: 'Invalid' });
    });
  }

  verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): InvoiceWebhook | undefined {
    const hex = signatureHeader === undefined ? undefined : SIGNATURE.exec(signatureHeader.trim())?.[1];
    if (!verifyHexHmacSha256(rawBody, hex, this.settings.webhookSecret)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return undefined;
    }
    const parsed = webhookSchema.safeParse(json);
    if (!parsed.success) return undefined;
    const { deliveryId, originalDeliveryId, type, storeId, invoiceId } = parsed.data;
    return { deliveryId, eventKey: originalDeliveryId || deliveryId, type, ...(storeId ? { storeId } : {}), ...(invoiceId ? { invoiceId } : {}) };
  }

  private async call<T>(run: () => Promise<T>): Promise<PaymentResult<T>> {
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      if (error instanceof GreenfieldFailure) return { ok: false, error: error.failure };
      if (error instanceof z.ZodError) return { ok: false, error: { code: 'invalid_request', message: 'not a currency BTCPay invoices are made in here' } };
      throw error;
    }
  }

  private async request<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown, options: { notFound?: T } = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `token ${this.settings.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs ?? 15_000),
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'did not answer in time' : 'could not be reached';
      throw new GreenfieldFailure({ code: 'unavailable', message: `BTCPay ${reason}` });
    }
    const text = await response.text().catch(() => '');
    if (response.status === 404 && 'notFound' in options) return options.notFound as T;
    if (!response.ok) throw new GreenfieldFailure(failureOf(response.status, text));
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new GreenfieldFailure({ code: 'unavailable', message: `BTCPay answered ${method} ${path.split('?')[0]} with something other than JSON` });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new GreenfieldFailure({ code: 'unavailable', message: `BTCPay's answer to ${method} ${path.split('?')[0]} is not what Greenfield documents` });
    return parsed.data;
  }
}

/** A Greenfield error answer as a failure: retryable or not, with BTCPay's words (never our key). */
function failureOf(status: number, text: string): PaymentFailure {
  let detail = '';
  try {
    const parsed = errorSchema.safeParse(JSON.parse(text));
    if (parsed.success)
      detail = Array.isArray(parsed.data)
        ? parsed.data.map((issue) => `${issue.path ? `${issue.path}: ` : ''}${issue.message}`).join('; ')
        : parsed.data.message;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const message = `BTCPay answered ${status}${detail ? `: ${detail.slice(0, 300)}` : ''}`;
  if (status === 400 || status === 404 || status === 422) return { code: 'invalid_request', message };
  return { code: 'unavailable', message };
}
