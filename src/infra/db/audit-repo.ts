import type { Pool } from 'pg';
import type { AuditChain, AuditEntry, AuditOutcome, AuditQuery } from '../../contracts/security';

export interface AuditRecord {
  actor: string | null;
  tenantId: string | null;
  action: string;
  target: string | null;
  requestId: string | null;
  outcome: AuditOutcome;
  status: number;
  ip: string | null;
  details?: Record<string, unknown>;
}

interface Row {
  id: string;
  at: Date;
  actor: string | null;
  tenant_id: string | null;
  action: string;
  target: string | null;
  request_id: string | null;
  outcome: AuditOutcome;
  status: number;
  ip: string | null;
  details: Record<string, unknown>;
}

/** The append-only audit log (a trigger refuses UPDATE, DELETE and TRUNCATE): this class only inserts and reads. */
export class AuditRepo {
  constructor(private readonly pool: Pool) {}

  async record(entry: AuditRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_log (actor, tenant_id, action, target, request_id, outcome, status, ip, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        entry.actor,
        entry.tenantId,
        entry.action,
        entry.target,
        entry.requestId,
        entry.outcome,
        entry.status,
        entry.ip,
        entry.details ?? {},
      ],
    );
  }

  /**
   * Newest first, keyset-paged by id. `includeUnattributed` adds entries without a tenant (failed authentication
   * with a key nobody owns): the operator tenant's admins see those.
   */
  async query(
    tenantId: string,
    q: AuditQuery,
    includeUnattributed: boolean,
  ): Promise<{ entries: AuditEntry[]; next_before: string | null }> {
    const where = [includeUnattributed ? '(tenant_id = $1 OR tenant_id IS NULL)' : 'tenant_id = $1'];
    const params: unknown[] = [tenantId];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.actor !== undefined) add('actor = ?', q.actor);
    if (q.action !== undefined) add('action = ?', q.action);
    if (q.outcome !== undefined) add('outcome = ?', q.outcome);
    if (q.target !== undefined) add('target = ?', q.target);
    if (q.since !== undefined) add('at >= ?', q.since);
    if (q.until !== undefined) add('at < ?', q.until);
    if (q.before !== undefined) add('id < ?', q.before);
    params.push(q.limit + 1);
    const { rows } = await this.pool.query<Row>(
      `SELECT id, at, actor, tenant_id, action, target, request_id, outcome, status, ip, details
         FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, q.limit);
    return {
      entries: page.map((r) => ({ ...r, id: String(r.id), at: r.at.toISOString() })),
      next_before: rows.length > q.limit ? String(page[page.length - 1]!.id) : null,
    };
  }

  /** How many rows the hash chain links, and where it is broken (audit_log_chain_breaks(), first 100). */
  async verifyChain(): Promise<AuditChain> {
    const [count, breaks] = await Promise.all([
      this.pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_log'),
      this.pool.query<{ chain_seq: string; reason: string }>('SELECT * FROM audit_log_chain_breaks() LIMIT 100'),
    ]);
    return {
      rows: Number(count.rows[0]!.n),
      intact: breaks.rows.length === 0,
      breaks: breaks.rows.map((b) => ({ chain_seq: b.chain_seq, reason: b.reason })),
    };
  }
}
