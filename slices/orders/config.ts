import * as z from 'zod';
import { boolFromEnv, type ConfigOf, intFromEnv, optionalText, requireThat } from '../../shared/config';
import { durationMs, everySchedule } from '../../shared/kernel/schedule';
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

/** A duration setting (`90s`, `15m`, `7d`). */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = durationMs(text.trim());
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30s, 15m, 2h or 7d' });
        return z.NEVER;
      }
      return ms;
    });

/** The orders slice's configuration concerns that name a payment provider or timer. */
export const paymentConcerns = {
  /** BTCPay Server, when BTCPAY_URL is set (with the API key, store id and webhook secret). */
  btcpay: z
    .object({
      BTCPAY_URL: z.url().optional(),
      BTCPAY_API_KEY: optionalText,
      BTCPAY_STORE_ID: optionalText,
      BTCPAY_WEBHOOK_SECRET: optionalText,
      /** How long a customer has to pay a BTCPay invoice. */
      BTCPAY_INVOICE_EXPIRY_MINUTES: intFromEnv(15, 1),
    })
    .superRefine((e, ctx) => {
      // Each missing one by its own name.
      for (const name of ['BTCPAY_API_KEY', 'BTCPAY_STORE_ID', 'BTCPAY_WEBHOOK_SECRET'] as const) {
        requireThat(ctx, !e.BTCPAY_URL || Boolean(e[name]), name, 'required with BTCPAY_URL (BTCPay needs its URL, API key, store id and webhook secret)');
      }
    })
    .transform((e) =>
      e.BTCPAY_URL && e.BTCPAY_API_KEY && e.BTCPAY_STORE_ID && e.BTCPAY_WEBHOOK_SECRET
        ? {
            url: e.BTCPAY_URL,
            apiKey: e.BTCPAY_API_KEY,
            storeId: e.BTCPAY_STORE_ID,
            webhookSecret: e.BTCPAY_WEBHOOK_SECRET,
            expirationMinutes: e.BTCPAY_INVOICE_EXPIRY_MINUTES,
          }
        : undefined,
    ),
  /**
   * The payment reconciliation timer: every PAYMENT_RECONCILE_EVERY it asks the provider about
   * payments that have waited PAYMENT_RECONCILE_AFTER (then twice, four times as long…) for a
   * webhook, until PAYMENT_RECONCILE_HORIZON.
   */
  paymentReconciliation: z
    .object({
      // Checked on its own, so a problem of another variable cannot hide this one.
      PAYMENT_RECONCILE_EVERY: duration('5m').refine((ms) => everySchedule(ms) !== undefined, 'must divide a minute, an hour or a day (e.g. 30s, 5m, 1h)'),
      PAYMENT_RECONCILE_AFTER: duration('10m'),
      PAYMENT_RECONCILE_HORIZON: duration('7d'),
      PAYMENT_RECONCILE_BATCH: intFromEnv(500, 1),
    })
    .superRefine((e, ctx) =>
      requireThat(ctx, e.PAYMENT_RECONCILE_AFTER < e.PAYMENT_RECONCILE_HORIZON, 'PAYMENT_RECONCILE_AFTER', 'must be shorter than PAYMENT_RECONCILE_HORIZON'),
    )
    .transform((e) => ({
      schedule: everySchedule(e.PAYMENT_RECONCILE_EVERY) as string,
      everyMs: e.PAYMENT_RECONCILE_EVERY,
      afterMs: e.PAYMENT_RECONCILE_AFTER,
      horizonMs: e.PAYMENT_RECONCILE_HORIZON,
      limit: e.PAYMENT_RECONCILE_BATCH,
    })),
};

/** The WooCommerce channel's name: the shop's orders become hub orders with this `source`. */
export const WOOCOMMERCE_CHANNEL = 'woocommerce';

/** The orders slice's configuration of the WooCommerce shop it talks to through the shop's own API. */
export const shopConcerns = {
  /**
   * A WooCommerce shop: its orders come in by webhook (signed with WOOCOMMERCE_WEBHOOK_SECRET) and
   * what the hub does with them goes back through its REST API v3 (consumer key and secret). All four
   * or none; the `woocommerce` channel must be in CHANNELS, and its Standard Webhooks callback URL is
   * not set as well (the shop's API takes its updates). Outside local runs the URL must be https and public.
   */
  woocommerce: z
    .looseObject({
      WOOCOMMERCE_URL: optionalText,
      WOOCOMMERCE_CONSUMER_KEY: optionalText,
      WOOCOMMERCE_CONSUMER_SECRET: optionalText,
      WOOCOMMERCE_WEBHOOK_SECRET: optionalText,
      CHANNELS: list(sourceSchema, ''),
      CALLBACK_ALLOW_PRIVATE: boolFromEnv(false),
    })
    .superRefine((e, ctx) => {
      const names = ['WOOCOMMERCE_URL', 'WOOCOMMERCE_CONSUMER_KEY', 'WOOCOMMERCE_CONSUMER_SECRET', 'WOOCOMMERCE_WEBHOOK_SECRET'] as const;
      if (!names.some((name) => e[name])) return;
      // Each missing one by its own name.
      for (const name of names) requireThat(ctx, Boolean(e[name]), name, 'required with the other WOOCOMMERCE_* settings (the shop needs all four)');
      requireThat(ctx, e.CHANNELS.includes(WOOCOMMERCE_CHANNEL), 'CHANNELS', 'must include woocommerce when a WooCommerce shop is configured');
      const callbackUrl = e[callbackVariable(WOOCOMMERCE_CHANNEL, 'URL')];
      requireThat(
        ctx,
        !e.WOOCOMMERCE_URL || callbackUrl === undefined || callbackUrl === '',
        callbackVariable(WOOCOMMERCE_CHANNEL, 'URL'),
        "not with WOOCOMMERCE_URL: the shop's own API takes the woocommerce channel's updates",
      );
      if (!e.WOOCOMMERCE_URL) return;
      let url: URL | undefined;
      try {
        url = new URL(e.WOOCOMMERCE_URL);
      } catch {
        requireThat(ctx, false, 'WOOCOMMERCE_URL', 'must be a URL (the shop, e.g. https://shop.example.com)');
        return;
      }
      requireThat(ctx, e.CALLBACK_ALLOW_PRIVATE || url.protocol === 'https:', 'WOOCOMMERCE_URL', 'must be https');
      requireThat(ctx, e.CALLBACK_ALLOW_PRIVATE || !isPrivateHost(url.hostname), 'WOOCOMMERCE_URL', 'may not point at a private or loopback address');
    })
    .transform((e) =>
      e.WOOCOMMERCE_URL && e.WOOCOMMERCE_CONSUMER_KEY && e.WOOCOMMERCE_CONSUMER_SECRET && e.WOOCOMMERCE_WEBHOOK_SECRET
        ? {
            url: e.WOOCOMMERCE_URL.replace(/\/+$/, ''),
            consumerKey: e.WOOCOMMERCE_CONSUMER_KEY,
            consumerSecret: e.WOOCOMMERCE_CONSUMER_SECRET,
            webhookSecret: e.WOOCOMMERCE_WEBHOOK_SECRET,
            allowPrivate: e.CALLBACK_ALLOW_PRIVATE,
          }
        : undefined,
    ),
};

/** The configuration the orders slice reads. */
export type OrdersConfig = ConfigOf<typeof ordersConcerns> & ConfigOf<typeof paymentConcerns> & ConfigOf<typeof shopConcerns>;
