/**
 * The orders slice's payment concerns as the composition root parses them (loadConfig): BTCPay
 * Server, all or nothing, and the payment reconciliation timer with its NCRONTAB schedule.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/config';
import { everySchedule } from '../../shared/kernel/schedule';

const base = {
  SERVICEBUS_CONNECTION: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=x;SharedAccessKey=y;UseDevelopmentEmulator=true',
  TABLES_CONNECTION: 'UseDevelopmentStorage=true',
};

// Values that must never appear in an error message.
const btcpay = {
  BTCPAY_URL: 'https://pay.secret-shop.example',
  BTCPAY_API_KEY: 'KEYVALUE0123456789abcdef',
  BTCPAY_STORE_ID: 'STOREVALUE4fQn8Gm3',
  BTCPAY_WEBHOOK_SECRET: 'SECRETVALUE-webhook',
};

/** The ConfigError loadConfig throws for `env`; fails the test when it does not throw one. */
function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the configuration');
}

/** The message names none of the values given. */
function expectNoValueIn(message: string, env: Record<string, string | undefined>): void {
  for (const value of Object.values(env)) if (value) expect(message).not.toContain(value);
}

describe('paymentConcerns: btcpay', () => {
  it('is off without BTCPAY_URL', () => {
    expect(loadConfig(base).btcpay).toBeUndefined();
  });

  it('takes URL, API key, store id and webhook secret, with 15 minutes to pay by default', () => {
    expect(loadConfig({ ...base, ...btcpay }).btcpay).toEqual({
      url: btcpay.BTCPAY_URL,
      apiKey: btcpay.BTCPAY_API_KEY,
      storeId: btcpay.BTCPAY_STORE_ID,
      webhookSecret: btcpay.BTCPAY_WEBHOOK_SECRET,
      expirationMinutes: 15,
    });
    expect(loadConfig({ ...base, ...btcpay, BTCPAY_INVOICE_EXPIRY_MINUTES: '60' }).btcpay?.expirationMinutes).toBe(60);
  });

  it.each(['BTCPAY_API_KEY', 'BTCPAY_STORE_ID', 'BTCPAY_WEBHOOK_SECRET'] as const)(
    'refuses BTCPAY_URL without %s, naming it and echoing no value',
    (missing) => {
      for (const absent of [undefined, '', '   ']) {
        const env = { ...btcpay, [missing]: absent };
        const error = refusal(env);
        expect(error.message).toContain(missing);
        expect(error.problems.some((problem) => problem.startsWith('BTCPAY_'))).toBe(true);
        expectNoValueIn(error.message, env);
      }
    },
  );

  it('refuses BTCPAY_URL alone, naming what it needs', () => {
    const error = refusal({ BTCPAY_URL: btcpay.BTCPAY_URL });
    for (const name of ['BTCPAY_API_KEY', 'BTCPAY_STORE_ID', 'BTCPAY_WEBHOOK_SECRET']) expect(error.message).toContain(name);
    expectNoValueIn(error.message, btcpay);
  });

  it('refuses a BTCPAY_URL that is not a URL, and an expiry under a minute, without echoing them', () => {
    const notUrl = { ...btcpay, BTCPAY_URL: 'pay.secret-shop.example/no-scheme' };
    const error = refusal(notUrl);
    expect(error.message).toContain('BTCPAY_URL');
    expectNoValueIn(error.message, notUrl);

    const expiry = refusal({ ...btcpay, BTCPAY_INVOICE_EXPIRY_MINUTES: '0' });
    expect(expiry.message).toContain('BTCPAY_INVOICE_EXPIRY_MINUTES');
    expectNoValueIn(expiry.message, btcpay);
  });
});

describe('paymentConcerns: paymentReconciliation', () => {
  it('runs every 5 minutes, first 10 minutes after a change, for 7 days, 500 orders a run by default', () => {
    expect(loadConfig(base).paymentReconciliation).toEqual({
      schedule: '0 */5 * * * *',
      everyMs: 300_000,
      afterMs: 600_000,
      horizonMs: 7 * 86_400_000,
      limit: 500,
    });
  });

  it('takes durations in seconds, minutes, hours and days', () => {
    const config = loadConfig({
      ...base,
      PAYMENT_RECONCILE_EVERY: '30s',
      PAYMENT_RECONCILE_AFTER: '1m',
      PAYMENT_RECONCILE_HORIZON: '2h',
      PAYMENT_RECONCILE_BATCH: '50',
    }).paymentReconciliation;
    expect(config).toEqual({ schedule: '*/30 * * * * *', everyMs: 30_000, afterMs: 60_000, horizonMs: 7_200_000, limit: 50 });
  });

  it.each(['7m', '45s', '90s', '5h', '1d', '1500ms'])('refuses PAYMENT_RECONCILE_EVERY=%s: no schedule runs it evenly', (every) => {
    const error = refusal({ PAYMENT_RECONCILE_EVERY: every });
    expect(error.problems).toEqual([expect.stringMatching(/^PAYMENT_RECONCILE_EVERY: /)]);
  });

  it.each([
    ['7d', '7d'],
    ['8d', '7d'],
    ['2h', '1h'],
  ])('refuses PAYMENT_RECONCILE_AFTER=%s with PAYMENT_RECONCILE_HORIZON=%s (never checked at all)', (after, horizon) => {
    const error = refusal({ PAYMENT_RECONCILE_AFTER: after, PAYMENT_RECONCILE_HORIZON: horizon });
    expect(error.problems).toEqual([expect.stringMatching(/^PAYMENT_RECONCILE_AFTER: .*PAYMENT_RECONCILE_HORIZON/)]);
  });

  it.each([
    ['PAYMENT_RECONCILE_EVERY', 'soonish'],
    ['PAYMENT_RECONCILE_AFTER', '10 minutes'],
    ['PAYMENT_RECONCILE_HORIZON', '0d'],
    ['PAYMENT_RECONCILE_BATCH', '0'],
  ])('refuses %s=%j, naming it without echoing the value', (name, value) => {
    const error = refusal({ [name]: value });
    expect(error.message).toContain(name);
    expect(error.message).not.toContain(value);
  });

  it('names the bad variables of both concerns at once', () => {
    const error = refusal({ BTCPAY_URL: btcpay.BTCPAY_URL, PAYMENT_RECONCILE_EVERY: 'soonish', PAYMENT_RECONCILE_BATCH: 'many' });
    for (const name of ['BTCPAY_API_KEY', 'PAYMENT_RECONCILE_EVERY', 'PAYMENT_RECONCILE_BATCH']) expect(error.message).toContain(name);
  });

  it('names a PAYMENT_RECONCILE_EVERY without a schedule (7m) together with a bad PAYMENT_RECONCILE_BATCH', () => {
    const error = refusal({ PAYMENT_RECONCILE_EVERY: '7m', PAYMENT_RECONCILE_BATCH: 'many' });
    for (const name of ['PAYMENT_RECONCILE_EVERY', 'PAYMENT_RECONCILE_BATCH']) expect(error.message).toContain(name);
  });
});

describe('everySchedule', () => {
  it.each([
    [1_000, '*/1 * * * * *'],
    [15_000, '*/15 * * * * *'],
    [30_000, '*/30 * * * * *'],
    [60_000, '0 */1 * * * *'],
    [300_000, '0 */5 * * * *'],
    [1_200_000, '0 */20 * * * *'],
    [1_800_000, '0 */30 * * * *'],
    [3_600_000, '0 0 */1 * * *'],
    [7_200_000, '0 0 */2 * * *'],
    [43_200_000, '0 0 */12 * * *'],
  ])('%d ms runs on %s', (ms, schedule) => {
    expect(everySchedule(ms)).toBe(schedule);
  });

  it.each([
    [500, 'under a second'],
    [1_500, 'not whole seconds'],
    [7_000, 'does not divide a minute'],
    [45_000, 'does not divide a minute'],
    [90_000, 'between a minute and two, not whole minutes'],
    [420_000, 'does not divide an hour'],
    [2_700_000, 'does not divide an hour'],
    [5_400_000, 'not whole hours'],
    [18_000_000, 'does not divide a day'],
    [86_400_000, 'a day or more'],
  ])('%d ms has none (%s)', (ms) => {
    expect(everySchedule(ms)).toBeUndefined();
  });
});
