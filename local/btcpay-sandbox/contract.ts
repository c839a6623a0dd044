/**
 * The sandbox's own copy of the Greenfield wire contract it plays (BTCPay Server's
 * swagger.template.invoices.json, .webhooks.json, .pull-payments.json and the C# models behind
 * them). Deliberately not shared with the app: validating with the app's schemas could not catch
 * drift between the app and BTCPay.
 *
 * Request bodies are read leniently, as Newtonsoft reads them into BTCPay's models: unknown
 * properties are ignored, `null` is the same as absent. The sandbox's own control bodies are strict.
 */
import * as z from 'zod';
import { ValidationError, type ValidationIssue } from './errors';

export const INVOICE_STATUSES = ['New', 'Processing', 'Expired', 'Invalid', 'Settled'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export const ADDITIONAL_STATUSES = ['None', 'PaidLate', 'PaidPartial', 'Marked', 'Invalid', 'PaidOver'] as const;
export type AdditionalStatus = (typeof ADDITIONAL_STATUSES)[number];

export const SPEED_POLICIES = ['HighSpeed', 'MediumSpeed', 'LowSpeed', 'LowMediumSpeed'] as const;

export const REFUND_VARIANTS = ['RateThen', 'CurrentRate', 'OverpaidAmount', 'Fiat', 'Custom'] as const;
export type RefundVariant = (typeof REFUND_VARIANTS)[number];

/** Webhook event types BTCPay sends for invoices (WebhookEventType.cs; the last three are not in the swagger list but are sent to "everything" webhooks). */
export const INVOICE_EVENT_TYPES = [
  'InvoiceCreated',
  'InvoiceReceivedPayment',
  'InvoiceProcessing',
  'InvoicePaymentSettled',
  'InvoiceSettled',
  'InvoiceExpired',
  'InvoiceInvalid',
  'InvoiceExpiredPaidPartial',
  'InvoicePaidAfterExpiration',
  'InvoiceRefund',
] as const;
export type InvoiceEventType = (typeof INVOICE_EVENT_TYPES)[number];

/** Greenfield permission policies the invoice endpoints need (Permissions.cs). */
export const POLICY = {
  modifyStoreSettings: 'btcpay.store.canmodifystoresettings',
  viewStoreSettings: 'btcpay.store.canviewstoresettings',
  viewInvoices: 'btcpay.store.canviewinvoices',
  createInvoice: 'btcpay.store.cancreateinvoice',
  modifyInvoices: 'btcpay.store.canmodifyinvoices',
  viewPullPayments: 'btcpay.store.canviewpullpayments',
  managePullPayments: 'btcpay.store.canmanagepullpayments',
  createPullPayments: 'btcpay.store.cancreatepullpayments',
  createNonApprovedPullPayments: 'btcpay.store.cancreatenonapprovedpullpayments',
} as const;

/** Which policies a policy grants as well (the PolicyDefinitions in BTCPayServerServices.cs, the part that matters here). */
export const POLICY_INCLUDES: Readonly<Record<string, readonly string[]>> = {
  [POLICY.modifyStoreSettings]: [POLICY.managePullPayments, POLICY.modifyInvoices, POLICY.viewStoreSettings],
  [POLICY.viewStoreSettings]: [POLICY.viewInvoices, POLICY.viewPullPayments],
  [POLICY.modifyInvoices]: [POLICY.viewInvoices, POLICY.createInvoice],
  [POLICY.managePullPayments]: [POLICY.createPullPayments],
  [POLICY.createPullPayments]: [POLICY.createNonApprovedPullPayments],
};

/** The one on-chain payment method of the sandbox store, and the ids BTCPay also reads as it. */
export const PAYMENT_METHOD = 'BTC-CHAIN';
export const PAYMENT_METHOD_ALIASES: ReadonlySet<string> = new Set(['BTC-CHAIN', 'BTC', 'BTC-OnChain']);
/** Well-formed payment method ids (the store has no wallet for the others). */
export const PAYMENT_METHOD_ID = /^[A-Z0-9]+(-(CHAIN|LN|LNURL|OnChain|LightningNetwork|LNURLPAY))?$/;

/** `decimal` in BTCPay's models: a JSON string or number. */
const decimalInput = z.union([z.string(), z.number()]);

// --- requests -------------------------------------------------------------------------------------

export const createInvoiceRequestSchema = z.object({
  amount: decimalInput.nullish(),
  currency: z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  checkout: z
    .object({
      speedPolicy: z.enum(SPEED_POLICIES).nullish(),
      paymentMethods: z.array(z.string()).nullish(),
      defaultPaymentMethod: z.string().nullish(),
      lazyPaymentMethods: z.boolean().nullish(),
      // TimeSpanJsonConverter.Minutes reads integers only ("Invalid timespan" otherwise).
      expirationMinutes: z.number().int().nullish(),
      monitoringMinutes: z.number().int().nullish(),
      paymentTolerance: z.number().nullish(),
      redirectURL: z.string().nullish(),
      redirectAutomatically: z.boolean().nullish(),
      defaultLanguage: z.string().nullish(),
    })
    .nullish(),
  receipt: z
    .object({
      enabled: z.boolean().nullish(),
      showQR: z.boolean().nullish(),
      showPayments: z.boolean().nullish(),
    })
    .nullish(),
  additionalSearchTerms: z.array(z.string()).nullish(),
});
export type CreateInvoiceRequest = z.infer<typeof createInvoiceRequestSchema>;

export const markStatusRequestSchema = z.object({ status: z.string().nullish() });

export const refundRequestSchema = z.object({
  name: z.string().nullish(),
  description: z.string().nullish(),
  payoutMethods: z.array(z.string()).nullish(),
  /** Deprecated since BTCPay 2.x in favour of payoutMethods. */
  payoutMethodId: z.string().nullish(),
  refundVariant: z.enum(REFUND_VARIANTS).nullish(),
  subtractPercentage: decimalInput.nullish(),
  customAmount: decimalInput.nullish(),
  customCurrency: z.string().nullish(),
});
export type RefundRequest = z.infer<typeof refundRequestSchema>;

// --- sandbox controls (strict: a typo is an error, not a silently ignored field) ------------------

export const payRequestSchema = z.strictObject({
  /** Decimal string (or number) in the invoice currency; default: what is still due. */
  amount: decimalInput.optional(),
  /** Overrides the sandbox's confirmation option for this payment. */
  confirmed: z.boolean().optional(),
});

export const FAULT_KINDS = ['http500', 'unavailable', 'timeout'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultRequestSchema = z
  .strictObject({
    count: z.number().int().positive().optional(),
    seconds: z.number().positive().optional(),
    kind: z.enum(FAULT_KINDS).optional(),
  })
  .refine((body) => (body.count === undefined) !== (body.seconds === undefined), { message: 'give exactly one of "count" or "seconds"' });

export const webhookSettingsSchema = z.strictObject({
  deliver: z.boolean().optional(),
  url: z.url().nullable().optional(),
});

// --- responses ------------------------------------------------------------------------------------

export interface CheckoutJson {
  speedPolicy: string;
  paymentMethods: string[];
  defaultPaymentMethod: string | null;
  expirationMinutes: number;
  monitoringMinutes: number;
  paymentTolerance: number;
  redirectURL: string | null;
  redirectAutomatically: boolean;
  defaultLanguage: string | null;
  lazyPaymentMethods: boolean;
}

/** InvoiceData as Greenfield serialises it (derived class first, then InvoiceDataBase). */
export interface InvoiceJson {
  id: string;
  storeId: string;
  amount: string;
  paidAmount: string;
  checkoutLink: string;
  status: InvoiceStatus;
  additionalStatus: AdditionalStatus;
  monitoringExpiration: number;
  expirationTime: number;
  createdTime: number;
  availableStatusesForManualMarking: InvoiceStatus[];
  archived: boolean;
  type: 'Standard' | 'TopUp';
  currency: string;
  metadata: Record<string, unknown>;
  checkout: CheckoutJson;
  receipt: { enabled: boolean; showQR: boolean; showPayments: boolean };
}

/** InvoicePaymentMethodDataModel.Payment. */
export interface PaymentJson {
  id: string;
  receivedDate: number;
  value: string;
  fee: string;
  status: 'Invalid' | 'Processing' | 'Settled';
  destination: string;
}

/** PullPaymentData. */
export interface PullPaymentJson {
  startsAt: number;
  expiresAt: number | null;
  id: string;
  name: string;
  description: string | null;
  currency: string;
  amount: string;
  BOLT11Expiration: number;
  archived: boolean;
  viewLink: string;
  autoApproveClaims: boolean;
}

// --- reading bodies -------------------------------------------------------------------------------

/** Parses a body; zod issues become Greenfield validation errors on the JSON path. */
export function readModel<T>(schema: z.ZodType<T>, body: unknown, messages: Record<string, string> = {}): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues: ValidationIssue[] = parsed.error.issues.map((issue) => {
    const path = jsonPath(issue.path);
    return { path, message: messages[path] ?? issue.message };
  });
  throw new ValidationError(issues);
}

function jsonPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}
