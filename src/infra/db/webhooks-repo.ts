import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { DeliveriesQuery, DeliveryAttempt, WebhookView } from '../../contracts/webhooks';
import { decodePageToken, encodePageToken } from './events-repo';
import type { WebhookResponse } from '../events/webhook-http';

interface WebhookRow {
  id: string;
  url: string;
  event_types: string[];
  description: string | null;
  created_at: Date;
}

const view = (r: WebhookRow): WebhookView => ({
  id: r.id,
  url: r.url,
  event_types: r.event_types as WebhookView['event_types'],
  description: r.description,
  created_at: r.created_at.toISOString(),
});

/** What a delivery needs: where, and the key to sign with. */
export interface WebhookTarget {
  id: string;
  url: string;
  secret: string;
}

/** The body every receiver gets: the event's stable id (dedupe on it), its type, and its payload under `data`. */
export interface WebhookEventBody {
  id: string;
  type: string;
  created_at: string;
  function_name: string | null;
  run: { workflow_id: string; run_id: string | null } | null;
  data: Record<string, unknown>;
}

export type AttemptRecord = Omit<DeliveryAttempt, 'id' | 'created_at'>;

/** The log row of one attempt: what was sent (`which`) and how the receiver answered. */
export function attemptRecord(
  which: Pick<AttemptRecord, 'delivery_id' | 'event_id' | 'event_type' | 'attempt' | 'will_retry'>,
  sent: WebhookResponse,
): AttemptRecord {
  const { outcome, status_code, error, response_excerpt, duration_ms } = sent;
  return { ...which, outcome, status_code, error, response_excerpt, duration_ms };
}

/** The same (webhook, event) pair always has the same delivery id: it is the X-Poet-Delivery of every attempt. */
export function deliveryIdOf(webhookId: string, eventId: string): string {
  return `dlv_${createHash('sha256').update(`${webhookId}/${eventId}`).digest('hex').slice(0, 24)}`;
}

/** Webhooks and their delivery log; every query is scoped to the caller's tenant. */
export class WebhooksRepo {
  constructor(private readonly pool: Pool) {}

  async create(
    tenantId: string,
    w: { url: string; event_types: string[]; description?: string },
  ): Promise<WebhookView & { secret: string }> {
    const id = `wh_${randomBytes(8).toString('hex')}`;
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const res = await this.pool.query<WebhookRow>(
      `INSERT INTO webhooks (id, tenant_id, url, event_types, description, secret) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, url, event_types, description, created_at`,
      [id, tenantId, w.url, w.event_types, w.description ?? null, secret],
    );
    return { ...view(res.rows[0]!), secret };
  }

  async list(tenantId: string): Promise<WebhookView[]> {
    const res = await this.pool.query<WebhookRow>(
      'SELECT id, url, event_types, description, created_at FROM webhooks WHERE tenant_id = $1 ORDER BY created_at, id',
      [tenantId],
    );
    return res.rows.map(view);
  }

  async get(tenantId: string, id: string): Promise<WebhookView | null> {
    const res = await this.pool.query<WebhookRow>(
      'SELECT id, url, event_types, description, created_at FROM webhooks WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return res.rows[0] ? view(res.rows[0]) : null;
  }

  /** Deletes the webhook, its secret and its log; deliveries under way stop at their next attempt. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return (res.rowCount ?? 0) > 0;
  }

  async target(tenantId: string, id: string): Promise<WebhookTarget | null> {
    const res = await this.pool.query<WebhookTarget>(
      'SELECT id, url, secret FROM webhooks WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return res.rows[0] ?? null;
  }

  async event(tenantId: string, eventId: string): Promise<WebhookEventBody | null> {
    const res = await this.pool.query<{
      id: string;
      event_type: string;
      function_name: string;
      workflow_id: string | null;
      run_id: string | null;
      payload: Record<string, unknown>;
      created_at: Date;
    }>(
      'SELECT id, event_type, function_name, workflow_id, run_id, payload, created_at FROM events WHERE tenant_id = $1 AND id = $2',
      [tenantId, eventId],
    );
    const r = res.rows[0];
    if (!r) return null;
    return {
      id: r.id,
      type: r.event_type,
      created_at: r.created_at.toISOString(),
      function_name: r.function_name,
      run: r.workflow_id ? { workflow_id: r.workflow_id, run_id: r.run_id } : null,
      data: r.payload,
    };
  }

  /** False when the webhook was deleted meanwhile (its log went with it). */
  async recordAttempt(tenantId: string, webhookId: string, a: AttemptRecord): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO webhook_deliveries (tenant_id, webhook_id, delivery_id, event_id, event_type, attempt, outcome, will_retry,
                                       status_code, error, response_excerpt, duration_ms)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 WHERE EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = $1 AND id = $2)`,
      [
        tenantId,
        webhookId,
        a.delivery_id,
        a.event_id,
        a.event_type,
        a.attempt,
        a.outcome,
        a.will_retry,
        a.status_code,
        a.error,
        a.response_excerpt,
        a.duration_ms,
      ],
    );
    return (res.rowCount ?? 0) > 0;
  }

  /** The log of one webhook, newest attempt first, keyset-paged on the row id. */
  async deliveries(
    tenantId: string,
    webhookId: string,
    q: DeliveriesQuery,
  ): Promise<{ deliveries: DeliveryAttempt[]; next_page_token: string | null }> {
    const before = q.page_token === undefined ? null : decodePageToken(q.page_token, webhookId);
    const res = await this.pool.query<Omit<DeliveryAttempt, 'created_at'> & { created_at: Date }>(
      `SELECT id::text, delivery_id, event_id::text, event_type, attempt, outcome, will_retry, status_code, error, response_excerpt,
              duration_ms, created_at
         FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [tenantId, webhookId, before, q.limit + 1],
    );
    const page = res.rows.slice(0, q.limit);
    return {
      deliveries: page.map((r) => ({ ...r, created_at: r.created_at.toISOString() })),
      next_page_token: res.rows.length > q.limit ? encodePageToken(page[page.length - 1]!.id, webhookId) : null,
    };
  }
}
