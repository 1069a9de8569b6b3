import type { Client, WorkflowClientInterceptor } from '@temporalio/client';
import type { DataConverter, Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import { KeyRing } from '../crypto/key-ring';
import { createPool } from '../db/pool';
import { sha256 } from '../hash';
import { EncryptionCodec, FAILURE_CONVERTER_PATH } from './encryption-codec';
import { storedKeyId } from './payload-keys';

/** Marks a payload that is a reference; its data is `{"id", "bytes"}` (JSON). */
export const CLAIM_CHECK_ENCODING = 'poet/claim-check-v1';

const TRANSIENT_ATTEMPTS = 3;

/**
 * Payloads this process stored or read lately, by id. A run's large payloads go back and forth within one worker
 * (an activity's result is decoded by the next workflow task, an activity decodes the input its workflow encoded),
 * so most reads need no query. Content-addressed entries cannot go stale; the time limit, far below any retention
 * in days, is how long a stored payload counts as fresh without writing it again.
 */
const RECENT_BYTES = 32 * 1024 * 1024;
const RECENT_MS = 10 * 60 * 1000;
const KNOWN_RUNS = 10_000;
/**
 * An LRU keeps expired entries until their slots are needed, so without purging, memory would follow the caps (32 MiB
 * of payloads, 100,000 keys: hours of a steady load to fill) instead of the last RECENT_MS of traffic.
 */
const PURGE_EVERY_MS = 60 * 1000;

/**
 * A copy with a buffer of its own. Small Buffers are views into shared slabs (64 KiB on Node 24: Buffer.poolSize), so
 * a cache entry of a few KiB would keep a whole slab alive while the cache's size cap counts only its own bytes: on a
 * soak that took the worker's external memory from 40 to over 190 MiB.
 */
function own(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A reference the caller may not read: unknown, pruned, another tenant's, or not a reference at all. */
export class PayloadNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no payload ${id}`);
  }
}

/** Whose run a workflow id is: its memo's tenant, undefined when the run does not exist (yet). */
export type TenantResolver = (workflowId: string) => Promise<string | undefined>;

/**
 * The claim-check pattern as a payload codec (DESIGN, Temporal conventions): a payload larger than `thresholdBytes`
 * (enhanced code, requests with large functions) is stored once in PostgreSQL under its SHA-256 and the history keeps
 * a small reference; every process that talks to Temporal (worker, API, tests) decodes it back. Workflow code never
 * sees the difference, so no patch is needed and recorded histories (inline payloads) replay unchanged.
 */
export class ClaimCheckCodec implements PayloadCodec {
  private readonly recent = new LRUCache<string, Uint8Array>({
    maxSize: RECENT_BYTES,
    sizeCalculation: (bytes) => bytes.length,
    ttl: RECENT_MS,
  });
  /** (tenant, id) pairs stored lately: the same payload again within RECENT_MS needs no write. */
  private readonly stored = new LRUCache<string, true>({ max: 100_000, ttl: RECENT_MS });
  private readonly tenants = new LRUCache<string, string>({ max: KNOWN_RUNS });
  private resolveTenant: TenantResolver = async () => undefined;
  private purgedAt = Date.now();

  constructor(
    private readonly pool: Pool,
    private readonly thresholdBytes: number,
  ) {}

  /** How this process learns the tenant of a run it did not start (the worker asks Temporal for the run's memo). */
  resolveTenantsWith(resolver: TenantResolver): void {
    this.resolveTenant = resolver;
  }

  /** The tenant of a run this process is about to start: it does not exist yet, so nothing else can tell. */
  rememberTenant(workflowId: string, tenantId: string): void {
    this.tenants.set(workflowId, tenantId);
  }

  private async tenantOf(context: SerializationContext | undefined): Promise<string> {
    const workflowId = context?.workflowId;
    if (!workflowId) return '';
    const known = this.tenants.get(workflowId);
    if (known !== undefined) return known;
    const resolved = await this.resolveTenant(workflowId).catch(() => undefined);
    if (resolved === undefined) return '';
    this.tenants.set(workflowId, resolved);
    return resolved;
  }

  /**
   * What the recent-payloads cache holds: the bytes of its entries, and the memory they keep alive (their backing
   * buffers, each counted once). The two are equal by construction (`own`); a gap would be memory the cap misses.
   */
  memory(): { entries: number; bytes: number; retainedBytes: number } {
    let bytes = 0;
    const buffers = new Set<ArrayBufferLike>();
    for (const value of this.recent.values()) {
      bytes += value.byteLength;
      buffers.add(value.buffer);
    }
    let retainedBytes = 0;
    for (const buffer of buffers) retainedBytes += buffer.byteLength;
    return { entries: this.recent.size, bytes, retainedBytes };
  }

  private purgeExpired(): void {
    if (Date.now() - this.purgedAt < PURGE_EVERY_MS) return;
    this.purgedAt = Date.now();
    this.recent.purgeStale();
    this.stored.purgeStale();
  }

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    this.purgeExpired();
    const sizes = payloads.map((payload) => temporal.api.common.v1.Payload.encode(payload).finish());
    const tenant = sizes.some((bytes) => bytes.length > this.thresholdBytes) ? await this.tenantOf(context) : '';
    return Promise.all(
      payloads.map(async (payload, i) => {
        const bytes = sizes[i]!;
        if (bytes.length <= this.thresholdBytes) return payload;
        const id = sha256(bytes);
        if (!this.stored.has(`${tenant}/${id}`)) {
          // Content-addressed per tenant: the same payload again refreshes its age instead of being stored twice.
          await this.query(
            'INSERT INTO payloads (id, tenant_id, data, key_id) VALUES ($1, $2, $3, $4) ON CONFLICT (id, tenant_id) DO UPDATE SET created_at = now()',
            [id, tenant, Buffer.from(bytes), storedKeyId(payload)],
          );
          this.stored.set(`${tenant}/${id}`, true);
        }
        this.recent.set(id, own(bytes));
        return {
          metadata: { encoding: Buffer.from(CLAIM_CHECK_ENCODING) },
          data: Buffer.from(JSON.stringify({ id, bytes: bytes.length })),
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    this.purgeExpired();
    const refs = payloads.map((p) =>
      isReference(p) ? (JSON.parse(Buffer.from(p.data ?? []).toString()) as { id: string }).id : undefined,
    );
    if (refs.every((id) => id === undefined)) return payloads;
    const found = new Map<string, Uint8Array>();
    for (const id of refs) {
      const bytes = id === undefined ? undefined : this.recent.get(id);
      if (id !== undefined && bytes) found.set(id, bytes);
    }
    const missing = [...new Set(refs.filter((id): id is string => id !== undefined && !found.has(id)))];
    if (missing.length > 0) {
      const res = await this.query<{ id: string; data: Buffer }>(
        'SELECT DISTINCT ON (id) id, data FROM payloads WHERE id = ANY($1::text[])',
        [missing],
      );
      for (const row of res.rows) {
        found.set(row.id, row.data);
        this.recent.set(row.id, own(row.data));
      }
    }
    return payloads.map((payload, i) => {
      const id = refs[i];
      if (id === undefined) return payload;
      const data = found.get(id);
      if (!data) throw new Error(`payload ${id} is not in the payload store (removed after PAYLOAD_RETENTION_DAYS?)`);
      return temporal.api.common.v1.Payload.decode(data);
    });
  }

  /**
   * For the codec endpoint: references resolved from the store only (never from this process's memory), and only
   * the tenant's own rows unless `tenantId` is undefined (an operator). Anything else is a PayloadNotFoundError.
   */
  async decodeFor(payloads: Payload[], tenantId: string | undefined): Promise<Payload[]> {
    const refs = payloads.map((p) => (isReference(p) ? referenceId(p) : undefined));
    const ids = [...new Set(refs.filter((id): id is string => id !== undefined))];
    const res =
      ids.length === 0
        ? { rows: [] }
        : await this.query<{ id: string; data: Buffer }>(
            'SELECT DISTINCT ON (id) id, data FROM payloads WHERE id = ANY($1::text[]) AND ($2::text IS NULL OR tenant_id = $2)',
            [ids, tenantId ?? null],
          );
    const found = new Map(res.rows.map((row) => [row.id, row.data]));
    return payloads.map((payload, i) => {
      if (!isReference(payload)) return payload;
      const id = refs[i];
      const data = id === undefined ? undefined : found.get(id);
      if (!data) throw new PayloadNotFoundError(id ?? 'reference');
      return temporal.api.common.v1.Payload.decode(data);
    });
  }

  /** Payloads older than the retention that no run wrote again; histories older than that cannot be decoded. */
  async prune(retentionDays: number): Promise<number> {
    const res = await this.query('DELETE FROM payloads WHERE created_at < now() - make_interval(days => $1)', [
      retentionDays,
    ]);
    return res.rowCount ?? 0;
  }

  /** A backend terminated between two tasks (a failover, the fault tests) costs a retry, not the task. */
  private async query<R extends object = Record<string, unknown>>(sql: string, params: unknown[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>(sql, params);
      } catch (err) {
        if (attempt >= TRANSIENT_ATTEMPTS || !isConnectionError(err)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }
}

/** The payload ids a history refers to: every claim-check reference anywhere in its events. */
export function referencedPayloadIds(history: unknown): string[] {
  const ids = new Set<string>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    const candidate = node as Payload;
    if (candidate.metadata && isReference(candidate)) {
      const id = referenceId(candidate);
      if (id) ids.add(id);
      return;
    }
    for (const value of Object.values(node)) visit(value);
  };
  visit(history);
  return [...ids];
}

export function isReference(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString() === CLAIM_CHECK_ENCODING;
}

/** The id of a reference someone sent us; undefined when its data is not `{"id": "<sha256>"}`. */
function referenceId(payload: Payload): string | undefined {
  try {
    const { id } = JSON.parse(Buffer.from(payload.data ?? []).toString()) as { id?: unknown };
    return typeof id === 'string' && /^[0-9a-f]{64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  // 57P01 admin_shutdown (pg_terminate_backend), 08xxx connection exceptions, and the socket closing under a query.
  return (
    code === '57P01' ||
    (typeof code === 'string' && code.startsWith('08')) ||
    /Connection terminated|ECONNRESET/i.test(String((err as Error).message))
  );
}

export interface ClaimCheck {
  codec: ClaimCheckCodec;
  /** Undefined when ENCRYPTION_KEYS is not configured. */
  encryption: EncryptionCodec | undefined;
  dataConverter: DataConverter;
  close(): Promise<void>;
}

/**
 * The payload codecs of one process that talks to Temporal (encryption when configured, then the claim check), the
 * claim check on its own small pool so payload reads never wait behind request queries.
 */
export function createClaimCheck(
  config: Config,
  processName: string,
  unreadable: 'throw' | 'mark' = 'throw',
): ClaimCheck {
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for the payload store');
  const pool = createPool({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    max: 4,
    process: `${processName}-payloads`,
  });
  // An idle connection lost (a failover) is reported by the next query, which the codec retries.
  pool.on('error', () => undefined);
  const codec = new ClaimCheckCodec(pool, config.PAYLOAD_CLAIM_CHECK_BYTES);
  const encryption = config.encryption ? new EncryptionCodec(new KeyRing(config.encryption), unreadable) : undefined;
  // Encoding runs first to last, decoding last to first: encrypted before a large payload is claimed, so the
  // payload store holds ciphertext too.
  const payloadCodecs = encryption ? [encryption, codec] : [codec];
  return {
    codec,
    encryption,
    dataConverter: { payloadCodecs, failureConverterPath: FAILURE_CONVERTER_PATH },
    close: () => pool.end(),
  };
}

type StartOptions = { workflowId: string; memo?: Record<string, unknown> };

/** Tells the codec whose run a client is starting (its memo's tenant) before the start's payloads are encoded. */
export function payloadTenantInterceptor(codec: ClaimCheckCodec): WorkflowClientInterceptor {
  const remember = (options: StartOptions) => {
    const tenant = options.memo?.tenant_id;
    if (typeof tenant === 'string') codec.rememberTenant(options.workflowId, tenant);
  };
  // Each start path: remember the tenant of the options it carries, then start.
  const remembering =
    <I, O>(optionsOf: (input: I) => StartOptions) =>
    (input: I, next: (input: I) => O): O => {
      remember(optionsOf(input));
      return next(input);
    };
  return {
    start: remembering((input) => input.options),
    startWithDetails: remembering((input) => input.options),
    signalWithStart: remembering((input) => input.options),
    startUpdateWithStart: remembering((input) => input.workflowStartOptions),
  };
}

/** A run's tenant as the API checks it (its memo; runs from before tenants belong to `default`); undefined while it does not exist. */
export function tenantFromMemo(client: Client): TenantResolver {
  return async (workflowId) => {
    const description = await client.workflow.getHandle(workflowId).describe();
    const tenant = description.memo?.tenant_id;
    return typeof tenant === 'string' ? tenant : 'default';
  };
}
