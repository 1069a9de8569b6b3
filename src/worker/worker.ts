import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../config';
import { migrate } from '../infra/db';
import type { Logger } from '../infra/logger';
import { createWorkerDeps, type WorkerDeps } from './deps';

export interface RunningWorker {
  worker: Worker;
  deps: WorkerDeps;
  /** Resolves when the worker has shut down and released every adapter. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

function workflowSource(config: Config): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = config.WORKFLOW_BUNDLE_PATH ?? path.join(config.rootDir, 'dist', 'workflow-bundle.js');
  return existsSync(bundle) ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../workflows') };
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required by the worker (poet start provides a dev server)');
  if (config.DATABASE_URL) {
    await migrate({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, dir: config.migrationsDir, logger });
  }
  const deps = createWorkerDeps(config, logger);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: createActivities(deps),
    shutdownGraceTime: `${config.WORKER_SHUTDOWN_GRACE_SECONDS}s`,
    ...workflowSource(config),
  });
  const done = worker.run().finally(async () => {
    await deps.close();
    await connection.close();
  });
  logger.info('worker started', { task_queue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE });
  return {
    worker,
    deps,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
