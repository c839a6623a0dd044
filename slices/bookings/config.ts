import * as z from 'zod';
import { type ConfigOf, intFromEnv, optionalText, requireThat } from '../../shared/config';
import { catalogueSchema, DEFAULT_CATALOGUE } from './domain/catalogue';
import { DEFAULT_SLOT_RULES, openingHoursSpecSchema } from './domain/opening-hours';

/** The bookings slice's configuration concerns (see `shared/config.ts`). */
export const bookingsConcerns = {
  bookings: z
    .object({
      OPENING_HOURS: z.string().default('Mon-Sat 07:00-19:00').pipe(openingHoursSpecSchema()),
      SERVICE_CATALOGUE: z
        .string()
        .optional()
        .transform((text, ctx) => {
          if (!text) return DEFAULT_CATALOGUE;
          try {
            return JSON.parse(text) as unknown;
          } catch {
            ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {code, name: {de, en}, priceCents, currency}' });
            return z.NEVER;
          }
        })
        .pipe(catalogueSchema),
      BOOKING_MIN_LEAD_MINUTES: intFromEnv(DEFAULT_SLOT_RULES.minLeadMinutes),
      BOOKING_MAX_SLOT_MINUTES: intFromEnv(DEFAULT_SLOT_RULES.maxSlotMinutes, 1),
      BOOKING_MAX_DAYS_AHEAD: intFromEnv(DEFAULT_SLOT_RULES.maxDaysAhead, 1),
      BOOKING_RATE_LIMIT_PER_IP: intFromEnv(60, 1),
    })
    .transform((e) => ({
      catalogue: e.SERVICE_CATALOGUE,
      hours: e.OPENING_HOURS,
      rules: { minLeadMinutes: e.BOOKING_MIN_LEAD_MINUTES, maxSlotMinutes: e.BOOKING_MAX_SLOT_MINUTES, maxDaysAhead: e.BOOKING_MAX_DAYS_AHEAD },
      rateLimitPerIp: e.BOOKING_RATE_LIMIT_PER_IP,
    })),
  /** The Driver-App: where trips go (absent = manual fallback) and the secret both directions sign with. */
  driverApp: z
    .object({
      DRIVER_APP_WEBHOOK_URL: z.url().optional(),
      DRIVER_APP_SECRET: optionalText,
      DRIVER_APP_TIMEOUT_MS: intFromEnv(10_000, 1),
      DRIVER_APP_SIGNATURE_WINDOW_S: intFromEnv(300, 1),
    })
    .superRefine((e, ctx) =>
      requireThat(ctx, !e.DRIVER_APP_WEBHOOK_URL || Boolean(e.DRIVER_APP_SECRET), 'DRIVER_APP_SECRET', 'required with DRIVER_APP_WEBHOOK_URL'),
    )
    .transform((e) => ({
      webhookUrl: e.DRIVER_APP_WEBHOOK_URL,
      secret: e.DRIVER_APP_SECRET,
      timeoutMs: e.DRIVER_APP_TIMEOUT_MS,
      signatureWindowSeconds: e.DRIVER_APP_SIGNATURE_WINDOW_S,
    })),
};

/** The configuration the bookings slice reads. */
export type BookingsConfig = ConfigOf<typeof bookingsConcerns>;
