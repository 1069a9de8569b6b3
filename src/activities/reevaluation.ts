import type { PublishedEvent } from '../contracts/events';
import type { FunctionKey, RecordEvaluationsInput, ReevaluationPage } from '../contracts/reevaluation';
import type { EventPublisher } from '../infra/events/publisher';
import type { FeedbackRepo } from '../infra/db/feedback-repo';
import type { ReevaluationRepo } from '../infra/db/reevaluation-repo';
import type { VersionsRepo } from '../infra/db/versions-repo';
import { regenerateWorkflowId } from '../definitions/workflow-ids';
import { sha256 } from '../infra/hash';
import { assessVersion } from './feedback';

export interface ReevaluationDeps {
  versions: VersionsRepo;
  feedback: FeedbackRepo;
  reevaluations: ReevaluationRepo;
  events: EventPublisher;
  /** Functions per page (REEVALUATION_PAGE_SIZE). */
  reevaluationPageSize: number;
}

export function createReevaluationActivities(deps: ReevaluationDeps) {
  return {
    /** One page of functions with feedback newer than their last evaluation, each with Train's decision. */
    async findReevaluations(input: { after?: FunctionKey }): Promise<ReevaluationPage> {
      const limit = deps.reevaluationPageSize;
      const rows = await deps.reevaluations.pending(input.after, limit + 1);
      const page = rows.slice(0, limit);
      const candidates = [];
      for (const row of page) {
        const assessment = await assessVersion(deps.versions, deps.feedback, row);
        candidates.push({
          ...row,
          status: assessment.status,
          reasons: assessment.reasons,
          feedback_count: assessment.feedback_count,
          workflow_id: regenerateWorkflowId(sha256(row.tenant_id), row.function_name, row.version),
        });
      }
      const last = page[page.length - 1];
      return {
        candidates,
        ...(rows.length > limit && last
          ? { next: { tenant_id: last.tenant_id, function_name: last.function_name } }
          : {}),
      };
    },

    /**
     * Moves the functions' cursors, then publishes `function.evaluated` for each and `function.regenerated` for
     * those with a new version. Both steps are idempotent, so a retry neither skips nor repeats an event.
     */
    async recordEvaluations(input: RecordEvaluationsInput): Promise<void> {
      await deps.reevaluations.record(input.evaluations);
      for (const e of input.evaluations) {
        const events: PublishedEvent[] = [
          {
            type: 'function.evaluated',
            payload: {
              version: e.version,
              status: e.status,
              outcome: e.outcome,
              reasons: e.reasons,
              feedback_count: e.feedback_count,
              error: e.error ?? null,
            },
          },
        ];
        if (e.outcome === 'regenerated') {
          events.push({
            type: 'function.regenerated',
            payload: {
              version: e.version,
              new_version: e.new_version,
              reason: e.reasons.join('; '),
              regeneration_workflow_id: e.regeneration_workflow_id,
            },
          });
        }
        // Several functions share one run: the suffix keeps their outbox keys apart.
        const suffixed = events.map((event) => ({ ...event, dedupe_suffix: `${e.tenant_id}/${e.function_name}` }));
        await deps.events.publish({
          tenant_id: e.tenant_id,
          function_name: e.function_name,
          workflow_id: input.workflow_id,
          run_id: input.run_id,
          events: suffixed,
        });
      }
    },
  };
}
