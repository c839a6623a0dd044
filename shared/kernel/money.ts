import * as z from 'zod';
import { err, ok, type Result } from './result';

/** Currencies the hub charges in (ISO 4217). One today; a union so adding one is a type change. */
export const CURRENCIES = ['EUR'] as const;

/** An ISO 4217 currency code the hub supports. */
export type Currency = (typeof CURRENCIES)[number];

/** Validates a currency code. */
export const currencySchema = z.enum(CURRENCIES);

/** Largest amount Stripe accepts for a EUR charge (999,999.99 €); anything above cannot be paid anyway. */
export const MAX_CENTS = 99_999_999;

/** Smallest amount Stripe charges in EUR (0.50 €): a lower price could never be paid by card. */
export const MIN_CHARGE_CENTS = 50;

/** An amount in cents: an integer, never negative, never above `MAX_CENTS`. */
export const centsSchema = z.number().int().min(0).max(MAX_CENTS);

/** An amount of money in minor units (cents), so sums never suffer from binary floating point. */
export interface Money {
  cents: number;
  currency: Currency;
}

/** Why an amount was refused. */
export type MoneyError =
  | { code: 'INVALID_AMOUNT'; reason: 'not_integer' | 'negative' | 'too_large'; cents: number }
  | { code: 'CURRENCY_MISMATCH'; left: Currency; right: Currency };

/** Money from cents: refuses fractions of a cent, negative amounts and amounts above `MAX_CENTS`. */
export function money(cents: number, currency: Currency = 'EUR'): Result<Money, MoneyError> {
  if (!Number.isInteger(cents)) return err({ code: 'INVALID_AMOUNT', reason: 'not_integer', cents });
  if (cents < 0) return err({ code: 'INVALID_AMOUNT', reason: 'negative', cents });
  if (cents > MAX_CENTS) return err({ code: 'INVALID_AMOUNT', reason: 'too_large', cents });
  return ok({ cents, currency });
}

/** The sum of two amounts in the same currency; a sum above `MAX_CENTS` is refused like any other amount. */
export function addMoney(left: Money, right: Money): Result<Money, MoneyError> {
  if (left.currency !== right.currency) return err({ code: 'CURRENCY_MISMATCH', left: left.currency, right: right.currency });
  return money(left.cents + right.cents, left.currency);
}

const LOCALES = { de: 'de-DE', en: 'en-GB' } as const;

/** The amount for people: `149,00 €` in German, `€149.00` in English. */
export function formatMoney(amount: Money, language: keyof typeof LOCALES = 'de'): string {
  return new Intl.NumberFormat(LOCALES[language], { style: 'currency', currency: amount.currency }).format(amount.cents / 100);
}
