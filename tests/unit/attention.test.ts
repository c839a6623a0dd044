import { describe, expect, it } from 'vitest';
import { causes } from '../../shared/kernel/history';
import { AttentionList, type AttentionSource, withAttentionReport } from '../../shared/platform/attention';
import { bookingAttention } from '../../slices/bookings/app/attention';
import { orderAttention } from '../../slices/orders/app/attention';
import { aBooking, bookingStore, currentOf } from '../support/booking-fixtures';
import { anOrder, fixedClock, ORDER_ID, orderStore } from '../support/order-fixtures';

const T1 = '2026-11-20T08:00:00.000Z';
const T2 = '2026-11-22T08:00:00.000Z';
const LATER = '2026-11-24T08:00:00.000Z';

describe('AttentionList', () => {
  const source = (kind: string, items: Array<{ subject: string; reason: string; since: string }>, resolved: string[] = []): AttentionSource => ({
    kind,
    list: async (limit) => items.slice(0, limit),
    resolve: async (subject) => {
      if (!items.some((item) => item.subject === subject)) return 'not-found';
      resolved.push(subject);
      return 'resolved';
    },
  });

  it('lists every source together, the longest waiting first, ids naming kind and subject', async () => {
    const list = new AttentionList([
      source('booking', [{ subject: 'bk-2', reason: 'pickup trip failed', since: T2 }]),
      source('order', [{ subject: 'ord_1', reason: 'paid after cancellation', since: T1 }]),
    ]);
    expect(await list.list(10)).toEqual([
      { id: 'order:ord_1', kind: 'order', subject: 'ord_1', reason: 'paid after cancellation', since: T1 },
      { id: 'booking:bk-2', kind: 'booking', subject: 'bk-2', reason: 'pickup trip failed', since: T2 },
    ]);
    expect(await list.list(1)).toHaveLength(1);
  });

  it('resolves through the source the id names; an unknown kind or an empty subject is not found', async () => {
    const resolved: string[] = [];
    const list = new AttentionList([source('booking', [{ subject: 'bk:2', reason: 'r', since: T1 }], resolved)]);
    expect(await list.resolve('booking:bk:2', 'done', causes.api('ops'))).toBe('resolved');
    expect(resolved).toEqual(['bk:2']);
    expect(await list.resolve('order:bk:2', 'done', causes.api('ops'))).toBe('not-found');
    expect(await list.resolve('booking:', 'done', causes.api('ops'))).toBe('not-found');
    expect(await list.resolve('booking', 'done', causes.api('ops'))).toBe('not-found');
  });
});

describe('bookings and orders on the attention list', () => {
  it('lists a flagged booking with its reason and since; resolving clears it and keeps the note', async () => {
    const bookings = bookingStore();
    bookings.seed(aBooking({ flags: { needsAttention: true, attentionReason: 'pickup trip failed: nobody home', attentionSince: T1 } }));
    bookings.seed(aBooking({ id: 'bk-quiet' }));
    const source = bookingAttention({ bookings, clock: fixedClock(LATER) });
    expect(await source.list(10)).toEqual([{ subject: 'bk-1', reason: 'pickup trip failed: nobody home', since: T1 }]);

    expect(await source.resolve('bk-1', 'customer rebooked for Monday', causes.api('ops'))).toBe('resolved');
    expect(currentOf(bookings).flags).toEqual({});
    expect(bookings.changes.at(-1)?.history).toEqual([
      { machine: 'attention', subject: 'attention', from: 'open', to: 'resolved', at: LATER, cause: 'api:ops', reason: 'customer rebooked for Monday' },
    ]);
    expect(await source.list(10)).toEqual([]);
    expect(await source.resolve('bk-1', 'again', causes.api('ops'))).toBe('not-flagged');
    expect(await source.resolve('bk-none', 'x', causes.api('ops'))).toBe('not-found');
  });

  it('lists an order whose money needs a person; resolving removes the mark and keeps the note', async () => {
    const orders = orderStore();
    orders.seed(anOrder({ attention: { reason: 'payment pay_1 succeeded after the order was cancelled', since: T2 } }));
    const source = orderAttention({ orders, clock: fixedClock(LATER) });
    expect(await source.list(10)).toEqual([{ subject: ORDER_ID, reason: 'payment pay_1 succeeded after the order was cancelled', since: T2 }]);
    expect(await source.resolve(ORDER_ID, 'refunded by hand', causes.api('ops'))).toBe('resolved');
    expect(orders.current(ORDER_ID)?.attention).toBeUndefined();
    expect(orders.changes.at(-1)?.history).toEqual([expect.objectContaining({ machine: 'attention', to: 'resolved', reason: 'refunded by hand' })]);
    expect(await source.list(10)).toEqual([]);
  });
});

describe('withAttentionReport', () => {
  it('warns and sends AttentionRaised once, when a saved change puts the aggregate on the list', async () => {
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const events: Array<{ name: string; properties?: Record<string, string> }> = [];
    const store = bookingStore();
    store.seed(aBooking());
    const bookings = withAttentionReport(store, {
      kind: 'booking',
      reasonOf: (booking) => (booking.flags.needsAttention ? booking.flags.attentionReason : undefined),
      log: { warn: (_message, fields) => void warnings.push(fields) },
      telemetry: { event: (name, properties) => void events.push({ name, properties }) },
    });
    const flag = async (reason: string) => {
      const current = await bookings.get('bk-1');
      if (!current) throw new Error('no booking');
      const state = { ...current.state, flags: { needsAttention: true, attentionReason: reason, attentionSince: T1 } };
      return bookings.update(current, { state, history: [], jobs: [] });
    };
    expect(await flag('pickup trip failed')).toBe('saved');
    // Already on the list: a new reason is no new item.
    expect(await flag('pickup trip failed; late report')).toBe('saved');
    expect(events).toEqual([{ name: 'AttentionRaised', properties: { kind: 'booking', subject: 'bk-1', reason: 'pickup trip failed' } }]);
    expect(warnings).toEqual([{ kind: 'booking', subject: 'bk-1', reason: 'pickup trip failed' }]);
  });
});
