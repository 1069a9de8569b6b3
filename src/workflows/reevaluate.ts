import {
  continueAsNew,
  isCancellation,
  setCurrentDetails,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Evaluation, ReevaluateInput, ReevaluationCandidate, ReevaluationTotals } from '../contracts/reevaluation';
import { pageDetails, REEVALUATION_DETAILS, runDetails } from '../definitions/run-details';
import { functionSearchAttributes, OutcomeKey } from '../definitions/search-attributes';
import { activity } from './activities';
import { regenerateFromFeedback } from './regenerate';
import { autoUpgrades } from './versioning';
import { rootMessage, slidingWindow } from './window';

const findReevaluations = activity('findReevaluations');
const recordEvaluations = activity('recordEvaluations');

/** Feedback-driven regeneration as a child run, under the id feedback uses: one already going is joined, not doubled. */
async function evaluate(candidate: ReevaluationCandidate): Promise<Evaluation> {
  const { workflow_id, ...evaluated } = candidate;
  if (candidate.status === 'accepted') return { ...evaluated, outcome: 'accepted' };
  const { tenant_id, function_name, version, domain } = candidate;
  try {
    const child = await startChild(regenerateFromFeedback, {
      workflowId: workflow_id,
      args: [{ tenant_id, function_name, version, trigger: 'reevaluation' }],
      memo: { tenant_id },
      typedSearchAttributes: functionSearchAttributes(tenant_id, function_name, domain),
      staticSummary: `scheduled re-evaluation of ${function_name} v${version}: ${candidate.reasons.join('; ')}`,
      staticDetails: runDetails({
        function_name,
        version: `a new one regenerated from v${version}`,
        domain,
        trigger: 'reevaluation',
        parent_version: version,
        tenant_id,
      }),
    });
    const result = await child.result();
    const regeneration = { regeneration_workflow_id: workflow_id };
    return result.new_version === undefined
      ? { ...evaluated, ...regeneration, outcome: 'unchanged' }
      : { ...evaluated, ...regeneration, outcome: 'regenerated', new_version: result.new_version };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { ...evaluated, outcome: 'joined', regeneration_workflow_id: workflow_id };
    if (isCancellation(err)) throw err;
    return { ...evaluated, outcome: 'failed', error: rootMessage(err) };
  }
}

// Its pages chain by continue-as-new and wait for child regenerations: pinned, it would hold an old build up as long.
autoUpgrades(reevaluateFunctions);

/**
 * Started by the re-evaluation Schedule: finds the functions (of every tenant in the worker's schema) whose feedback
 * on the active version is newer than their last evaluation, regenerates those Train says must change as child runs
 * of regenerateFromFeedback (a sliding window of `concurrency`), and records every evaluation. One page per run;
 * the next page continues as new, so the history stays small however many functions there are.
 */
export async function reevaluateFunctions(input: ReevaluateInput): Promise<ReevaluationTotals> {
  const totals: ReevaluationTotals = { evaluated: 0, regenerated: 0, joined: 0, failed: 0, ...input.totals };
  const after = input.after ? `after \`${input.after.tenant_id}/${input.after.function_name}\`` : 'first page';
  setCurrentDetails(
    pageDetails(
      REEVALUATION_DETAILS,
      `${after}; so far ${totals.evaluated} evaluated, ${totals.regenerated} regenerated`,
    ),
  );
  const { candidates, next } = await findReevaluations({ after: input.after });
  const evaluations: Evaluation[] = [];
  await slidingWindow(candidates.length, input.concurrency, async (index) => {
    evaluations[index] = await evaluate(candidates[index]!);
  });
  if (evaluations.length > 0) {
    const { workflowId, runId } = workflowInfo();
    await recordEvaluations({ workflow_id: workflowId, run_id: runId, evaluations });
  }
  totals.evaluated += evaluations.length;
  totals.regenerated += evaluations.filter((e) => e.outcome === 'regenerated').length;
  totals.joined += evaluations.filter((e) => e.outcome === 'joined').length;
  totals.failed += evaluations.filter((e) => e.outcome === 'failed').length;
  if (next) return continueAsNew<typeof reevaluateFunctions>({ concurrency: input.concurrency, after: next, totals });
  upsertSearchAttributes([
    { key: OutcomeKey, value: totals.failed > 0 ? 'partial' : totals.regenerated > 0 ? 'regenerated' : 'completed' },
  ]);
  return totals;
}
