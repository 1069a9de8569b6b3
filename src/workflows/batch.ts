import { executeChild, isCancellation, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { BatchItemOutcome, BatchResult, BatchWorkflowInput } from '../contracts/progress';
import { enhanceFunction } from './enhance';
import { progressQuery } from '../definitions/messages';
import { ENHANCE_VERSION, runDetails } from '../definitions/run-details';
import { enhanceSearchAttributes, OutcomeKey } from '../definitions/search-attributes';
import { StageHistory } from './progress';
import { rootMessage, slidingWindow } from './window';

/**
 * Enhances many functions as child runs of enhanceFunction, at most `concurrency` at once (a sliding window).
 * A failed item is reported in its outcome and the batch goes on; the batch itself fails only when canceled.
 */
export async function enhanceBatch(input: BatchWorkflowInput): Promise<BatchResult> {
  const { tenant_id, items, concurrency } = input;
  const stages = new StageHistory();
  const outcomes: BatchItemOutcome[] = items.map((item, index) => ({
    index,
    function_name: item.request.function_name,
    workflow_id: item.workflow_id,
    status: 'pending',
  }));
  const result = (): BatchResult => ({
    total: outcomes.length,
    succeeded: outcomes.filter((o) => o.status === 'completed').length,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    items: outcomes,
  });
  setHandler(progressQuery, () => {
    const { total, succeeded, failed } = result();
    return {
      kind: 'batch',
      stage: stages.stage,
      history: stages.history,
      done: succeeded + failed,
      total,
      succeeded,
      failed,
      items: outcomes,
    };
  });

  const runItem = async (index: number) => {
    const { request, input_hash, normalized_input_hash, workflow_id } = items[index]!;
    const outcome = outcomes[index]!;
    outcome.status = 'running';
    try {
      const enhanced = await executeChild(enhanceFunction, {
        workflowId: workflow_id,
        args: [{ request, input_hash, normalized_input_hash, tenant_id }],
        memo: { tenant_id },
        typedSearchAttributes: enhanceSearchAttributes(request, tenant_id),
        staticSummary: `enhance ${request.function_name} (${request.domain}), item ${index + 1} of ${items.length}`,
        staticDetails: runDetails({
          function_name: request.function_name,
          version: ENHANCE_VERSION,
          domain: request.domain,
          trigger: 'request',
          tenant_id,
        }),
      });
      Object.assign(outcome, { status: 'completed', version: enhanced.version });
    } catch (err) {
      if (isCancellation(err)) throw err;
      Object.assign(outcome, { status: 'failed', error: rootMessage(err) });
    }
  };

  stages.enter('generate', `${items.length} functions, ${concurrency} at a time`);
  try {
    await slidingWindow(items.length, concurrency, runItem);
  } catch (err) {
    for (const o of outcomes) if (o.status === 'pending' || o.status === 'running') o.status = 'canceled';
    stages.enter(isCancellation(err) ? 'canceled' : 'failed', rootMessage(err));
    throw err;
  }
  const done = result();
  upsertSearchAttributes([
    { key: OutcomeKey, value: done.failed === 0 ? 'completed' : done.succeeded === 0 ? 'failed' : 'partial' },
  ]);
  stages.enter('completed', `${done.succeeded} of ${done.total} succeeded, ${done.failed} failed`);
  return done;
}
