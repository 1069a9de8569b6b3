import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { FeedbackRequest, RegenerateResult } from '../contracts/feedback';
import { ExamplesRefused, type FeedbackRepo } from '../infra/db/feedback-repo';
import type { VersionsRepo } from '../infra/db/versions-repo';
import { runDetails } from '../definitions/run-details';
import { functionSearchAttributes } from '../definitions/search-attributes';
import { regenerateWorkflowId } from '../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../definitions/workflow-types';
import { sha256 } from '../infra/hash';
import type { regenerateFromFeedback } from '../workflows/regenerate';
import { ConflictError, UnprocessableError } from './errors';
import { functionNotFound, versionNotFound } from './functions';
import type { Runs, Settled } from './runs';

export interface FeedbackDeps {
  config: Config;
  client: Client;
  runs: Runs;
  versions: VersionsRepo;
  feedback: FeedbackRepo;
  /** Starts the deliveries of new events; a failure leaves them to the workers' sweep. */
  dispatchWebhooks: (eventKeys: string[]) => Promise<void>;
  shutdown?: AbortSignal;
}

/** A duplicate report (same execution and version): accepted, not counted again. */
export type FeedbackOutcome = Settled<RegenerateResult> | { status: 'duplicate'; version: number };

function examplesRefused(err: ExamplesRefused) {
  const details = err.index === undefined ? undefined : [{ path: `examples.${err.index}`, message: err.message }];
  return err.reason === 'conflict'
    ? new ConflictError('example_conflict', err.message, details)
    : new UnprocessableError('examples_limit', err.message);
}

/** Feedback on a version: stored, then regenerateFromFeedback decides whether the version must change. */
export class Feedback {
  constructor(private readonly deps: FeedbackDeps) {}

  async submit(tenantId: string, name: string, fb: FeedbackRequest, waitMs: number): Promise<FeedbackOutcome> {
    const { versions, feedback, client, config } = this.deps;
    const source = await versions.versionSource({ tenantId, functionName: name, version: fb.version });
    if (!source) {
      if (!(await versions.getFunction(tenantId, name))) throw functionNotFound(name);
      throw versionNotFound(name, fb.version);
    }

    const recorded = await feedback.record(tenantId, name, fb).catch((err: unknown) => {
      throw err instanceof ExamplesRefused ? examplesRefused(err) : err;
    });
    if (recorded.duplicate) return { status: 'duplicate', version: fb.version };
    if (recorded.eventKey) await this.deps.dispatchWebhooks([recorded.eventKey]);
    // One run per version at a time: concurrent feedback on it joins the run, so it yields at most one new version.
    const handle = await client.workflow.start<typeof regenerateFromFeedback>(WORKFLOW_TYPES.regenerate, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: regenerateWorkflowId(sha256(tenantId), name, fb.version),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ tenant_id: tenantId, function_name: name, version: fb.version }],
      // The owner, readable from a describe: another tenant asking for this run gets a 404.
      memo: { tenant_id: tenantId },
      typedSearchAttributes: functionSearchAttributes(tenantId, name, source.request?.domain),
      staticSummary: `feedback on ${name} v${fb.version}: regenerate if it must change`,
      staticDetails: runDetails({
        function_name: name,
        version: `a new one if Train says v${fb.version} must change`,
        domain: source.request?.domain,
        trigger: 'feedback',
        parent_version: fb.version,
        tenant_id: tenantId,
      }),
    });
    return this.deps.runs.settle(handle, waitMs, this.deps.shutdown);
  }
}
