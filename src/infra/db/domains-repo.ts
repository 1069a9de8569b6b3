import type { Pool } from 'pg';
import { BUILTIN_DOMAINS, DomainSettings, getDomain } from '../../poet/domains';

export interface DomainEntry {
  settings: DomainSettings;
  builtin: boolean;
}

/** Built-in domains (code) and each tenant's custom domains (PostgreSQL), looked up as one namespace. */
export class DomainsRepo {
  constructor(private readonly pool: Pool) {}

  async resolve(tenantId: string, name: string): Promise<DomainEntry | undefined> {
    const builtin = getDomain(name);
    if (builtin) return { settings: builtin, builtin: true };
    const res = await this.pool.query<{ settings: unknown }>(
      'SELECT settings FROM domains WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    return res.rows[0] ? { settings: DomainSettings.parse(res.rows[0].settings), builtin: false } : undefined;
  }

  async list(tenantId: string): Promise<DomainEntry[]> {
    const res = await this.pool.query<{ settings: unknown }>(
      'SELECT settings FROM domains WHERE tenant_id = $1 ORDER BY name',
      [tenantId],
    );
    return [
      ...Object.values(BUILTIN_DOMAINS).map((settings) => ({ settings, builtin: true })),
      ...res.rows.map((row) => ({ settings: DomainSettings.parse(row.settings), builtin: false })),
    ];
  }

  /** False when the tenant already has a domain of that name. */
  async create(tenantId: string, settings: DomainSettings): Promise<boolean> {
    const res = await this.pool.query(
      'INSERT INTO domains (tenant_id, name, settings) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [tenantId, settings.name, JSON.stringify(settings)],
    );
    return res.rowCount === 1;
  }

  /** False when there is no such custom domain. */
  async replace(tenantId: string, settings: DomainSettings): Promise<boolean> {
    const res = await this.pool.query(
      'UPDATE domains SET settings = $3, updated_at = now() WHERE tenant_id = $1 AND name = $2',
      [tenantId, settings.name, JSON.stringify(settings)],
    );
    return res.rowCount === 1;
  }

  async delete(tenantId: string, name: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM domains WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
    return res.rowCount === 1;
  }
}
