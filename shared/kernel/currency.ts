import * as z from 'zod';

/**
 * Currencies as Stripe takes them: ISO 4217 codes, amounts as integers in the currency's minor
 * unit. Most currencies have two decimals (EUR cents); Stripe's zero-decimal currencies have none
 * (JPY yen) and its three-decimal ones three (KWD fils), whose last digit must be 0.
 */

/** Every presentment currency Stripe supports. */
// biome-ignore format: a table reads better than one code per line
export const STRIPE_CURRENCIES = [
  'AED', 'AFN', 'ALL', 'AMD', 'ANG', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT', 'BGN', 'BHD', 'BIF', 'BMD', 'BND', 'BOB', 'BRL',
  'BSD', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF', 'CHF', 'CLP', 'CNY', 'COP', 'CRC', 'CVE', 'CZK', 'DJF', 'DKK', 'DOP', 'DZD', 'EGP', 'ETB', 'EUR',
  'FJD', 'FKP', 'GBP', 'GEL', 'GIP', 'GMD', 'GNF', 'GTQ', 'GYD', 'HKD', 'HNL', 'HTG', 'HUF', 'IDR', 'ILS', 'INR', 'ISK', 'JMD', 'JOD', 'JPY',
  'KES', 'KGS', 'KHR', 'KMF', 'KRW', 'KWD', 'KYD', 'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'MAD', 'MDL', 'MGA', 'MKD', 'MMK', 'MNT', 'MOP',
  'MUR', 'MVR', 'MWK', 'MXN', 'MYR', 'MZN', 'NAD', 'NGN', 'NIO', 'NOK', 'NPR', 'NZD', 'OMR', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR', 'PLN', 'PYG',
  'QAR', 'RON', 'RSD', 'RUB', 'RWF', 'SAR', 'SBD', 'SCR', 'SEK', 'SGD', 'SHP', 'SLE', 'SOS', 'SRD', 'STD', 'SZL', 'THB', 'TJS', 'TND', 'TOP',
  'TRY', 'TTD', 'TWD', 'TZS', 'UAH', 'UGX', 'USD', 'UYU', 'UZS', 'VND', 'VUV', 'WST', 'XAF', 'XCD', 'XOF', 'XPF', 'YER', 'ZAR', 'ZMW',
] as const;

/** An ISO 4217 code Stripe supports. */
export type CurrencyCode = (typeof STRIPE_CURRENCIES)[number];

const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/**
 * Smallest amount Stripe charges, where its documentation names one (about 0.50 USD elsewhere, which
 * Stripe converts at the day's rate: not checkable here, so those are left to Stripe).
 */
// biome-ignore format: a table reads better than one currency per line
const MINIMUM_CHARGE: Partial<Record<CurrencyCode, number>> = {
  USD: 50, AED: 200, AUD: 50, BGN: 100, BRL: 50, CAD: 50, CHF: 50, CZK: 1500, DKK: 250, EUR: 50, GBP: 30, HKD: 400, HUF: 17500,
  INR: 50, JPY: 50, MXN: 1000, MYR: 200, NOK: 300, NZD: 50, PLN: 200, RON: 200, SEK: 300, SGD: 50, THB: 1000,
};

/** Largest amount of one charge Stripe accepts (eight digits in the minor unit). */
export const MAX_MINOR_AMOUNT = 99_999_999;

/** Validates an ISO 4217 code Stripe supports (upper case, as the API's contract has it). */
export const currencyCodeSchema = z.enum(STRIPE_CURRENCIES, { error: 'Expected an ISO 4217 currency code Stripe supports, upper case (EUR, USD, JPY, …)' });

/** How many decimals the currency's minor unit has: 0 (JPY), 2 (EUR) or 3 (KWD). */
export function minorUnitDigits(currency: CurrencyCode): 0 | 2 | 3 {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/**
 * Why an amount cannot be charged in a currency, or undefined when it can: an integer in the minor
 * unit, not negative, not above Stripe's maximum, a multiple of 10 for three-decimal currencies
 * (Stripe's partners need the last digit 0) and of 100 for ISK (Stripe takes it with two decimals
 * that must be zero).
 */
export function amountProblem(amount: number, currency: CurrencyCode): string | undefined {
  if (!Number.isSafeInteger(amount) || amount < 0) return 'must be a whole number of the currency’s minor unit, not negative';
  if (amount > MAX_MINOR_AMOUNT) return `must be at most ${MAX_MINOR_AMOUNT} (${currency} minor units)`;
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0) return `${currency} amounts must end in 0 (multiples of 10 in the minor unit)`;
  if (currency === 'ISK' && amount % 100 !== 0) return 'ISK amounts must be whole krónur (multiples of 100 in the minor unit)';
  return undefined;
}

/** Why an amount is too small for one card charge, or undefined. */
export function minimumChargeProblem(amount: number, currency: CurrencyCode): string | undefined {
  const minimum = MINIMUM_CHARGE[currency];
  return minimum !== undefined && amount < minimum ? `a ${currency} payment must be at least ${formatMinor(minimum, currency)}` : undefined;
}

/** An amount for people, from minor units: `1.050 KWD`, `500 JPY`, `12.34 EUR`. */
export function formatMinor(amount: number, currency: CurrencyCode): string {
  const digits = minorUnitDigits(currency);
  return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
}

/**
 * A decimal amount as shops write it (`"12.50"`, `"500"`, `12.5`) in the currency's minor unit, or
 * undefined when it is not a non-negative amount with at most the currency's decimals (never through
 * binary floating point: the digits are read as text).
 */
export function decimalToMinor(amount: string | number, currency: CurrencyCode): number | undefined {
  const text = typeof amount === 'number' ? (Number.isFinite(amount) ? String(amount) : '') : amount.trim();
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const digits = minorUnitDigits(currency);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return undefined;
  const minor = Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** An amount in the minor unit as a decimal string with the currency's decimals: `1250` EUR → `"12.50"`. */
export function minorToDecimal(amount: number, currency: CurrencyCode): string {
  const digits = minorUnitDigits(currency);
  if (digits === 0) return String(amount);
  const text = String(Math.abs(amount)).padStart(digits + 1, '0');
  return `${amount < 0 ? '-' : ''}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
