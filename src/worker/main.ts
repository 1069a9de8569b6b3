import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createLogger } from '../infra/observability/logger';
import { runtimeTelemetry } from './runtime';
import { startWorker } from './worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'poet-worker' });
  // The SDK's own logs join ours as JSON; the runtime also turns SIGINT/SIGTERM into a graceful worker shutdown.
  Runtime.install({
    logger: new DefaultLogger('WARN', ({ level, message, meta }) =>
      logger.log(level.toLowerCase(), message, meta ?? {}),
    ),
    ...runtimeTelemetry(config),
  });
  const running = await startWorker(config, logger);
  // The runtime's own handlers start the shutdown: polling stops at once, in-flight activities get the grace period.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () =>
      logger.info('worker draining', { signal, grace_seconds: config.WORKER_SHUTDOWN_GRACE_SECONDS }),
    );
  }
  await running.done;
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
