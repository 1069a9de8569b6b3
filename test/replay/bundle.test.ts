import { readFileSync } from 'node:fs';

// Each workflow run evaluates the bundle's modules afresh in its sandbox (only the SDK's own are shared), so a
// library imported by workflow code costs CPU and memory per run: zod alone was ~7 ms and ~1 MB per cached
// workflow (bench/RESULTS.md). Workflow code imports types from the contracts, and values only from zod-free modules.
describe('the workflow bundle', () => {
  const code = readFileSync(process.env.WORKFLOW_BUNDLE_PATH!, 'utf8');
  const packages = new Set([...code.matchAll(/node_modules\/((?:@[^/"]+\/)?[^/"]+)\//g)].map((m) => m[1]!));
  const ownModules = new Set([...code.matchAll(/"\.\/(?:dist|src)\/([\w/.-]+)\.[jt]s"/g)].map((m) => m[1]!));

  test('holds no third-party package but the Temporal SDK and its own dependencies', () => {
    expect([...packages].filter((p) => !/^(@temporalio\/|nexus-rpc$|long$|ms$)/.test(p))).toEqual([]);
  });

  test('holds the workflows, the shared Temporal definitions and only the zod-free contracts they need at run time', () => {
    expect([...ownModules].filter((m) => !m.startsWith('workflows/')).sort()).toEqual([
      'contracts/correlation',
      'contracts/failure-types',
      'contracts/skipped-outcomes',
      'definitions/activity-options',
      'definitions/failure-converter',
      'definitions/messages',
      'definitions/run-details',
      'definitions/run-failures',
      'definitions/search-attributes',
      'definitions/unreadable-payloads',
      'definitions/workflow-types',
    ]);
  });
});
