import type { CredentialProbe } from '../../platform/health';
import { OdooError } from './odoo-errors';
import { type OdooConnection, odooTransport } from './odoo-connection';

/**
 * Health's (and start-up's) credential check for Odoo, over the transport the sync uses: XML-RPC logs
 * in (`common.authenticate`, which Odoo answers with `false` for a wrong login or password), JSON-2
 * asks one cheap question with the API key (401 for a key Odoo does not take). Each check uses a
 * client of its own, so a uid the app's client cached before a password change does not hide the refusal.
 */
export function odooCredentialProbe(connection: OdooConnection): CredentialProbe {
  return async () => {
    const transport = odooTransport(connection);
    try {
      await transport.checkCredentials();
      return { ok: true };
    } catch (error) {
      // The clients' messages name the server, database and user, never the password or key.
      if (error instanceof OdooError) return { ok: false, reason: error.message };
      throw error;
    } finally {
      transport.close();
    }
  };
}
