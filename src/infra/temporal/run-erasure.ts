import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { referencedPayloadIds } from './claim-check';

/** Which runs to remove: a tenant's runs of one function, or all of its runs (on the service's task queue, both). */
export type RunSelection = { tenantId: string; functionName?: string };

/**
 * Removes a tenant's workflow runs from Temporal (their histories hold the code and inputs) together with the
 * claim-checked payloads they refer to. A run's tenant is its memo's, as for every other read of runs.
 */
export class RunEraser {
  constructor(
    private readonly client: Client,
    private readonly pool: Pool,
    private readonly opts: { namespace: string; taskQueue: string },
  ) {}

  async erase(selection: RunSelection): Promise<{ runs: number; payloads: number }> {
    const quote = (value: string) => `'${value.replace(/'/g, "\\'")}'`;
    // This deployment's runs only: other deployments may share the namespace, and their tenants' names.
    const query = `TaskQueue = ${quote(this.opts.taskQueue)}${
      selection.functionName === undefined ? '' : ` AND FunctionName = ${quote(selection.functionName)}`
    }`;
    const payloadIds = new Set<string>();
    let runs = 0;
    for await (const info of this.client.workflow.list({ query })) {
      const tenant = typeof info.memo?.tenant_id === 'string' ? info.memo.tenant_id : 'default';
      if (tenant !== selection.tenantId) continue;
      const history = await this.client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
      for (const id of referencedPayloadIds(history)) payloadIds.add(id);
      // Deleting a running execution terminates it first: nothing of the function is made after the delete.
      await this.client.workflowService.deleteWorkflowExecution({
        namespace: this.opts.namespace,
        workflowExecution: { workflowId: info.workflowId, runId: info.runId },
      });
      runs += 1;
    }
    const payloads =
      payloadIds.size === 0
        ? 0
        : ((
            await this.pool.query('DELETE FROM payloads WHERE tenant_id = $1 AND id = ANY($2::text[])', [
              selection.tenantId,
              [...payloadIds],
            ])
          ).rowCount ?? 0);
    return { runs, payloads };
  }
}
