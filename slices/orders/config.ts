import { z } from 'zod';
import { boolFromEnv, type ConfigOf, requireThat } from '../../shared/config';
import { currencyCodeSchema } from '../../shared/kernel/currency';
import { isPrivateHost } from '../../shared/kernel/network';
import { sourceSchema } from './domain/order';

/** The environment variable of a channel's callback setting: `woocommerce` → `WOOCOMMERCE_CALLBACK_URL`. */
export const callbackVariable = (channel: string, what: 'URL' | 'SECRET') => `${channel.toUpperCase().replaceAll('-', '_')}_CALLBACK_${what}`;

const WHSEC = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

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
  /**
   * Where each channel's callbacks go: `<CHANNEL>_CALLBACK_URL` and `<CHANNEL>_CALLBACK_SECRET` (one
   * or more `whsec_…` secrets, comma-separated, the first current). No URL: no callbacks for that
   * channel. Outside local runs a URL must be https and may not name a private or loopback host.
   */
  channelCallbacks: z
    .looseObject({ CHANNELS: list(sourceSchema, ''), CALLBACK_ALLOW_PRIVATE: boolFromEnv(false) })
    .superRefine((e, ctx) => {
      for (const channel of e.CHANNELS) {
        const url = e[callbackVariable(channel, 'URL')];
        if (url === undefined || url === '') continue;
        const urlName = callbackVariable(channel, 'URL');
        const secretName = callbackVariable(channel, 'SECRET');
        let parsed: URL | undefined;
        try {
          parsed = new URL(String(url));
        } catch {
          requireThat(ctx, false, urlName, 'must be a URL');
          continue;
        }
        requireThat(ctx, e.CALLBACK_ALLOW_PRIVATE || parsed.protocol === 'https:', urlName, 'must be https');
        requireThat(ctx, e.CALLBACK_ALLOW_PRIVATE || !isPrivateHost(parsed.hostname), urlName, 'may not point at a private or loopback address');
        const secrets = String(e[secretName] ?? '')
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean);
        requireThat(
          ctx,
          secrets.length > 0 && secrets.every((secret) => WHSEC.test(secret)),
          secretName,
          'required with the URL, in Standard Webhooks form whsec_<base64>',
        );
      }
    })
    .transform(
      (e) =>
        Object.fromEntries(
          e.CHANNELS.flatMap((channel) => {
            const url = e[callbackVariable(channel, 'URL')];
            if (url === undefined || url === '') return [];
            const secrets = String(e[callbackVariable(channel, 'SECRET')] ?? '')
              .split(',')
              .map((part) => part.trim())
              .filter(Boolean);
            return [[channel, { url: String(url), secrets }]];
          }),
        ) as Record<string, { url: string; secrets: string[] }>,
    ),
};

/** The configuration the orders slice reads. */
export type OrdersConfig = ConfigOf<typeof ordersConcerns>;
