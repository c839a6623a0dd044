/**
 * shared/adapters/table-storage/callback-log.ts against Azurite: one row per delivery, created by
 * the first attempt and updated by every later one (the first and the latest 9 attempts kept, all
 * counted), listed by channel, status, subject and time, read by id, large events spread over columns.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteTables, startAzurite } from '../../local/azurite';
import { CALLBACK_DELIVERIES_TABLE, TableDeliveryLog } from '../../shared/adapters/table-storage/callback-log';
import { TableStore } from '../../shared/adapters/table-storage/tables';
import type { CallbackEvent, DeliveryAttempt } from '../../shared/platform/callbacks';

let azurite: AzuriteTables;
let log: TableDeliveryLog;
// Unique per run so a reused emulator (or a parallel file) never sees these rows.
const prefix = `cl${randomBytes(4).toString('hex')}`;
const T0 = new Date('2030-01-01T12:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000).toISOString();

beforeAll(async () => {
  azurite = await startAzurite({ port: 0 });
  const store = new TableStore({ connectionString: azurite.connectionString, prefix });
  await store.ensureTables([CALLBACK_DELIVERIES_TABLE]);
  log = new TableDeliveryLog(store.client(CALLBACK_DELIVERIES_TABLE));
});

afterAll(async () => {
  await azurite?.stop();
});

let counter = 0;
/** A fresh event id per test, so tests sharing the table never see each other's deliveries. */
const freshId = (label: string) => `cb_${label}_${++counter}_${randomBytes(3).toString('hex')}`;

function anEvent(id: string, data: unknown = { id: 'ord_1', status: 'pending', version: 1 }): CallbackEvent {
  return { id, type: 'order.pending', createdAt: T0.toISOString(), data };
}

function anAttempt(minutes: number, overrides: Partial<DeliveryAttempt> = {}): DeliveryAttempt {
  return { at: at(minutes), durationMs: 40 + minutes, statusCode: 500, response: `attempt at ${minutes}`, ...overrides };
}

describe('TableDeliveryLog', () => {
  it('creates a delivery with its first attempt, then updates it with the next', async () => {
    const id = freshId('create');
    const event = anEvent(id);
    expect(await log.get(id)).toBeUndefined();

    const first = anAttempt(0, { statusCode: 503, retryAfterMs: 30_000 });
    await log.record({ channel: 'pos', subject: 'ord_1', event }, first, 'retrying');
    expect(await log.get(id)).toEqual({
      id,
      channel: 'pos',
      subject: 'ord_1',
      type: 'order.pending',
      status: 'retrying',
      attempts: [first],
      attemptCount: 1,
      event,
      createdAt: at(0),
      updatedAt: at(0),
    });

    const second = anAttempt(5, { statusCode: 200, response: 'ok' });
    await log.record({ channel: 'pos', subject: 'ord_1', event }, second, 'delivered');
    expect(await log.get(id)).toEqual({
      id,
      channel: 'pos',
      subject: 'ord_1',
      type: 'order.pending',
      status: 'delivered',
      attempts: [first, second],
      attemptCount: 2,
      event,
      createdAt: at(0),
      updatedAt: at(5),
    });
  });

  it('keeps an attempt without answer as it was', async () => {
    const id = freshId('noanswer');
    const attempt: DeliveryAttempt = { at: at(1), durationMs: 15_000, error: 'no answer within 15000 ms' };
    await log.record({ channel: 'pos', subject: 'ord_1', event: anEvent(id) }, attempt, 'retrying');
    expect((await log.get(id))?.attempts).toEqual([attempt]);
  });

  it('keeps the first and the last 9 attempts, and counts them all', async () => {
    const id = freshId('many');
    const event = anEvent(id);
    const attempts = Array.from({ length: 14 }, (_, index) => anAttempt(index, { statusCode: index === 13 ? 200 : 500 }));
    for (const [index, attempt] of attempts.entries()) {
      await log.record({ channel: 'pos', subject: 'ord_1', event }, attempt, index === 13 ? 'delivered' : 'retrying');
      const kept = (await log.get(id))?.attempts ?? [];
      expect(kept.length, `after attempt ${index + 1}`).toBe(Math.min(index + 1, 10));
    }
    const delivery = await log.get(id);
    expect(delivery?.attemptCount).toBe(14);
    expect(delivery?.attempts).toEqual([attempts[0], ...attempts.slice(-9)]);
    expect(delivery?.status).toBe('delivered');
    expect(delivery?.createdAt).toBe(at(0));
    expect(delivery?.updatedAt).toBe(at(13));
  });

  it('keeps all of exactly 10 attempts', async () => {
    const id = freshId('ten');
    const attempts = Array.from({ length: 10 }, (_, index) => anAttempt(index));
    for (const attempt of attempts) await log.record({ channel: 'pos', subject: 'ord_1', event: anEvent(id) }, attempt, 'retrying');
    expect((await log.get(id))?.attempts).toEqual(attempts);
  });

  it('records two attempts of one delivery at once without losing either', async () => {
    const id = freshId('race');
    const event = anEvent(id);
    await Promise.all([
      log.record({ channel: 'pos', subject: 'ord_1', event }, anAttempt(1), 'retrying'),
      log.record({ channel: 'pos', subject: 'ord_1', event }, anAttempt(2), 'retrying'),
    ]);
    const delivery = await log.get(id);
    expect(delivery?.attemptCount).toBe(2);
    expect(delivery?.attempts.map((attempt) => attempt.at).sort()).toEqual([at(1), at(2)]);
  });

  it('finds a delivery by an id with characters keys may not hold', async () => {
    const id = `cb_${randomBytes(3).toString('hex')}/weird#id?~`;
    await log.record({ channel: 'pos', subject: 'ord_1', event: anEvent(id) }, anAttempt(0, { statusCode: 200 }), 'delivered');
    expect((await log.get(id))?.id).toBe(id);
    expect(await log.get(`${id}x`)).toBeUndefined();
  });

  it('round-trips a large event, spread over several columns', async () => {
    const id = freshId('large');
    const items = Array.from({ length: 100 }, (_, index) => ({ sku: `SKU-${index}`, name: `Artikel ${index} ${'ä€'.repeat(300)}`, quantity: index + 1 }));
    const event = anEvent(id, { id: 'ord_big', items });
    expect(JSON.stringify(event).length).toBeGreaterThan(64_000);
    await log.record({ channel: 'pos', subject: 'ord_big', event }, anAttempt(0), 'retrying');
    await log.record({ channel: 'pos', subject: 'ord_big', event }, anAttempt(1, { statusCode: 200 }), 'delivered');
    const delivery = await log.get(id);
    expect(delivery?.event).toEqual(event);
    expect(delivery?.attemptCount).toBe(2);
  });

  it('refuses an event too large to store', async () => {
    const id = freshId('huge');
    const event = anEvent(id, { blob: 'x'.repeat(200_000) });
    await expect(log.record({ channel: 'pos', subject: 'ord_1', event }, anAttempt(0), 'retrying')).rejects.toThrow(/too large/);
    expect(await log.get(id)).toBeUndefined();
  });
});

describe('TableDeliveryLog.list', () => {
  // Channels of their own, so the filters are checked on exactly these rows.
  const tag = randomBytes(3).toString('hex');
  const shop = `shop${tag}`;
  const till = `till${tag}`;
  const ids = {
    shopFailedOld: freshId('sfo'),
    shopFailedNew: freshId('sfn'),
    shopDelivered: freshId('sd'),
    shopRetrying: freshId('sr'),
    tillFailed: freshId('tf'),
    tillDelivered: freshId('td'),
  };

  beforeAll(async () => {
    const rows: Array<[string, string, string, 'failed' | 'delivered' | 'retrying', number]> = [
      [ids.shopFailedOld, shop, 'ord_a', 'failed', 1],
      [ids.shopFailedNew, shop, 'ord_b', 'failed', 30],
      [ids.shopDelivered, shop, 'ord_a', 'delivered', 20],
      [ids.shopRetrying, shop, 'ord_c', 'retrying', 25],
      [ids.tillFailed, till, 'ord_a', 'failed', 40],
      [ids.tillDelivered, till, 'ord_d', 'delivered', 10],
    ];
    for (const [id, channel, subject, status, minutes] of rows) {
      await log.record({ channel, subject, event: anEvent(id) }, anAttempt(minutes), status);
    }
  });

  const idsOf = (deliveries: Array<{ id: string }>) => deliveries.map((delivery) => delivery.id);

  it('filters by channel, newest first', async () => {
    expect(idsOf(await log.list({ channel: shop, limit: 100 }))).toEqual([ids.shopFailedNew, ids.shopRetrying, ids.shopDelivered, ids.shopFailedOld]);
    expect(idsOf(await log.list({ channel: till, limit: 100 }))).toEqual([ids.tillFailed, ids.tillDelivered]);
    expect(await log.list({ channel: `none${tag}`, limit: 100 })).toEqual([]);
  });

  it('with a limit, answers the newest deliveries (not the first ones in key order)', async () => {
    expect(idsOf(await log.list({ channel: shop, limit: 2 }))).toEqual([ids.shopFailedNew, ids.shopRetrying]);
    expect(idsOf(await log.list({ channel: shop, status: 'failed', limit: 1 }))).toEqual([ids.shopFailedNew]);
  });

  it('filters by status', async () => {
    expect(idsOf(await log.list({ channel: shop, status: 'failed', limit: 100 }))).toEqual([ids.shopFailedNew, ids.shopFailedOld]);
    expect(idsOf(await log.list({ channel: shop, status: 'retrying', limit: 100 }))).toEqual([ids.shopRetrying]);
    const failed = idsOf(await log.list({ status: 'failed', limit: 1_000 }));
    expect(failed).toEqual(expect.arrayContaining([ids.shopFailedNew, ids.shopFailedOld, ids.tillFailed]));
    expect(failed).not.toContain(ids.shopDelivered);
  });

  it('filters by subject', async () => {
    expect(idsOf(await log.list({ channel: shop, subject: 'ord_a', limit: 100 }))).toEqual([ids.shopDelivered, ids.shopFailedOld]);
    const acrossChannels = idsOf(await log.list({ subject: 'ord_a', limit: 1_000 }));
    expect(acrossChannels).toEqual(expect.arrayContaining([ids.shopDelivered, ids.shopFailedOld, ids.tillFailed]));
    expect(acrossChannels).not.toContain(ids.shopFailedNew);
  });

  it('filters by the time of the latest attempt (since, inclusive)', async () => {
    expect(idsOf(await log.list({ channel: shop, since: new Date(at(20)), limit: 100 }))).toEqual([ids.shopFailedNew, ids.shopRetrying, ids.shopDelivered]);
    expect(idsOf(await log.list({ channel: shop, status: 'failed', since: new Date(at(2)), limit: 100 }))).toEqual([ids.shopFailedNew]);
    expect(await log.list({ channel: shop, since: new Date(at(31)), limit: 100 })).toEqual([]);
  });

  it('combines every filter, and answers whole deliveries', async () => {
    const [found, ...rest] = await log.list({ channel: till, status: 'failed', subject: 'ord_a', since: new Date(at(0)), limit: 100 });
    expect(rest).toEqual([]);
    expect(found).toEqual({
      id: ids.tillFailed,
      channel: till,
      subject: 'ord_a',
      type: 'order.pending',
      status: 'failed',
      attempts: [anAttempt(40)],
      attemptCount: 1,
      event: anEvent(ids.tillFailed),
      createdAt: at(40),
      updatedAt: at(40),
    });
  });

  it('answers at most limit deliveries', async () => {
    const page = await log.list({ channel: shop, limit: 2 });
    expect(page).toHaveLength(2);
    for (const delivery of page) expect(delivery.channel).toBe(shop);
  });
});
