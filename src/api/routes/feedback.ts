import { Router } from 'express';
import { FeedbackRequest } from '../../contracts/feedback';
import type { FeedbackRepo } from '../../infra/db/feedback-repo';
import { FunctionNameKey } from '../../definitions/search-attributes';
import { regenerateWorkflowId } from '../../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../../definitions/workflow-types';
import { sha256 } from '../../infra/hash';
import type { regenerateFromFeedback } from '../../workflows/regenerate';
import { BadRequestError, zodDetails } from '../errors';
import { waitMsOf } from '../enhancement';
import { principalOf } from '../principal';
import { functionNameOf, functionNotFound, versionNotFound, type FunctionsRouteDeps } from './functions';

export function feedbackRouter(
  deps: FunctionsRouteDeps & { feedback: FeedbackRepo; dispatchWebhooks: (eventKeys: string[]) => Promise<void> },
): Router {
  const { versions, feedback, client, config } = deps;
  const router = Router();

  router.post('/api/v1/functions/:name/feedback', async (req, res) => {
    const name = functionNameOf(req);
    const waitMs = waitMsOf(req, config);
    const parsed = FeedbackRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body does not match the feedback schema', zodDetails(parsed.error));
    const fb = parsed.data;
    const tenantId = principalOf(res).tenantId;
    const source = await versions.versionSource({ tenantId, functionName: name, version: fb.version });
    if (!source) {
      if (!(await versions.getFunction(tenantId, name))) throw functionNotFound(name);
      throw versionNotFound(name, fb.version);
    }

    const recorded = await feedback.record(tenantId, name, fb);
    if (recorded.duplicate) {
      res.status(200).json({ status: 'accepted', duplicate: true, version: fb.version });
      return;
    }
    if (recorded.eventKey) await deps.dispatchWebhooks([recorded.eventKey]);
    // One run per version at a time: concurrent feedback on it joins the run, so it yields at most one new version.
    const handle = await client.workflow.start<typeof regenerateFromFeedback>(WORKFLOW_TYPES.regenerate, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: regenerateWorkflowId(sha256(tenantId), name, fb.version),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ tenant_id: tenantId, function_name: name, version: fb.version }],
      // The owner, readable from a describe: another tenant asking for this run gets a 404.
      memo: { tenant_id: tenantId },
      typedSearchAttributes: [{ key: FunctionNameKey, value: name }],
      staticSummary: `feedback on ${name} v${fb.version}: regenerate if it must change`,
    });
    await deps.runs.answer(res, handle, waitMs, deps.shutdown);
  });

  return router;
}
