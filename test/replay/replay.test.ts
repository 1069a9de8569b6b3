import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';

const dir = path.join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

// Recorded from real runs (see test/replay/README.md): if a change to the workflow code breaks determinism,
// replaying these fails: the change ships as a new worker deployment version (docs/operations.md).
describe('recorded workflow histories replay against the current workflow code', () => {
  test('there are recorded histories for a miss, a cache hit, a failed run, an LLM repair round, regenerations, a rollback, runs canceled before and at the commit point, a batch, update-with-start, webhook deliveries, scheduled re-evaluation pages, a promoted rollout and a regeneration that starts one', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'enhance-miss.json',
        'enhance-miss-update.json',
        'enhance-hit.json',
        'enhance-validation-failed.json',
        'enhance-llm-repair.json',
        'enhance-canceled.json',
        'enhance-canceled-at-commit.json',
        'regenerate-accepted.json',
        'regenerate-new-version.json',
        'activate-rollback.json',
        'batch-partial.json',
        'webhooks-deliver.json',
        'reevaluate-regenerated.json',
        'reevaluate-joined.json',
        'rollout-promoted.json',
        'regenerate-rollout.json',
      ]),
    );
  });

  test.each(files)('%s', async (file) => {
    // Passed as plain JSON: the worker converts it with its own protobuf classes.
    const history: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! } }, history, file);
  });
});
