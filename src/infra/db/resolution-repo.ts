import type { Pool } from 'pg';

/** What resolving a unit to a version reads: one indexed row per call, as callers may ask on every start. */
export class ResolutionRepo {
  constructor(private readonly pool: Pool) {}

  /** The function's active version; null when it has none, undefined when the tenant has no such function. */
  async activeVersion(tenantId: string, functionName: string): Promise<number | null | undefined> {
    const { rows } = await this.pool.query<{ current_version: number | null }>(
      'SELECT current_version FROM functions WHERE tenant_id = $1 AND name = $2',
      [tenantId, functionName],
    );
    return rows.length === 0 ? undefined : rows[0]!.current_version;
  }
}
