import { OdooClient } from './odoo-client';
import { OdooJson2Client } from './odoo-json2-client';
import type { OdooTransport } from './odoo-transport';

/**
 * How to reach Odoo as configured (ODOO_API, ODOO_URL, ODOO_DB, ODOO_USERNAME, ODOO_PASSWORD,
 * ODOO_TIMEOUT_MS): XML-RPC logs in with a user and a password or API key; JSON-2 sends the API key
 * with every call and needs no user (the database only where the host name does not pick one).
 */
export type OdooConnection =
  | { api: 'xmlrpc'; url: string; db: string; username: string; password: string; timeoutMs?: number }
  | { api: 'json2'; url: string; db?: string; username?: string; password: string; timeoutMs?: number };

/** The client of the configured API. */
export function odooTransport(connection: OdooConnection): OdooTransport {
  if (connection.api === 'json2') {
    return new OdooJson2Client({ url: connection.url, apiKey: connection.password, db: connection.db, timeoutMs: connection.timeoutMs });
  }
  return new OdooClient(connection);
}

/** The API's name for people: in messages and logs. */
export const ODOO_API_NAMES = { xmlrpc: 'XML-RPC', json2: 'JSON-2' } as const;
