import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import type { DeliverWebhooksInput, WebhookRetry } from '../../contracts/webhooks';
import { runDetails } from '../../definitions/run-details';
import { functionSearchAttributes } from '../../definitions/search-attributes';
import { deliverWebhooksWorkflowId } from '../../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../../definitions/workflow-types';
import type { Logger } from '../observability/logger';

const SWEEP_BATCH = 100;

/** The delivery policy from config; each run carries it (a workflow cannot read config). */
function webhookRetry(config: Config): WebhookRetry {
  return {
    initial_interval_ms: config.WEBHOOK_RETRY_INITIAL_MS,
    maximum_interval_ms: config.WEBHOOK_RETRY_MAX_MS,
    maximum_attempts: config.WEBHOOK_MAX_ATTEMPTS,
    timeout_ms: config.WEBHOOK_TIMEOUT_MS,
  };
}

/**
 * Hands outbox events to `deliverWebhooks` runs, one per event, with an id derived from the event
 * (`webhooks-<schema>-<event id>`, conflict policy USE_EXISTING, reuse policy REJECT_DUPLICATE): starting twice,
 * from a retried publish or from the sweep, never delivers twice. An event is marked `webhooks_pending` when it is
 * written and the tenant had a webhook; the mark is cleared once its run has started, so an event whose writer died
 * in between is started by the next sweep: every matching event is delivered at least once.
 */
export class WebhookDispatcher {
  constructor(
    private readonly opts: {
      pool: Pool;
      client: Client;
      taskQueue: string;
      schema: string;
      retry: WebhookRetry;
      logger: Logger;
    },
  ) {}

  /** The dispatcher of this deployment: its task queue, schema and retry policy as config sets them. */
  static fromConfig(config: Config, deps: { pool: Pool; client: Client; logger: Logger }): WebhookDispatcher {
    return new WebhookDispatcher({
      ...deps,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      schema: config.DATABASE_SCHEMA,
      retry: webhookRetry(config),
    });
  }

  /** Starts the delivery runs of the still-pending events among these outbox dedupe keys. */
  dispatch(dedupeKeys: string[]): Promise<number> {
    return this.startPending('e.dedupe_key = ANY($1::text[])', [dedupeKeys]);
  }

  /** Events left pending for a while: their writer died between the commit and the start. */
  sweep(olderThanSeconds: number): Promise<number> {
    return this.startPending(
      `e.id IN (SELECT id FROM events WHERE webhooks_pending AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT ${SWEEP_BATCH})`,
      [olderThanSeconds],
    );
  }

  private async startPending(where: string, params: unknown[]): Promise<number> {
    const { rows } = await this.opts.pool.query<{
      id: string;
      tenant_id: string;
      function_name: string;
      event_type: string;
      version: string | null;
      webhook_ids: string[];
    }>(
      `SELECT e.id::text, e.tenant_id, e.function_name, e.event_type, e.payload->>'version' AS version,
              COALESCE(array_agg(w.id ORDER BY w.id) FILTER (WHERE w.id IS NOT NULL), '{}') AS webhook_ids
         FROM events e
         LEFT JOIN webhooks w ON w.tenant_id = e.tenant_id AND (e.event_type = ANY (w.event_types) OR '*' = ANY (w.event_types))
        WHERE e.webhooks_pending AND ${where}
        GROUP BY e.id, e.tenant_id, e.function_name, e.event_type, e.payload`,
      params,
    );
    let started = 0;
    for (const row of rows.filter((r) => r.webhook_ids.length > 0)) {
      const input: DeliverWebhooksInput = {
        tenant_id: row.tenant_id,
        event_id: row.id,
        webhook_ids: row.webhook_ids,
        retry: this.opts.retry,
      };
      try {
        // By type name with the input typed from its contract: an adapter imports no workflow code, not even its type.
        await this.opts.client.workflow.start(WORKFLOW_TYPES.deliverWebhooks, {
          taskQueue: this.opts.taskQueue,
          workflowId: deliverWebhooksWorkflowId(this.opts.schema, row.id),
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          args: [input],
          memo: { tenant_id: row.tenant_id },
          typedSearchAttributes: functionSearchAttributes(row.tenant_id, row.function_name, undefined),
          staticSummary: `deliver event ${row.id} (${row.event_type}) to ${row.webhook_ids.length} webhook(s)`,
          staticDetails: runDetails({
            function_name: row.function_name,
            version: row.version === null ? '–' : `v${row.version}`,
            trigger: `event ${row.event_type}`,
            tenant_id: row.tenant_id,
          }),
        });
        started += 1;
      } catch (err) {
        // Its run has finished already: the event was delivered (or given up on) before.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    if (rows.length > 0) {
      await this.opts.pool.query('UPDATE events SET webhooks_pending = false WHERE id = ANY($1::bigint[])', [
        rows.map((r) => r.id),
      ]);
    }
    return started;
  }
}
