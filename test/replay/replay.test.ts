import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';

const dir = path.join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

// Recorded from real runs (see test/replay/README.md): if a change to the workflow code breaks
// determinism, replaying these fails and the change must be versioned with patched().
describe('recorded workflow histories replay against the current workflow code', () => {
  test('there are recorded histories for a miss, a cache hit, a failed run, an LLM repair round, regenerations, a rollback, a canceled run, a batch, update-with-start runs, webhook deliveries, scheduled re-evaluation pages, runs that commit locally and runs with fewer local rounds', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'enhance-miss.json',
        'enhance-hit.json',
        'enhance-validation-failed.json',
        'enhance-llm-repair.json',
        'regenerate-accepted.json',
        'regenerate-new-version.json',
        'activate-rollback.json',
        'enhance-canceled.json',
        'batch-partial.json',
        'enhance-hit-active-version.json',
        'enhance-miss-update.json',
        'webhooks-deliver.json',
        'reevaluate-regenerated.json',
        'reevaluate-joined.json',
        'enhance-miss-local-commit.json',
        'enhance-hit-local-commit.json',
        'enhance-miss-fewer-rounds.json',
        'enhance-hit-fewer-rounds.json',
      ]),
    );
  });

  test.each(files)('%s', async (file) => {
    // Passed as plain JSON: the worker converts it with its own protobuf classes.
    const history: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! } }, history, file);
  });
});
