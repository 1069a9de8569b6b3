import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { PublishInput } from '../../contracts/events';
import { withTransaction } from '../db/pool';
import type { Logger } from '../observability/logger';
import type { WebhookDispatcher } from './webhook-dispatch';

const RELAY_BATCH = 200;

/** The Redis stream events are relayed to, under the service's key prefix. */
export const eventStreamKey = (redisPrefix: string) => `${redisPrefix}events`;

/** SQL for an event row's `webhooks_pending` ($1 is the tenant): does the tenant have any webhook now? */
export const WEBHOOKS_PENDING = 'EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = $1)';

/**
 * Transactional outbox: events are rows first (idempotent per run and type), then entries on the
 * Redis stream. Each publish also relays older rows that Redis missed while it was away.
 */
export class EventPublisher {
  constructor(
    private readonly opts: {
      pool: Pool;
      redis?: Redis;
      stream: string;
      maxLen: number;
      logger: Logger;
      webhooks?: WebhookDispatcher;
    },
  ) {}

  /** The relay running in the background, and whether rows came in since it selected its batch. */
  private background: Promise<void> | undefined;
  private again = false;

  /** Rows first, then the stream: before returning, or (`relay: 'deferred'`) in this process's background relay. */
  async publish(input: PublishInput): Promise<{ inserted: number; streamed: number }> {
    const streamed = async () => {
      if (input.relay !== 'deferred') return this.relay();
      this.relaySoon();
      return 0;
    };
    if (input.events.length === 0) return { inserted: 0, streamed: await streamed() };
    const keys = input.events.map(
      (event) =>
        `${input.workflow_id}/${input.run_id}/${event.type}${event.dedupe_suffix ? `/${event.dedupe_suffix}` : ''}`,
    );
    // One statement for all of the run's events: one round trip and one commit instead of one per event.
    const COLUMNS = 7;
    const rows = input.events.map((_, i) => {
      const p = (n: number) => `$${2 + i * COLUMNS + n}`;
      return `($1, ${p(0)}, ${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, COALESCE(${p(6)}::timestamptz, now()), ${WEBHOOKS_PENDING})`;
    });
    const params = input.events.flatMap((event, i) => [
      input.function_name,
      event.type,
      keys[i],
      input.workflow_id,
      input.run_id,
      JSON.stringify(event.payload),
      event.occurred_at ?? null,
    ]);
    const res = await this.opts.pool.query<{ webhooks_pending: boolean }>(
      `INSERT INTO events (tenant_id, function_name, event_type, dedupe_key, workflow_id, run_id, payload, created_at, webhooks_pending)
       VALUES ${rows.join(', ')}
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING webhooks_pending`,
      [input.tenant_id, ...params],
    );
    const inserted = res.rowCount ?? 0;
    const forWebhooks = res.rows.some((row) => row.webhooks_pending);
    // A tenant without webhooks costs nothing more; a retried publish (rows already there) checks for pending ones.
    if (this.opts.webhooks && (forWebhooks || inserted < input.events.length)) await this.opts.webhooks.dispatch(keys);
    return { inserted, streamed: await streamed() };
  }

  /**
   * One background relay at a time per process: publishes that arrive while it runs are picked up by one more pass,
   * so under load a batch of rows goes out in one transaction instead of one per publish.
   */
  private relaySoon(): void {
    this.again = true;
    if (this.background) return;
    this.background = (async () => {
      while (this.again) {
        this.again = false;
        while ((await this.relay()) === RELAY_BATCH);
      }
    })().finally(() => {
      this.background = undefined;
    });
  }

  /** Waits for the background relay, so a process that stops leaves no relay half-way on a closing pool. */
  async drain(): Promise<void> {
    await this.background;
  }

  private async relay(): Promise<number> {
    const { redis } = this.opts;
    if (redis?.status !== 'ready') return 0;
    try {
      return await withTransaction(this.opts.pool, async (tx) => {
        const pending = await tx.query<{
          id: string;
          tenant_id: string;
          function_name: string;
          event_type: string;
          workflow_id: string | null;
          payload: unknown;
          created_at: Date;
        }>(
          `SELECT id, tenant_id, function_name, event_type, workflow_id, payload, created_at FROM events
            WHERE streamed_at IS NULL ORDER BY id LIMIT ${RELAY_BATCH} FOR UPDATE SKIP LOCKED`,
        );
        if (pending.rows.length === 0) return 0;
        const pipeline = redis.pipeline();
        for (const row of pending.rows) {
          pipeline.xadd(
            this.opts.stream,
            'MAXLEN',
            '~',
            String(this.opts.maxLen),
            '*',
            'event_id',
            row.id,
            'type',
            row.event_type,
            'tenant_id',
            row.tenant_id,
            'function_name',
            row.function_name,
            'workflow_id',
            row.workflow_id ?? '',
            'payload',
            JSON.stringify(row.payload),
            'created_at',
            row.created_at.toISOString(),
          );
        }
        const results = await pipeline.exec();
        const failed = results?.find(([err]) => err);
        if (failed?.[0]) throw failed[0];
        await tx.query('UPDATE events SET streamed_at = now() WHERE id = ANY($1::bigint[])', [
          pending.rows.map((r) => r.id),
        ]);
        return pending.rows.length;
      });
    } catch (err) {
      // Rows stay unstreamed and go out with a later publish: the stream is late, never lossy.
      this.opts.logger.warn('event stream relay deferred', { error: (err as Error).message });
      return 0;
    }
  }
}
