import { Router } from 'express';
import { BatchRequest, type BatchWorkflowInput } from '../../contracts/progress';
import { canonicalJson, sha256 } from '../../infra/hash';
import { WORKFLOW_TYPES } from '../../definitions/workflow-types';
import { batchItemWorkflowId, batchWorkflowId } from '../../definitions/workflow-ids';
import type { enhanceBatch } from '../../workflows/batch';
import { prepareRun, type EnhancementDeps } from '../enhancement';
import { BadRequestError, HttpError, UnprocessableError, zodDetails } from '../errors';
import { callerOf, principalOf } from '../principal';
import type { RateLimits } from '../rate-limit';

/**
 * POST /api/v1/functions/enhance:batch (the colon is escaped: in Express 5 paths `:name` is a parameter).
 * Every item costs what a single enhance costs: the request paid one point on arrival, the other items are charged
 * here, before any of them is checked or started.
 * Every item is checked before anything starts: a batch with a bad item is a 422 naming each bad item.
 * Failures while running (validation, providers) are per-item outcomes of the batch run instead.
 */
export function batchRouter(deps: EnhancementDeps & { limits: RateLimits }): Router {
  const router = Router();

  router.post('/api/v1/functions/enhance\\:batch', async (req, res) => {
    const parsed = BatchRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body does not match the batch schema', zodDetails(parsed.error));
    const principal = principalOf(res);
    const { tenantId } = principal;
    const { functions } = parsed.data;
    await deps.limits.charge(res, callerOf(principal), 'enhance', functions.length - 1);
    const batchId = batchWorkflowId(sha256(canonicalJson({ tenant: tenantId, functions })));

    const checked = await Promise.all(
      functions.map((request, index) =>
        prepareRun(deps, request, tenantId).then(
          ({ inputHash, normalizedInputHash }) => ({
            request,
            input_hash: inputHash,
            normalized_input_hash: normalizedInputHash,
            workflow_id: batchItemWorkflowId(batchId, index),
          }),
          (err: unknown) => {
            if (err instanceof HttpError) return { path: `functions.${index}`, message: `${err.code}: ${err.message}` };
            throw err;
          },
        ),
      ),
    );
    const rejected = checked.filter((c) => 'path' in c);
    if (rejected.length > 0) throw new UnprocessableError('invalid_batch_items', `${rejected.length} of ${functions.length} functions were rejected`, rejected);

    const input: BatchWorkflowInput = {
      tenant_id: tenantId,
      items: checked.filter((c): c is BatchWorkflowInput['items'][number] => !('path' in c)),
      concurrency: deps.config.BATCH_CONCURRENCY,
    };
    const handle = await deps.client.workflow.start<typeof enhanceBatch>(WORKFLOW_TYPES.batch, {
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      workflowId: batchId,
      // An identical batch submitted again while running joins it.
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [input],
      memo: { tenant_id: tenantId },
      staticSummary: `batch of ${functions.length} enhancements (${deps.config.BATCH_CONCURRENCY} at a time)`,
    });
    const self = `/api/v1/runs/${encodeURIComponent(batchId)}`;
    res
      .status(202)
      .location(self)
      .json({ status: 'running', run: { workflow_id: batchId, run_id: handle.firstExecutionRunId }, total: functions.length, links: { self, events: `${self}/events` } });
  });

  return router;
}
