import { loadConfig } from '../config';
import { createLogger } from '../infra/observability/logger';
import { startApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'poet-api' });
  const api = await startApi(config, logger);
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info('api draining', { signal });
    api.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('api close failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
