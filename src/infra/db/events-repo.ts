import type { Pool } from 'pg';
import type { EventsQuery } from '../../contracts/events';
import type { EventRecord } from '../../contracts/versions';
import { canonicalJson, sha256 } from '../hash';

export class InvalidPageToken extends Error {}

/**
 * Keyset pagination over the outbox, newest first: a page token holds the last id served (and a fingerprint
 * of the filters it belongs to). New events get larger ids, so inserts never shift later pages.
 */
export class EventsRepo {
  constructor(private readonly pool: Pool) {}

  async list(
    tenantId: string,
    functionName: string,
    q: EventsQuery,
  ): Promise<{ events: EventRecord[]; next_page_token: string | null }> {
    const filters = sha256(canonicalJson({ functionName, s: q.start_time, e: q.end_time, t: q.event_type })).slice(
      0,
      16,
    );
    const before = q.page_token === undefined ? null : decodePageToken(q.page_token, filters);
    const res = await this.pool.query<{
      id: string;
      event_type: EventRecord['event_type'];
      workflow_id: string | null;
      run_id: string | null;
      payload: Record<string, unknown>;
      created_at: Date;
    }>(
      `SELECT id, event_type, workflow_id, run_id, payload, created_at FROM events
        WHERE tenant_id = $1 AND function_name = $2
          AND ($3::bigint IS NULL OR id < $3)
          AND ($4::timestamptz IS NULL OR created_at >= $4)
          AND ($5::timestamptz IS NULL OR created_at < $5)
          AND ($6::text IS NULL OR event_type = $6)
        ORDER BY id DESC LIMIT $7`,
      [tenantId, functionName, before, q.start_time ?? null, q.end_time ?? null, q.event_type ?? null, q.limit + 1],
    );
    const page = res.rows.slice(0, q.limit);
    const more = res.rows.length > q.limit;
    return {
      events: page.map((r) => ({
        id: r.id,
        event_type: r.event_type,
        function_name: functionName,
        workflow_id: r.workflow_id,
        run_id: r.run_id,
        payload: r.payload,
        created_at: r.created_at.toISOString(),
      })),
      next_page_token: more ? encodePageToken(page[page.length - 1]!.id, filters) : null,
    };
  }
}

/** A keyset page token: the last id served and a fingerprint of the query it belongs to. */
export function encodePageToken(lastId: string, filters: string): string {
  return Buffer.from(JSON.stringify({ b: lastId, f: filters })).toString('base64url');
}

export function decodePageToken(token: string, filters: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidPageToken('page_token is not one this API issued');
  }
  const { b, f } = (parsed ?? {}) as { b?: unknown; f?: unknown };
  if (typeof b !== 'string' || !/^[0-9]{1,19}$/.test(b))
    throw new InvalidPageToken('page_token is not one this API issued');
  if (f !== filters) throw new InvalidPageToken('page_token belongs to a query with other filters');
  return b;
}
