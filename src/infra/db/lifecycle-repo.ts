import type { Pool, PoolClient } from 'pg';
import type {
  ExportDomain,
  ExportedFunction,
  ExportEvent,
  ExportFeedback,
  ExportVersion,
  VersionFilesRecord,
} from '../../contracts/tenant-lifecycle';
import { FieldCipher } from '../crypto/field-cipher';
import { sha256 } from '../hash';
import type { ArtifactStore, StorageKind } from '../storage/artifact-store';
import { callHash } from './feedback-repo';
import { withTransaction } from './pool';
import { SEALED_METADATA } from './versions-repo';

/** Rows a function delete removed, per table. */
export interface FunctionRowsDeleted {
  versions: number;
  feedback: number;
  events: number;
}

/** The audit log keeps every row; erasure may only rewrite these fields of the erased tenant's rows (the trigger checks). */
const ERASING = { tenant: 'poet.erasing_tenant', pseudonym: 'poet.erasure_pseudonym' } as const;

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** SHA-256 of each file, as the export and the backup manifest record it. */
export function fileDigests(files: VersionFilesRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([name, content]) => [name, sha256(content ?? '')]));
}

/**
 * A tenant's data as a whole: a function removed with all its rows, the tenant read out as export records and
 * restored from them, and the tenant erased.
 */
export class LifecycleRepo {
  constructor(
    private readonly pool: Pool,
    private readonly store: ArtifactStore,
    /** Exports read encrypted fields in plaintext; imports write them as the repositories do. */
    private readonly cipher: FieldCipher = new FieldCipher(undefined),
  ) {}

  /** Undefined when the function does not exist. Locks the function row first, so no version is made meanwhile. */
  async deleteFunction(tenantId: string, name: string): Promise<FunctionRowsDeleted | undefined> {
    return withTransaction(this.pool, async (tx) => {
      const fn = await tx.query('SELECT 1 FROM functions WHERE tenant_id = $1 AND name = $2 FOR UPDATE', [
        tenantId,
        name,
      ]);
      if (fn.rowCount === 0) return undefined;
      const del = async (table: string, column = 'function_name') =>
        (await tx.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND ${column} = $2`, [tenantId, name])).rowCount ??
        0;
      await del('feedback_examples');
      const feedback = await del('feedback');
      await del('evaluations');
      await del('function_rollouts');
      await del('outcome_buckets');
      const events = await del('events');
      const versions = await del('versions');
      await del('functions', 'name');
      return { versions, feedback, events };
    });
  }

  /**
   * Every record of the tenant, read in one REPEATABLE READ snapshot so the export is consistent; a function at a
   * time, so memory holds one function's versions, not the tenant's.
   */
  async *exportRecords(tenantId: string): AsyncGenerator<ExportDomain | ExportedFunction> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const domains = await client.query<{ name: string; settings: ExportDomain['settings'] }>(
        'SELECT name, settings FROM domains WHERE tenant_id = $1 ORDER BY name',
        [tenantId],
      );
      for (const d of domains.rows) yield { kind: 'domain', name: d.name, settings: d.settings };
      const fns = await client.query<{
        name: string;
        current_version: number | null;
        created_at: Date;
        updated_at: Date;
      }>('SELECT name, current_version, created_at, updated_at FROM functions WHERE tenant_id = $1 ORDER BY name', [
        tenantId,
      ]);
      for (const f of fns.rows) {
        yield {
          fn: {
            kind: 'function',
            name: f.name,
            current_version: f.current_version,
            created_at: f.created_at.toISOString(),
            updated_at: f.updated_at.toISOString(),
          },
          versions: await this.exportVersions(client, tenantId, f.name),
          feedback: await exportFeedback(client, tenantId, f.name, this.cipher),
          events: await exportEvents(client, tenantId, f.name),
        };
      }
      await client.query('COMMIT');
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  private async exportVersions(client: PoolClient, tenantId: string, name: string): Promise<ExportVersion[]> {
    const { rows } = await client.query<
      Omit<ExportVersion, 'kind' | 'function_name' | 'files' | 'sha256' | 'created_at' | 'activated_at'> & {
        storage: StorageKind;
        created_at: Date;
        activated_at: Date | null;
      }
    >(
      `SELECT version, status, input_hash, domain, optimize_for, provider, enhancer_version, safety_level, params,
              metadata, request, replaced_version, parent_version, trigger, normalized_input_hash, code_sha256,
              created_at, activated_at, storage
         FROM versions WHERE tenant_id = $1 AND function_name = $2 ORDER BY version`,
      [tenantId, name],
    );
    const out: ExportVersion[] = [];
    for (const { storage, ...row } of rows) {
      const files = await this.store.readVersion({ tenantId, functionName: name, version: row.version }, storage);
      out.push({
        kind: 'version',
        function_name: name,
        ...row,
        params: this.cipher.openJson(row.params),
        metadata: this.cipher.openMembers(row.metadata, SEALED_METADATA),
        request: this.cipher.openJson(row.request),
        created_at: row.created_at.toISOString(),
        activated_at: iso(row.activated_at),
        files,
        sha256: fileDigests(files),
      });
    }
    return out;
  }

  /** False when the tenant already has a domain of that name (left as it is). */
  async importDomain(tenantId: string, d: ExportDomain): Promise<boolean> {
    const res = await this.pool.query(
      'INSERT INTO domains (tenant_id, name, settings) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [tenantId, d.name, JSON.stringify(d.settings)],
    );
    return res.rowCount === 1;
  }

  /**
   * Restores one function with its versions, feedback and events in one transaction; false when the tenant already
   * has a function of that name (then nothing of it is touched, which makes a second import change nothing).
   * Artifacts are written before the rows commit, as storeVersion does: a row never points at missing files.
   */
  async importFunction(tenantId: string, f: ExportedFunction): Promise<boolean> {
    const created = await withTransaction(this.pool, async (tx) => {
      const created = await tx.query(
        `INSERT INTO functions (tenant_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [tenantId, f.fn.name, f.fn.created_at, f.fn.updated_at],
      );
      if (created.rowCount === 0) return false;
      const keyBase = `import-${sha256(tenantId).slice(0, 16)}/${f.fn.name}`;
      for (const v of f.versions) {
        const ref = { tenantId, functionName: f.fn.name, version: v.version };
        const written = await this.store.writeVersion(ref, v.files);
        await tx.query(
          `INSERT INTO versions (tenant_id, function_name, version, status, idempotency_key, input_hash, domain,
                                optimize_for, provider, enhancer_version, safety_level, params, metadata, artifact_path,
                                request, storage, activated_at, replaced_version, created_at, parent_version, trigger,
                                normalized_input_hash, code_sha256, key_id, artifact_key_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
                   $23, $24, $25)`,
          [
            tenantId,
            f.fn.name,
            v.version,
            v.status,
            `${keyBase}/v${v.version}`,
            v.input_hash,
            v.domain,
            v.optimize_for,
            v.provider,
            v.enhancer_version,
            v.safety_level,
            this.cipher.sealJson(v.params),
            JSON.stringify(this.cipher.sealMembers(v.metadata, SEALED_METADATA)),
            written.location,
            v.request === null ? null : this.cipher.sealJson(v.request),
            written.storage,
            v.activated_at,
            v.replaced_version,
            v.created_at,
            v.parent_version,
            v.trigger,
            v.normalized_input_hash,
            v.code_sha256,
            this.cipher.activeKeyId ?? null,
            written.keyId ?? null,
          ],
        );
      }
      await tx.query('UPDATE functions SET current_version = $3 WHERE tenant_id = $1 AND name = $2', [
        tenantId,
        f.fn.name,
        f.fn.current_version,
      ]);
      for (const fb of f.feedback) {
        const inserted = await tx.query<{ id: string }>(
          `INSERT INTO feedback (tenant_id, function_name, version, execution_id, feedback_type, rating, comments,
                                 metrics, suggestions, created_at, key_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
          [
            tenantId,
            f.fn.name,
            fb.version,
            fb.execution_id,
            fb.feedback_type,
            fb.rating,
            this.cipher.sealText(fb.comments),
            fb.metrics === null ? null : JSON.stringify(fb.metrics),
            this.cipher.sealJson(fb.suggestions),
            fb.created_at,
            this.cipher.activeKeyId ?? null,
          ],
        );
        for (const example of fb.examples) {
          await tx.query(
            `INSERT INTO feedback_examples (tenant_id, function_name, feedback_id, call_hash, example, key_id)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
            [
              tenantId,
              f.fn.name,
              inserted.rows[0]!.id,
              callHash(example),
              this.cipher.sealJson(example),
              this.cipher.activeKeyId ?? null,
            ],
          );
        }
      }
      for (const e of f.events) {
        // Dedupe keys are unique across tenants: an imported event gets its own, the same on every import.
        await tx.query(
          `INSERT INTO events (tenant_id, function_name, event_type, dedupe_key, workflow_id, run_id, payload,
                               created_at, streamed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) ON CONFLICT DO NOTHING`,
          [
            tenantId,
            f.fn.name,
            e.event_type,
            `import-${sha256(`${tenantId}\u0000${e.dedupe_key}`)}`,
            e.workflow_id,
            e.run_id,
            JSON.stringify(e.payload),
            e.created_at,
          ],
        );
      }
      return true;
    });
    const current = f.fn.current_version;
    if (created && current !== null)
      await this.store.setCurrent({ tenantId, functionName: f.fn.name, version: current });
    return created;
  }

  /**
   * Deletes every row of the tenant from every table with a `tenant_id` column (found in the catalog, so a table
   * added later is covered too), and rewrites the tenant's audit rows to `pseudonym`: the id, time, actor key,
   * action, outcome and status of each stay, so the sequence of what happened stays readable; the tenant id, the
   * client address and any mention of the tenant in target or details do not. One transaction: all or nothing.
   */
  async eraseTenant(
    tenantId: string,
    pseudonym: string,
  ): Promise<{ deleted: Record<string, number>; auditRows: number }> {
    return withTransaction(this.pool, async (tx) => {
      const { rows: tables } = await tx.query<{ table_name: string }>(
        `SELECT c.table_name FROM information_schema.columns c
           JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
            AND c.table_name <> 'audit_log'
          ORDER BY c.table_name`,
      );
      const deleted: Record<string, number> = {};
      // Referencing rows go first; the catalog does not order tables by their foreign keys, so a table whose rows
      // are still referenced is tried again on the next pass.
      let pending = tables.map((t) => t.table_name);
      while (pending.length > 0) {
        const blocked: string[] = [];
        for (const table of pending) {
          await tx.query('SAVEPOINT erase_table');
          try {
            const res = await tx.query(`DELETE FROM "${table}" WHERE tenant_id = $1`, [tenantId]);
            deleted[table] = res.rowCount ?? 0;
            await tx.query('RELEASE SAVEPOINT erase_table');
          } catch (err) {
            if ((err as { code?: string }).code !== '23503') throw err;
            await tx.query('ROLLBACK TO SAVEPOINT erase_table');
            blocked.push(table);
          }
        }
        if (blocked.length === pending.length) throw new Error(`cannot erase rows of ${blocked.join(', ')}`);
        pending = blocked;
      }
      await tx.query('SELECT set_config($1, $2, true), set_config($3, $4, true)', [
        ERASING.tenant,
        tenantId,
        ERASING.pseudonym,
        pseudonym,
      ]);
      // The tenant id as a whole word of target or details: ids are [a-z0-9_-], so the pattern needs no escaping.
      const word = `(^|[^a-z0-9_-])${tenantId}($|[^a-z0-9_-])`;
      const audit = await tx.query(
        `UPDATE audit_log
            SET tenant_id = CASE WHEN tenant_id = $1 THEN $2 ELSE tenant_id END,
                ip = CASE WHEN tenant_id = $1 THEN NULL ELSE ip END,
                target = regexp_replace(target, $3, '\\1' || $2 || '\\2', 'g'),
                details = regexp_replace(details::text, $3, '\\1' || $2 || '\\2', 'g')::jsonb
          WHERE tenant_id = $1 OR target ~ $3 OR details::text ~ $3`,
        [tenantId, pseudonym, word],
      );
      return { deleted, auditRows: audit.rowCount ?? 0 };
    });
  }
}

async function exportFeedback(
  client: PoolClient,
  tenantId: string,
  name: string,
  cipher: FieldCipher,
): Promise<ExportFeedback[]> {
  const { rows } = await client.query<
    Omit<ExportFeedback, 'kind' | 'function_name' | 'created_at'> & { created_at: Date }
  >(
    `SELECT f.version, f.execution_id, f.feedback_type, f.rating, f.comments, f.metrics, f.suggestions,
            COALESCE((SELECT jsonb_agg(e.example ORDER BY e.id) FROM feedback_examples e WHERE e.feedback_id = f.id),
                     '[]'::jsonb) AS examples,
            f.created_at
       FROM feedback f WHERE f.tenant_id = $1 AND f.function_name = $2 ORDER BY f.id`,
    [tenantId, name],
  );
  return rows.map((r) => ({
    kind: 'feedback',
    function_name: name,
    ...r,
    comments: cipher.openText(r.comments),
    suggestions: cipher.openJson(r.suggestions),
    examples: r.examples.map((e) => cipher.openJson(e)),
    created_at: r.created_at.toISOString(),
  }));
}

async function exportEvents(client: PoolClient, tenantId: string, name: string): Promise<ExportEvent[]> {
  const { rows } = await client.query<
    Omit<ExportEvent, 'kind' | 'function_name' | 'created_at'> & { created_at: Date }
  >(
    `SELECT event_type, dedupe_key, workflow_id, run_id, payload, created_at
       FROM events WHERE tenant_id = $1 AND function_name = $2 ORDER BY id`,
    [tenantId, name],
  );
  return rows.map((r) => ({ kind: 'event', function_name: name, ...r, created_at: r.created_at.toISOString() }));
}
