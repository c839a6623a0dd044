import * as z from 'zod';
import { checkHealth, type HealthDeps } from '../shared/platform/health';
import { defineHttp, type HttpFunctionDef } from '../shared/function-table';

const state = z.enum(['connected', 'sandbox', 'unavailable']);
const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  integrations: z.object({ stripe: state, btcpay: state, odoo: state, driverApp: state, serviceBus: state, tables: state }),
  /** Why an integration is `unavailable` when it refused our credentials or did not answer the check. */
  reasons: z.object({ stripe: z.string(), btcpay: z.string(), odoo: z.string(), driverApp: z.string() }).partial().optional(),
  lastSync: z.object({ odoo: z.string().nullable(), driverApp: z.string().nullable() }),
  /** Which API an integration is reached over, where there is a choice: Odoo's XML-RPC or JSON-2 (ODOO_API). */
  transports: z
    .object({ odoo: z.enum(['xmlrpc', 'json2']) })
    .partial()
    .optional(),
  checkedAt: z.string(),
});

/** `GET /api/health` and `GET /api/v1/health`: 200 when healthy, 503 when a required part is down. */
export function healthFunctions(deps: HealthDeps): HttpFunctionDef[] {
  const handler = async () => {
    const report = await checkHealth(deps);
    return { status: report.status === 'ok' ? 200 : 503, headers: { 'Cache-Control': 'no-store' }, body: report };
  };
  const responses = {
    200: { description: 'Every required part is reachable', schema: healthSchema },
    503: { description: 'Service Bus or Table Storage is unreachable', schema: healthSchema },
  };
  return [
    defineHttp({ kind: 'http', name: 'health', route: 'health', methods: ['GET'], summary: 'Health', tags: ['ops'], responses, handler }),
    defineHttp({ kind: 'http', name: 'health-v1', route: 'v1/health', methods: ['GET'], summary: 'Health', tags: ['ops'], responses, handler }),
  ];
}
