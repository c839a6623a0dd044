import type { CredentialProbe } from '../../platform/health';
import { OdooClient, OdooError, type OdooSettings } from './odoo-client';

/**
 * Health's credential check for Odoo: `common.authenticate` with a client of its own, so a uid the
 * app's client cached before a password change does not hide the refusal. Odoo answers a wrong
 * login or password with `false`, which the client reports as ODOO_BAD_CREDENTIALS.
 */
export function odooCredentialProbe(settings: OdooSettings): CredentialProbe {
  return async () => {
    const client = new OdooClient(settings);
    try {
      await client.authenticate();
      return { ok: true };
    } catch (error) {
      // The client's messages name the server, database and user, never the password.
      if (error instanceof OdooError) return { ok: false, reason: error.message };
      throw error;
    } finally {
      client.close();
    }
  };
}
