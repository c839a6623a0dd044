import type { IntegrationTarget } from '../config';

/** One part's answer to "can you be reached?". */
export type Probe = () => Promise<boolean>;

export interface HealthDeps {
  /** Infrastructure parts we can probe: Service Bus and Table Storage. */
  probes: { serviceBus: Probe; tables: Probe };
  /** Whether each probed part is a local sandbox (Azurite, the in-memory broker) or the real service. */
  local: { serviceBus: boolean; tables: boolean };
  /** Integrations configured as a real endpoint, a sandbox, or not at all. */
  integrations: { stripe: IntegrationTarget; btcpay: IntegrationTarget; odoo: IntegrationTarget; driverApp: IntegrationTarget };
  lastSync?: () => Promise<{ odoo: string | null; driverApp: string | null }>;
  timeoutMs: number;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  integrations: Record<'stripe' | 'btcpay' | 'odoo' | 'driverApp' | 'serviceBus' | 'tables', IntegrationTarget>;
  lastSync: { odoo: string | null; driverApp: string | null };
  checkedAt: string;
}

async function withTimeout(probe: Probe, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([probe().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const NEVER = { odoo: null, driverApp: null };

/** Probes the infrastructure in parallel; "degraded" when a part the app cannot work without is down. */
export async function checkHealth(deps: HealthDeps, now = new Date()): Promise<HealthReport> {
  const [serviceBusUp, tablesUp, lastSync] = await Promise.all([
    withTimeout(deps.probes.serviceBus, deps.timeoutMs),
    withTimeout(deps.probes.tables, deps.timeoutMs),
    // Unknown sync times are not a reason to fail the health answer itself.
    (deps.lastSync?.() ?? Promise.resolve(NEVER)).catch(() => NEVER),
  ]);
  const state = (up: boolean, local: boolean): IntegrationTarget => (!up ? 'unavailable' : local ? 'sandbox' : 'connected');
  return {
    status: serviceBusUp && tablesUp ? 'ok' : 'degraded',
    integrations: {
      ...deps.integrations,
      serviceBus: state(serviceBusUp, deps.local.serviceBus),
      tables: state(tablesUp, deps.local.tables),
    },
    lastSync,
    checkedAt: now.toISOString(),
  };
}
