import type { IntegrationTarget } from '../config';

/** One part's answer to "can you be reached?". */
export type Probe = () => Promise<boolean>;

/** An integration's answer to "do you take our credentials?"; a refusal says why, never with a secret. */
export type CredentialCheck = { ok: true } | { ok: false; reason: string };

/** Asks an integration one cheap authenticated question; should give up when `signal` aborts. */
export type CredentialProbe = (signal: AbortSignal) => Promise<CredentialCheck>;

/** The integrations health reports on besides the infrastructure. */
export type IntegrationName = 'stripe' | 'btcpay' | 'odoo' | 'driverApp';

export interface HealthDeps {
  /** Infrastructure parts we can probe: Service Bus and Table Storage. */
  probes: { serviceBus: Probe; tables: Probe };
  /** Whether each probed part is a local sandbox (Azurite, the in-memory broker) or the real service. */
  local: { serviceBus: boolean; tables: boolean };
  /** Integrations configured as a real endpoint, a sandbox, or not at all. */
  integrations: Record<IntegrationName, IntegrationTarget>;
  /** Credential checks of the configured integrations (`cachedCredentialCheck`): a refused one is `unavailable`. */
  credentials?: Partial<Record<IntegrationName, () => Promise<CredentialCheck>>>;
  lastSync?: () => Promise<{ odoo: string | null; driverApp: string | null }>;
  /** Which of its APIs each integration is reached over, where there is a choice (Odoo: `xmlrpc` or `json2`). */
  transports?: Partial<Record<IntegrationName, string>>;
  timeoutMs: number;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  integrations: Record<IntegrationName | 'serviceBus' | 'tables', IntegrationTarget>;
  /** Why an integration whose credentials were checked is `unavailable`; only present when one is. */
  reasons?: Partial<Record<IntegrationName, string>>;
  lastSync: { odoo: string | null; driverApp: string | null };
  /** Which API each integration is reached over, where there is a choice; only present when one has. */
  transports?: Partial<Record<IntegrationName, string>>;
  checkedAt: string;
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a credential check's answer is reused: health stays fast and the far side is asked at most twice a minute. */
export const CREDENTIAL_CHECK_TTL_MS = 30_000;

/**
 * A credential probe bounded by `timeoutMs` and its answer reused for `ttlMs`; callers that come
 * while one is running share it. A probe that throws or does not answer in time is a refusal
 * with that reason, under the integration's `name`.
 */
export function cachedCredentialCheck(
  name: string,
  probe: CredentialProbe,
  options: { timeoutMs: number; ttlMs?: number; now?: () => number },
): () => Promise<CredentialCheck> {
  const ttlMs = options.ttlMs ?? CREDENTIAL_CHECK_TTL_MS;
  const now = options.now ?? Date.now;
  let last: { at: number; check: Promise<CredentialCheck> } | undefined;
  const run = async (): Promise<CredentialCheck> => {
    const controller = new AbortController();
    const timedOut: CredentialCheck = { ok: false, reason: `${name} did not answer within ${options.timeoutMs} ms` };
    const answer = probe(controller.signal).catch((): CredentialCheck => ({ ok: false, reason: `${name} could not be reached` }));
    const check = await withTimeout(answer, options.timeoutMs, timedOut);
    if (check === timedOut) controller.abort();
    return check;
  };
  return () => {
    if (!last || now() - last.at >= ttlMs) last = { at: now(), check: run() };
    return last.check;
  };
}

const NEVER = { odoo: null, driverApp: null };

/**
 * Probes the infrastructure and checks the integrations' credentials in parallel. "degraded" when
 * a part the app cannot work without is down; an integration that refuses our credentials is
 * `unavailable` with its reason (its jobs wait and retry, so the app itself stays up).
 */
export async function checkHealth(deps: HealthDeps, now = new Date()): Promise<HealthReport> {
  const checked = Object.entries(deps.credentials ?? {}) as Array<[IntegrationName, () => Promise<CredentialCheck>]>;
  const [serviceBusUp, tablesUp, lastSync, checks] = await Promise.all([
    withTimeout(
      deps.probes.serviceBus().catch(() => false),
      deps.timeoutMs,
      false,
    ),
    withTimeout(
      deps.probes.tables().catch(() => false),
      deps.timeoutMs,
      false,
    ),
    // Unknown sync times are not a reason to fail the health answer itself.
    (deps.lastSync?.() ?? Promise.resolve(NEVER)).catch(() => NEVER),
    Promise.all(checked.map(async ([integration, check]) => [integration, await check()] as const)),
  ]);
  const state = (up: boolean, local: boolean): IntegrationTarget => (!up ? 'unavailable' : local ? 'sandbox' : 'connected');
  const integrations = { ...deps.integrations };
  const reasons: Partial<Record<IntegrationName, string>> = {};
  for (const [integration, check] of checks) {
    if (check.ok) continue;
    integrations[integration] = 'unavailable';
    reasons[integration] = check.reason;
  }
  return {
    status: serviceBusUp && tablesUp ? 'ok' : 'degraded',
    integrations: {
      ...integrations,
      serviceBus: state(serviceBusUp, deps.local.serviceBus),
      tables: state(tablesUp, deps.local.tables),
    },
    ...(Object.keys(reasons).length > 0 ? { reasons } : {}),
    lastSync,
    ...(deps.transports && Object.keys(deps.transports).length > 0 ? { transports: deps.transports } : {}),
    checkedAt: now.toISOString(),
  };
}
