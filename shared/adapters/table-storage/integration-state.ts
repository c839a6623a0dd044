import type { TableClient } from '@azure/data-tables';
import { isTableError, tableCall } from './tables';

/** The logical table name (prefixed by TableStore). */
export const INTEGRATION_STATE_TABLE = 'IntegrationState';

export type Integration = 'odoo' | 'driverApp';

/** When each integration last took our data (health's `lastSync`); one small row per integration. */
export class TableIntegrationState {
  constructor(private readonly client: TableClient) {}

  async recordSync(integration: Integration, at: Date): Promise<void> {
    await tableCall(`record ${integration} sync`, () =>
      this.client.upsertEntity({ partitionKey: 'sync', rowKey: integration, lastSyncAt: at.toISOString() }, 'Merge'),
    );
  }

  async lastSync(): Promise<{ odoo: string | null; driverApp: string | null }> {
    const read = async (integration: Integration) => {
      try {
        const row = await tableCall('read sync state', () => this.client.getEntity<{ lastSyncAt: string }>('sync', integration));
        return row.lastSyncAt;
      } catch (error) {
        if (isTableError(error, 'notFound')) return null;
        throw error;
      }
    };
    const [odoo, driverApp] = await Promise.all([read('odoo'), read('driverApp')]);
    return { odoo, driverApp };
  }
}
