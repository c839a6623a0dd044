import { z } from 'zod';
import type { ConfigOf } from '../../shared/config';
import { currencyCodeSchema } from '../../shared/kernel/currency';
import { sourceSchema } from './domain/order';

/** A comma-separated list, each entry checked by `item`, repeats dropped. */
const list = <T>(item: z.ZodType<T, string>, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text) => [
      ...new Set(
        text
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(z.array(item));

/** The orders slice's configuration concerns (see `shared/config.ts`). */
export const ordersConcerns = {
  orders: z
    .object({
      /** The sales channels that may create orders (an order's `source`); none by default. */
      CHANNELS: list(sourceSchema, ''),
      /** The currencies orders may be in, ISO 4217 codes Stripe supports. */
      ORDER_CURRENCIES: list(currencyCodeSchema, 'EUR'),
    })
    .transform((e) => ({ channels: e.CHANNELS, currencies: e.ORDER_CURRENCIES })),
};

/** The configuration the orders slice reads. */
export type OrdersConfig = ConfigOf<typeof ordersConcerns>;
