import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../config';
import { createClaimCheck, tenantFromMemo } from '../infra/temporal/claim-check';
import { encryptionDisabledCheck } from '../infra/temporal/encryption-codec';
import { migrate } from '../infra/db/pool';
import type { Logger } from '../infra/observability/logger';
import { Metrics } from '../infra/observability/metrics';
import { applySchedules } from '../infra/temporal/schedules';
import { temporalConnectionOptions } from '../infra/temporal/connection';
import { workerDeploymentOptions } from '../infra/temporal/worker-deployments';
import { createTracing } from '../infra/observability/tracing';
import { listDomainNames } from '../poet/domains';
import { activityObservability } from './activity-observability';
import { WORKFLOW_INTERCEPTOR_MODULES } from './bundle';
import { createWorkerDeps, type WorkerDeps } from './deps';
import { startWorkerHttp, type WorkerHttp } from './http';

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

export interface RunningWorker {
  worker: Worker;
  deps: WorkerDeps;
  /** The worker's own HTTP server: health and metrics. */
  http: WorkerHttp;
  /** Resolves when the worker has shut down and released every adapter. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The prebuilt bundle when there is one; otherwise, or when tracing needs its plugin's workflow interceptors
 * compiled in, the workflows are bundled at start (a few seconds).
 */
function workflowSource(
  config: Config,
  bundleAtStart: boolean,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = config.workflowBundlePath;
  return existsSync(bundle) && !bundleAtStart
    ? { workflowBundle: { codePath: bundle } }
    : { workflowsPath: require.resolve('../workflows') };
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  if (!config.TEMPORAL_ADDRESS)
    throw new Error('TEMPORAL_ADDRESS is required by the worker (poet start provides a dev server)');
  if (config.DATABASE_URL) {
    await migrate({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, dir: config.migrationsDir, logger });
  }
  const metrics = new Metrics({
    domains: listDomainNames(),
    stages: [],
    providers: ['template', ...config.llmProviders.map((p) => p.name)],
    models: ['template', ...config.llmProviders.map((p) => p.model)],
    defaultMetrics: true,
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const claimCheck = createClaimCheck(config, 'worker', 'mark');
  const { dataConverter } = claimCheck;
  // Starts the webhook delivery runs of the events the activities publish.
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter });
  claimCheck.codec.resolveTenantsWith(tenantFromMemo(client));
  const deps = createWorkerDeps(config, logger, metrics, client);
  // Before the first task: a worker whose sandbox is not isolated says so on readiness and refuses validations.
  const sandbox = await deps.sandboxGate.probe();
  if (sandbox.status === 'disabled')
    logger.warn(
      "VALIDATION SANDBOX ISOLATION IS OFF: submitted code runs with the worker's access; for trusted single-tenant code only",
      { reason: sandbox.reason },
    );
  const activities = createActivities(deps);
  metrics.allowStages(Object.keys(activities));
  const tracing = createTracing(config);
  const deployment = workerDeploymentOptions(config);
  const source = workflowSource(config, tracing !== undefined);
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities,
    dataConverter,
    interceptors: {
      activity: [activityObservability({ logger, metrics })],
      // A prebuilt bundle already holds them (src/worker/bundle.ts); the SDK warns when they are given twice.
      ...(source.workflowsPath ? { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } : {}),
    },
    ...(tracing ? { plugins: [tracing.plugin] } : {}),
    shutdownGraceTime: `${config.WORKER_SHUTDOWN_GRACE_SECONDS}s`,
    ...(deployment ? { workerDeploymentOptions: deployment } : {}),
    ...source,
  });
  if (config.REEVALUATION_SCHEDULE_APPLY) {
    // The worker serves the workflows the schedule starts, so it keeps the schedule in line with its configuration.
    // A failure is logged, not fatal: enhancements do not depend on it, and `poet schedules apply` can retry.
    await applySchedules(client, config).then(
      (applied) => logger.info('schedules applied', { schedules: applied }),
      (err: Error) => logger.error('schedules not applied', { error: err.message }),
    );
  }
  const http = await startWorkerHttp({
    config,
    logger,
    metrics,
    worker,
    connection,
    deps,
    encryption: claimCheck.encryption?.check ?? encryptionDisabledCheck,
  });
  const pruneTimer = setInterval(() => {
    claimCheck.codec
      .prune(config.PAYLOAD_RETENTION_DAYS)
      .catch((err: Error) => logger.warn('payload store not pruned', { error: err.message }));
    deps.rollouts.outcomes
      .prune(config.OUTCOME_RETENTION_DAYS)
      .catch((err: Error) => logger.warn('field outcomes not pruned', { error: err.message }));
  }, PRUNE_INTERVAL_MS);
  pruneTimer.unref();
  const done = worker.run().finally(async () => {
    clearInterval(pruneTimer);
    await http.close();
    await deps.close();
    await claimCheck.close();
    await connection.close();
  });
  logger.info('worker started', {
    task_queue: config.TEMPORAL_TASK_QUEUE,
    namespace: config.TEMPORAL_NAMESPACE,
    tracing: tracing !== undefined,
    sandbox: sandbox.status,
    encryption: claimCheck.encryption ? `key ${claimCheck.encryption.keyRing.activeKeyId}` : 'off',
    deployment_version: deployment
      ? `${deployment.version.deploymentName}:${deployment.version.buildId}`
      : 'unversioned',
  });
  return {
    worker,
    deps,
    http,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
