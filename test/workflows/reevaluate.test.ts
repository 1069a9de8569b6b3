import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Assessment } from '../../src/contracts/feedback';
import type { ReevaluationCandidate } from '../../src/contracts/reevaluation';
import {
  DomainKey,
  FunctionNameKey,
  OutcomeKey,
  ProviderKey,
  TenantKey,
} from '../../src/definitions/search-attributes';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import type { regenerateFromFeedback } from '../../src/workflows/regenerate';
import type { reevaluateFunctions } from '../../src/workflows/reevaluate';
import { callsOf, enhanceInput, stubActivities, withWorker, workflowEnvironment } from '../helpers/workflow-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

const candidate = (
  function_name: string,
  status: ReevaluationCandidate['status'],
  workflow_id: string,
): ReevaluationCandidate => ({
  tenant_id: 'default',
  function_name,
  version: 1,
  domain: 'base_reliability',
  last_feedback_id: '7',
  status,
  reasons: status === 'accepted' ? [] : ['error_rate 0.40 over 0.2'],
  feedback_count: 2,
  workflow_id,
});

const requiresUpdate: Assessment = {
  status: 'requires_update',
  reasons: ['error_rate 0.40 over 0.2'],
  feedback_count: 2,
  regenerate: {
    request: enhanceInput('needs_work').request,
    input_hash: 'c'.repeat(64),
    guidance: { reason: 'errors', suggestions: [], operate: {}, perceive: {} },
  },
};

describe('reevaluateFunctions against stub activities', () => {
  test('pages by continue-as-new: regenerates what Train says must change, joins a regeneration already going, records every page', async () => {
    const suffix = `${Date.now()}`;
    const busyId = `regenerate-busy-${suffix}`;
    const pages: Record<
      string,
      { candidates: ReevaluationCandidate[]; next?: { tenant_id: string; function_name: string } }
    > = {
      first: {
        candidates: [
          candidate('needs_work', 'requires_update', `regenerate-needs-work-${suffix}`),
          candidate('fine', 'accepted', 'unused'),
        ],
        next: { tenant_id: 'default', function_name: 'fine' },
      },
      fine: { candidates: [candidate('busy', 'requires_update', busyId)] },
    };
    const { activities, calls } = stubActivities({
      findReevaluations: async (input) => pages[input.after?.function_name ?? 'first']!,
      assessFeedback: async () => requiresUpdate,
      storeVersion: async () => ({ version: 2, created: true, deprecated: 1 }),
    });
    // A regeneration of busy v1 already under way (on a queue no worker polls): the re-evaluation must not start a second.
    const busy = await env.client.workflow.start<typeof regenerateFromFeedback>(WORKFLOW_TYPES.regenerate, {
      taskQueue: `nobody-${suffix}`,
      workflowId: busyId,
      args: [{ tenant_id: 'default', function_name: 'busy', version: 1 }],
    });
    try {
      await withWorker(env, activities, async (taskQueue) => {
        const handle = await env.client.workflow.start<typeof reevaluateFunctions>(WORKFLOW_TYPES.reevaluate, {
          taskQueue,
          workflowId: `reevaluate-${taskQueue}`,
          args: [{ concurrency: 2 }],
        });
        // result() follows the chain of runs to the last page.
        expect(await handle.result()).toEqual({ evaluated: 3, regenerated: 1, joined: 1, failed: 0 });
        expect(callsOf(calls, 'findReevaluations')).toEqual([
          {},
          { after: { tenant_id: 'default', function_name: 'fine' } },
        ]);
        const [first, second] = callsOf(calls, 'recordEvaluations');
        expect(
          first!.evaluations.map((e) => [e.function_name, e.outcome, e.new_version, e.regeneration_workflow_id]),
        ).toEqual([
          ['needs_work', 'regenerated', 2, `regenerate-needs-work-${suffix}`],
          ['fine', 'accepted', undefined, undefined],
        ]);
        expect(second!.evaluations.map((e) => [e.function_name, e.outcome, e.regeneration_workflow_id])).toEqual([
          ['busy', 'joined', busyId],
        ]);
        expect(first!.run_id).not.toBe(second!.run_id);
        // Only the regeneration that was started ran here.
        expect(callsOf(calls, 'assessFeedback')).toEqual([
          { tenant_id: 'default', function_name: 'needs_work', version: 1, trigger: 'reevaluation' },
        ]);
        // The new version records that re-evaluation made it, from v1.
        expect(callsOf(calls, 'storeVersion')[0]).toMatchObject({ trigger: 'reevaluation', parent_version: 1 });
        const { typedSearchAttributes } = await handle.describe();
        expect(typedSearchAttributes.get(OutcomeKey)).toBe('regenerated');

        // The child run reads in the Temporal UI without its payloads: search attributes, summary and details.
        const child = await env.client.workflow.getHandle(`regenerate-needs-work-${suffix}`).describe();
        expect({
          function: child.typedSearchAttributes.get(FunctionNameKey),
          domain: child.typedSearchAttributes.get(DomainKey),
          tenant: child.typedSearchAttributes.get(TenantKey),
          outcome: child.typedSearchAttributes.get(OutcomeKey),
          provider: child.typedSearchAttributes.get(ProviderKey),
        }).toEqual({
          function: 'needs_work',
          domain: 'base_reliability',
          tenant: 'default',
          outcome: 'regenerated',
          provider: 'template',
        });
        expect(await child.staticSummary()).toMatch(/^scheduled re-evaluation of needs_work v1/);
        expect(await child.staticDetails()).toEqual(
          [
            '- **function**: `needs_work`',
            '- **version**: a new one regenerated from v1',
            '- **domain**: base_reliability',
            '- **trigger**: reevaluation',
            '- **parent version**: v1',
            '- **tenant**: `default`',
          ].join('\n'),
        );
      });
    } finally {
      await busy.terminate('test over');
    }
  });
});
