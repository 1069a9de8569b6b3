import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { runner } from 'node-pg-migrate';
import Redis from 'ioredis';
import type { Pool } from 'pg';
import { FilesystemArtifactStore } from '../../src/infra/storage/artifact-store';
import { createPool, migrate } from '../../src/infra/db/pool';
import { EventPublisher } from '../../src/infra/events/publisher';
import { createLogger } from '../../src/infra/observability/logger';
import { VersionsRepo, type NewVersion } from '../../src/infra/db/versions-repo';
import { uniqueSuffix } from '../helpers/stack';

const logger = createLogger({ level: 'error', service: 'test', silent: true });
const schema = `t_versions_${uniqueSuffix()}`;
let pool: Pool;
let dataDir: string;
let repo: VersionsRepo;

beforeAll(async () => {
  await migrate({
    url: process.env.DATABASE_URL!,
    schema,
    dir: path.join(__dirname, '..', '..', 'migrations'),
    logger,
  });
  pool = createPool({ url: process.env.DATABASE_URL!, schema, max: 8 });
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-versions-'));
  repo = new VersionsRepo(pool, new FilesystemArtifactStore(dataDir));
});
afterAll(async () => {
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pool.end();
  rmSync(dataDir, { recursive: true, force: true });
});

const version = (functionName: string, key: string, inputHash: string): NewVersion => ({
  tenantId: 'default',
  functionName,
  idempotencyKey: key,
  inputHash,
  parentVersion: null,
  trigger: 'request',
  request: {
    function_name: functionName,
    original_code: `def ${functionName}():\n    return 1\n`,
    domain: 'base_reliability',
  },
  domain: 'base_reliability',
  optimizeFor: null,
  safetyLevel: 'high',
  artifact: {
    python: `# ${inputHash}\n`,
    dana: `# ${inputHash}\n`,
    params: { retries: 3 },
    optimizations: [],
    provider: 'template',
    enhancer_version: 'template-1',
  },
  metadata: { cache: 'miss' },
});

async function rows(functionName: string) {
  const res = await pool.query<{ version: number; status: string }>(
    'SELECT version, status FROM versions WHERE function_name = $1 ORDER BY version',
    [functionName],
  );
  return res.rows;
}

describe('VersionsRepo.storeVersion on PostgreSQL', () => {
  test('a retried store (same run) finds its own version and answers as the first attempt did', async () => {
    const first = await repo.storeVersion(version('retry_fn', 'wf-a/run-1', 'h1'));
    const retried = await repo.storeVersion(version('retry_fn', 'wf-a/run-1', 'h1'));
    expect(first).toEqual({ version: 1, created: true, deprecated: null });
    // The run publishes version.created from this answer: a retry after a lost report must not drop the event.
    expect(retried).toEqual({ version: 1, created: true, deprecated: null });
    const second = await repo.storeVersion(version('retry_fn', 'wf-b/run-1', 'h2'));
    expect(await repo.storeVersion(version('retry_fn', 'wf-b/run-1', 'h2'))).toEqual(second);
    expect(second).toEqual({ version: 2, created: true, deprecated: 1 });
    expect(await rows('retry_fn')).toEqual([
      { version: 1, status: 'deprecated' },
      { version: 2, status: 'active' },
    ]);
  });

  test("an earlier version's link that lands late does not move `current` back past a later activation", async () => {
    // The real store, with the first link slowed down: the second run commits and links while the first one's is
    // still on its way.
    let firstLinkEntered!: () => void;
    const entered = new Promise<void>((resolve) => (firstLinkEntered = resolve));
    class SlowFirstLink extends FilesystemArtifactStore {
      override async setCurrent(ref: Parameters<FilesystemArtifactStore['setCurrent']>[0]): Promise<void> {
        if (ref.version === 1) {
          firstLinkEntered();
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        return super.setCurrent(ref);
      }
    }
    const slow = new VersionsRepo(pool, new SlowFirstLink(dataDir));
    const first = slow.storeVersion(version('late_link_fn', 'wf-late/run-1', 'late-1'));
    await entered;
    await slow.storeVersion(version('late_link_fn', 'wf-late/run-2', 'late-2'));
    await first;
    expect((await rows('late_link_fn')).filter((r) => r.status === 'active')).toEqual([
      { version: 2, status: 'active' },
    ]);
    expect(readlinkSync(path.join(dataDir, 'functions', 'late_link_fn', 'current'))).toBe('v2');
  });

  test('twenty concurrent runs with different inputs get contiguous versions and exactly one active', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => repo.storeVersion(version('busy_fn', `wf-${i}/run`, `input-${i}`))),
    );
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const stored = await rows('busy_fn');
    expect(stored.filter((r) => r.status === 'active')).toEqual([{ version: 20, status: 'active' }]);
    expect(readlinkSync(path.join(dataDir, 'functions', 'busy_fn', 'current'))).toBe('v20');
    // Each version's files hold what its own run stored.
    const winner = results.findIndex((r) => r.version === 20);
    expect(readFileSync(path.join(dataDir, 'functions', 'busy_fn', 'v20', 'code.py'), 'utf8')).toBe(
      `# input-${winner}\n`,
    );
  });

  test('a new run with the input of the active version answers that version; an older input makes a new one', async () => {
    await repo.storeVersion(version('same_fn', 'wf-x/run-1', 'A'));
    await repo.storeVersion(version('same_fn', 'wf-y/run-1', 'B'));
    expect(await repo.storeVersion(version('same_fn', 'wf-y/run-2', 'B'))).toMatchObject({
      version: 2,
      created: false,
      deprecated: null,
      reused: { relation: 'same_input', active: { version: 2, trigger: 'request' } },
    });
    expect(await repo.storeVersion(version('same_fn', 'wf-x/run-2', 'A'))).toEqual({
      version: 3,
      created: true,
      deprecated: 2,
    });
  });

  test('a regeneration answers its parent input and always makes a version; a request byte-identical to the active one makes none', async () => {
    await repo.storeVersion(version('lineage_fn', 'wf-l/run-1', 'A'));
    const regenerated = { ...version('lineage_fn', 'wf-r/run-1', 'A'), parentVersion: 1, trigger: 'feedback' as const };
    regenerated.artifact = { ...regenerated.artifact, python: '# learned\n' };
    expect(await repo.storeVersion(regenerated)).toEqual({ version: 2, created: true, deprecated: 1 });
    expect(await repo.activeVersion('default', 'lineage_fn')).toMatchObject({
      version: 2,
      input_hash: 'A',
      trigger: 'feedback',
      parent_version: 1,
      reactivated: false,
    });
    // Another input whose module comes out byte-identical to the active one's: no copy of it.
    const copy = { ...version('lineage_fn', 'wf-c/run-1', 'C'), artifact: regenerated.artifact };
    expect(await repo.storeVersion(copy)).toMatchObject({
      version: 2,
      created: false,
      reused: { relation: 'identical_code' },
    });
    await repo.activate({ tenantId: 'default', functionName: 'lineage_fn', version: 1 });
    expect(await repo.activeVersion('default', 'lineage_fn')).toMatchObject({ version: 1, reactivated: true });
    const summary = await repo.getFunction('default', 'lineage_fn');
    expect(summary?.versions.map((v) => [v.version, v.trigger, v.parent_version])).toEqual([
      [1, 'request', null],
      [2, 'feedback', 1],
    ]);
  });
});

describe('the lineage migration', () => {
  test('versions regenerated before lineage take the input of the request their chain started from', async () => {
    const dir = path.join(__dirname, '..', '..', 'migrations');
    const old = `t_lineage_mig_${uniqueSuffix()}`;
    // Every migration before this one, however many come after it.
    const before = readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .indexOf('1764050000000_versions-lineage.sql');
    expect(before).toBeGreaterThan(0);
    await runner({
      databaseUrl: process.env.DATABASE_URL!,
      dir,
      direction: 'up',
      count: before,
      migrationsTable: 'pgmigrations',
      schema: old,
      createSchema: true,
      log: () => undefined,
      // node-pg-migrate's lock is one per database, tried once: another file migrating its own schema at this moment
      // would fail this run. This schema is the test's own, so nothing else migrates it.
      noLock: true,
    });
    const db = createPool({ url: process.env.DATABASE_URL!, schema: old, max: 1 });
    try {
      await db.query("INSERT INTO functions (tenant_id, name, current_version) VALUES ('default', 'f', 3)");
      const row = (v: number, status: string, hash: string, replaced: number | null, guidance: boolean) =>
        db.query(
          `INSERT INTO versions (tenant_id, function_name, version, status, idempotency_key, input_hash, domain, provider,
                                 enhancer_version, safety_level, params, metadata, artifact_path, replaced_version)
           VALUES ('default', 'f', $1, $2, $3, $4, 'base_reliability', 'template', 'template-1', 'high', '{}', $5, 'x', $6)`,
          [v, status, `k${v}`, hash, JSON.stringify(guidance ? { guidance: { reason: 'errors' } } : {}), replaced],
        );
      await row(1, 'deprecated', 'request-hash', null, false);
      await row(2, 'deprecated', 'made-up-2', 1, true);
      await row(3, 'active', 'made-up-3', 2, true);
      await migrate({ url: process.env.DATABASE_URL!, schema: old, dir, logger });
      const { rows } = await db.query(
        'SELECT version, input_hash, trigger, parent_version FROM versions ORDER BY version',
      );
      expect(rows).toEqual([
        { version: 1, input_hash: 'request-hash', trigger: 'request', parent_version: null },
        { version: 2, input_hash: 'request-hash', trigger: 'feedback', parent_version: 1 },
        { version: 3, input_hash: 'request-hash', trigger: 'feedback', parent_version: 2 },
      ]);
    } finally {
      await db.query(`DROP SCHEMA ${old} CASCADE`);
      await db.end();
    }
  });
});

describe('EventPublisher without Redis', () => {
  test('publishing the same run twice writes each event once and keeps them for the stream', async () => {
    const publisher = new EventPublisher({ pool, stream: 'unused', maxLen: 100, logger });
    const input = {
      tenant_id: 'default',
      function_name: 'events_fn',
      workflow_id: 'wf-e',
      run_id: 'run-1',
      events: [
        { type: 'version.created' as const, payload: { version: 1 } },
        { type: 'enhancement.completed' as const, payload: { version: 1 } },
      ],
    };
    expect(await publisher.publish(input)).toEqual({ inserted: 2, streamed: 0 });
    expect(await publisher.publish(input)).toEqual({ inserted: 0, streamed: 0 });
    const res = await pool.query(
      'SELECT event_type FROM events WHERE function_name = $1 AND streamed_at IS NULL ORDER BY id',
      ['events_fn'],
    );
    expect(res.rows.map((r) => r.event_type)).toEqual(['version.created', 'enhancement.completed']);
  });
});

/** A stream entry's field list as an object. */
function fieldsOf(list: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i] as string] = list[i + 1] as string;
  return fields;
}

describe('EventPublisher with a deferred relay', () => {
  test('publishes return once their rows are committed; the background relay streams each row once', async () => {
    const redis = new Redis(process.env.REDIS_URL!, { lazyConnect: true });
    await redis.connect();
    const stream = `test:deferred:${uniqueSuffix()}`;
    const publisher = new EventPublisher({ pool, redis, stream, maxLen: 10_000, logger });
    const functionName = `deferred_${uniqueSuffix()}`;
    try {
      const runs = Array.from({ length: 20 }, (_, i) => `run-${i}`);
      const published = await Promise.all(
        runs.map((run) =>
          publisher.publish({
            tenant_id: 'default',
            function_name: functionName,
            workflow_id: `wf-${functionName}`,
            run_id: run,
            relay: 'deferred',
            events: [
              { type: 'enhancement.started', payload: {} },
              { type: 'enhancement.completed', payload: { version: 1 } },
            ],
          }),
        ),
      );
      expect(published).toEqual(runs.map(() => ({ inserted: 2, streamed: 0 })));
      await publisher.drain();
      const entries = await redis.xrange(stream, '-', '+');
      const ours = entries
        .map(([, fields]) => fieldsOf(fields))
        .filter((fields) => fields.function_name === functionName);
      expect(ours).toHaveLength(40);
      expect(new Set(ours.map((fields) => fields.event_id)).size).toBe(40);
      const left = await pool.query(
        'SELECT count(*)::int AS n FROM events WHERE function_name = $1 AND streamed_at IS NULL',
        [functionName],
      );
      expect(left.rows[0].n).toBe(0);
    } finally {
      await redis.del(stream);
      redis.disconnect();
    }
  });
});
