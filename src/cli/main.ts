#!/usr/bin/env node
import { Connection } from '@temporalio/client';
import { Command } from 'commander';
import { loadConfig } from '../config';
import { migrate } from '../infra/db';
import { createLogger } from '../infra/logger';
import { runDevStack } from './dev-stack';
import { registerSearchAttributes } from './setup';
import { createKeyCommand } from './keys';

const program = new Command()
  .name('poet')
  .description('POET enhancement service: run the stack, enhance Python functions')
  .showHelpAfterError();

program
  .command('start')
  .description('start the whole service: Temporal dev server and embedded PostgreSQL unless configured, then worker and API')
  .action(async () => {
    const config = loadConfig();
    await runDevStack(config, process.env, createLogger({ level: config.LOG_LEVEL, service: 'poet-start' }));
  });

program
  .command('migrate')
  .description('apply pending database migrations to DATABASE_URL (the pre-rollout Job runs this)')
  .action(async () => {
    const config = loadConfig();
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required');
    const logger = createLogger({ level: config.LOG_LEVEL, service: 'poet-migrate' });
    await migrate({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, dir: config.migrationsDir, logger });
    logger.info('migrations up to date', { schema: config.DATABASE_SCHEMA });
  });

program
  .command('setup')
  .description('one-time setup of a Temporal cluster')
  .command('search-attributes')
  .description('register the workflows\' search attributes on TEMPORAL_NAMESPACE at TEMPORAL_ADDRESS (idempotent)')
  .action(async () => {
    const config = loadConfig();
    if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required');
    const logger = createLogger({ level: config.LOG_LEVEL, service: 'poet-setup' });
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    try {
      const outcome = await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
      logger.info('search attributes registered', { namespace: config.TEMPORAL_NAMESPACE, ...outcome });
    } finally {
      await connection.close();
    }
  });

const keys = program.command('keys').description('API keys (stored as hashes; the secret is shown once)');
keys
  .command('create')
  .description('create an API key directly in PostgreSQL (the way to make the first admin key)')
  .option('--tenant <tenant>', 'tenant the key belongs to', 'default')
  .option('--role <role>', 'admin, operator, agent or viewer', 'admin')
  .option('--name <name>', 'what the key is for', 'created with poet keys create')
  .action(async (opts: { tenant: string; role: string; name: string }) => {
    const config = loadConfig();
    await createKeyCommand(config, opts, createLogger({ level: 'error', service: 'poet-keys' }));
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`poet: ${(err as Error).message}`);
  process.exit(1);
});
