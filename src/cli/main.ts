#!/usr/bin/env node
import { Client, Connection } from '@temporalio/client';
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config';
import { temporalConnectionOptions } from '../infra/temporal/connection';
import { migrate } from '../infra/db/pool';
import { applySchedules } from '../infra/temporal/schedules';
import { deploymentVersion, setCurrentVersion } from '../infra/temporal/worker-deployments';
import { encryptionOnlyDataConverter } from '../infra/temporal/encryption-codec';
import { createLogger } from '../infra/observability/logger';
import { runDevStack } from './dev-stack';
import { migratePglite } from './pglite-import';
import { registerSearchAttributes } from './setup';
import { createKeyCommand } from './keys';
import { retireKeyCommand, rotateDataCommand } from './key-rotation';
import { backupCommand, restoreCommand } from './backup';
import { CliError, EXIT, output, usageError } from './client';
import { enhanceCommand } from './enhance';
import { diffCommand, feedbackCommand, versionGetCommand, versionsCommand } from './functions';
import { outcomesCommand, resolveCommand } from './outcomes';
import { rolloutCommand } from './rollouts';
import { restCommand } from './rest';
import { exportCommand, importCommand } from './tenant';
import { followRun } from './runs';

const program = new Command()
  .name('poet')
  .description('POET enhancement service: run the stack, enhance Python functions')
  .showHelpAfterError()
  // Usage errors become exit code 2 in the catch below instead of commander's exit(1).
  .exitOverride();

program
  .command('start')
  .description(
    'start the whole service: Temporal dev server and embedded PostgreSQL unless configured, then worker and API',
  )
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
  .command('migrate-pglite')
  .description(
    'move the database of the former embedded default (DATA_DIR/pglite) into PostgreSQL: DATABASE_URL, else the ' +
      'embedded server (stop `npm start` first); the source is kept as pglite.migrated',
  )
  .option('--from <dir>', 'the PGlite data directory (default: DATA_DIR/pglite)')
  .action(async (opts: { from?: string }) => {
    const config = loadConfig();
    const logger = createLogger({ level: config.LOG_LEVEL, service: 'poet-migrate-pglite' });
    const rows = await migratePglite(config, logger, opts.from);
    for (const [table, n] of Object.entries(rows)) process.stdout.write(`${table}\t${n}\n`);
  });

program
  .command('setup')
  .description('one-time setup of a Temporal cluster')
  .command('search-attributes')
  .description("register the workflows' search attributes on TEMPORAL_NAMESPACE at TEMPORAL_ADDRESS (idempotent)")
  .action(async () => {
    await withTemporal(async (config, connection) => {
      const logger = createLogger({ level: config.LOG_LEVEL, service: 'poet-setup' });
      const outcome = await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
      logger.info('search attributes registered', { namespace: config.TEMPORAL_NAMESPACE, ...outcome });
    });
  });

program
  .command('schedules')
  .description('Temporal Schedules of the service')
  .command('apply')
  .description(
    'create the re-evaluation schedule, or update it to the configured cron, jitter and concurrency (idempotent)',
  )
  .option('--json', 'print {schedules: [{id, outcome}]} on stdout (for scripts)')
  .action(async (opts: { json?: boolean }) => {
    await withTemporal(async (config, connection) => {
      const client = new Client({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        dataConverter: encryptionOnlyDataConverter(config),
      });
      const applied = await applySchedules(client, config);
      const out = output(Boolean(opts.json));
      if (out.json) out.out(JSON.stringify({ schedules: applied }));
      else
        for (const { id, outcome } of applied)
          out.out(`${id}: ${outcome} (cron ${config.REEVALUATION_CRON}, jitter ${config.REEVALUATION_JITTER})`);
    });
  });

program
  .command('workers')
  .description('worker deployments (Worker Versioning)')
  .command('make-current')
  .description(
    "make this build's worker deployment version current once its workers poll: new runs go to it (run from the worker image)",
  )
  .option('--timeout-seconds <n>', 'how long to wait for the workers to poll', '300')
  .action(async (opts: { timeoutSeconds: string }) => {
    await withTemporal(async (config, connection) => {
      const version = deploymentVersion(config);
      if (!version)
        throw usageError('TEMPORAL_DEPLOYMENT_NAME is unset: an unversioned worker has no version to make current');
      const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
      await setCurrentVersion(client, version, Number(opts.timeoutSeconds) * 1000);
      process.stdout.write(`${version.deploymentName}:${version.buildId} is current\n`);
    });
  });

const keys = program
  .command('keys')
  .description('API keys (stored as hashes; the secret is shown once) and encryption key rotation');
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
keys
  .command('rotate-data')
  .description(
    're-encrypt every stored payload, encrypted row and encrypted artifact file under the active encryption key (ENCRYPTION_ACTIVE_KEY): starts or joins the rotateEncryptionKey run and follows it; exit 0 when done',
  )
  .option(
    '--page-size <n>',
    'rows (or versions, for artifact files) per page',
    (v) => positiveInt('--page-size', v),
    100,
  )
  .option(
    '--pages-per-run <n>',
    'pages before the workflow continues as new',
    (v) => positiveInt('--pages-per-run', v),
    20,
  )
  .option('--json', 'print the final progress as JSON on stdout')
  .action(async (opts: { pageSize: number; pagesPerRun: number; json?: boolean }) => {
    await withTemporal((config, connection) =>
      rotateDataCommand(config, connection, { ...opts, pollMs: 1000 }, output(Boolean(opts.json))),
    );
  });
keys
  .command('retire <key-id>')
  .description(
    "check that nothing is encrypted under an encryption key (stored payloads, rows and artifact files, the schedules' actions, open runs' histories), and say what to remove from the key ring (the ring is not edited); refuses with exit 3 naming what still uses it",
  )
  .option('--json', 'print {key_id, retirable, rows_by_key, stored_by_key} on stdout')
  .action(async (keyId: string, opts: { json?: boolean }) => {
    await withTemporal((config, connection) =>
      retireKeyCommand(
        config,
        connection,
        keyId,
        createLogger({ level: 'error', service: 'poet-keys' }),
        output(Boolean(opts.json)),
      ),
    );
  });

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usageError(`${flag} must be a positive integer`);
  return n;
}

program
  .command('backup <dir>')
  .description(
    "consistent snapshot of the database plus every version's artifacts into a new directory (docs/tenant-data.md)",
  )
  .option('--json', 'print the summary as JSON on stdout')
  .action(async (dir: string, opts: { json?: boolean }) => {
    const config = loadConfig();
    await backupCommand(
      config,
      dir,
      createLogger({ level: 'error', service: 'poet-backup' }),
      output(Boolean(opts.json)),
    );
  });

program
  .command('restore <dir>')
  .description('restore a backup into an empty database and the configured artifact store')
  .option('--json', 'print the summary as JSON on stdout')
  .action(async (dir: string, opts: { json?: boolean }) => {
    const config = loadConfig();
    await restoreCommand(
      config,
      dir,
      createLogger({ level: 'error', service: 'poet-restore' }),
      output(Boolean(opts.json)),
    );
  });

// REST clients of a running API (src/cli/rest.ts adds --url, --api-key and --json to each).
restCommand(program, 'enhance <file>', 'enhance a Python function: start the run and follow its stages to the end')
  .option('--function <name>', 'the function in the file to enhance (default: the file name)')
  .option('--domain <domain>', 'POET domain (GET /api/v1/domains lists them)')
  .option('--optimize-for <goal>', 'reliability, performance, cost or accuracy')
  .option('--wait', 'follow the run to its end (the default)')
  .option('--async', 'print the run id once started and exit')
  .run((client, out, file: string, opts) => enhanceCommand(client, out, file, opts));

restCommand(program, 'feedback <name>', 'report feedback on a version; the service regenerates when it must change')
  .requiredOption('--version <n>', 'the version the feedback is about')
  .option('--type <type>', 'performance, error, user or system', 'user')
  .option('--rating <1-5>', 'a rating from 1 (bad) to 5')
  .option('--comments <text>', 'free text')
  .option('--suggestion <text...>', 'suggestions for the next version (repeatable)')
  .option(
    '--example <json...>',
    'a call with the outcome expected, e.g. \'{"args": [1, 2], "expected": 3}\' or \'{"args": [0], "raises": {"type": "ValueError"}}\': every later version must pass it (repeatable)',
  )
  .option('--success-rate <0-1>', 'observed share of successful calls')
  .option('--error-rate <0-1>', 'observed share of failed calls')
  .option('--avg-duration <s>', 'observed seconds per call')
  .option('--execution-id <id>', 'id of the report; the same id twice counts once (default: a fresh one)')
  .option('--async', 'do not follow the regeneration run')
  .run((client, out, name: string, opts) => feedbackCommand(client, out, name, opts));

const versions = restCommand(
  program,
  'versions <name>',
  'list the versions of a function with their feedback metrics',
).run((client, out, name: string) => versionsCommand(client, out, name));
restCommand(
  versions,
  'get <name> <version>',
  "write a version's folder: its code, params, metadata and the poet_runtime.py it was validated with",
)
  .option('--dir <folder>', 'where to write it (default: ./<name>-v<version>)')
  .run((client, out, name: string, v: string, opts) => versionGetCommand(client, out, name, v, opts));

restCommand(program, 'diff <name> <a> <b>', 'unified diff between two versions of a function')
  .option('--all', 'also code.dana and params.json')
  .run((client, out, name: string, a: string, b: string, opts) => diffCommand(client, out, name, a, b, opts));

restCommand(program, 'export [file]', "export the key's tenant (NDJSON, docs/tenant-data.md) to a file or stdout").run(
  (client, out, file: string | undefined) => exportCommand(client, out, file),
);

restCommand(
  program,
  'import <file>',
  "restore an export into the key's tenant (idempotent: a second import changes nothing)",
).run((client, out, file: string) => importCommand(client, out, file));

restCommand(program, 'resolve <name>', 'which version a unit (a caller, a user, a job) should run; sticky per unit')
  .option('--unit <id>', 'who runs the function')
  .run((client, out, name: string, opts) => resolveCommand(client, out, name, opts));

restCommand(program, 'outcomes <name> <version>', 'what the field reported for a version: success, latency, errors')
  .option('--window <w>', '1h, 6h, 24h, 7d or 30d', '24h')
  .run((client, out, name: string, version: string, opts) => outcomesCommand(client, out, name, version, opts));

restCommand(
  program,
  'rollout <name> [action]',
  "a function's progressive rollout: start, status (the default), pause, resume, abort or promote",
)
  .option('--candidate <version>', 'start: the version to roll out')
  .option('--steps <list>', 'start: candidate shares in percent, e.g. 5,25,50,100')
  .option('--min-calls <n>', 'start: calls of each version before a step is judged')
  .option('--step-wait <seconds>', 'start: time between judgements')
  .option('--max-duration <seconds>', 'start: time without enough calls before it rolls back')
  .run((client, out, name: string, action: string | undefined, opts) =>
    rolloutCommand(client, out, name, action ?? 'status', opts),
  );

const runs = program.command('runs').description('enhancement runs');
restCommand(runs, 'watch <id>', 'follow a run to its end; exit 0 when it completed').run((client, out, id: string) =>
  followRun(client, out, id),
);

/** The configured cluster, with the same address, TLS and credentials as the worker and the API. */
async function withTemporal(run: (config: Config, connection: Connection) => Promise<void>): Promise<void> {
  const config = loadConfig();
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required');
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    await run(config, connection);
  } finally {
    await connection.close();
  }
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
  console.error(`poet: ${(err as Error).message}`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
