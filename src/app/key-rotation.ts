import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { KeyRotationView, RotationProgress } from '../contracts/key-rotation';
import { rotationProgressQuery } from '../definitions/messages';
import { rotateKeyWorkflowId } from '../definitions/workflow-ids';
import { ForbiddenError } from './errors';

type Status = NonNullable<KeyRotationView['rotation']>['status'];

/** The progress of re-encryption to the active key, for the dashboard. Key rotation spans every tenant. */
export class KeyRotationStatus {
  constructor(
    private readonly client: Client,
    private readonly opts: { schema: string; activeKeyId: string | undefined; operatorTenant: string },
  ) {}

  async view(tenantId: string): Promise<KeyRotationView> {
    if (tenantId !== this.opts.operatorTenant)
      throw new ForbiddenError('forbidden', 'key rotation spans every tenant: only the operator tenant may see it');
    const { activeKeyId } = this.opts;
    if (activeKeyId === undefined) return { active_key_id: null, rotation: null };
    const workflowId = rotateKeyWorkflowId(this.opts.schema, activeKeyId);
    // Without a run id: the latest run of the continue-as-new chain.
    const handle = this.client.workflow.getHandle(workflowId);
    let status: Status;
    try {
      const { name } = (await handle.describe()).status;
      status = name === 'UNSPECIFIED' ? 'unknown' : (name.toLowerCase() as Status);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { active_key_id: activeKeyId, rotation: null };
      throw err;
    }
    let progress: RotationProgress | null = null;
    if (status === 'running') progress = await handle.query(rotationProgressQuery).catch(() => null);
    else if (status === 'completed') progress = (await handle.result()) as RotationProgress;
    return { active_key_id: activeKeyId, rotation: { workflow_id: workflowId, status, progress } };
  }
}
