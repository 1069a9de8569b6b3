import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { RunSummary } from '../contracts/dashboard';
import { CacheOutcomeKey, DomainKey, FunctionNameKey } from '../definitions/search-attributes';
import { STATUS } from './runs';

export interface RunListOptions {
  tenantId: string;
  taskQueue: string;
  namespace: string;
  limit: number;
  /** Base URL of the Temporal UI; absent: runs carry no link. */
  uiUrl?: string;
  /** Visibility rows read at most: other tenants' runs on the queue are skipped, not counted. */
  scanLimit?: number;
}

/** The run's history page in the Temporal UI (the UI's own URL scheme). */
export function temporalUiUrl(base: string | undefined, namespace: string, workflowId: string, runId: string): string | null {
  if (!base) return null;
  const part = encodeURIComponent;
  return `${base.replace(/\/+$/, '')}/namespaces/${part(namespace)}/workflows/${part(workflowId)}/${part(runId)}/history`;
}

function summary(info: WorkflowExecutionInfo, opts: RunListOptions): RunSummary {
  return {
    workflow_id: info.workflowId,
    run_id: info.runId,
    type: info.type,
    status: STATUS[info.status.name] ?? 'running',
    function_name: info.typedSearchAttributes.get(FunctionNameKey) ?? null,
    domain: info.typedSearchAttributes.get(DomainKey) ?? null,
    cache: info.typedSearchAttributes.get(CacheOutcomeKey) ?? null,
    started_at: info.startTime.toISOString(),
    closed_at: info.closeTime?.toISOString() ?? null,
    temporal_ui_url: temporalUiUrl(opts.uiUrl, opts.namespace, info.workflowId, info.runId),
  };
}

/**
 * The tenant's most recent runs on the service's task queue, newest first, from Temporal's visibility store.
 * The tenant is the run's memo (as GET /api/v1/runs/{id} checks it): runs of other tenants are skipped.
 */
export async function listRuns(client: Client, opts: RunListOptions): Promise<RunSummary[]> {
  const scanLimit = opts.scanLimit ?? 1_000;
  const query = `TaskQueue = '${opts.taskQueue.replace(/'/g, "\\'")}'`;
  const runs: RunSummary[] = [];
  let scanned = 0;
  for await (const info of client.workflow.list({ query, pageSize: Math.min(100, scanLimit) })) {
    // Runs started before tenants were recorded in the memo belong to the default tenant.
    if ((info.memo?.tenant_id ?? 'default') === opts.tenantId) runs.push(summary(info, opts));
    if (runs.length >= opts.limit || ++scanned >= scanLimit) break;
  }
  return runs.sort((a, b) => b.started_at.localeCompare(a.started_at));
}
