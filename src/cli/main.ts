#!/usr/bin/env node
import { Command } from 'commander';
import { loadConfig } from '../config';
import { createLogger } from '../infra/logger';
import { runDevStack } from './dev-stack';

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

program.parseAsync().catch((err: unknown) => {
  console.error(`poet: ${(err as Error).message}`);
  process.exit(1);
});
