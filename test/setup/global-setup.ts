import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerExtraArgs, ensureTemporalCli } from '../../src/cli/temporal-dev';
import { writeWorkflowBundle } from '../../src/worker/bundle';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/definitions/search-attributes';
import { clusterEnv, clusterScript, clusterTopology } from '../helpers/topology';

declare global {
  var __POET_TEMPORAL__: TestWorkflowEnvironment | undefined;
  /** Set when global setup brought the cluster up, so teardown takes it down again. */
  var __POET_CLUSTER_STARTED__: boolean | undefined;
}

/**
 * One Temporal dev server and one workflow bundle for the whole suite; each test file then brings its
 * own worker, task queue, PostgreSQL schema and Redis prefix, so files run in parallel without sharing state.
 * In cluster mode the dev server's place is taken by scripts/cluster.sh's Temporal server (with its API and workers).
 */
export default async function globalSetup(): Promise<void> {
  process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
  process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
  if (clusterTopology) {
    globalThis.__POET_CLUSTER_STARTED__ = !/temporal-\w+ running/.test(clusterScript('status'));
    clusterScript('up');
    process.env.TEMPORAL_ADDRESS = clusterEnv().POET_CLUSTER_TEMPORAL_ADDRESS;
  } else if (!process.env.TEMPORAL_ADDRESS) {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: ensureTemporalCli(path.join(__dirname, '..', '..'), process.env) },
        ip: '127.0.0.1',
        searchAttributes: SEARCH_ATTRIBUTE_KEYS,
        extraArgs: devServerExtraArgs(),
        log: { format: 'json', level: 'error' },
      },
    });
    globalThis.__POET_TEMPORAL__ = env;
    process.env.TEMPORAL_ADDRESS = env.address;
  }
  const bundle = path.join(mkdtempSync(path.join(os.tmpdir(), 'poet-bundle-')), 'workflow-bundle.js');
  await writeWorkflowBundle(bundle);
  process.env.WORKFLOW_BUNDLE_PATH = bundle;
}
