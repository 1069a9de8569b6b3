import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { createPool, migrate } from '../../src/infra/db/pool';
import { createLogger } from '../../src/infra/observability/logger';
import { SEARCH_ATTRIBUTE_NAMES as NAMES } from '../../src/definitions/search-attributes';
import { waitFor } from '../helpers/net';
import { uniqueSuffix } from '../helpers/stack';

const root = path.join(__dirname, '..', '..');
const { IndexedValueType } = temporal.api.enums.v1;

/** The built `poet` command (what the pre-rollout Jobs run), its JSON log lines parsed. */
function poet(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [path.join(root, 'dist/cli/main.js'), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const logs = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { status: result.status, stderr: result.stderr, logs };
}

describe('poet setup search-attributes', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  });
  afterAll(async () => {
    await connection?.close();
  });

  async function freshNamespace(): Promise<string> {
    const namespace = `poet-setup-${uniqueSuffix()}`;
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    // A new namespace reaches the operator service once the server's namespace cache has it.
    await waitFor(
      () =>
        connection.operatorService.listSearchAttributes({ namespace }).then(
          () => true,
          () => false,
        ),
      30_000,
      `namespace ${namespace} known to the operator service`,
      250,
    );
    return namespace;
  }

  const registered = async (namespace: string) =>
    (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};

  test('registers every search attribute the workflows use as Keyword, then finds them all present', async () => {
    const namespace = await freshNamespace();
    const first = poet(['setup', 'search-attributes'], { TEMPORAL_NAMESPACE: namespace });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.logs.find((l) => l.message === 'search attributes registered')).toMatchObject({
      namespace,
      added: NAMES,
      present: [],
    });
    const attributes = await registered(namespace);
    for (const name of NAMES)
      expect({ name, type: attributes[name] }).toEqual({ name, type: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD });

    const again = poet(['setup', 'search-attributes'], { TEMPORAL_NAMESPACE: namespace });
    expect(again.status).toBe(0);
    expect(again.logs.find((l) => l.message === 'search attributes registered')).toMatchObject({
      added: [],
      present: NAMES,
    });
  }, 90_000);

  test('refuses, naming it, an attribute registered with another type', async () => {
    const namespace = await freshNamespace();
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: { Outcome: IndexedValueType.INDEXED_VALUE_TYPE_TEXT },
    });
    const result = poet(['setup', 'search-attributes'], { TEMPORAL_NAMESPACE: namespace });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Outcome is INDEXED_VALUE_TYPE_TEXT, wanted KEYWORD');
    expect(Object.keys(await registered(namespace))).not.toContain('FunctionName');
  }, 90_000);
});

describe('migrations: poet migrate, and workers applying them at start', () => {
  const schema = `t_cli_migrate_${uniqueSuffix()}`;
  const racedSchema = `t_cli_migrate_race_${uniqueSuffix()}`;
  const pool = createPool({ url: process.env.DATABASE_URL!, schema, max: 1 });

  afterAll(async () => {
    for (const s of [schema, racedSchema]) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await pool.end();
  });

  test('migrations started together on one schema all succeed: one applies them, the others wait and find them done', async () => {
    const logger = createLogger({ level: 'error', service: 'test-migrate', silent: true });
    const run = () =>
      migrate({ url: process.env.DATABASE_URL!, schema: racedSchema, dir: path.join(root, 'migrations'), logger });
    await expect(Promise.all([run(), run(), run(), run()])).resolves.toHaveLength(4);
  }, 60_000);

  test('applies every migration to an empty schema, and a second run has nothing to do', async () => {
    const first = poet(['migrate'], { DATABASE_SCHEMA: schema });
    expect(first.status).toBe(0);
    const applied = first.logs.find((l) => l.message === 'migrations applied');
    expect(applied?.migrations).toEqual(expect.arrayContaining([expect.any(String)]));
    const { rows } = await pool.query<{ name: string }>(`SELECT name FROM ${schema}.pgmigrations ORDER BY run_on, id`);
    expect(rows.map((r) => r.name)).toEqual(applied?.migrations);

    const again = poet(['migrate'], { DATABASE_SCHEMA: schema });
    expect(again.status).toBe(0);
    expect(again.logs.find((l) => l.message === 'migrations applied')).toBeUndefined();
    expect(again.logs.find((l) => l.message === 'migrations up to date')).toMatchObject({ schema });
  }, 60_000);
});
