import { z } from 'zod';
import { type Catalogue, catalogueSchema, DEFAULT_CATALOGUE } from '../slices/bookings/domain/catalogue';
import { DEFAULT_SLOT_RULES, type OpeningHours, openingHoursSpecSchema, type SlotRules } from '../slices/bookings/domain/opening-hours';

/** The four job queues (DESIGN.md §7). */
export const QUEUE_NAMES = ['odoo-sync', 'driver-dispatch', 'notifications', 'callbacks'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

const intFromEnv = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));

const boolFromEnv = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1');

/** One API key entry: `name:role1|role2:sha256hex` (only the hash of the key is configured). */
const apiKeyEntrySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+:[a-z|]+:[0-9a-fA-F]{64}$/, 'expected name:role1|role2:sha256hex')
  .transform((entry) => {
    const [name, roles, hash] = entry.split(':') as [string, string, string];
    return { name, roles: roles.split('|').filter(Boolean), sha256: hash.toLowerCase() };
  })
  .pipe(
    z.object({
      name: z.string(),
      roles: z.array(z.enum(['admin', 'workshop', 'orders'])).min(1),
      sha256: z.string(),
    }),
  );

const apiKeysSchema = z
  .string()
  .default('')
  .transform((text) => text.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(apiKeyEntrySchema));

/** The environment as the app reads it; names are the contract of DESIGN.md §3. */
export const envSchema = z.object({
  API_KEYS: apiKeysSchema,
  SERVICEBUS_CONNECTION: z.string().min(1, 'a Service Bus connection string is required'),
  TABLES_CONNECTION: z.string().min(1, 'a Table Storage connection string is required'),
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  STRIPE_SECRET_KEY: optionalText,
  STRIPE_PUBLISHABLE_KEY: optionalText,
  STRIPE_WEBHOOK_SECRET: optionalText,
  STRIPE_API_BASE: z.url().optional(),
  SMTP_URL: z.url().optional(),
  MAIL_FROM: z.string().min(3).default('Order Hub <noreply@order-hub.local>'),
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
  ODOO_URL: z.url().optional(),
  ODOO_DB: optionalText,
  ODOO_USERNAME: optionalText,
  ODOO_PASSWORD: optionalText,
  ODOO_TIMEOUT_MS: intFromEnv(15_000, 1),
  ODOO_PAYMENT_JOURNAL_ID: z.coerce.number().int().positive().optional(),
  ODOO_TAX_IDS: z
    .string()
    .regex(/^\s*(\d+\s*(,\s*\d+\s*)*)?$/, 'expected comma-separated Odoo tax ids, e.g. 1,4')
    .optional()
    .transform((text) => (text === undefined ? undefined : text.split(',').map((part) => part.trim()).filter(Boolean).map(Number))),
  DRIVER_APP_WEBHOOK_URL: z.url().optional(),
  DRIVER_APP_SECRET: optionalText,
  DRIVER_APP_TIMEOUT_MS: intFromEnv(10_000, 1),
  DRIVER_APP_SIGNATURE_WINDOW_S: intFromEnv(300, 1),

  TABLE_PREFIX: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,30}$/).default('hub'),
  JOB_MAX_ATTEMPTS: intFromEnv(6, 1),
  JOB_RETRY_BASE_MS: intFromEnv(10_000, 1),
  JOB_RETRY_CAP_MS: intFromEnv(15 * 60_000, 1),
  QUEUE_CONCURRENCY: intFromEnv(16, 1),
  OUTBOX_RELAY_SCHEDULE: z.string().default('0 */1 * * * *'),
  OUTBOX_RELAY_MIN_AGE_MS: intFromEnv(30_000),
  RATE_LIMIT_PER_KEY: intFromEnv(100, 1),
  RATE_LIMIT_WINDOW_MS: intFromEnv(15 * 60_000, 1),
  HEALTH_PROBE_TIMEOUT_MS: intFromEnv(2_000, 1),
  TELEMETRY_ENABLED: boolFromEnv(true),
});

export type Env = z.infer<typeof envSchema>;

/** Typed configuration the composition root hands to adapters and use cases. */
export interface Config {
  apiKeys: Env['API_KEYS'];
  serviceBus: { connectionString: string; concurrency: number };
  tables: { connectionString: string; prefix: string };
  jobs: { maxAttempts: number; retryBaseMs: number; retryCapMs: number };
  outbox: { relaySchedule: string; relayMinAgeMs: number };
  rateLimit: { perKey: number; windowMs: number };
  health: { probeTimeoutMs: number };
  telemetry: { connectionString?: string };
  integrations: { stripe: IntegrationTarget; odoo: IntegrationTarget; driverApp: IntegrationTarget };
  /** Stripe, when configured (secret key and webhook secret). */
  stripe?: { secretKey: string; webhookSecret: string; publishableKey?: string; apiBase?: string };
  /** The Driver-App: where trips go (absent = manual fallback) and the secret both directions sign with. */
  driverApp: { webhookUrl?: string; secret?: string; timeoutMs: number; signatureWindowSeconds: number };
  /** Odoo, when ODOO_URL is set (with database, user and password or API key). */
  odoo?: { url: string; db: string; username: string; password: string; timeoutMs: number; paymentJournalId?: number; lineTaxIds?: number[] };
  /** Outgoing e-mail, when SMTP_URL is set. */
  mail?: { smtpUrl: string; from: string };
  bookings: { catalogue: Catalogue; hours: OpeningHours; rules: SlotRules; rateLimitPerIp: number };
}

/** Where an integration points: a real endpoint, a local sandbox, or nothing configured. */
export type IntegrationTarget = 'connected' | 'sandbox' | 'unavailable';

/** Thrown at start-up; the message names every bad variable and never echoes a value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const isLoopback = (url: string): boolean => /^https?:\/\/(127\.|localhost|\[::1\])/.test(url);

function integrationTarget(url: string | undefined, configured: boolean): IntegrationTarget {
  if (url && isLoopback(url)) return 'sandbox';
  return configured || url ? 'connected' : 'unavailable';
}

/** Parses the environment once; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    // Issue messages are built from our schema, not from the input: no secret can leak here.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError([...new Set(problems)]);
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.JOB_RETRY_CAP_MS < e.JOB_RETRY_BASE_MS) problems.push('JOB_RETRY_CAP_MS: must be at least JOB_RETRY_BASE_MS');
  if (Boolean(e.STRIPE_SECRET_KEY) !== Boolean(e.STRIPE_WEBHOOK_SECRET)) {
    problems.push('STRIPE_WEBHOOK_SECRET: Stripe needs both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET');
  }
  if (e.DRIVER_APP_WEBHOOK_URL && !e.DRIVER_APP_SECRET) problems.push('DRIVER_APP_SECRET: required with DRIVER_APP_WEBHOOK_URL');
  if (e.ODOO_URL && !(e.ODOO_DB && e.ODOO_USERNAME && e.ODOO_PASSWORD)) {
    problems.push('ODOO_DB: ODOO_URL needs ODOO_DB, ODOO_USERNAME and ODOO_PASSWORD');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    apiKeys: e.API_KEYS,
    serviceBus: { connectionString: e.SERVICEBUS_CONNECTION, concurrency: e.QUEUE_CONCURRENCY },
    tables: { connectionString: e.TABLES_CONNECTION, prefix: e.TABLE_PREFIX },
    jobs: { maxAttempts: e.JOB_MAX_ATTEMPTS, retryBaseMs: e.JOB_RETRY_BASE_MS, retryCapMs: e.JOB_RETRY_CAP_MS },
    outbox: { relaySchedule: e.OUTBOX_RELAY_SCHEDULE, relayMinAgeMs: e.OUTBOX_RELAY_MIN_AGE_MS },
    rateLimit: { perKey: e.RATE_LIMIT_PER_KEY, windowMs: e.RATE_LIMIT_WINDOW_MS },
    health: { probeTimeoutMs: e.HEALTH_PROBE_TIMEOUT_MS },
    telemetry: { connectionString: e.TELEMETRY_ENABLED ? e.APPLICATIONINSIGHTS_CONNECTION_STRING : undefined },
    stripe:
      e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET
        ? { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, publishableKey: e.STRIPE_PUBLISHABLE_KEY, apiBase: e.STRIPE_API_BASE }
        : undefined,
    mail: e.SMTP_URL ? { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM } : undefined,
    driverApp: {
      webhookUrl: e.DRIVER_APP_WEBHOOK_URL,
      secret: e.DRIVER_APP_SECRET,
      timeoutMs: e.DRIVER_APP_TIMEOUT_MS,
      signatureWindowSeconds: e.DRIVER_APP_SIGNATURE_WINDOW_S,
    },
    odoo:
      e.ODOO_URL && e.ODOO_DB && e.ODOO_USERNAME && e.ODOO_PASSWORD
        ? {
            url: e.ODOO_URL,
            db: e.ODOO_DB,
            username: e.ODOO_USERNAME,
            password: e.ODOO_PASSWORD,
            timeoutMs: e.ODOO_TIMEOUT_MS,
            paymentJournalId: e.ODOO_PAYMENT_JOURNAL_ID,
            lineTaxIds: e.ODOO_TAX_IDS,
          }
        : undefined,
    bookings: {
      catalogue: e.SERVICE_CATALOGUE,
      hours: e.OPENING_HOURS,
      rules: { minLeadMinutes: e.BOOKING_MIN_LEAD_MINUTES, maxSlotMinutes: e.BOOKING_MAX_SLOT_MINUTES, maxDaysAhead: e.BOOKING_MAX_DAYS_AHEAD },
      rateLimitPerIp: e.BOOKING_RATE_LIMIT_PER_IP,
    },
    integrations: {
      stripe: integrationTarget(e.STRIPE_API_BASE, Boolean(e.STRIPE_SECRET_KEY)),
      odoo: integrationTarget(e.ODOO_URL, false),
      driverApp: integrationTarget(e.DRIVER_APP_WEBHOOK_URL, false),
    },
  };
}
