import { amountProblem, minimumChargeProblem } from '../../../shared/kernel/currency';
import type { Cause, HistoryRecord } from '../../../shared/kernel/history';
import { allowedFrom, refusal } from '../../../shared/kernel/state-machine';
import { moneyOf, ORDER_LIMITS, type Order, type Payment, type PaymentProviderName, type Refund } from './order';
import { ACTIVE, CAPTURED, DERIVED_ORDER_STATUSES, type OrderStatus, orderMachine, type PaymentStatus, paymentMachine } from './status';

/** An order after a change, with the history rows (order and payment machines) to store with it. */
export interface OrderChange {
  order: Order;
  history: HistoryRecord[];
}

export type OrderError =
  /** The machine has no such edge from here; `allowed` names where the order may go. */
  | { code: 'FORBIDDEN_TRANSITION'; from: OrderStatus; to: OrderStatus; allowed: readonly OrderStatus[] }
  /** `paid` and `refunded` follow the payments; nobody asks for them. */
  | { code: 'DERIVED_STATUS'; to: OrderStatus; allowed: readonly OrderStatus[] }
  | { code: 'PAYMENT_NOT_FOUND' }
  | { code: 'NOT_PAYABLE'; status: OrderStatus }
  | { code: 'NOTHING_OPEN' }
  | { code: 'INVALID_AMOUNT'; message: string }
  | { code: 'TOO_MANY'; what: 'payments' | 'refunds'; limit: number }
  | { code: 'NOT_REFUNDABLE'; status: PaymentStatus }
  | { code: 'EXCEEDS_REFUNDABLE'; refundable: number };

export type OrderResult<T = object> = ({ ok: true } & OrderChange & T) | { ok: false; error: OrderError };

const orderRow = (order: Order, from: OrderStatus, to: OrderStatus, at: string, cause: Cause): HistoryRecord => ({
  machine: orderMachine.name,
  subject: order.id,
  from,
  to,
  at,
  cause,
});
const paymentRow = (payment: Payment, from: PaymentStatus | null, to: PaymentStatus, at: string, cause: Cause): HistoryRecord => ({
  machine: paymentMachine.name,
  subject: payment.id,
  from,
  to,
  at,
  cause,
});

/** Statuses a channel may ask for from `from` (the machine's edges minus the ones payments drive). */
export function requestableFrom(from: OrderStatus): OrderStatus[] {
  return allowedFrom(orderMachine, from).filter((to) => !DERIVED_ORDER_STATUSES.includes(to));
}

/**
 * A status a channel asks for (`confirmed`, `processing`, `shipped`, `delivered`, `cancelled`), if
 * the machine allows it from here. Asking for the status the order is in changes nothing (ok, no row).
 */
export function requestTransition(order: Order, to: OrderStatus, cause: Cause, now: Date, reason?: string): OrderResult {
  if (DERIVED_ORDER_STATUSES.includes(to)) return { ok: false, error: { code: 'DERIVED_STATUS', to, allowed: requestableFrom(order.status) } };
  const refused = refusal(orderMachine, order.status, to);
  if (refused?.code === 'ALREADY_IN_STATE') return { ok: true, order, history: [] };
  if (refused) return { ok: false, error: { code: 'FORBIDDEN_TRANSITION', from: order.status, to, allowed: requestableFrom(order.status) } };
  const at = now.toISOString();
  return {
    ok: true,
    order: { ...order, status: to, updatedAt: at },
    history: [{ ...orderRow(order, order.status, to, at, cause), ...(reason ? { reason } : {}) }],
  };
}

/**
 * Moves the order where its payments say: `paid` once what came in (net of refunds) covers the
 * total while it waits for payment; `refunded` once everything paid went back after it was paid.
 * A cancelled order stays cancelled.
 */
export function followPayments(change: OrderChange, cause: Cause, now: Date): OrderChange {
  const { order } = change;
  const { paidAmount, refundedAmount } = moneyOf(order);
  const at = now.toISOString();
  const to: OrderStatus | undefined =
    (order.status === 'pending' || order.status === 'confirmed') && paidAmount > 0 && paidAmount - refundedAmount >= order.totalAmount
      ? 'paid'
      : ['paid', 'processing', 'shipped', 'delivered'].includes(order.status) && paidAmount > 0 && refundedAmount >= paidAmount
        ? 'refunded'
        : undefined;
  if (to) return { order: { ...order, status: to, updatedAt: at }, history: [...change.history, orderRow(order, order.status, to, at, cause)] };
  return change;
}

/** What the order can still take: its total minus the payments that hold a share of it. */
export function openAmount(order: Order): number {
  const held = order.payments.filter((payment) => ACTIVE.includes(payment.status)).reduce((sum, payment) => sum + payment.amount, 0);
  return Math.max(0, order.totalAmount - held);
}

/**
 * A new payment in `pending` for `amount` (default: what is still open). Only an order waiting for
 * payment takes one; an explicit amount may exceed what is open (a customer paying more).
 */
export function openPayment(
  order: Order,
  input: { id: string; provider: PaymentProviderName; amount?: number },
  cause: Cause,
  now: Date,
): OrderResult<{ payment: Payment }> {
  if (order.status !== 'pending' && order.status !== 'confirmed') return { ok: false, error: { code: 'NOT_PAYABLE', status: order.status } };
  if (order.payments.length >= ORDER_LIMITS.payments) return { ok: false, error: { code: 'TOO_MANY', what: 'payments', limit: ORDER_LIMITS.payments } };
  const amount = input.amount ?? openAmount(order);
  if (input.amount === undefined && amount === 0) return { ok: false, error: { code: 'NOTHING_OPEN' } };
  const problem =
    (input.amount === 0 ? 'must be more than 0' : undefined) ?? amountProblem(amount, order.currency) ?? minimumChargeProblem(amount, order.currency);
  if (problem) return { ok: false, error: { code: 'INVALID_AMOUNT', message: problem } };
  const at = now.toISOString();
  const payment: Payment = {
    id: input.id,
    provider: input.provider,
    status: 'pending',
    amount,
    refundedAmount: 0,
    refunds: [],
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  return {
    ok: true,
    order: { ...order, payments: [...order.payments, payment], updatedAt: at },
    history: [paymentRow(payment, null, 'pending', at, cause)],
    payment,
  };
}

/** The order with one payment replaced (its version moved on). */
function withPayment(order: Order, payment: Payment, at: string): Order {
  const next = { ...payment, version: payment.version + 1, updatedAt: at };
  return { ...order, payments: order.payments.map((candidate) => (candidate.id === payment.id ? next : candidate)), updatedAt: at };
}

export function findPayment(order: Order, paymentId: string): Payment | undefined {
  return order.payments.find((payment) => payment.id === paymentId);
}

/** The provider took the payment: its reference is kept (once). */
export function attachProviderRef(order: Order, paymentId: string, providerRef: string, now: Date): OrderResult {
  const payment = findPayment(order, paymentId);
  if (!payment) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  if (payment.providerRef === providerRef) return { ok: true, order, history: [] };
  return { ok: true, order: withPayment(order, { ...payment, providerRef }, now.toISOString()), history: [] };
}

/**
 * Whether the hub still waits for the provider's word on a payment: one the provider has that is
 * pending or processing, or one that failed while the provider holds money for it (BTCPay: paid
 * late, partly or over after the invoice expired — accepting it there still settles the payment).
 */
export function awaitsProvider(payment: Payment): boolean {
  if (!payment.providerRef) return false;
  if (payment.status === 'pending' || payment.status === 'processing') return true;
  return payment.status === 'failed' && /\/Paid(Late|Partial|Over)$/.test(payment.providerStatus ?? '');
}

/** Payment states no later event may move away from (providers do not keep event order). */
const FINAL: readonly PaymentStatus[] = ['canceled', ...CAPTURED];

/**
 * Records what the provider says of a payment. Repeats change nothing, settled states never move
 * back (a late `failed` after `succeeded` is ignored), and the order follows its payments.
 */
export function recordPaymentStatus(
  order: Order,
  paymentId: string,
  to: 'processing' | 'succeeded' | 'failed' | 'canceled',
  cause: Cause,
  now: Date,
  failureReason?: string,
): OrderResult {
  const payment = findPayment(order, paymentId);
  if (!payment) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  if (payment.status === to || FINAL.includes(payment.status) || refusal(paymentMachine, payment.status, to)) return { ok: true, order, history: [] };
  const at = now.toISOString();
  const next: Payment = { ...payment, status: to };
  if (to === 'failed') next.failureReason = failureReason ?? 'payment failed';
  else delete next.failureReason;
  let changed = withPayment(order, next, at);
  // Money arriving for a cancelled order (a payment that raced the cancellation) needs a person.
  if (to === 'succeeded' && order.status === 'cancelled')
    changed = { ...changed, attention: { reason: `payment ${paymentId} succeeded after the order was cancelled`, since: at } };
  return { ok: true, ...followPayments({ order: changed, history: [paymentRow(payment, payment.status, to, at, cause)] }, cause, now) };
}

/** What a provider reports of a payment: where it is, what else it says, and whether a person must look. */
export interface ProviderReport {
  to?: 'processing' | 'succeeded' | 'failed' | 'canceled';
  failureReason?: string;
  /** The provider's own words for the state (kept on the payment when they change). */
  providerStatus?: string;
  /** Flags the order for a person when the provider's words change to this (e.g. money came in too late). */
  attention?: string;
}

/**
 * Records a provider's report on a payment in one change: the status through the payment machine
 * (as `recordPaymentStatus`), the provider's words when they changed, and the order flagged for a
 * person when the report asks for it and the words are new (a repeat never flags again what a
 * person already resolved).
 */
export function recordProviderReport(order: Order, paymentId: string, report: ProviderReport, cause: Cause, now: Date): OrderResult {
  const moved = report.to ? recordPaymentStatus(order, paymentId, report.to, cause, now, report.failureReason) : { ok: true as const, order, history: [] };
  if (!moved.ok) return moved;
  const payment = findPayment(moved.order, paymentId);
  if (!payment) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  if (report.providerStatus === undefined || payment.providerStatus === report.providerStatus) return moved;
  const at = now.toISOString();
  // One version step per change: a payment the status move already changed is not stepped again.
  const noted: Payment = { ...payment, providerStatus: report.providerStatus };
  let next: Order =
    moved.order === order
      ? withPayment(moved.order, noted, at)
      : { ...moved.order, payments: moved.order.payments.map((candidate) => (candidate.id === paymentId ? noted : candidate)) };
  if (report.attention && !next.attention) next = { ...next, attention: { reason: report.attention.slice(0, 500), since: at } };
  return { ok: true, order: next, history: moved.history };
}

/** Refunds under way: reserved before the provider answered, or accepted by it and not yet done. */
const underWay = (payment: Payment) =>
  payment.refunds.filter((refund) => refund.status === 'reserved' || refund.status === 'pending').reduce((sum, refund) => sum + refund.amount, 0);

/** What can still be refunded of a payment: received, minus refunded, minus refunds under way. */
export function refundable(payment: Payment): number {
  if (!CAPTURED.includes(payment.status)) return 0;
  return Math.max(0, payment.amount - payment.refundedAmount - underWay(payment));
}

/**
 * Reserves a refund before the provider is asked, so concurrent refunds can never together exceed
 * what was paid (each reservation is saved with the order's ETag). Reserving an id that exists
 * again (a retried request) returns that refund as it stands, a failed one reserved anew.
 */
export function reserveRefund(
  order: Order,
  paymentId: string,
  input: { id: string; amount?: number; reason?: string },
  now: Date,
): OrderResult<{ refund: Refund }> {
  const payment = findPayment(order, paymentId);
  if (!payment) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  const at = now.toISOString();
  const existing = payment.refunds.find((refund) => refund.id === input.id);
  if (existing && existing.status !== 'failed') return { ok: true, order, history: [], refund: existing };
  if (!CAPTURED.includes(payment.status)) return { ok: false, error: { code: 'NOT_REFUNDABLE', status: payment.status } };
  const left = refundable(payment);
  const amount = input.amount ?? left;
  if (amount <= 0 || amount > left) return { ok: false, error: { code: 'EXCEEDS_REFUNDABLE', refundable: left } };
  const problem = amountProblem(amount, order.currency);
  if (problem) return { ok: false, error: { code: 'INVALID_AMOUNT', message: problem } };
  if (!existing && payment.refunds.length >= ORDER_LIMITS.refundsPerPayment) {
    return { ok: false, error: { code: 'TOO_MANY', what: 'refunds', limit: ORDER_LIMITS.refundsPerPayment } };
  }
  const refund: Refund = {
    id: input.id,
    amount,
    status: 'reserved',
    origin: 'api',
    ...(input.reason ? { reason: input.reason } : {}),
    createdAt: existing?.createdAt ?? at,
    updatedAt: at,
  };
  const refunds = existing ? payment.refunds.map((candidate) => (candidate.id === refund.id ? refund : candidate)) : [...payment.refunds, refund];
  return { ok: true, order: withPayment(order, { ...payment, refunds }, at), history: [], refund };
}

/** A payment's status after its refunds: partially or fully refunded once money went back. */
function afterRefunds(payment: Payment): PaymentStatus {
  if (payment.refundedAmount <= 0) return payment.status;
  return payment.refundedAmount >= payment.amount ? 'refunded' : 'partially_refunded';
}

function applyRefunds(order: Order, payment: Payment, refunds: Refund[], cause: Cause, now: Date): OrderChange {
  const at = now.toISOString();
  // Only money that went back counts; a refund the provider has yet to finish holds its share (`refundable`).
  const refundedAmount = refunds.filter((refund) => refund.status === 'succeeded').reduce((sum, refund) => sum + refund.amount, 0);
  const status = afterRefunds({ ...payment, refundedAmount });
  const history = status !== payment.status ? [paymentRow(payment, payment.status, status, at, cause)] : [];
  const change = { order: withPayment(order, { ...payment, refunds, refundedAmount, status }, at), history };
  return followPayments(change, cause, now);
}

/**
 * What the provider did with a refund: done, under way (its share stays held until the provider
 * finishes it), or refused (the reservation is released). A refund already done keeps that outcome.
 */
export function settleRefund(
  order: Order,
  paymentId: string,
  refundId: string,
  outcome: { status: 'succeeded' | 'pending' | 'failed'; providerRef?: string; claimLink?: string; failureReason?: string },
  cause: Cause,
  now: Date,
): OrderResult<{ refund: Refund }> {
  const payment = findPayment(order, paymentId);
  const refund = payment?.refunds.find((candidate) => candidate.id === refundId);
  if (!payment || !refund) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  // A refund the provider already settled keeps its outcome: a repeat or a late answer changes nothing.
  if (refund.status === 'succeeded' || refund.status === outcome.status) return { ok: true, order, history: [], refund };
  const at = now.toISOString();
  const settled: Refund = {
    ...refund,
    status: outcome.status,
    updatedAt: at,
    ...(outcome.providerRef ? { providerRef: outcome.providerRef } : {}),
    ...(outcome.claimLink ? { claimLink: outcome.claimLink } : {}),
    ...(outcome.status === 'failed' ? { failureReason: outcome.failureReason ?? 'refund failed' } : {}),
  };
  const refunds = payment.refunds.map((candidate) => (candidate.id === refundId ? settled : candidate));
  return { ok: true, ...applyRefunds(order, payment, refunds, cause, now), refund: settled };
}

/**
 * The provider reports how much of a payment it has refunded in total (a refund made in its
 * dashboard, or ours): what exceeds the refunds we know of is recorded as a refund of the
 * provider's, so the books and the order follow the money.
 */
export function recordProviderRefunds(order: Order, paymentId: string, totalRefunded: number, refundId: string, cause: Cause, now: Date): OrderResult {
  const payment = findPayment(order, paymentId);
  if (!payment) return { ok: false, error: { code: 'PAYMENT_NOT_FOUND' } };
  const known = payment.refunds.filter((refund) => refund.status !== 'failed').reduce((sum, refund) => sum + refund.amount, 0);
  const extra = Math.min(totalRefunded, payment.amount) - known;
  if (extra <= 0 || !CAPTURED.includes(payment.status) || payment.refunds.some((refund) => refund.id === refundId)) return { ok: true, order, history: [] };
  const at = now.toISOString();
  const refund: Refund = { id: refundId, amount: extra, status: 'succeeded', origin: 'provider', createdAt: at, updatedAt: at };
  return { ok: true, ...applyRefunds(order, payment, [...payment.refunds, refund], cause, now) };
}
