import type { Pool } from 'pg';
import type { EnhancedArtifact, JsonValue } from '../contracts/enhance';
import type { ArtifactStore } from './artifact-store';
import { withTransaction } from './db';

export interface NewVersion {
  tenantId: string;
  functionName: string;
  /** Unique per run: a retried store finds the row its first attempt committed. */
  idempotencyKey: string;
  inputHash: string;
  domain: string;
  optimizeFor: string | null;
  safetyLevel: string;
  artifact: EnhancedArtifact;
  metadata: Record<string, JsonValue>;
}

export interface StoredVersion {
  version: number;
  /** False when the run found its own earlier row, or the active version already holds this exact input. */
  created: boolean;
  deprecated: number | null;
}

/**
 * Where a tenant's function lives in the artifact store: `<name>` for the default tenant (the single-tenant layout),
 * `<name>@<tenant>` for the others, so two tenants' functions of one name never share files. `@` is in no Python
 * identifier and tenant ids are [a-z0-9_-], so no two pairs map to one name.
 */
export function artifactName(tenantId: string, functionName: string): string {
  return tenantId === 'default' ? functionName : `${functionName}@${tenantId}`;
}

export class VersionsRepo {
  constructor(
    private readonly pool: Pool,
    private readonly store: ArtifactStore,
  ) {}

  async storeVersion(v: NewVersion): Promise<StoredVersion> {
    const stored = await withTransaction(this.pool, async (tx) => {
      const own = await tx.query<{ version: number; current_version: number }>(
        `SELECT v.version, f.current_version FROM versions v
           JOIN functions f ON f.tenant_id = v.tenant_id AND f.name = v.function_name
          WHERE v.idempotency_key = $1`,
        [v.idempotencyKey],
      );
      if (own.rows[0]) {
        const { version, current_version } = own.rows[0];
        return { version, created: false, deprecated: null, isCurrent: version === current_version };
      }

      await tx.query('INSERT INTO functions (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [v.tenantId, v.functionName]);
      // The row lock serializes version numbering per function: concurrent runs never share or skip a number.
      const fn = await tx.query<{ current_version: number | null }>(
        'SELECT current_version FROM functions WHERE tenant_id = $1 AND name = $2 FOR UPDATE',
        [v.tenantId, v.functionName],
      );
      const current = fn.rows[0]?.current_version ?? null;
      if (current !== null) {
        const active = await tx.query<{ input_hash: string; enhancer_version: string }>(
          `SELECT input_hash, enhancer_version FROM versions
            WHERE tenant_id = $1 AND function_name = $2 AND version = $3`,
          [v.tenantId, v.functionName, current],
        );
        const row = active.rows[0];
        if (row && row.input_hash === v.inputHash && row.enhancer_version === v.artifact.enhancer_version) {
          return { version: current, created: false, deprecated: null, isCurrent: true };
        }
      }

      const next = await tx.query<{ next: number }>(
        'SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE tenant_id = $1 AND function_name = $2',
        [v.tenantId, v.functionName],
      );
      const version = next.rows[0]!.next;
      const artifactPath = await this.store.writeVersion(artifactName(v.tenantId, v.functionName), version, {
        'code.py': v.artifact.python,
        'code.dana': v.artifact.dana,
        'params.json': `${JSON.stringify(v.artifact.params, null, 2)}\n`,
        'metadata.json': `${JSON.stringify({ version, ...v.metadata }, null, 2)}\n`,
      });
      await tx.query(
        `UPDATE versions SET status = 'deprecated' WHERE tenant_id = $1 AND function_name = $2 AND status = 'active'`,
        [v.tenantId, v.functionName],
      );
      await tx.query(
        `INSERT INTO versions (tenant_id, function_name, version, status, idempotency_key, input_hash, domain, optimize_for,
                               provider, enhancer_version, safety_level, params, metadata, artifact_path)
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          v.tenantId,
          v.functionName,
          version,
          v.idempotencyKey,
          v.inputHash,
          v.domain,
          v.optimizeFor,
          v.artifact.provider,
          v.artifact.enhancer_version,
          v.safetyLevel,
          JSON.stringify(v.artifact.params),
          JSON.stringify(v.metadata),
          artifactPath,
        ],
      );
      await tx.query('UPDATE functions SET current_version = $3, updated_at = now() WHERE tenant_id = $1 AND name = $2', [
        v.tenantId,
        v.functionName,
        version,
      ]);
      return { version, created: true, deprecated: current, isCurrent: true };
    });
    // After commit, on every path: a crash between commit and link is mended by the activity's retry.
    if (stored.isCurrent) await this.store.setCurrent(artifactName(v.tenantId, v.functionName), stored.version);
    return { version: stored.version, created: stored.created, deprecated: stored.deprecated };
  }
}
