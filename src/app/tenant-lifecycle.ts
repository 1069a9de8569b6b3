import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import {
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  ExportRecord,
  type ExportCounts,
  type ExportedFunction,
  type FunctionDeleted,
  type ImportResult,
  type TenantErased,
} from '../contracts/tenant-lifecycle';
import type { CacheInvalidator } from '../infra/cache/enhancement-cache';
import { eraseTenantFromRedis } from '../infra/cache/redis-erasure';
import { fileDigests, type LifecycleRepo } from '../infra/db/lifecycle-repo';
import type { ArtifactStore } from '../infra/storage/artifact-store';
import type { RunEraser } from '../infra/temporal/run-erasure';
import { InvalidInputError, UnavailableError } from './errors';
import { functionNotFound } from './functions';

export interface TenantLifecycleDeps {
  repo: LifecycleRepo;
  artifacts: ArtifactStore;
  invalidator: CacheInvalidator;
  runs: RunEraser;
  /** Absent without Redis: then nothing of a tenant is kept there. */
  redis?: Redis;
  redisPrefix: string;
  eventStream: string;
}

const zeroCounts = (): ExportCounts => ({ domains: 0, functions: 0, versions: 0, feedback: 0, events: 0 });

const badLine = (line: number, message: string) =>
  new InvalidInputError(`line ${line}: ${message}`, [{ path: `line ${line}`, message }], 'invalid_export');

/**
 * A tenant's data over its whole life: a function deleted everywhere it is kept, the tenant exported as an archive
 * and imported from one, and the tenant erased (docs/tenant-data.md).
 */
export class TenantLifecycle {
  constructor(private readonly deps: TenantLifecycleDeps) {}

  /** Redis configured but unreachable: the cache could not be emptied, so nothing is deleted (fail closed). */
  private async emptyCache(tenantId: string, functionName?: string, erased = false): Promise<number> {
    const result = await this.deps.invalidator.invalidate(tenantId, functionName, { erased });
    if (!result) throw new UnavailableError('the shared cache (Redis) is unreachable; nothing was deleted', 5);
    return result.shared_entries;
  }

  /** Storage unreachable (S3 down) is a wait-and-retry: every step before it is done, and a retry finishes the job. */
  private async removeArtifacts(remove: () => Promise<number>): Promise<number> {
    try {
      return await remove();
    } catch {
      throw new UnavailableError('artifact storage is unreachable; retry to remove the artifacts that are left', 5);
    }
  }

  /**
   * Every version, artifact, cache entry, feedback report, event, run and claim-checked payload of the function.
   * The cache is emptied before (so a Redis outage deletes nothing) and after (an entry a run stored meanwhile).
   */
  async deleteFunction(tenantId: string, name: string): Promise<FunctionDeleted> {
    const before = await this.emptyCache(tenantId, name);
    const runs = await this.deps.runs.erase({ tenantId, functionName: name });
    const rows = await this.deps.repo.deleteFunction(tenantId, name);
    // Artifacts a delete whose storage was away left behind are removed by the retry, which then answers 200.
    const artifactFiles = await this.removeArtifacts(() => this.deps.artifacts.deleteFunction(tenantId, name));
    if (!rows && artifactFiles === 0) throw functionNotFound(name);
    const after = await this.emptyCache(tenantId, name);
    return {
      function_name: name,
      deleted: {
        ...(rows ?? { versions: 0, feedback: 0, events: 0 }),
        artifact_files: artifactFiles,
        cache_entries: before + after,
        runs: runs.runs,
        payloads: runs.payloads,
      },
    };
  }

  /** The tenant's records in the export format, header first and `end` with the counts last. */
  async *exportTenant(tenantId: string): AsyncGenerator<ExportRecord> {
    yield {
      kind: 'header',
      format: EXPORT_FORMAT,
      format_version: EXPORT_FORMAT_VERSION,
      tenant_id: tenantId,
      exported_at: new Date().toISOString(),
    };
    const counts = zeroCounts();
    for await (const item of this.deps.repo.exportRecords(tenantId)) {
      if ('kind' in item) {
        counts.domains += 1;
        yield item;
        continue;
      }
      counts.functions += 1;
      counts.versions += item.versions.length;
      counts.feedback += item.feedback.length;
      counts.events += item.events.length;
      yield item.fn;
      yield* item.versions;
      yield* item.feedback;
      yield* item.events;
    }
    yield { kind: 'end', counts };
  }

  /**
   * Restores an export (NDJSON lines) into the tenant, a function at a time. A function or domain the tenant
   * already has is left as it is, so importing the same export twice changes nothing the second time. Lines are
   * checked as they come: a bad line stops the import there, naming the line (the functions before it stay imported,
   * and importing the corrected file completes the rest).
   */
  async importTenant(tenantId: string, lines: AsyncIterable<string>): Promise<ImportResult> {
    const imported = zeroCounts();
    const skipped = { domains: 0, functions: 0 };
    const seen = zeroCounts();
    let formatVersion: number | undefined;
    let group: ExportedFunction | undefined;
    let ended = false;
    let lineNo = 0;

    const flush = async () => {
      if (!group) return;
      if (await this.deps.repo.importFunction(tenantId, group)) {
        imported.functions += 1;
        imported.versions += group.versions.length;
        imported.feedback += group.feedback.length;
        imported.events += group.events.length;
      } else {
        skipped.functions += 1;
      }
      group = undefined;
    };

    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      if (ended) throw badLine(lineNo, 'records after the end record');
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        throw badLine(lineNo, 'not JSON');
      }
      const parsed = ExportRecord.safeParse(json);
      if (!parsed.success)
        throw badLine(lineNo, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const record = parsed.data;
      if (formatVersion === undefined && record.kind !== 'header')
        throw badLine(lineNo, `an export starts with its header (format ${EXPORT_FORMAT})`);
      switch (record.kind) {
        case 'header':
          if (formatVersion !== undefined) throw badLine(lineNo, 'a second header');
          formatVersion = record.format_version;
          break;
        case 'domain':
          seen.domains += 1;
          if (await this.deps.repo.importDomain(tenantId, record)) imported.domains += 1;
          else skipped.domains += 1;
          break;
        case 'function':
          await flush();
          seen.functions += 1;
          group = { fn: record, versions: [], feedback: [], events: [] };
          break;
        case 'version':
        case 'feedback':
        case 'event': {
          if (!group || group.fn.name !== record.function_name)
            throw badLine(lineNo, `a ${record.kind} of ${record.function_name} outside its function's records`);
          if (record.kind === 'version') {
            const digests = fileDigests(record.files);
            const wrong = Object.keys(digests).filter((file) => digests[file] !== record.sha256[file]);
            if (wrong.length > 0) throw badLine(lineNo, `SHA-256 does not match for ${wrong.join(', ')}`);
            group.versions.push(record);
            seen.versions += 1;
          } else if (record.kind === 'feedback') {
            group.feedback.push(record);
            seen.feedback += 1;
          } else {
            group.events.push(record);
            seen.events += 1;
          }
          break;
        }
        case 'end': {
          const mismatch = (Object.keys(seen) as (keyof ExportCounts)[]).filter((k) => seen[k] !== record.counts[k]);
          if (mismatch.length > 0) throw badLine(lineNo, `counts do not match the records for ${mismatch.join(', ')}`);
          await flush();
          ended = true;
          break;
        }
      }
    }
    if (!ended) throw badLine(lineNo, 'the export ends without its end record (cut short?)');
    return { format_version: formatVersion!, imported, skipped };
  }

  /**
   * Erases the tenant: its runs and payloads in Temporal and PostgreSQL, every row of every table, its artifacts,
   * its cache and Redis keys; its audit rows stay, under a random pseudonym. Redis configured but unreachable
   * refuses the erasure before anything is removed.
   */
  async eraseTenant(tenantId: string): Promise<TenantErased> {
    const { redis } = this.deps;
    if (redis && redis.status !== 'ready')
      throw new UnavailableError('Redis is unreachable; nothing was erased, retry when it is back', 5);
    const pseudonym = `erased-${randomBytes(8).toString('hex')}`;
    await this.emptyCache(tenantId, undefined, true);
    const runs = await this.deps.runs.erase({ tenantId });
    const { deleted, auditRows } = await this.deps.repo.eraseTenant(tenantId, pseudonym);
    const artifactFiles = await this.removeArtifacts(() => this.deps.artifacts.deleteTenant(tenantId));
    const redisKeys = redis
      ? await eraseTenantFromRedis(redis, {
          prefix: this.deps.redisPrefix,
          stream: this.deps.eventStream,
          tenantId,
        })
      : 0;
    return {
      pseudonym,
      deleted_rows: deleted,
      audit_rows_pseudonymized: auditRows,
      artifact_files: artifactFiles,
      redis_keys: redisKeys,
      runs: runs.runs,
    };
  }
}
