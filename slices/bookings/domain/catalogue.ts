import * as z from 'zod';
import { centsSchema, currencySchema, MIN_CHARGE_CENTS, type Money } from '../../../shared/kernel/money';
import { err, issuesOf, ok, type Issue, type Result } from '../../../shared/kernel/result';

/** A service code: lower-case words joined by hyphens (`oil-change`), stable across languages. */
export const serviceCodeSchema = z
  .string()
  .max(40)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Expected a service code like "oil-change"');

/** One bookable service with its display names and its price. */
export const catalogueItemSchema = z.strictObject({
  code: serviceCodeSchema,
  name: z.strictObject({ de: z.string().trim().min(1).max(100), en: z.string().trim().min(1).max(100) }),
  // Every booking is paid by card up front, so a price Stripe cannot charge is a configuration error.
  priceCents: centsSchema.min(MIN_CHARGE_CENTS),
  currency: currencySchema,
});

/** A bookable service. */
export type CatalogueItem = z.infer<typeof catalogueItemSchema>;

/** The service catalogue: at least one service, codes unique. */
export const catalogueSchema = z
  .array(catalogueItemSchema)
  .min(1)
  .max(200)
  .superRefine((items, ctx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      if (seen.has(item.code)) ctx.addIssue({ code: 'custom', path: [index, 'code'], message: `Duplicate service code "${item.code}"` });
      seen.add(item.code);
    });
  });

/** The service catalogue the server prices bookings from. */
export type Catalogue = readonly CatalogueItem[];

/** The catalogue used when the configuration does not override it (EUR prices incl. VAT). */
export const DEFAULT_CATALOGUE: Catalogue = [
  { code: 'inspection', name: { de: 'Inspektion', en: 'Inspection' }, priceCents: 14900, currency: 'EUR' },
  { code: 'oil-change', name: { de: 'Ölwechsel', en: 'Oil change' }, priceCents: 8900, currency: 'EUR' },
  { code: 'brake-service', name: { de: 'Bremsenservice', en: 'Brake service' }, priceCents: 19900, currency: 'EUR' },
  { code: 'tire-change', name: { de: 'Reifenwechsel', en: 'Tyre change' }, priceCents: 5900, currency: 'EUR' },
  {
    code: 'main-inspection',
    name: { de: 'Hauptuntersuchung (HU/AU)', en: 'Roadworthiness test (HU/AU)' },
    priceCents: 12900,
    currency: 'EUR',
  },
];

/** Why a catalogue override was refused. */
export interface CatalogueError {
  code: 'INVALID_CATALOGUE';
  issues: Issue[];
}

/**
 * Parses a catalogue override: a JSON string (as an app setting holds it) or an already parsed value.
 * Invalid JSON or an invalid catalogue is a value, so config parsing can report every problem at once.
 */
export function parseCatalogue(input: unknown): Result<Catalogue, CatalogueError> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return err({ code: 'INVALID_CATALOGUE', issues: [{ path: '', message: 'Not valid JSON' }] });
    }
  }
  const parsed = catalogueSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : err({ code: 'INVALID_CATALOGUE', issues: issuesOf(parsed.error) });
}

/** A service code the catalogue does not contain. */
export interface UnknownServiceError {
  code: 'UNKNOWN_SERVICE';
  serviceType: string;
}

/** The price of a service, from the server's catalogue only (never from the client). */
export function priceOf(catalogue: Catalogue, code: string): Result<Money, UnknownServiceError> {
  const item = catalogue.find((candidate) => candidate.code === code);
  return item ? ok({ cents: item.priceCents, currency: item.currency }) : err({ code: 'UNKNOWN_SERVICE', serviceType: code });
}
