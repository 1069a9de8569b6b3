import { createServer } from 'node:http';
import express from 'express';
import { temporal } from '@temporalio/proto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { listen } from '../http/listen';
import { healthRouter } from '../http/health';
import { httpMetrics, metricsEndpoint, requestContext } from '../http/observability';
import type { Config } from '../config';
import {
  CHECK_TIMEOUT_MS,
  circuitsCheck,
  diskCheck,
  memoryCheck,
  postgresCheck,
  probeCheck,
  redisCheck,
  type Check,
} from '../infra/observability/health';
import type { Logger } from '../infra/observability/logger';
import { sandboxCheck } from '../infra/sandbox/gate';
import type { Metrics } from '../infra/observability/metrics';
import type { WorkerDeps } from './deps';

export interface WorkerHttp {
  url: string;
  close(): Promise<void>;
}

const QUEUE_TYPES = {
  workflow: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  activity: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
};

/** The worker is ready while it polls and its adapters answer; the API's checks otherwise. */
function workerChecks(
  config: Config,
  worker: Worker,
  connection: NativeConnection,
  deps: WorkerDeps,
  encryption: Check,
): Record<string, Check> {
  return {
    temporal: probeCheck(async () => {
      const state = worker.getState();
      if (state !== 'RUNNING') throw new Error(`worker is ${state.toLowerCase()}`);
      await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.healthService.check({}));
    }),
    postgres: postgresCheck(deps.pool),
    redis: redisCheck(deps.redis),
    llm: circuitsCheck(deps.circuits),
    sandbox: sandboxCheck(deps.sandboxGate),
    encryption,
    disk: diskCheck(config.dataDir, config.HEALTH_DISK_MIN_FREE_MB),
    memory: memoryCheck(config.HEALTH_MAX_HEAP_RATIO),
  };
}

/** Sets `poet_task_queue_backlog{type}` from the server's task queue stats; a failed describe leaves the last value. */
async function refreshBacklog(
  config: Config,
  connection: NativeConnection,
  metrics: Metrics,
  logger: Logger,
): Promise<void> {
  await Promise.all(
    Object.entries(QUEUE_TYPES).map(async ([type, taskQueueType]) => {
      try {
        const res = await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
          connection.workflowService.describeTaskQueue({
            namespace: config.TEMPORAL_NAMESPACE,
            taskQueue: { name: config.TEMPORAL_TASK_QUEUE },
            taskQueueType,
            reportStats: true,
          }),
        );
        metrics.taskQueueBacklog.set({ type }, Number(res.stats?.approximateBacklogCount ?? 0));
      } catch (err) {
        logger.debug('task queue stats unavailable', { type, error: (err as Error).message });
      }
    }),
  );
}

/** The runtime's own exporter (TEMPORAL_METRICS_BIND_ADDRESS), appended to ours; empty when it is off or away. */
async function temporalRuntimeMetrics(config: Config): Promise<string> {
  if (!config.TEMPORAL_METRICS_BIND_ADDRESS) return '';
  try {
    const res = await fetch(
      `http://${config.TEMPORAL_METRICS_BIND_ADDRESS.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}/metrics`,
      {
        signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
      },
    );
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

/** `/health/live`, `/health/ready` and `/metrics` of a worker process on WORKER_HTTP_PORT. */
export async function startWorkerHttp(opts: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  worker: Worker;
  connection: NativeConnection;
  deps: WorkerDeps;
  /** Readiness of the payload codec's key ring. */
  encryption: Check;
}): Promise<WorkerHttp> {
  const { config, logger, metrics, worker, connection, deps } = opts;
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(logger));
  app.use(httpMetrics(metrics));
  const checks = workerChecks(config, worker, connection, deps, opts.encryption);
  app.use(healthRouter(checks));
  app.get(
    '/metrics',
    metricsEndpoint(metrics, checks, async () => {
      for (const [provider, state] of Object.entries(deps.circuits())) metrics.setCircuitState(provider, state);
      await refreshBacklog(config, connection, metrics, logger);
      return temporalRuntimeMetrics(config);
    }),
  );
  const server = createServer(app);
  const url = await listen(server, config.WORKER_HTTP_PORT, config.WORKER_HTTP_HOST);
  logger.info('worker http listening', { url });
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
