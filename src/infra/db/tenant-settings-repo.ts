import type { Pool } from 'pg';
import { DEFAULT_TENANT_SETTINGS, TenantSettings } from '../../contracts/tenant-settings';

/** One settings document per tenant; read through the schema, so a setting added later takes its default. */
export class TenantSettingsRepo {
  constructor(private readonly pool: Pool) {}

  async get(tenantId: string): Promise<TenantSettings> {
    const { rows } = await this.pool.query<{ settings: unknown }>(
      'SELECT settings FROM tenant_settings WHERE tenant_id = $1',
      [tenantId],
    );
    return rows[0] ? TenantSettings.parse(rows[0].settings) : DEFAULT_TENANT_SETTINGS;
  }

  async put(tenantId: string, settings: TenantSettings): Promise<TenantSettings> {
    await this.pool.query(
      `INSERT INTO tenant_settings (tenant_id, settings) VALUES ($1, $2)
       ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = now()`,
      [tenantId, JSON.stringify(settings)],
    );
    return settings;
  }
}
