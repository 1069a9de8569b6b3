import type { Pool, PoolClient } from 'pg';
import type { EnhancedArtifact, EnhanceRequest, JsonValue, VersionTrigger } from '../../contracts/enhance';
import type { FunctionSummary, VersionDetail, VersionSummary } from '../../contracts/versions';
import {
  ARTIFACT_FILES,
  RUNTIME_FILE,
  type ArtifactFile,
  type ArtifactStore,
  type StorageKind,
  type VersionRef,
} from '../storage/artifact-store';
import { FieldCipher } from '../crypto/field-cipher';
import { sha256 } from '../hash';
import { withTransaction } from './pool';

/** What a version records it was made by; activations make none. */
export type CreationTrigger = Exclude<VersionTrigger, 'activation'>;

/** One digest of both modules: equal digests, byte-identical versions. */
export const codeDigest = (artifact: Pick<EnhancedArtifact, 'python' | 'dana'>) =>
  sha256(`${sha256(artifact.python)}${sha256(artifact.dana)}`);

export interface NewVersion {
  tenantId: string;
  functionName: string;
  /** Unique per run: a retried store finds the row its first attempt committed. */
  idempotencyKey: string;
  /** The input it answers: a regeneration answers its parent's, so the lineage of an input stays findable. */
  inputHash: string;
  normalizedInputHash?: string;
  parentVersion: number | null;
  trigger: CreationTrigger;
  request: EnhanceRequest;
  domain: string;
  optimizeFor: string | null;
  safetyLevel: string;
  artifact: EnhancedArtifact;
  /** The poet_runtime the module imports, written beside it; absent for modules that embed their runtime. */
  runtimeSource?: string;
  metadata: Record<string, JsonValue>;
  /** A candidate a rollout will expose gradually: stored beside the active version, which stays active. */
  inactive?: boolean;
}

export interface StoredVersion {
  version: number;
  /** False when the active version already answers this input or holds this very code. */
  created: boolean;
  deprecated: number | null;
  /** Why a request made no version: the active one answers its input, or is byte-identical to its module. */
  reused?: { relation: 'same_input' | 'identical_code'; active: ActiveVersion };
}

/** The active version as lineage sees it: what it answers and how it came to be. */
export interface ActiveVersion {
  version: number;
  input_hash: string;
  normalized_input_hash: string | null;
  enhancer_version: string;
  code_sha256: string | null;
  trigger: CreationTrigger;
  parent_version: number | null;
  /** Made active by a rollback or roll forward rather than by its creation. */
  reactivated: boolean;
  request: EnhanceRequest | null;
  metadata: Record<string, JsonValue>;
  params: Record<string, JsonValue>;
  provider: string;
  storage: StorageKind;
}

const ACTIVE_COLUMNS = `v.version, v.input_hash, v.normalized_input_hash, v.enhancer_version, v.code_sha256, v.trigger,
  v.parent_version, v.activated_at IS DISTINCT FROM v.created_at AS reactivated, v.request, v.metadata, v.params,
  v.provider, v.storage`;

/** The active version's row as regeneration needs it. */
export interface VersionSource {
  status: 'active' | 'deprecated';
  request: EnhanceRequest | null;
  input_hash: string;
  normalized_input_hash: string | null;
  trigger: CreationTrigger;
  parent_version: number | null;
  params: Record<string, JsonValue>;
}

interface VersionRow {
  version: number;
  status: 'active' | 'deprecated';
  created_at: Date;
  domain: string;
  provider: string;
  safety_level: string;
  storage: StorageKind;
  trigger: CreationTrigger;
  parent_version: number | null;
  feedback_count: number;
  success_rate: number | null;
  avg_duration: number | null;
  error_rate: number | null;
}

const SUMMARY_COLUMNS = `v.version, v.status, v.created_at, v.domain, v.provider, v.safety_level, v.storage,
  v.trigger, v.parent_version,
  COALESCE(m.feedback_count, 0)::int AS feedback_count, m.success_rate, m.avg_duration, m.error_rate`;
// Feedback metrics per version: means of what clients reported; a duplicate report is one row, counted once.
const METRICS_JOIN = `LEFT JOIN (
    SELECT version, count(*) AS feedback_count,
           avg((metrics->>'success_rate')::float8) AS success_rate,
           avg((metrics->>'avg_duration')::float8) AS avg_duration,
           avg((metrics->>'error_rate')::float8) AS error_rate
      FROM feedback WHERE tenant_id = $1 AND function_name = $2 GROUP BY version
  ) m ON m.version = v.version`;

function summary(row: VersionRow): VersionSummary {
  return {
    version: row.version,
    status: row.status,
    created_at: row.created_at.toISOString(),
    domain: row.domain,
    provider: row.provider,
    safety_level: row.safety_level,
    storage: row.storage,
    trigger: row.trigger,
    parent_version: row.parent_version,
    metrics: {
      success_rate: row.success_rate,
      avg_duration: row.avg_duration,
      error_rate: row.error_rate,
      feedback_count: row.feedback_count,
    },
  };
}

/** Members of `metadata` encrypted at rest: the feedback-derived guidance; the rest stays queryable (runtime_version). */
export const SEALED_METADATA = ['guidance'] as const;

export class VersionsRepo {
  constructor(
    private readonly pool: Pool,
    private readonly store: ArtifactStore,
    /** Encrypts params, request and guidance at rest; without a key ring, plaintext as before. */
    private readonly cipher: FieldCipher = new FieldCipher(undefined),
  ) {}

  private openActive<T extends ActiveVersion>(row: T): T {
    return {
      ...row,
      request: this.cipher.openJson(row.request),
      params: this.cipher.openJson(row.params),
      metadata: this.cipher.openMembers(row.metadata, SEALED_METADATA),
    };
  }

  /**
   * The function's active version, with what it answers and how many feedback examples the function has (what a
   * cached validation is checked against: read here, a hit needs no second query); undefined before its first
   * version. One read, no lock.
   */
  async activeVersion(
    tenantId: string,
    functionName: string,
  ): Promise<(ActiveVersion & { feedback_examples: number }) | undefined> {
    const { rows } = await this.pool.query<ActiveVersion & { feedback_examples: number }>(
      `SELECT ${ACTIVE_COLUMNS},
              (SELECT count(*)::int FROM feedback_examples e
                WHERE e.tenant_id = f.tenant_id AND e.function_name = f.name) AS feedback_examples
         FROM functions f
         JOIN versions v ON v.tenant_id = f.tenant_id AND v.function_name = f.name AND v.version = f.current_version
        WHERE f.tenant_id = $1 AND f.name = $2`,
      [tenantId, functionName],
    );
    return rows[0] && this.openActive(rows[0]);
  }

  /** A version's python and dana modules as stored. */
  async readCode(ref: VersionRef, storage: StorageKind): Promise<{ python: string; dana: string }> {
    const [python, dana] = await Promise.all([
      this.store.readFile(ref, 'code.py', storage),
      this.store.readFile(ref, 'code.dana', storage),
    ]);
    return { python, dana };
  }

  async storeVersion(v: NewVersion): Promise<StoredVersion> {
    const stored = await withTransaction(this.pool, async (tx) => {
      const own = await tx.query<{ version: number; current_version: number; replaced_version: number | null }>(
        `SELECT v.version, f.current_version, v.replaced_version FROM versions v
           JOIN functions f ON f.tenant_id = v.tenant_id AND f.name = v.function_name
          WHERE v.idempotency_key = $1`,
        [v.idempotencyKey],
      );
      if (own.rows[0]) {
        // A retry after this run's own commit (the worker died before reporting): answer as the first attempt did.
        const { version, current_version, replaced_version } = own.rows[0];
        return { version, created: true, deprecated: replaced_version, isCurrent: version === current_version };
      }

      await tx.query('INSERT INTO functions (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        v.tenantId,
        v.functionName,
      ]);
      const current = await this.lockFunction(tx, v.tenantId, v.functionName);
      const digest = codeDigest(v.artifact);
      // A request never replaces the active version with the same answer: not when it answers this very input (by
      // this enhancer), not when its module is byte-identical. Feedback and re-evaluation always make a new version.
      if (current !== null && v.trigger === 'request') {
        const active = await tx.query<ActiveVersion>(
          `SELECT ${ACTIVE_COLUMNS} FROM versions v WHERE v.tenant_id = $1 AND v.function_name = $2 AND v.version = $3`,
          [v.tenantId, v.functionName, current],
        );
        const row = active.rows[0] && this.openActive(active.rows[0]);
        const relation: NonNullable<StoredVersion['reused']>['relation'] | undefined =
          row?.input_hash === v.inputHash && row.enhancer_version === v.artifact.enhancer_version
            ? 'same_input'
            : row?.code_sha256 === digest
              ? 'identical_code'
              : undefined;
        if (row && relation)
          return {
            version: current,
            created: false,
            deprecated: null,
            isCurrent: true,
            reused: { relation, active: row },
          };
      }

      const next = await tx.query<{ next: number }>(
        'SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE tenant_id = $1 AND function_name = $2',
        [v.tenantId, v.functionName],
      );
      const version = next.rows[0]!.next;
      const written = await this.store.writeVersion(
        { tenantId: v.tenantId, functionName: v.functionName, version },
        {
          'code.py': v.artifact.python,
          'code.dana': v.artifact.dana,
          'params.json': `${JSON.stringify(v.artifact.params, null, 2)}\n`,
          'metadata.json': `${JSON.stringify({ version, ...v.metadata }, null, 2)}\n`,
          ...(v.runtimeSource !== undefined ? { [RUNTIME_FILE]: v.runtimeSource } : {}),
        },
      );
      const activate = !v.inactive || current === null;
      if (activate)
        await tx.query(
          `UPDATE versions SET status = 'deprecated' WHERE tenant_id = $1 AND function_name = $2 AND status = 'active'`,
          [v.tenantId, v.functionName],
        );
      await tx.query(
        `INSERT INTO versions (tenant_id, function_name, version, status, idempotency_key, input_hash, domain, optimize_for,
                               provider, enhancer_version, safety_level, params, metadata, artifact_path, request, storage,
                               activated_at, replaced_version, normalized_input_hash, parent_version, trigger, code_sha256,
                               key_id, artifact_key_id)
         VALUES ($1, $2, $3, $23, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                 CASE WHEN $23 = 'active' THEN now() END, $16, $17, $18, $19, $20, $21, $22)`,
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
          this.cipher.sealJson(v.artifact.params),
          JSON.stringify(this.cipher.sealMembers(v.metadata, SEALED_METADATA)),
          written.location,
          this.cipher.sealJson(v.request),
          written.storage,
          activate ? current : null,
          v.normalizedInputHash ?? null,
          v.parentVersion,
          v.trigger,
          digest,
          this.cipher.activeKeyId ?? null,
          written.keyId ?? null,
          activate ? 'active' : 'deprecated',
        ],
      );
      if (!activate) return { version, created: true, deprecated: null, isCurrent: false };
      await this.setCurrentVersion(tx, v.tenantId, v.functionName, version);
      return { version, created: true, deprecated: current, isCurrent: true };
    });
    // After commit, on every path: a crash between commit and link is mended by the activity's retry.
    if (stored.isCurrent) await this.linkCurrent(v.tenantId, v.functionName);
    const { version, created, deprecated } = stored;
    return { version, created, deprecated, ...('reused' in stored ? { reused: stored.reused } : {}) };
  }

  /**
   * Makes `version` the active one (rollback or roll forward); exactly one version stays active.
   * Undefined when the function or version does not exist.
   */
  async activate(ref: VersionRef): Promise<{ current: number; previous: number | null } | undefined> {
    const result = await withTransaction(this.pool, async (tx) => {
      const previous = await this.lockFunction(tx, ref.tenantId, ref.functionName);
      const exists = await tx.query(
        'SELECT 1 FROM versions WHERE tenant_id = $1 AND function_name = $2 AND version = $3',
        [ref.tenantId, ref.functionName, ref.version],
      );
      if (exists.rowCount === 0) return undefined;
      if (previous !== ref.version) {
        await tx.query(
          `UPDATE versions SET status = 'deprecated' WHERE tenant_id = $1 AND function_name = $2 AND status = 'active'`,
          [ref.tenantId, ref.functionName],
        );
        await tx.query(
          `UPDATE versions SET status = 'active', activated_at = now() WHERE tenant_id = $1 AND function_name = $2 AND version = $3`,
          [ref.tenantId, ref.functionName, ref.version],
        );
        await this.setCurrentVersion(tx, ref.tenantId, ref.functionName, ref.version);
      }
      return { current: ref.version, previous };
    });
    if (result) await this.linkCurrent(ref.tenantId, ref.functionName);
    return result;
  }

  async listFunctions(tenantId: string, opts: { limit: number; after?: string }): Promise<FunctionSummary[]> {
    const res = await this.pool.query<{
      name: string;
      current_version: number | null;
      version_count: number;
      created_at: Date;
      updated_at: Date;
    }>(
      `SELECT f.name, f.current_version, f.created_at, f.updated_at,
              (SELECT count(*) FROM versions v WHERE v.tenant_id = f.tenant_id AND v.function_name = f.name)::int AS version_count
         FROM functions f
        WHERE f.tenant_id = $1 AND ($2::text IS NULL OR f.name > $2)
        ORDER BY f.name LIMIT $3`,
      [tenantId, opts.after ?? null, opts.limit],
    );
    return res.rows.map((r) => ({
      function_name: r.name,
      current_version: r.current_version,
      version_count: r.version_count,
      created_at: r.created_at.toISOString(),
      updated_at: r.updated_at.toISOString(),
    }));
  }

  async getFunction(
    tenantId: string,
    name: string,
  ): Promise<(FunctionSummary & { versions: VersionSummary[] }) | undefined> {
    const fn = await this.pool.query<{ current_version: number | null; created_at: Date; updated_at: Date }>(
      'SELECT current_version, created_at, updated_at FROM functions WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    const row = fn.rows[0];
    if (!row) return undefined;
    const versions = await this.pool.query<VersionRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM versions v ${METRICS_JOIN}
        WHERE v.tenant_id = $1 AND v.function_name = $2 ORDER BY v.version`,
      [tenantId, name],
    );
    return {
      function_name: name,
      current_version: row.current_version,
      version_count: versions.rows.length,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
      versions: versions.rows.map(summary),
    };
  }

  async getVersion(ref: VersionRef): Promise<VersionDetail | undefined> {
    const res = await this.pool.query<
      VersionRow & { params: Record<string, JsonValue>; metadata: Record<string, JsonValue> }
    >(
      `SELECT ${SUMMARY_COLUMNS}, v.params, v.metadata FROM versions v ${METRICS_JOIN}
        WHERE v.tenant_id = $1 AND v.function_name = $2 AND v.version = $3`,
      [ref.tenantId, ref.functionName, ref.version],
    );
    const row = res.rows[0];
    if (!row) return undefined;
    const [python, dana] = await Promise.all([
      this.store.readFile(ref, 'code.py', row.storage),
      this.store.readFile(ref, 'code.dana', row.storage),
    ]);
    const urls = await Promise.all(ARTIFACT_FILES.map((file) => this.store.downloadUrl(ref, file, row.storage)));
    const downloads = urls.every((u): u is string => u !== null)
      ? (Object.fromEntries(ARTIFACT_FILES.map((file, i) => [file, urls[i]])) as Record<ArtifactFile, string>)
      : null;
    return {
      ...summary(row),
      function_name: ref.functionName,
      code: { python, dana },
      params: this.cipher.openJson(row.params),
      metadata: this.cipher.openMembers(row.metadata, SEALED_METADATA),
      downloads,
    };
  }

  /**
   * The poet_runtime a version's folder ships (the file it was validated with), or `embedded` for a version whose
   * code carries its own runtime; undefined when there is no such version.
   */
  async runtime(ref: VersionRef): Promise<{ version: string; source: string } | 'embedded' | undefined> {
    const res = await this.pool.query<{ runtime_version: string | null; storage: StorageKind }>(
      `SELECT metadata->>'runtime_version' AS runtime_version, storage FROM versions
        WHERE tenant_id = $1 AND function_name = $2 AND version = $3`,
      [ref.tenantId, ref.functionName, ref.version],
    );
    const row = res.rows[0];
    if (!row) return undefined;
    if (row.runtime_version === null) return 'embedded';
    return { version: row.runtime_version, source: await this.store.readFile(ref, RUNTIME_FILE, row.storage) };
  }

  async versionSource(ref: VersionRef): Promise<VersionSource | undefined> {
    const res = await this.pool.query<VersionSource>(
      `SELECT status, request, input_hash, normalized_input_hash, trigger, parent_version, params FROM versions
        WHERE tenant_id = $1 AND function_name = $2 AND version = $3`,
      [ref.tenantId, ref.functionName, ref.version],
    );
    const row = res.rows[0];
    return row && { ...row, request: this.cipher.openJson(row.request), params: this.cipher.openJson(row.params) };
  }

  /**
   * Points the store's `current` at the function's active version as committed now. Each caller links after its own
   * commit, under the function's row lock: the last link made reads the newest commit, so concurrent activations
   * cannot leave `current` on an older version by linking out of commit order.
   */
  private async linkCurrent(tenantId: string, functionName: string): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      const current = await this.lockFunction(tx, tenantId, functionName);
      if (current !== null) await this.store.setCurrent({ tenantId, functionName, version: current });
    });
  }

  /** The row lock serializes version changes per function: concurrent runs never share or skip a number. */
  private async lockFunction(tx: PoolClient, tenantId: string, name: string): Promise<number | null> {
    const fn = await tx.query<{ current_version: number | null }>(
      'SELECT current_version FROM functions WHERE tenant_id = $1 AND name = $2 FOR UPDATE',
      [tenantId, name],
    );
    return fn.rows[0]?.current_version ?? null;
  }

  private async setCurrentVersion(tx: PoolClient, tenantId: string, name: string, version: number): Promise<void> {
    await tx.query('UPDATE functions SET current_version = $3, updated_at = now() WHERE tenant_id = $1 AND name = $2', [
      tenantId,
      name,
      version,
    ]);
  }
}
