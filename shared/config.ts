import { z } from 'zod';

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
  STRIPE_API_BASE: z.url().optional(),
  ODOO_URL: z.url().optional(),
  DRIVER_APP_WEBHOOK_URL: z.url().optional(),

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
  if (e.JOB_RETRY_CAP_MS < e.JOB_RETRY_BASE_MS) {
    throw new ConfigError(['JOB_RETRY_CAP_MS: must be at least JOB_RETRY_BASE_MS']);
  }
  return {
    apiKeys: e.API_KEYS,
    serviceBus: { connectionString: e.SERVICEBUS_CONNECTION, concurrency: e.QUEUE_CONCURRENCY },
    tables: { connectionString: e.TABLES_CONNECTION, prefix: e.TABLE_PREFIX },
    jobs: { maxAttempts: e.JOB_MAX_ATTEMPTS, retryBaseMs: e.JOB_RETRY_BASE_MS, retryCapMs: e.JOB_RETRY_CAP_MS },
    outbox: { relaySchedule: e.OUTBOX_RELAY_SCHEDULE, relayMinAgeMs: e.OUTBOX_RELAY_MIN_AGE_MS },
    rateLimit: { perKey: e.RATE_LIMIT_PER_KEY, windowMs: e.RATE_LIMIT_WINDOW_MS },
    health: { probeTimeoutMs: e.HEALTH_PROBE_TIMEOUT_MS },
    telemetry: { connectionString: e.TELEMETRY_ENABLED ? e.APPLICATIONINSIGHTS_CONNECTION_STRING : undefined },
    integrations: {
      stripe: integrationTarget(e.STRIPE_API_BASE, Boolean(e.STRIPE_SECRET_KEY)),
      odoo: integrationTarget(e.ODOO_URL, false),
      driverApp: integrationTarget(e.DRIVER_APP_WEBHOOK_URL, false),
    },
  };
}
