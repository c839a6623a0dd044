import { describe, expect, it } from 'vitest';
import { afterEach, mergeJobHandlers } from '../../shared/platform/job-handlers';
import type { JobEnvelope } from '../../shared/platform/jobs';

const noop = async () => {};
const job = { id: 'j-1', type: 'booking.sync' } as JobEnvelope;

describe('mergeJobHandlers', () => {
  it('merges handler sets by queue and by type', () => {
    const merged = mergeJobHandlers(
      { 'odoo-sync': { 'booking.sync': noop } },
      { 'odoo-sync': { 'order.sync': noop }, notifications: { 'booking.confirmed': noop } },
    );
    expect(Object.keys(merged).sort()).toEqual(['notifications', 'odoo-sync']);
    expect(Object.keys(merged['odoo-sync'] ?? {}).sort()).toEqual(['booking.sync', 'order.sync']);
  });

  it('refuses two handlers for one type on one queue, naming both', () => {
    expect(() => mergeJobHandlers({ 'odoo-sync': { 'booking.sync': noop } }, { 'odoo-sync': { 'booking.sync': noop } })).toThrow(
      'two handlers for job type "booking.sync" on queue "odoo-sync"',
    );
  });

  it('refuses a queue that is not in the registry', () => {
    expect(() => mergeJobHandlers({ 'odoo-sink': { 'booking.sync': noop } } as never)).toThrow(/unknown queue "odoo-sink"/);
  });
});

describe('afterEach', () => {
  it('runs the follow-up only after a handler succeeded', async () => {
    const after: string[] = [];
    const handlers = afterEach({ ok: noop, fails: async () => Promise.reject(new Error('down')) }, async () => void after.push('recorded'));
    await handlers.ok?.(job);
    await expect(handlers.fails?.(job)).rejects.toThrow('down');
    expect(after).toEqual(['recorded']);
  });
});
