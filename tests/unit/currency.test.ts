import { describe, expect, it } from 'vitest';
import {
  amountProblem,
  type CurrencyCode,
  currencyCodeSchema,
  formatMinor,
  MAX_MINOR_AMOUNT,
  minimumChargeProblem,
  minorUnitDigits,
  STRIPE_CURRENCIES,
} from '../../shared/kernel/currency';

describe('minorUnitDigits', () => {
  it.each([
    ['EUR', 2],
    ['USD', 2],
    ['ISK', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['XOF', 0],
    ['KWD', 3],
    ['BHD', 3],
    ['TND', 3],
  ] as Array<[CurrencyCode, number]>)('%s has %i decimals', (currency, digits) => {
    expect(minorUnitDigits(currency)).toBe(digits);
  });

  it('answers 0, 2 or 3 for every currency Stripe supports', () => {
    for (const currency of STRIPE_CURRENCIES) expect([0, 2, 3]).toContain(minorUnitDigits(currency));
  });
});

describe('currencyCodeSchema', () => {
  it('takes upper-case codes Stripe supports and refuses others', () => {
    expect(currencyCodeSchema.parse('KWD')).toBe('KWD');
    expect(currencyCodeSchema.safeParse('eur').success).toBe(false);
    expect(currencyCodeSchema.safeParse('XXX').success).toBe(false);
  });
});

describe('amountProblem', () => {
  it('accepts whole, non-negative amounts up to the maximum', () => {
    expect(amountProblem(0, 'EUR')).toBeUndefined();
    expect(amountProblem(1, 'EUR')).toBeUndefined();
    expect(amountProblem(MAX_MINOR_AMOUNT, 'EUR')).toBeUndefined();
    expect(amountProblem(1, 'JPY')).toBeUndefined();
  });

  it('refuses negative and fractional amounts', () => {
    expect(amountProblem(-1, 'EUR')).toMatch(/not negative/);
    expect(amountProblem(12.5, 'EUR')).toMatch(/whole number/);
    expect(amountProblem(Number.NaN, 'EUR')).toMatch(/whole number/);
    expect(amountProblem(Number.POSITIVE_INFINITY, 'EUR')).toMatch(/whole number/);
  });

  it('refuses amounts above the maximum, naming it', () => {
    expect(MAX_MINOR_AMOUNT).toBe(99_999_999);
    expect(amountProblem(MAX_MINOR_AMOUNT + 1, 'EUR')).toBe('must be at most 99999999 (EUR minor units)');
    expect(amountProblem(MAX_MINOR_AMOUNT + 1, 'JPY')).toMatch(/at most 99999999 \(JPY/);
  });

  it('wants three-decimal amounts to end in 0', () => {
    expect(amountProblem(1_005, 'KWD')).toMatch(/KWD amounts must end in 0/);
    expect(amountProblem(1_001, 'BHD')).toMatch(/BHD amounts must end in 0/);
    expect(amountProblem(1_050, 'KWD')).toBeUndefined();
    expect(amountProblem(1_005, 'EUR')).toBeUndefined();
  });

  it('wants ISK in whole krónur (multiples of 100)', () => {
    expect(amountProblem(150, 'ISK')).toMatch(/ISK amounts must be whole krónur/);
    expect(amountProblem(10, 'ISK')).toMatch(/ISK/);
    expect(amountProblem(1_500, 'ISK')).toBeUndefined();
  });
});

describe('minimumChargeProblem', () => {
  it('refuses less than the minimum where Stripe names one, naming it in the currency', () => {
    expect(minimumChargeProblem(49, 'EUR')).toBe('a EUR payment must be at least 0.50 EUR');
    expect(minimumChargeProblem(50, 'EUR')).toBeUndefined();
    expect(minimumChargeProblem(29, 'GBP')).toBe('a GBP payment must be at least 0.30 GBP');
    expect(minimumChargeProblem(49, 'JPY')).toBe('a JPY payment must be at least 50 JPY');
    expect(minimumChargeProblem(50, 'JPY')).toBeUndefined();
  });

  it('leaves currencies without a documented minimum to Stripe', () => {
    expect(minimumChargeProblem(10, 'KWD')).toBeUndefined();
    expect(minimumChargeProblem(1, 'ISK')).toBeUndefined();
  });
});

describe('formatMinor', () => {
  it.each([
    [1_234, 'EUR', '12.34 EUR'],
    [5, 'EUR', '0.05 EUR'],
    [500, 'JPY', '500 JPY'],
    [1_050, 'KWD', '1.050 KWD'],
    [0, 'KWD', '0.000 KWD'],
    [15_000, 'ISK', '150.00 ISK'],
  ] as Array<[number, CurrencyCode, string]>)('%i %s reads %s', (amount, currency, text) => {
    expect(formatMinor(amount, currency)).toBe(text);
  });
});
