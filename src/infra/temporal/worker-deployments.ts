import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import type { Config } from '../../config';
import { sha256 } from '../hash';

/**
 * The version this worker serves: TEMPORAL_DEPLOYMENT_NAME and its build id; undefined for an unversioned worker.
 * The default build id hashes the workflow bundle, so changed workflow code is a new version and unchanged code
 * (an activity fix, a config change) keeps serving the runs pinned to it. Without a prebuilt bundle there is nothing
 * to hash: TEMPORAL_BUILD_ID must name the version.
 */
export function deploymentVersion(config: Config): WorkerDeploymentVersion | undefined {
  if (!config.TEMPORAL_DEPLOYMENT_NAME) return undefined;
  return {
    deploymentName: config.TEMPORAL_DEPLOYMENT_NAME,
    buildId: config.TEMPORAL_BUILD_ID ?? bundleBuildId(config),
  };
}

function bundleBuildId(config: Config): string {
  const bundle = config.workflowBundlePath;
  if (!existsSync(bundle)) {
    throw new Error(
      `TEMPORAL_BUILD_ID is unset and there is no workflow bundle at ${bundle} to derive it from: run \`npm run build\` or set it`,
    );
  }
  const { version } = JSON.parse(readFileSync(path.join(config.rootDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return `${version}-${sha256(readFileSync(bundle)).slice(0, 12)}`;
}

/**
 * A versioned worker's options. Runs are PINNED by default: enhancements, batches, regenerations and activations
 * last seconds to minutes, so each finishes on the build it started on and a workflow change needs no patched()
 * branch; the old build is drained, then retired. The long-lived ones (reevaluateFunctions, deliverWebhooks) declare
 * AUTO_UPGRADE on themselves: they would otherwise hold an old build up for hours.
 */
export function workerDeploymentOptions(config: Config): WorkerDeploymentOptions | undefined {
  const version = deploymentVersion(config);
  return version && { version, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' };
}

/** gRPC NOT_FOUND and FAILED_PRECONDITION (@grpc/grpc-js is not ours to import). */
const NOT_YET_CODES = new Set([5, 9]);

/** The server has not seen this version's workers poll yet (it refuses to route to a version without pollers). */
const notPolledYet = (err: unknown) => isGrpcServiceError(err) && NOT_YET_CODES.has(err.code);

/**
 * Makes the version its deployment's current one: new runs start on it, and auto-upgrading runs move to it.
 * What `temporal worker deployment set-current-version` does; retried until the version's workers have polled.
 */
export async function setCurrentVersion(
  client: Client,
  version: WorkerDeploymentVersion,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: client.options.namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: client.options.identity,
      });
      return;
    } catch (err) {
      if (!notPolledYet(err) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
