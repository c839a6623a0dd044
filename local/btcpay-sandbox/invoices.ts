/**
 * The sandbox store's invoices, moved the way BTCPay moves them. The transitions are a re-telling
 * of BTCPay's `InvoiceWatcher.UpdateInvoice` (expiry, paid in full, paid late, partial, over,
 * confirmed, failed to confirm), `InvoiceRepository.MarkInvoiceStatus`, `InvoiceState`
 * (what may be marked or refunded) and the refund endpoint of `GreenfieldInvoiceController`.
 *
 * Events go out in the order BTCPay publishes them for an on-chain payment:
 * InvoiceReceivedPayment when the transaction is seen, then the watcher's InvoiceProcessing (paid
 * in full) — and once the block arrives InvoicePaymentSettled, then the watcher's InvoiceSettled.
 *
 * Not a BTCPay: payments are made in the invoice's own currency (no rates, no BTC amounts), one
 * payment method (BTC-CHAIN), no archiving, no payment-method endpoint, no taxes, no dust rule.
 */
import {
  type AdditionalStatus,
  createInvoiceRequestSchema,
  type InvoiceEventType,
  type InvoiceJson,
  type InvoiceStatus,
  markStatusRequestSchema,
  PAYMENT_METHOD,
  PAYMENT_METHOD_ALIASES,
  PAYMENT_METHOD_ID,
  type PaymentJson,
  type PullPaymentJson,
  payRequestSchema,
  readModel,
  refundRequestSchema,
  INVOICE_STATUSES,
} from './contract';
import { divisibility } from './currencies';
import { Decimal, roundToSignificant, sum } from './decimal';
import { GreenfieldError, Issues, invoiceNotFound, sandboxError, ValidationError } from './errors';
import { fakeAddress, fakeOutpoint, randomId } from './ids';

/** GreenfieldConstants.MaxAmount (ulong.MaxValue). */
const MAX_AMOUNT = Decimal.of(18446744073709551615n, 0);
const HUNDRED = Decimal.of(100n, 0);
/** Store defaults (StoreBlob): 15 minutes to pay, monitored one day after expiry. */
const DEFAULT_EXPIRATION_MINUTES = 15;
const DEFAULT_MONITORING_MINUTES = 24 * 60;
/** RefundBOLT11Expiration of a new store: 30 days. */
const BOLT11_EXPIRATION_DAYS = 30;
/** setTimeout's ceiling; longer waits are taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

export interface Payment {
  id: string;
  receivedMs: number;
  value: Decimal;
  status: 'Processing' | 'Settled';
  destination: string;
}

interface Invoice {
  id: string;
  seq: number;
  storeId: string;
  type: 'Standard' | 'TopUp';
  price: Decimal;
  currency: string;
  metadata: Record<string, unknown>;
  createdMs: number;
  expirationMs: number;
  monitoringExpirationMs: number;
  status: InvoiceStatus;
  additionalStatus: AdditionalStatus;
  checkout: {
    speedPolicy: string;
    paymentMethods: string[];
    defaultPaymentMethod: string | null;
    paymentTolerance: number;
    redirectURL: string | null;
    redirectAutomatically: boolean;
    defaultLanguage: string | null;
    lazyPaymentMethods: boolean;
  };
  receipt: { enabled: boolean; showQR: boolean; showPayments: boolean };
  payments: Payment[];
  destination: string;
  timer?: NodeJS.Timeout;
}

/** An invoice event as the webhook layer needs it: its type, the per-type fields, and whose it is. */
export interface InvoiceEvent {
  type: InvoiceEventType;
  storeId: string;
  invoiceId: string;
  metadata: Record<string, unknown>;
  /** The fields of this event type, in BTCPay's order (they come first in the body). */
  fields: Record<string, unknown>;
}

export interface InvoiceBookSettings {
  storeId: string;
  defaultCurrency: string;
  /** `immediate`: a payment's block arrives right after it is seen; `manual`: on `confirm`. */
  confirmation: 'immediate' | 'manual';
  baseUrl: () => string;
  now: () => number;
}

/** What a watcher pass decided, before it is turned into webhook events. */
type WatcherCode = 'Expired' | 'ExpiredPaidPartial' | 'PaidInFull' | 'PaidAfterExpiration' | 'FailedToConfirm' | 'Confirmed';

export interface ListQuery {
  orderId: string[];
  status: string[];
  skip?: number;
  take?: number;
  startDate?: number;
  endDate?: number;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

export class InvoiceBook {
  private readonly invoices = new Map<string, Invoice>();
  private readonly pullPayments = new Map<string, PullPaymentJson>();
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly settings: InvoiceBookSettings,
    private readonly emit: (event: InvoiceEvent) => void,
  ) {}

  // --- Greenfield -------------------------------------------------------------------------------

  /** POST /api/v1/stores/{storeId}/invoices */
  create(body: unknown): InvoiceJson {
    const request = readModel(createInvoiceRequestSchema, body, {
      'checkout.expirationMinutes': 'Invalid timespan, expected integer',
      'checkout.monitoringMinutes': 'Invalid timespan, expected integer',
    });
    const amount = request.amount === null || request.amount === undefined ? undefined : readDecimal(request.amount, 'amount');
    const issues = new Issues();
    if (amount?.sign() === -1) issues.add('Amount', 'The amount should be 0 or more.');
    if (amount?.gt(MAX_AMOUNT)) issues.add('Amount', `The amount should less than ${MAX_AMOUNT}.`);
    const checkout = request.checkout ?? {};
    checkout.paymentMethods?.forEach((method, index) => {
      if (!PAYMENT_METHOD_ID.test(method)) issues.add(`Checkout.PaymentMethods[${index}]`, 'Invalid PaymentMethodId');
    });
    if (checkout.expirationMinutes !== null && checkout.expirationMinutes !== undefined && checkout.expirationMinutes * 60 < 30) {
      issues.add('Checkout.Expiration', 'Expiration time must be at least 30 seconds');
    }
    const tolerance = checkout.paymentTolerance;
    if (tolerance !== null && tolerance !== undefined && (tolerance < 0 || tolerance > 100)) {
      issues.add('Checkout.PaymentTolerance', 'PaymentTolerance can only be between 0 and 100 percent');
    }
    issues.throwIfAny();

    const currency = (request.currency?.trim() || this.settings.defaultCurrency).toUpperCase();
    const places = divisibility(currency);
    const methods = (checkout.paymentMethods ?? [PAYMENT_METHOD]).filter((method) => PAYMENT_METHOD_ALIASES.has(method));
    if (places === undefined || methods.length === 0) {
      // What CreateInvoiceCoreRaw throws when no payment method can be priced (a BitpayHttpException → generic-error).
      const reason =
        places === undefined
          ? `No rate for ${currency}: the sandbox store prices in ISO 4217 currencies, BTC and SATS.`
          : 'The sandbox store has only BTC-CHAIN.';
      throw new GreenfieldError(400, 'generic-error', `Error retrieving a matching payment method or rate.\n${reason}`);
    }
    let price = Decimal.ZERO;
    if (amount !== undefined) {
      const bounded = amount.sign() < 0 ? Decimal.ZERO : amount.gt(MAX_AMOUNT) ? MAX_AMOUNT : amount;
      price = roundToSignificant(bounded, places);
    }

    const now = this.settings.now();
    const expirationMs = now + (checkout.expirationMinutes ?? DEFAULT_EXPIRATION_MINUTES) * 60_000;
    const invoice: Invoice = {
      id: randomId(16),
      seq: this.seq++,
      storeId: this.settings.storeId,
      type: amount === undefined ? 'TopUp' : 'Standard',
      price,
      currency,
      metadata: structuredClone(request.metadata ?? {}),
      createdMs: now,
      expirationMs,
      monitoringExpirationMs: expirationMs + (checkout.monitoringMinutes ?? DEFAULT_MONITORING_MINUTES) * 60_000,
      status: 'New',
      additionalStatus: 'None',
      checkout: {
        speedPolicy: checkout.speedPolicy ?? 'MediumSpeed',
        paymentMethods: [PAYMENT_METHOD],
        defaultPaymentMethod: checkout.defaultPaymentMethod ?? null,
        paymentTolerance: tolerance ?? 0,
        redirectURL: checkout.redirectURL?.trim() ?? null,
        redirectAutomatically: checkout.redirectAutomatically ?? false,
        defaultLanguage: checkout.defaultLanguage ?? null,
        lazyPaymentMethods: checkout.lazyPaymentMethods ?? false,
      },
      receipt: {
        enabled: request.receipt?.enabled ?? true,
        showQR: request.receipt?.showQR ?? true,
        showPayments: request.receipt?.showPayments ?? true,
      },
      payments: [],
      destination: fakeAddress(),
    };
    this.invoices.set(invoice.id, invoice);
    this.publish(invoice, 'InvoiceCreated', {});
    // The watcher looks at every new invoice: a zero-amount one is paid in full at once.
    this.watch(invoice);
    return this.toJson(invoice);
  }

  /** GET …/invoices/{invoiceId} (undefined when unknown or another store's). */
  get(invoiceId: string, storeId = this.settings.storeId): InvoiceJson | undefined {
    const invoice = this.invoices.get(invoiceId);
    return invoice && invoice.storeId === storeId ? this.toJson(invoice) : undefined;
  }

  /** The store of an invoice, for routes that resolve the store from the invoice. */
  storeOf(invoiceId: string): string | undefined {
    return this.invoices.get(invoiceId)?.storeId;
  }

  /** GET /api/v1/stores/{storeId}/invoices — newest first, as InvoiceRepository.GetInvoices. */
  list(query: ListQuery): InvoiceJson[] {
    const issues = new Issues();
    if (query.startDate !== undefined && query.endDate !== undefined && query.startDate > query.endDate) {
      issues.add('startDate', 'startDate should not be above endDate');
      issues.add('endDate', 'endDate should not be below startDate');
    }
    issues.throwIfAny();
    const orderIds = new Set(query.orderId);
    // Unknown status names are dropped; if none is left there is no status filter at all (as BTCPay does).
    const statuses = new Set(query.status.map(normalizeStatus).filter((status) => status !== undefined));
    let found = [...this.invoices.values()]
      .filter((invoice) => invoice.storeId === this.settings.storeId)
      .filter((invoice) => orderIds.size === 0 || orderIds.has(orderIdOf(invoice)))
      .filter((invoice) => statuses.size === 0 || statuses.has(invoice.status))
      .filter((invoice) => query.startDate === undefined || seconds(invoice.createdMs) >= query.startDate)
      .filter((invoice) => query.endDate === undefined || seconds(invoice.createdMs) <= query.endDate)
      .sort((a, b) => b.createdMs - a.createdMs || b.seq - a.seq);
    if (query.skip !== undefined) found = found.slice(query.skip);
    if (query.take !== undefined) found = found.slice(0, query.take);
    return found.map((invoice) => this.toJson(invoice));
  }

  /** POST …/invoices/{invoiceId}/status `{status: "Settled" | "Invalid"}` */
  markStatus(invoiceId: string, body: unknown): InvoiceJson {
    const invoice = this.find(invoiceId);
    const request = readModel(markStatusRequestSchema, body);
    // An absent status binds to the enum's default, New; an unknown name does not bind at all.
    const status = request.status ?? 'New';
    if (!(INVOICE_STATUSES as readonly string[]).includes(status)) {
      throw new ValidationError([{ path: 'status', message: `Error converting value "${status}" to type 'BTCPayServer.Client.Models.InvoiceStatus'.` }]);
    }
    const allowed = availableMarks(invoice);
    if (!(allowed as string[]).includes(status) || (status !== 'Settled' && status !== 'Invalid')) {
      throw new ValidationError([{ path: 'Status', message: 'Status can only be marked to invalid or settled within certain conditions.' }]);
    }
    invoice.status = status;
    invoice.additionalStatus = 'Marked';
    if (status === 'Settled') this.publish(invoice, 'InvoiceSettled', { manuallyMarked: true, overPaid: false });
    else this.publish(invoice, 'InvoiceInvalid', { manuallyMarked: true });
    this.schedule(invoice);
    return this.toJson(invoice);
  }

  /** POST …/invoices/{invoiceId}/refund — a refund is a pull payment the customer claims. */
  refund(invoiceId: string, body: unknown, canCreatePullPayments: boolean): PullPaymentJson {
    const invoice = this.find(invoiceId);
    if (!canRefund(invoice)) throw new GreenfieldError(400, 'non-refundable', 'Cannot refund this invoice');
    const request = readModel(refundRequestSchema, body, {
      refundVariant: `The refundVariant must be one of ${['RateThen', 'CurrentRate', 'OverpaidAmount', 'Fiat', 'Custom'].join(', ')}`,
    });
    const subtract =
      request.subtractPercentage === null || request.subtractPercentage === undefined
        ? Decimal.ZERO
        : readDecimal(request.subtractPercentage, 'subtractPercentage');
    const customAmount = request.customAmount === null || request.customAmount === undefined ? undefined : readDecimal(request.customAmount, 'customAmount');

    // payoutMethods supersedes the deprecated payoutMethodId; with neither, the invoice's own method.
    const issues = new Issues();
    const explicit = request.payoutMethods ?? (request.payoutMethodId ? [request.payoutMethodId] : undefined);
    const errorKey = request.payoutMethods ? 'PayoutMethods' : 'PayoutMethodId';
    const payoutMethods = new Set<string>();
    for (const method of explicit ?? [PAYMENT_METHOD]) {
      if (PAYMENT_METHOD_ALIASES.has(method)) payoutMethods.add(PAYMENT_METHOD);
      else if (explicit) issues.add(errorKey, `Invalid or unsupported payout method: ${method}`);
    }
    if (payoutMethods.size === 0) issues.add(errorKey, 'Please select one of the payment methods which were available for the original invoice');
    if (!request.refundVariant) issues.add('RefundVariant', '`refundVariant` is mandatory');
    issues.throwIfAny();
    const variant = request.refundVariant as NonNullable<typeof request.refundVariant>;

    if (variant !== 'Custom') {
      if (customAmount !== undefined) issues.add('CustomAmount', 'CustomAmount should only be set if the refundVariant is Custom');
      if (request.customCurrency) issues.add('CustomCurrency', 'CustomCurrency should only be set if the refundVariant is Custom');
    }
    if (subtract.sign() < 0 || subtract.gt(HUNDRED)) issues.add('SubtractPercentage', 'Percentage must be a numeric value between 0 and 100');
    issues.throwIfAny();

    const places = divisibility(invoice.currency) ?? 2;
    const accounting = this.accounting(invoice);
    // A settled invoice marked by hand with no payment counts as paid in full.
    const paid = accounting.paid.isZero() && invoice.status === 'Settled' && invoice.additionalStatus === 'Marked' ? invoice.price : accounting.paid;
    let currency: string;
    let amount: Decimal;
    let autoApprove: boolean;
    let appliedPlaces = places;
    switch (variant) {
      case 'Fiat':
        currency = invoice.currency;
        amount = paid.round(places, 'toEven');
        autoApprove = false;
        break;
      case 'Custom': {
        if (customAmount === undefined || customAmount.sign() <= 0) issues.add('CustomAmount', 'Amount must be greater than 0');
        const customCurrency = request.customCurrency?.trim().toUpperCase() ?? '';
        if (!customCurrency || divisibility(customCurrency) === undefined) issues.add('CustomCurrency', 'Invalid currency');
        issues.throwIfAny();
        currency = customCurrency;
        amount = customAmount as Decimal;
        // BTCPay rounds a Custom refund to the payment method's places (BTC: 8), not the currency's.
        appliedPlaces = 8;
        // Claims are approved automatically only when refunding in the payment method's currency.
        autoApprove = customCurrency === 'BTC';
        break;
      }
      default:
        if (variant === 'OverpaidAmount' && invoice.additionalStatus !== 'PaidOver') {
          throw new ValidationError([{ path: 'RefundVariant', message: 'Invoice is not overpaid' }]);
        }
        // RateThen, CurrentRate and OverpaidAmount refund crypto (BTC) amounts, which the sandbox does not keep.
        throw new ValidationError([
          {
            path: 'RefundVariant',
            message: `The BTCPay sandbox keeps no crypto amounts: ${variant} refunds in BTC on a real BTCPay. Use Fiat or Custom against the sandbox.`,
          },
        ]);
    }
    if (subtract.sign() > 0) amount = amount.minus(amount.times(subtract).shiftLeft(2)).round(appliedPlaces, 'toEven');
    if (amount.sign() <= 0) {
      // PullPaymentHostedService refuses it with an ArgumentException BTCPay does not catch.
      throw new GreenfieldError(500, 'generic-error', 'Amount out of bound (nothing to refund)');
    }

    const now = this.settings.now();
    const id = randomId(20);
    const pullPayment: PullPaymentJson = {
      startsAt: seconds(now - 1000),
      expiresAt: null,
      id,
      name: request.name ?? `Refund ${invoice.id}`,
      description: request.description ?? null,
      currency,
      amount: amount.toString(),
      BOLT11Expiration: BOLT11_EXPIRATION_DAYS,
      archived: false,
      viewLink: `${this.settings.baseUrl()}/pull-payments/${id}`,
      autoApproveClaims: autoApprove && canCreatePullPayments,
    };
    this.pullPayments.set(id, pullPayment);
    this.publish(invoice, 'InvoiceRefund', { pullPaymentId: id });
    return structuredClone(pullPayment);
  }

  /** GET /api/v1/stores/{storeId}/pull-payments — newest first (none is ever archived here). */
  listPullPayments(): PullPaymentJson[] {
    return [...this.pullPayments.values()].reverse().map((pullPayment) => structuredClone(pullPayment));
  }

  /** GET /api/v1/pull-payments/{pullPaymentId} (public). */
  pullPayment(id: string): PullPaymentJson | undefined {
    const found = this.pullPayments.get(id);
    return found && structuredClone(found);
  }

  // --- the customer and the chain (sandbox controls) ----------------------------------------------

  /** The customer pays (all that is due by default); the payment is seen, then maybe confirmed. */
  pay(invoiceId: string, body: unknown): InvoiceJson {
    const invoice = this.find(invoiceId);
    const request = readModel(payRequestSchema, body ?? {});
    const now = this.settings.now();
    if (now >= invoice.monitoringExpirationMs) {
      throw sandboxError(409, 'not-monitored', `Invoice ${invoice.id} is no longer monitored (monitoring ended); BTCPay would not see this payment.`);
    }
    let value: Decimal;
    if (request.amount !== undefined) {
      value = readDecimal(request.amount, 'amount');
      if (value.sign() <= 0) throw new ValidationError([{ path: 'amount', message: 'A payment is more than 0.' }]);
    } else {
      if (isUnsetTopUp(invoice)) throw new ValidationError([{ path: 'amount', message: 'A top-up invoice has no amount due: give "amount".' }]);
      value = this.accounting(invoice).netDue;
      if (value.sign() <= 0) throw sandboxError(409, 'nothing-due', `Nothing is due on invoice ${invoice.id}; give "amount" to pay more.`);
    }
    const payment: Payment = { id: fakeOutpoint(), receivedMs: now, value, status: 'Processing', destination: invoice.destination };
    invoice.payments.push(payment);
    // NBXplorerListener: the transaction is seen (mempool) …
    this.publish(invoice, 'InvoiceReceivedPayment', this.paymentFields(invoice, payment));
    this.watch(invoice);
    // … and, when confirmation is immediate, the block arrives right away.
    if (request.confirmed ?? this.settings.confirmation === 'immediate') this.settle(invoice, [payment]);
    return this.toJson(invoice);
  }

  /** A block confirms every payment of the invoice still in Processing. */
  confirm(invoiceId: string): InvoiceJson {
    const invoice = this.find(invoiceId);
    const pending = invoice.payments.filter((payment) => payment.status === 'Processing');
    if (pending.length === 0) throw sandboxError(409, 'nothing-to-confirm', `Invoice ${invoice.id} has no payment waiting for confirmation.`);
    this.settle(invoice, pending);
    return this.toJson(invoice);
  }

  /** Time passes to the invoice's expiry (it must still be New). */
  expire(invoiceId: string): InvoiceJson {
    const invoice = this.find(invoiceId);
    if (invoice.status !== 'New') throw sandboxError(409, 'not-new', `Only a New invoice expires; ${invoice.id} is ${invoice.status}.`);
    const now = this.settings.now();
    const monitoring = invoice.monitoringExpirationMs - invoice.expirationMs;
    invoice.expirationMs = now;
    invoice.monitoringExpirationMs = now + monitoring;
    this.watch(invoice);
    return this.toJson(invoice);
  }

  /** Time passes to the end of monitoring: unconfirmed payments of a Processing invoice make it Invalid. */
  endMonitoring(invoiceId: string): InvoiceJson {
    const invoice = this.find(invoiceId);
    const past = this.settings.now() - 1;
    invoice.expirationMs = Math.min(invoice.expirationMs, past);
    invoice.monitoringExpirationMs = past;
    this.watch(invoice);
    return this.toJson(invoice);
  }

  payments(invoiceId: string): PaymentJson[] {
    return this.find(invoiceId).payments.map((payment) => paymentJson(payment));
  }

  all(): InvoiceJson[] {
    return [...this.invoices.values()].sort((a, b) => a.seq - b.seq).map((invoice) => this.toJson(invoice));
  }

  reset(): void {
    for (const invoice of this.invoices.values()) clearTimeout(invoice.timer);
    this.invoices.clear();
    this.pullPayments.clear();
  }

  stop(): void {
    this.stopped = true;
    this.reset();
  }

  // --- the watcher ----------------------------------------------------------------------------------

  /** Runs watcher passes until one changes nothing (BTCPay loops at most six times). */
  private watch(invoice: Invoice): void {
    for (let pass = 0; pass < 6; pass++) {
      const codes = this.pass(invoice, this.settings.now());
      for (const code of codes) this.publishCode(invoice, code);
      if (codes.length === 0) break;
    }
    this.schedule(invoice);
  }

  /** One `UpdateInvoice`: what the invoice's payments and the clock make of it. */
  private pass(invoice: Invoice, now: number): Array<{ code: WatcherCode; partiallyPaid?: boolean }> {
    const codes: Array<{ code: WatcherCode; partiallyPaid?: boolean }> = [];
    if (invoice.status === 'New' && invoice.expirationMs <= now) {
      invoice.status = 'Expired';
      const partiallyPaid = invoice.additionalStatus === 'PaidPartial';
      codes.push({ code: 'Expired', partiallyPaid });
      if (partiallyPaid) codes.push({ code: 'ExpiredPaidPartial' });
    }
    const hasPayment = invoice.payments.length > 0;
    if (invoice.status === 'New' || invoice.status === 'Expired') {
      const isPaid = isUnsetTopUp(invoice) ? hasPayment : !this.accounting(invoice).underPaid;
      if (isPaid) {
        if (invoice.status === 'New') {
          codes.push({ code: 'PaidInFull' });
          invoice.status = 'Processing';
          if (isUnsetTopUp(invoice)) {
            // A top-up invoice is worth what its first payment brought.
            invoice.additionalStatus = 'None';
            invoice.price = (invoice.payments[0] as Payment).value;
          } else {
            invoice.additionalStatus = this.accounting(invoice).overPaid ? 'PaidOver' : 'None';
          }
        } else if (invoice.additionalStatus !== 'PaidLate') {
          invoice.additionalStatus = 'PaidLate';
          codes.push({ code: 'PaidAfterExpiration' });
        }
      }
      if (hasPayment && this.accounting(invoice).underPaid && invoice.additionalStatus !== 'PaidPartial') invoice.additionalStatus = 'PaidPartial';
    }
    if (invoice.status === 'Processing') {
      const { underPaid, overPaid } = this.accounting(invoice);
      if (!underPaid && !overPaid && invoice.additionalStatus === 'PaidOver') invoice.additionalStatus = 'None';
      if (overPaid && invoice.additionalStatus !== 'PaidOver') invoice.additionalStatus = 'PaidOver';
      if (underPaid) {
        invoice.status = 'New';
        invoice.additionalStatus = hasPayment ? 'PaidPartial' : 'None';
      }
    }
    if (invoice.status === 'Processing') {
      const unconfirmed = sum(invoice.payments.filter((payment) => payment.status === 'Processing').map((payment) => payment.value));
      const minimumDue = this.accounting(invoice).minimumNetDue.plus(unconfirmed);
      if (invoice.monitoringExpirationMs < now && minimumDue.sign() > 0) {
        codes.push({ code: 'FailedToConfirm' });
        invoice.status = 'Invalid';
      } else if (minimumDue.sign() <= 0) {
        invoice.status = 'Settled';
        codes.push({ code: 'Confirmed' });
      }
    }
    return codes;
  }

  /** InvoiceTriggerProvider: a watcher event becomes a webhook event (fields read after the pass). */
  private publishCode(invoice: Invoice, { code, partiallyPaid }: { code: WatcherCode; partiallyPaid?: boolean }): void {
    const overPaid = invoice.additionalStatus === 'PaidOver';
    switch (code) {
      case 'Expired':
        return this.publish(invoice, 'InvoiceExpired', { partiallyPaid: partiallyPaid ?? false });
      case 'ExpiredPaidPartial':
        return this.publish(invoice, 'InvoiceExpiredPaidPartial', {});
      case 'PaidInFull':
        return this.publish(invoice, 'InvoiceProcessing', { overPaid });
      case 'PaidAfterExpiration':
        return this.publish(invoice, 'InvoicePaidAfterExpiration', {});
      case 'FailedToConfirm':
        return this.publish(invoice, 'InvoiceInvalid', { manuallyMarked: false });
      case 'Confirmed':
        return this.publish(invoice, 'InvoiceSettled', { manuallyMarked: false, overPaid });
    }
  }

  /** PaymentService.UpdatePayments: each payment confirmed is an InvoicePaymentSettled, then the watcher looks. */
  private settle(invoice: Invoice, payments: Payment[]): void {
    for (const payment of payments) {
      payment.status = 'Settled';
      this.publish(invoice, 'InvoicePaymentSettled', this.paymentFields(invoice, payment));
    }
    this.watch(invoice);
  }

  private paymentFields(invoice: Invoice, payment: Payment): Record<string, unknown> {
    return {
      afterExpiration: invoice.status === 'Expired' || invoice.status === 'Invalid',
      paymentMethodId: PAYMENT_METHOD,
      payment: paymentJson(payment),
    };
  }

  private publish(invoice: Invoice, type: InvoiceEventType, fields: Record<string, unknown>): void {
    this.emit({ type, storeId: invoice.storeId, invoiceId: invoice.id, metadata: structuredClone(invoice.metadata), fields });
  }

  /** Wakes the watcher at the next deadline (expiry of a New invoice, end of monitoring of a Processing one). */
  private schedule(invoice: Invoice): void {
    clearTimeout(invoice.timer);
    invoice.timer = undefined;
    if (this.stopped) return;
    const deadline = invoice.status === 'New' ? invoice.expirationMs : invoice.status === 'Processing' ? invoice.monitoringExpirationMs + 1 : undefined;
    if (deadline === undefined) return;
    const wait = Math.min(Math.max(deadline - this.settings.now(), 0), MAX_TIMER_MS);
    invoice.timer = setTimeout(() => {
      invoice.timer = undefined;
      if (this.invoices.get(invoice.id) === invoice) this.watch(invoice);
    }, wait);
    invoice.timer.unref();
  }

  // --- accounting -----------------------------------------------------------------------------------

  /** InvoiceEntity.UpdateTotals, in the invoice's currency (every payment counts; none is ever unaccounted here). */
  private accounting(invoice: Invoice): { paid: Decimal; netDue: Decimal; minimumNetDue: Decimal; underPaid: boolean; overPaid: boolean } {
    const paid = sum(invoice.payments.map((payment) => payment.value));
    const netDue = invoice.price.minus(paid);
    const tolerance = Decimal.fromNumber(invoice.checkout.paymentTolerance) ?? Decimal.ZERO;
    const minimumNetDue = invoice.price.minus(invoice.price.times(tolerance).shiftLeft(2)).minus(paid);
    return { paid, netDue, minimumNetDue, underPaid: minimumNetDue.sign() > 0, overPaid: netDue.sign() < 0 };
  }

  private find(invoiceId: string): Invoice {
    const invoice = this.invoices.get(invoiceId);
    if (!invoice) throw invoiceNotFound();
    return invoice;
  }

  private toJson(invoice: Invoice): InvoiceJson {
    const places = divisibility(invoice.currency) ?? 2;
    return {
      id: invoice.id,
      storeId: invoice.storeId,
      amount: invoice.price.toString(),
      paidAmount: this.accounting(invoice).paid.round(places, 'toEven').toString(),
      checkoutLink: `${this.settings.baseUrl()}/i/${invoice.id}`,
      status: invoice.status,
      additionalStatus: invoice.additionalStatus,
      monitoringExpiration: seconds(invoice.monitoringExpirationMs),
      expirationTime: seconds(invoice.expirationMs),
      createdTime: seconds(invoice.createdMs),
      availableStatusesForManualMarking: availableMarks(invoice),
      archived: false,
      type: invoice.type,
      currency: invoice.currency,
      metadata: structuredClone(invoice.metadata),
      checkout: {
        speedPolicy: invoice.checkout.speedPolicy,
        paymentMethods: [...invoice.checkout.paymentMethods],
        defaultPaymentMethod: invoice.checkout.defaultPaymentMethod,
        expirationMinutes: Math.trunc((invoice.expirationMs - invoice.createdMs) / 60_000),
        monitoringMinutes: Math.trunc((invoice.monitoringExpirationMs - invoice.expirationMs) / 60_000),
        paymentTolerance: invoice.checkout.paymentTolerance,
        redirectURL: invoice.checkout.redirectURL,
        redirectAutomatically: invoice.checkout.redirectAutomatically,
        defaultLanguage: invoice.checkout.defaultLanguage,
        lazyPaymentMethods: invoice.checkout.lazyPaymentMethods,
      },
      receipt: { ...invoice.receipt },
    };
  }
}

// --- InvoiceState ---------------------------------------------------------------------------------

function canMarkComplete({ status, additionalStatus }: Invoice): boolean {
  return status === 'New' || status === 'Processing' || status === 'Expired' || status === 'Invalid' || (status !== 'Settled' && additionalStatus === 'Marked');
}

function canMarkInvalid({ status, additionalStatus }: Invoice): boolean {
  return status === 'New' || status === 'Processing' || status === 'Expired' || (status !== 'Invalid' && additionalStatus === 'Marked');
}

function canRefund({ status, additionalStatus }: Invoice): boolean {
  if (status === 'Settled' || status === 'Invalid') return true;
  return status === 'Expired' && (additionalStatus === 'PaidLate' || additionalStatus === 'PaidOver' || additionalStatus === 'PaidPartial');
}

function availableMarks(invoice: Invoice): InvoiceStatus[] {
  const statuses: InvoiceStatus[] = [];
  if (canMarkComplete(invoice)) statuses.push('Settled');
  if (canMarkInvalid(invoice)) statuses.push('Invalid');
  return statuses;
}

const isUnsetTopUp = (invoice: Invoice): boolean => invoice.type === 'TopUp' && invoice.price.isZero();

function orderIdOf(invoice: Invoice): string {
  const orderId = invoice.metadata.orderId;
  return typeof orderId === 'string' ? orderId : orderId === undefined || orderId === null ? '' : JSON.stringify(orderId);
}

/** InvoiceRepository.NormalizeStatus: case-insensitive, with BitPay's old names. */
function normalizeStatus(status: string): InvoiceStatus | undefined {
  switch (status.toLowerCase()) {
    case 'new':
      return 'New';
    case 'paid':
    case 'processing':
      return 'Processing';
    case 'complete':
    case 'confirmed':
    case 'settled':
      return 'Settled';
    case 'expired':
      return 'Expired';
    case 'invalid':
      return 'Invalid';
    default:
      return undefined;
  }
}

function paymentJson(payment: Payment): PaymentJson {
  return {
    id: payment.id,
    receivedDate: seconds(payment.receivedMs),
    value: payment.value.toString(),
    fee: '0',
    status: payment.status,
    destination: payment.destination,
  };
}

/** A decimal field (string or number); a value that is neither fails the whole body, as a binding error does. */
function readDecimal(value: string | number, path: string): Decimal {
  const parsed = typeof value === 'number' ? Decimal.fromNumber(value) : Decimal.parse(value.trim());
  if (!parsed) throw new ValidationError([{ path, message: `The value '${value}' is not a valid decimal number (e.g. "12.50").` }]);
  return parsed;
}
