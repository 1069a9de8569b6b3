import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import { sha256 } from '../../src/infra/hash';
import {
  deploymentVersion,
  setCurrentVersion,
  workerDeploymentOptions,
} from '../../src/infra/temporal/worker-deployments';
import type { enhanceFunction } from '../../src/workflows/enhance';
import type { deliverWebhooks } from '../../src/workflows/webhooks';
import { enhanceInput, stubActivities, workflowEnvironment } from '../helpers/workflow-env';

const { VersioningBehavior } = temporal.api.enums.v1;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

describe('worker versioning', () => {
  test('unversioned without a deployment name; the default build id changes with the workflow bundle', () => {
    expect(deploymentVersion(loadConfig({}))).toBeUndefined();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-bundle-'));
    const bundle = path.join(dir, 'workflow-bundle.js');
    const config = loadConfig({ TEMPORAL_DEPLOYMENT_NAME: 'poet', WORKFLOW_BUNDLE_PATH: bundle });
    expect(() => deploymentVersion(config)).toThrow(/TEMPORAL_BUILD_ID is unset/);
    const { version } = JSON.parse(readFileSync(path.join(config.rootDir, 'package.json'), 'utf8')) as {
      version: string;
    };
    writeFileSync(bundle, 'workflows, first shape');
    const first = deploymentVersion(config)!;
    expect(first).toEqual({
      deploymentName: 'poet',
      buildId: `${version}-${sha256('workflows, first shape').slice(0, 12)}`,
    });
    writeFileSync(bundle, 'workflows, second shape');
    expect(deploymentVersion(config)!.buildId).not.toBe(first.buildId);
    expect(deploymentVersion(loadConfig({ TEMPORAL_DEPLOYMENT_NAME: 'poet', TEMPORAL_BUILD_ID: 'b7' }))).toEqual({
      deploymentName: 'poet',
      buildId: 'b7',
    });
  });

  test('new runs go to the current build; a run pinned to the old build finishes there, activities included', async () => {
    const taskQueue = `wf-versioned-${Date.now()}`;
    const deployment = `poet-test-${Date.now()}`;
    const configOf = (buildId: string) =>
      loadConfig({ TEMPORAL_DEPLOYMENT_NAME: deployment, TEMPORAL_BUILD_ID: buildId });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let generating!: () => void;
    const generatingStarted = new Promise<void>((resolve) => (generating = resolve));
    const old = stubActivities({
      generate: async (input) => {
        generating();
        await released;
        return stubActivities().activities.generate(input);
      },
    });
    const current = stubActivities();
    const workerOf = async (buildId: string, activities: typeof old.activities) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        activities,
        workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! },
        workerDeploymentOptions: workerDeploymentOptions(configOf(buildId))!,
      });
    const start = (id: string) =>
      env.client.workflow.start<typeof enhanceFunction>(WORKFLOW_TYPES.enhance, {
        taskQueue,
        workflowId: `${taskQueue}-${id}`,
        args: [enhanceInput(id)],
      });
    const versioningOf = async (workflowId: string) =>
      (await env.client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.versioningInfo;
    const buildIdOf = async (workflowId: string) => (await versioningOf(workflowId))?.deploymentVersion?.buildId;
    const behaviourOf = async (workflowId: string) => (await versioningOf(workflowId))?.behavior;

    const workerV1 = await workerOf('v1', old.activities);
    const runningV1 = workerV1.run();
    let workerV2: Worker | undefined;
    let runningV2: Promise<void> | undefined;
    try {
      await setCurrentVersion(env.client, deploymentVersion(configOf('v1'))!);
      const pinned = await start('pinned_run');
      await generatingStarted;
      expect(await buildIdOf(pinned.workflowId)).toBe('v1');

      workerV2 = await workerOf('v2', current.activities);
      runningV2 = workerV2.run();
      await setCurrentVersion(env.client, deploymentVersion(configOf('v2'))!);
      const fresh = await start('fresh_run');
      expect(await fresh.result()).toMatchObject({ version: 1 });
      expect(await buildIdOf(fresh.workflowId)).toBe('v2');
      expect(current.calls.length).toBeGreaterThan(0);

      release();
      expect(await pinned.result()).toMatchObject({ version: 1 });
      expect(await buildIdOf(pinned.workflowId)).toBe('v1');
      expect(await behaviourOf(pinned.workflowId)).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_PINNED);
      // Every activity of the pinned run ran on the old build's worker, none on the new one.
      expect(old.names()).toEqual(
        expect.arrayContaining(['cacheLookupWithVersion', 'generate', 'validate', 'storeVersion', 'publish']),
      );
      expect(current.calls.filter((c) => JSON.stringify(c.input ?? null).includes('pinned_run'))).toEqual([]);

      // The long-lived workflows declare AUTO_UPGRADE on themselves.
      const deliveries = await env.client.workflow.start<typeof deliverWebhooks>(WORKFLOW_TYPES.deliverWebhooks, {
        taskQueue,
        workflowId: `${taskQueue}-webhooks`,
        args: [
          {
            tenant_id: 'default',
            event_id: '1',
            webhook_ids: ['w1'],
            retry: { initial_interval_ms: 10, maximum_interval_ms: 10, maximum_attempts: 1, timeout_ms: 1_000 },
          },
        ],
      });
      await deliveries.result();
      expect(await behaviourOf(deliveries.workflowId)).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE);
    } finally {
      release();
      workerV1.shutdown();
      workerV2?.shutdown();
      await Promise.all([runningV1, runningV2]);
    }
  });
});
