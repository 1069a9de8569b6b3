import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Config } from '../config';
import type { RolloutControl, RolloutRequest, RolloutStarted, RolloutState } from '../contracts/rollouts';
import type { VersionsRepo } from '../infra/db/versions-repo';
import { sha256 } from '../infra/hash';
import { rolloutQuery, rolloutUpdates } from '../definitions/messages';
import { runDetails } from '../definitions/run-details';
import { functionSearchAttributes } from '../definitions/search-attributes';
import { rolloutWorkflowId } from '../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../definitions/workflow-types';
import type { rolloutVersion } from '../workflows/rollout';
import { ConflictError, NotFoundError } from './errors';
import { functionNotFound, versionNotFound } from './functions';

export interface RolloutsDeps {
  config: Config;
  client: Client;
  versions: VersionsRepo;
}

const noRollout = (name: string) => new NotFoundError('rollout_not_found', `function ${name} has no rollout`);
const rolloutEnded = (name: string) =>
  new ConflictError('rollout_ended', `the rollout of ${name} has ended; start a new one`);

/** Progressive rollouts of a candidate version, one rolloutVersion run per function at a time. */
export class Rollouts {
  constructor(private readonly deps: RolloutsDeps) {}

  async start(tenantId: string, name: string, request: RolloutRequest): Promise<RolloutStarted> {
    const { versions, client, config } = this.deps;
    const candidate = request.candidate_version;
    const [fn, source] = await Promise.all([
      versions.getFunction(tenantId, name),
      versions.versionSource({ tenantId, functionName: name, version: candidate }),
    ]);
    if (!fn) throw functionNotFound(name);
    if (!source) throw versionNotFound(name, candidate);
    if (fn.current_version === null)
      throw new ConflictError('no_active_version', `function ${name} has no active version to measure against`);
    if (fn.current_version === candidate)
      throw new ConflictError('candidate_is_active', `version ${candidate} of ${name} is already the active version`);
    const baseline = fn.current_version;
    const workflowId = rolloutWorkflowId(sha256(tenantId), name);
    try {
      const handle = await client.workflow.start<typeof rolloutVersion>(WORKFLOW_TYPES.rollout, {
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        workflowId,
        args: [{ ...request, tenant_id: tenantId, function_name: name, baseline_version: baseline }],
        memo: { tenant_id: tenantId },
        typedSearchAttributes: functionSearchAttributes(tenantId, name, source.request?.domain),
        staticSummary: `roll out ${name} v${candidate} against v${baseline}, steps ${request.steps.join('/')} %`,
        staticDetails: runDetails({
          function_name: name,
          version: `v${candidate}`,
          domain: source.request?.domain,
          trigger: 'rollout',
          parent_version: baseline,
          tenant_id: tenantId,
        }),
      });
      return {
        function_name: name,
        candidate_version: candidate,
        baseline_version: baseline,
        run: { workflow_id: workflowId, run_id: handle.firstExecutionRunId },
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new ConflictError('rollout_running', `function ${name} has a rollout under way`);
      throw err;
    }
  }

  /** The function's latest rollout, running or ended, as its run reports it. */
  async current(tenantId: string, name: string): Promise<RolloutState> {
    try {
      return await this.handle(tenantId, name).query(rolloutQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw noRollout(name);
      throw err;
    }
  }

  /** Pause, resume, abort or promote the running rollout; answers its state once the run has acted on it. */
  async control(tenantId: string, name: string, control: RolloutControl): Promise<RolloutState> {
    const handle = this.handle(tenantId, name);
    let found = false;
    try {
      const { status } = await handle.describe();
      found = true;
      if (status.name !== 'RUNNING') throw rolloutEnded(name);
      return await handle.executeUpdate(rolloutUpdates[control]);
    } catch (err) {
      // The server answers an update to a run that completed since the describe with "not found".
      if (err instanceof WorkflowNotFoundError && found) throw rolloutEnded(name);
      if (err instanceof WorkflowNotFoundError) throw noRollout(name);
      // Refused by the run's validator: it ended while this was on its way.
      if (err instanceof WorkflowUpdateFailedError) throw rolloutEnded(name);
      throw err;
    }
  }

  private handle(tenantId: string, name: string) {
    return this.deps.client.workflow.getHandle<typeof rolloutVersion>(rolloutWorkflowId(sha256(tenantId), name));
  }
}
