import * as z from 'zod';
import { durationMs, NCRONTAB } from './kernel/schedule';

/**
 * Configuration, one concern at a time: each concern is a zod schema over the environment that
 * yields its part of the typed configuration (`serviceBus`, `stripe`, `bookings`, …). The platform's
 * concerns live here, each slice declares its own, and the composition root composes them into one
 * schema (`composeConfig`); the `Config` type is inferred from that, never written by hand.
 * Variable names are the contract documented in README.md ("Configuration").
 */

// ---- Building blocks for concerns (slices use them too).

/** An integer variable with a default and a lower bound. */
export const intFromEnv = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

/** An optional string variable; empty counts as unset. */
export const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));

/** A boolean variable (`true`/`false`/`1`/`0`). */
export const boolFromEnv = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1');

/** Where an integration points: a real endpoint, a local sandbox, or nothing configured. */
export type IntegrationTarget = 'connected' | 'sandbox' | 'unavailable';

const isLoopback = (url: string): boolean => /^https?:\/\/(127\.|localhost|\[::1\])/.test(url);

/** `sandbox` for a loopback address, `connected` for a configured real endpoint, else `unavailable`. */
export function integrationTarget(url: string | undefined, configured: boolean): IntegrationTarget {
  if (url && isLoopback(url)) return 'sandbox';
  return configured || url ? 'connected' : 'unavailable';
}

/** Whether a text is `*` or a web origin as browsers send it: http(s), host, optional port, nothing else. */
function isOrigin(text: string): boolean {
  if (text === '*') return true;
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text.toLowerCase().replace(/\/$/, '') && !text.endsWith('/');
  } catch {
    return false;
  }
}

/** Adds a start-up problem to a concern (a rule across variables); the path names the variable. */
export function requireThat(ctx: z.RefinementCtx, ok: boolean, variable: string, message: string): void {
  if (!ok) ctx.addIssue({ code: 'custom', path: [variable], message });
}

// ---- Connections: a connection string, or identity-based as the Functions host reads them.

/**
 * The credential of an identity-based connection (`<NAME>__credential`, `<NAME>__clientId`):
 * `managedIdentity` is the app's managed identity in Azure (the user-assigned one `clientId` names,
 * else the system-assigned one); `developer` is whoever is signed in locally (Azure CLI, VS Code, …).
 */
export type IdentityCredentialSettings = { kind: 'managedIdentity'; clientId?: string } | { kind: 'developer' };

/** Service Bus settings: exactly one of a connection string or a namespace reached with a credential. */
export type ServiceBusSettings =
  | { connectionString: string; fullyQualifiedNamespace?: undefined; concurrency: number }
  | { fullyQualifiedNamespace: string; credential: IdentityCredentialSettings; connectionString?: undefined; concurrency: number };

/** Table Storage settings: exactly one of a connection string or a table endpoint reached with a credential. */
export type TableSettings =
  | { connectionString: string; tableServiceUri?: undefined; prefix: string }
  | { tableServiceUri: string; credential: IdentityCredentialSettings; connectionString?: undefined; prefix: string };

/** The settings of one connection, keyed as the environment names them. */
type ConnectionVariables = Record<string, string | number | undefined>;

/**
 * One connection's rules: exactly one of `<name>` (a connection string) and `<name><endpoint>`; the
 * identity settings only beside the endpoint; `__credential` is `managedidentity` (the only value the
 * Functions host knows), and `__clientId` names a user-assigned identity, so it needs that credential.
 */
function checkConnection(ctx: z.RefinementCtx, name: string, endpoint: string, what: string, e: ConnectionVariables): void {
  const connection = e[name];
  const address = e[`${name}${endpoint}`];
  const credential = e[`${name}__credential`];
  const clientId = e[`${name}__clientId`];
  requireThat(ctx, Boolean(connection || address), name, `${what} or ${name}${endpoint} (identity-based) is required`);
  requireThat(ctx, !(connection && address), name, `set either ${name} or ${name}${endpoint}, not both`);
  if (!address) {
    requireThat(ctx, credential === undefined, `${name}__credential`, `is read only with ${name}${endpoint}`);
    requireThat(ctx, clientId === undefined, `${name}__clientId`, `is read only with ${name}${endpoint}`);
    return;
  }
  const managed = typeof credential === 'string' && credential.toLowerCase() === 'managedidentity';
  requireThat(ctx, credential === undefined || managed, `${name}__credential`, 'expected managedidentity (or unset for a developer sign-in)');
  requireThat(ctx, clientId === undefined || managed, `${name}__clientId`, `needs ${name}__credential=managedidentity`);
  requireThat(ctx, clientId === undefined || GUID.test(String(clientId)), `${name}__clientId`, "expected the identity's client id (a GUID)");
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The credential settings of an identity-based connection that passed `checkConnection`. */
function credentialOf(e: ConnectionVariables, name: string): IdentityCredentialSettings {
  const credential = e[`${name}__credential`];
  if (typeof credential !== 'string') return { kind: 'developer' };
  const clientId = e[`${name}__clientId`];
  return typeof clientId === 'string' ? { kind: 'managedIdentity', clientId } : { kind: 'managedIdentity' };
}

// ---- The platform's concerns.

/** One API key entry: `name:role1|role2:sha256hex` (only the hash of the key is configured). */
const apiKeyEntrySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+:[a-z|]+:[0-9a-fA-F]{64}$/, 'expected name:role1|role2:sha256hex')
  .transform((entry) => {
    const [name, roles, hash] = entry.split(':') as [string, string, string];
    return { name, roles: roles.split('|').filter(Boolean), sha256: hash.toLowerCase() };
  })
  .pipe(z.object({ name: z.string(), roles: z.array(z.enum(['admin', 'workshop', 'orders', 'support'])).min(1), sha256: z.string() }));

const apiKeysSchema = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(apiKeyEntrySchema));

export const platformConcerns = {
  apiKeys: z.object({ API_KEYS: apiKeysSchema }).transform((e) => e.API_KEYS),
  /** Service Bus: SERVICEBUS_CONNECTION (a connection string) or its identity form, as the Functions host reads them. */
  serviceBus: z
    .object({
      SERVICEBUS_CONNECTION: optionalText,
      SERVICEBUS_CONNECTION__fullyQualifiedNamespace: optionalText,
      SERVICEBUS_CONNECTION__credential: optionalText,
      SERVICEBUS_CONNECTION__clientId: optionalText,
      QUEUE_CONCURRENCY: intFromEnv(16, 1),
    })
    .superRefine((e, ctx) => {
      const namespace = e.SERVICEBUS_CONNECTION__fullyQualifiedNamespace;
      checkConnection(ctx, 'SERVICEBUS_CONNECTION', '__fullyQualifiedNamespace', 'a Service Bus connection string', e);
      // A host name (a port only for local brokers), never the connection string's `sb://…/` form.
      requireThat(
        ctx,
        !namespace || /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$/.test(namespace),
        'SERVICEBUS_CONNECTION__fullyQualifiedNamespace',
        'expected a host name such as <namespace>.servicebus.windows.net',
      );
    })
    .transform((e): ServiceBusSettings => {
      const concurrency = e.QUEUE_CONCURRENCY;
      const namespace = e.SERVICEBUS_CONNECTION__fullyQualifiedNamespace;
      if (namespace) return { fullyQualifiedNamespace: namespace, credential: credentialOf(e, 'SERVICEBUS_CONNECTION'), concurrency };
      return { connectionString: e.SERVICEBUS_CONNECTION as string, concurrency }; // checkConnection required one of the two
    }),
  /** Table Storage: TABLES_CONNECTION (a connection string) or its identity form, as the Functions host reads them. */
  tables: z
    .object({
      TABLES_CONNECTION: optionalText,
      TABLES_CONNECTION__tableServiceUri: optionalText,
      TABLES_CONNECTION__credential: optionalText,
      TABLES_CONNECTION__clientId: optionalText,
      TABLE_PREFIX: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9]{0,30}$/)
        .default('hub'),
    })
    .superRefine((e, ctx) => {
      const uri = e.TABLES_CONNECTION__tableServiceUri;
      checkConnection(ctx, 'TABLES_CONNECTION', '__tableServiceUri', 'a Table Storage connection string', e);
      // A bearer token is never sent over plain HTTP (the SDK refuses it too).
      requireThat(
        ctx,
        !uri || /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(uri),
        'TABLES_CONNECTION__tableServiceUri',
        'expected an https URL such as https://<account>.table.core.windows.net',
      );
    })
    .transform((e): TableSettings => {
      const uri = e.TABLES_CONNECTION__tableServiceUri;
      // The storage account's primaryEndpoints.table ends in `/`; table URLs are built on it.
      if (uri) return { tableServiceUri: uri.replace(/\/+$/, ''), credential: credentialOf(e, 'TABLES_CONNECTION'), prefix: e.TABLE_PREFIX };
      return { connectionString: e.TABLES_CONNECTION as string, prefix: e.TABLE_PREFIX }; // checkConnection required one of the two
    }),
  jobs: z
    .object({ JOB_MAX_ATTEMPTS: intFromEnv(6, 1), JOB_RETRY_BASE_MS: intFromEnv(10_000, 1), JOB_RETRY_CAP_MS: intFromEnv(15 * 60_000, 1) })
    .superRefine((e, ctx) => requireThat(ctx, e.JOB_RETRY_CAP_MS >= e.JOB_RETRY_BASE_MS, 'JOB_RETRY_CAP_MS', 'must be at least JOB_RETRY_BASE_MS'))
    .transform((e) => ({ maxAttempts: e.JOB_MAX_ATTEMPTS, retryBaseMs: e.JOB_RETRY_BASE_MS, retryCapMs: e.JOB_RETRY_CAP_MS })),
  outbox: z
    .object({
      OUTBOX_RELAY_SCHEDULE: z.string().trim().regex(NCRONTAB, 'expected NCRONTAB with seconds (six fields)').default('0 */1 * * * *'),
      OUTBOX_RELAY_MIN_AGE_MS: intFromEnv(30_000),
    })
    .transform((e) => ({ relaySchedule: e.OUTBOX_RELAY_SCHEDULE, relayMinAgeMs: e.OUTBOX_RELAY_MIN_AGE_MS })),
  /** Rate limits: per API key and window; `table` counts across all instances, `memory` per instance (one-instance setups). */
  rateLimit: z
    .object({
      RATE_LIMIT_PER_KEY: intFromEnv(100, 1),
      RATE_LIMIT_WINDOW_MS: intFromEnv(15 * 60_000, 1),
      RATE_LIMIT_STORE: z.enum(['table', 'memory']).default('table'),
    })
    .transform((e) => ({ perKey: e.RATE_LIMIT_PER_KEY, windowMs: e.RATE_LIMIT_WINDOW_MS, store: e.RATE_LIMIT_STORE })),
  /** Idempotency-Key records: how long a finished one is replayed, how long a running one locks its key, the sweep. */
  idempotency: z
    .object({
      IDEMPOTENCY_RETENTION_HOURS: intFromEnv(24, 1),
      IDEMPOTENCY_LOCK_MS: intFromEnv(60_000, 1),
      IDEMPOTENCY_SWEEP_SCHEDULE: z.string().trim().regex(NCRONTAB, 'expected NCRONTAB with seconds (six fields)').default('0 0 * * * *'),
    })
    .superRefine((e, ctx) =>
      // The sweep also removes in-flight records older than the retention: never one whose lock still holds.
      requireThat(
        ctx,
        e.IDEMPOTENCY_LOCK_MS < e.IDEMPOTENCY_RETENTION_HOURS * 3_600_000,
        'IDEMPOTENCY_LOCK_MS',
        'must be shorter than IDEMPOTENCY_RETENTION_HOURS',
      ),
    )
    .transform((e) => ({ retentionHours: e.IDEMPOTENCY_RETENTION_HOURS, lockMs: e.IDEMPOTENCY_LOCK_MS, sweepSchedule: e.IDEMPOTENCY_SWEEP_SCHEDULE })),
  health: z.object({ HEALTH_PROBE_TIMEOUT_MS: intFromEnv(2_000, 1) }).transform((e) => ({ probeTimeoutMs: e.HEALTH_PROBE_TIMEOUT_MS })),
  telemetry: z
    .object({ APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText, TELEMETRY_ENABLED: boolFromEnv(true) })
    .transform((e) => ({ connectionString: e.TELEMETRY_ENABLED ? e.APPLICATIONINSIGHTS_CONNECTION_STRING : undefined })),
  /** Stripe, when configured (secret key and webhook secret). */
  stripe: z
    .object({ STRIPE_SECRET_KEY: optionalText, STRIPE_PUBLISHABLE_KEY: optionalText, STRIPE_WEBHOOK_SECRET: optionalText, STRIPE_API_BASE: z.url().optional() })
    .superRefine((e, ctx) =>
      requireThat(
        ctx,
        Boolean(e.STRIPE_SECRET_KEY) === Boolean(e.STRIPE_WEBHOOK_SECRET),
        'STRIPE_WEBHOOK_SECRET',
        'Stripe needs both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET',
      ),
    )
    .transform((e) =>
      e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET
        ? { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, publishableKey: e.STRIPE_PUBLISHABLE_KEY, apiBase: e.STRIPE_API_BASE }
        : undefined,
    ),
  /**
   * Odoo, when ODOO_URL is set, over ODOO_API: `xmlrpc` (default; database, user and password or API
   * key) or `json2` (Odoo 19+: the API key in ODOO_PASSWORD; no user, the database only where needed).
   */
  odoo: z
    .object({
      ODOO_API: z.preprocess(
        (value) => (typeof value === 'string' ? value.trim().toLowerCase() || undefined : value),
        z.enum(['xmlrpc', 'json2']).default('xmlrpc'),
      ),
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
        .transform((text) =>
          text === undefined
            ? undefined
            : text
                .split(',')
                .map((part) => part.trim())
                .filter(Boolean)
                .map(Number),
        ),
    })
    .superRefine((e, ctx) => {
      if (!e.ODOO_URL) return;
      if (e.ODOO_API === 'json2') {
        requireThat(ctx, Boolean(e.ODOO_PASSWORD), 'ODOO_PASSWORD', 'ODOO_URL with ODOO_API=json2 needs ODOO_PASSWORD (an API key of the integration user)');
      } else {
        requireThat(ctx, Boolean(e.ODOO_DB && e.ODOO_USERNAME && e.ODOO_PASSWORD), 'ODOO_DB', 'ODOO_URL needs ODOO_DB, ODOO_USERNAME and ODOO_PASSWORD');
      }
    })
    .transform((e) => {
      if (!e.ODOO_URL || !e.ODOO_PASSWORD) return undefined;
      const settings = {
        url: e.ODOO_URL,
        password: e.ODOO_PASSWORD,
        timeoutMs: e.ODOO_TIMEOUT_MS,
        paymentJournalId: e.ODOO_PAYMENT_JOURNAL_ID,
        lineTaxIds: e.ODOO_TAX_IDS,
      };
      // JSON-2 has no login: the key names the user; the database header is sent only when set.
      if (e.ODOO_API === 'json2') return { ...settings, api: 'json2' as const, db: e.ODOO_DB, username: e.ODOO_USERNAME };
      return e.ODOO_DB && e.ODOO_USERNAME ? { ...settings, api: 'xmlrpc' as const, db: e.ODOO_DB, username: e.ODOO_USERNAME } : undefined;
    }),
  /** Outgoing e-mail, when SMTP_URL is set. */
  mail: z
    .object({ SMTP_URL: z.url().optional(), MAIL_FROM: z.string().min(3).default('Order Hub <noreply@order-hub.local>') })
    .transform((e) => (e.SMTP_URL ? { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM } : undefined)),
  /** Channel callbacks: how long a channel gets to answer, the retry schedule, and whether local addresses are allowed. */
  callbacks: z
    .object({
      CALLBACK_TIMEOUT_MS: intFromEnv(15_000, 1),
      /** Delays between attempts (Standard Webhooks' schedule): numbers with ms, s, m or h. */
      CALLBACK_RETRY_SCHEDULE: z
        .string()
        .default('5s,5m,30m,2h,5h,10h,10h')
        .transform((text, ctx) => {
          const delays = text.split(',').map((part) => durationMs(part.trim()));
          if (delays.length === 0 || delays.some((delay) => delay === undefined)) {
            ctx.addIssue({ code: 'custom', message: 'expected comma-separated durations such as 5s,5m,30m,2h' });
            return z.NEVER;
          }
          return delays as number[];
        }),
      /** Plain HTTP and private or loopback callback URLs (local runs only; `npm start` sets it). */
      CALLBACK_ALLOW_PRIVATE: boolFromEnv(false),
    })
    .transform((e) => ({ timeoutMs: e.CALLBACK_TIMEOUT_MS, schedule: e.CALLBACK_RETRY_SCHEDULE, allowPrivate: e.CALLBACK_ALLOW_PRIVATE })),
  /**
   * Browser front ends on other origins that may call the API: comma-separated origins
   * (`https://app.example.com`, scheme, host and port only) or `*` for any; none by default.
   */
  cors: z
    .object({
      CORS_ORIGINS: z
        .string()
        .default('')
        .transform((text) =>
          text
            .split(',')
            .map((part) => part.trim())
            .filter(Boolean),
        )
        .pipe(z.array(z.string().refine(isOrigin, 'expected origins such as https://app.example.com (scheme, host and port; no path), or *'))),
    })
    .transform((e) => ({ origins: e.CORS_ORIGINS })),
  /** What health reports for each integration. */
  integrations: z
    .object({
      STRIPE_API_BASE: z.string().optional(),
      STRIPE_SECRET_KEY: optionalText,
      ODOO_URL: z.string().optional(),
      DRIVER_APP_WEBHOOK_URL: z.string().optional(),
      BTCPAY_URL: z.string().optional(),
    })
    .transform((e) => ({
      stripe: integrationTarget(e.STRIPE_API_BASE, Boolean(e.STRIPE_SECRET_KEY)),
      btcpay: integrationTarget(e.BTCPAY_URL, false),
      odoo: integrationTarget(e.ODOO_URL, false),
      driverApp: integrationTarget(e.DRIVER_APP_WEBHOOK_URL, false),
    })),
};

/** The configuration the platform reads. */
export type PlatformConfig = ConfigOf<typeof platformConcerns>;

// ---- Composition.

/** A set of concerns, each a schema from the environment to its part of the configuration. */
export type Concerns = Record<string, z.ZodType<unknown, Record<string, unknown>>>;

/** The configuration a set of concerns yields. */
export type ConfigOf<C extends Concerns> = { [K in keyof C]: z.output<C[K]> };

/** Thrown at start-up; the message names every bad variable and never echoes a value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment with every concern; throws one ConfigError listing every bad variable. */
export function parseConcerns<C extends Concerns>(concerns: C, env: Record<string, string | undefined>): ConfigOf<C> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(concerns)) {
    const parsed = schema.safeParse(env);
    // Issue messages are built from our schemas, not from the input: no secret can leak here.
    if (parsed.success) config[name] = parsed.data;
    else problems.push(...parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return config as ConfigOf<C>;
}
