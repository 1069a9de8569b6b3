import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Pool, PoolClient } from 'pg';
import type { RotationProgress } from '../../src/contracts/key-rotation';
import { rotationProgressQuery } from '../../src/definitions/messages';
import { rotateKeyWorkflowId } from '../../src/definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import { FieldCipher } from '../../src/infra/crypto/field-cipher';
import { KeyRing, newKeyEntry, parseKeyRing } from '../../src/infra/crypto/key-ring';
import { FeedbackRepo } from '../../src/infra/db/feedback-repo';
import { createPool } from '../../src/infra/db/pool';
import { VersionsRepo } from '../../src/infra/db/versions-repo';
import { sha256 } from '../../src/infra/hash';
import { createArtifactStore } from '../../src/infra/storage/encrypted-artifact-store';
import { createLogger } from '../../src/infra/observability/logger';
import { createClaimCheck } from '../../src/infra/temporal/claim-check';
import { EncryptionCodec } from '../../src/infra/temporal/encryption-codec';
import { startApi } from '../../src/api/server';
import { startWorker, type RunningWorker } from '../../src/worker/worker';
import { poet } from '../helpers/cli';
import { largeFunction } from '../helpers/raw-history';
import { postJson, startStack, type TestStack, uniqueSuffix, until } from '../helpers/stack';

/**
 * Key rotation (SECURITY.md): payload rows stored under key A are re-encrypted to B by the rotateEncryptionKey
 * workflow, through a concurrent writer, an activity failure and a worker restart; A can be retired only afterwards.
 */
const KEY_A = newKeyEntry('a');
const KEY_B = newKeyEntry('b');
const RING_AB = `${KEY_A},${KEY_B}`;
let stack: TestStack;
/** Row locks of the test's own (the stack's pool has two connections). */
let locks: Pool;
const workers: RunningWorker[] = [];

beforeAll(async () => {
  stack = await startStack('rotation', { ENCRYPTION_KEYS: KEY_A, ARTIFACT_ENCRYPTION: 'true' });
  locks = createPool({ url: stack.config.DATABASE_URL!, schema: stack.config.DATABASE_SCHEMA, max: 2 });
});
afterAll(async () => {
  await locks.end();
  for (const worker of workers) await worker.shutdown();
  await stack.close();
});

interface StoredRow {
  id: string;
  tenant_id: string;
  key_id: string | null;
  data: Buffer;
}
const rows = async () =>
  (await stack.pool.query<StoredRow>('SELECT id, tenant_id, key_id, data FROM payloads ORDER BY id, tenant_id')).rows;
const sealedWith = (row: StoredRow) => EncryptionCodec.keyIdOf(temporal.api.common.v1.Payload.decode(row.data));

/** A transaction holding the row locks `sql` takes: the rotation's write of those rows waits until it ends. */
async function lockWhere(sql: string, params: unknown[]): Promise<{ tx: PoolClient; pid: number }> {
  const tx = await locks.connect();
  await tx.query('BEGIN');
  await tx.query(sql, params);
  const { rows: me } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { tx, pid: me[0]!.pid };
}
const lockRow = (row: StoredRow) =>
  lockWhere('SELECT 1 FROM payloads WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [row.id, row.tenant_id]);
/** The backend of the rotation's write waiting on `pid`'s lock, once it waits. */
const waiterOn = (pid: number) =>
  until(`a write waiting on ${pid}`, async () => {
    const { rows: waiting } = await stack.pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
      [pid],
    );
    return waiting[0]?.pid;
  });

const cliEnv = {
  DATABASE_URL: process.env.DATABASE_URL!,
  TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
  ENCRYPTION_KEYS: RING_AB,
  ENCRYPTION_ACTIVE_KEY: 'b',
};
const cli = (args: string[], over: Record<string, string> = {}) =>
  poet(args, {
    ...cliEnv,
    DATABASE_SCHEMA: stack.config.DATABASE_SCHEMA,
    TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
    ...over,
  });

test('rows under key A are re-encrypted to B through a concurrent write and a crash; A is retired only afterwards', async () => {
  // Five large functions enhanced under A: their inputs and results are payload rows.
  const runs: { workflow_id: string; python: string }[] = [];
  for (let i = 0; i < 5; i++) {
    const name = `rotate_${i}_${uniqueSuffix()}`;
    const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: largeFunction(name, `MARKER_${i}`),
    });
    expect(res.status).toBe(200);
    runs.push({ workflow_id: res.body.run.workflow_id, python: res.body.enhanced_code.python });
  }
  const before = await rows();
  expect(before.length).toBeGreaterThanOrEqual(10);
  expect(new Set(before.map((r) => r.key_id))).toEqual(new Set(['a']));
  expect(new Set(before.map(sealedWith))).toEqual(new Set(['a']));
  const refused = await cli(['keys', 'retire', 'a']);
  expect(refused.code).toBe(3);
  expect(refused.stderr).toContain(
    `key a still encrypts stored data (payloads: ${before.length}, versions: 5, artifacts: 5)`,
  );

  // Rows from before key ids were recorded: the rotation reads and classifies them.
  await stack.pool.query('UPDATE payloads SET key_id = NULL WHERE (id, tenant_id) IN (($1, $2), ($3, $4))', [
    before[4]!.id,
    before[4]!.tenant_id,
    before[8]!.id,
    before[8]!.tenant_id,
  ]);

  // Switch: every worker gets ring A+B with B active.
  const configAB = { ...stack.config, encryption: parseKeyRing(RING_AB, 'b') };
  const logger = createLogger({ level: 'error', service: 'test-rotation', silent: true });
  await stack.worker.shutdown();
  const first = await startWorker(configAB, logger);
  workers.push(first);
  const claimCheck = createClaimCheck(configAB, 'test-rotation');
  try {
    const client = new Client({ connection: stack.client.connection, dataConverter: claimCheck.dataConverter });
    // Row 2 is rewritten by someone else while the rotation's write of it waits; row 6 (the first of the fourth page,
    // in the chain's second run) fails its page once, and the worker is replaced meanwhile.
    const concurrent = await lockRow(before[2]!);
    const crash = await lockRow(before[6]!);
    const handle = await client.workflow.start(WORKFLOW_TYPES.rotateKey, {
      workflowId: rotateKeyWorkflowId(stack.config.DATABASE_SCHEMA, 'b'),
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      args: [{ target_key_id: 'b', page_size: 2, pages_per_run: 2 }],
    });
    const progress = () => client.workflow.getHandle(handle.workflowId).query(rotationProgressQuery);

    await waiterOn(concurrent.pid);
    expect(await progress()).toMatchObject({ done: 2, by_key: { a: 2 }, runs: 1, complete: false });
    const underB = new EncryptionCodec(new KeyRing(parseKeyRing(KEY_B, undefined)));
    const [plain] = await new EncryptionCodec(new KeyRing(configAB.encryption)).decode([
      temporal.api.common.v1.Payload.decode(before[2]!.data),
    ]);
    const [sealed] = await underB.encode([plain!]);
    await concurrent.tx.query("UPDATE payloads SET data = $3, key_id = 'b' WHERE id = $1 AND tenant_id = $2", [
      before[2]!.id,
      before[2]!.tenant_id,
      Buffer.from(temporal.api.common.v1.Payload.encode(sealed!).finish()),
    ]);
    await concurrent.tx.query('COMMIT');
    concurrent.tx.release();

    const waiting = await waiterOn(crash.pid);
    // The second run counted what is left after its first page: every payload row from the sixth on, then the
    // versions' rows and their artifact files.
    expect(await progress()).toMatchObject({
      done: 5,
      concurrent: 1,
      runs: 2,
      pages: 3,
      remaining: before.length - 6 + 2 * runs.length,
      complete: false,
    });
    // The page's connection dies under it (the activity fails), and the worker goes away before it is retried.
    await stack.pool.query('SELECT pg_terminate_backend($1)', [waiting]);
    const stopping = first.shutdown();
    await crash.tx.query('ROLLBACK');
    crash.tx.release();
    await stopping;
    workers.push(await startWorker(configAB, logger));

    const result: RotationProgress = await handle.result();
    expect(result).toMatchObject({
      target_key_id: 'b',
      done: before.length - 1 + 2 * runs.length,
      by_key: { a: before.length - 1 + 2 * runs.length },
      concurrent: 1,
      unreadable: {},
      complete: true,
    });
    expect(result.runs).toBeGreaterThanOrEqual(3);

    const after = await rows();
    expect(after.map((r) => [r.id, r.tenant_id])).toEqual(before.map((r) => [r.id, r.tenant_id]));
    expect(new Set(after.map((r) => r.key_id))).toEqual(new Set(['b']));
    expect(new Set(after.map(sealedWith))).toEqual(new Set(['b']));
    // Every run's result reads back identical, through a client whose ring has only B.
    const onlyB = createClaimCheck({ ...stack.config, encryption: parseKeyRing(KEY_B, undefined) }, 'test-only-b');
    try {
      const clientB = new Client({ connection: stack.client.connection, dataConverter: onlyB.dataConverter });
      for (const run of runs) {
        const enhanced = await clientB.workflow.getHandle(run.workflow_id).result();
        expect(enhanced.enhanced_code.python).toBe(run.python);
      }
    } finally {
      await onlyB.close();
    }
  } finally {
    await claimCheck.close();
  }

  // Again, through the CLI: a new run finds nothing left to do.
  const again = await cli(['keys', 'rotate-data', '--json']);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({ target_key_id: 'b', done: 0, concurrent: 0, complete: true });

  // A rotation to a key the workers do not encrypt with fails at once, naming the setting to change.
  const mismatched = await cli(['keys', 'rotate-data'], { ENCRYPTION_ACTIVE_KEY: 'a' });
  expect(mismatched.code).toBe(5);
  expect(mismatched.stderr).toContain("this worker's active key is b, not a");

  const retired = await cli(['keys', 'retire', 'a']);
  expect(retired.code).toBe(0);
  expect(retired.stdout).toContain('key a encrypts no stored payload, row or artifact');
  expect(retired.stdout).toContain('Remove the entry "a:..."');
  const active = await cli(['keys', 'retire', 'b']);
  expect(active.code).toBe(3);
  expect(active.stderr).toContain('key b is the active key');
}, 180_000);

/** A function of the 50-function rotation and the feedback stored on its version. */
interface Stored {
  name: string;
  version: number;
  comments: string;
  suggestions: string[];
  examples: { args: number[]; kwargs: Record<string, never>; expected: number }[];
}

test('50 functions with code, params and feedback under B are rotated to C through a crash; B is retired; all read back identical', async () => {
  const KEY_C = newKeyEntry('c');
  const logger = createLogger({ level: 'error', service: 'test-rotation-50', silent: true });
  const stored: Stored[] = [];
  // Five made through an API on ring A+B (the workers' active key is b since the rotation above) ...
  const made: { name: string; version: number }[] = [];
  const apiAB = await startApi({ ...stack.config, encryption: parseKeyRing(RING_AB, 'b') }, logger);
  try {
    for (let i = 0; i < 5; i++) {
      const name = `api_${i}_${uniqueSuffix()}`;
      const res = await postJson(`${apiAB.url}/api/v1/functions/enhance`, {
        function_name: name,
        original_code: `def ${name}(x: int) -> int:\n    return x * 3\n`,
      });
      expect(res.status).toBe(200);
      made.push({ name, version: res.body.version });
    }
  } finally {
    await apiAB.close();
  }
  // ... and 45 through the repositories, under b as the workers write; feedback on all 50 through the repository
  // (through the API, feedback starts a regeneration that would race the rotation).
  const configB = { ...stack.config, encryption: parseKeyRing(KEY_B, undefined) };
  const artifactsB = createArtifactStore(configB, logger);
  const versionsB = new VersionsRepo(stack.pool, artifactsB.store, new FieldCipher(configB.encryption));
  const feedbackB = new FeedbackRepo(stack.pool, new FieldCipher(configB.encryption));
  for (let i = 5; i < 50; i++) {
    const name = `bulk_${i}_${uniqueSuffix()}`;
    const python = `def ${name}(x: int) -> int:\n    return x * 3  # ${uniqueSuffix()}\n`;
    const params = { retries: i % 4, timeout_s: i };
    const { version } = await versionsB.storeVersion({
      tenantId: 'default',
      functionName: name,
      idempotencyKey: `bulk/${name}`,
      inputHash: sha256(name),
      parentVersion: null,
      trigger: 'request',
      request: { function_name: name, original_code: python, domain: 'base_reliability' },
      domain: 'base_reliability',
      optimizeFor: null,
      safetyLevel: 'high',
      artifact: { python, dana: `# ${name}`, params, optimizations: [], provider: 'test', enhancer_version: 'test' },
      metadata: { domain: 'base_reliability' },
    });
    made.push({ name, version });
  }
  for (const [i, { name, version }] of made.entries()) {
    const fb = {
      comments: `comment ${i} ${uniqueSuffix()}`,
      suggestions: [`suggestion ${i}`],
      examples: [{ args: [i], kwargs: {}, expected: 3 * i }],
    };
    await feedbackB.record('default', name, {
      version,
      execution_id: `e-${name}`,
      feedback_type: 'user',
      rating: 4,
      ...fb,
    });
    stored.push({ name, version, ...fb });
  }
  // Every version as it reads under B, before the rotation: code, params, metadata.
  const asStored = new Map<string, unknown>();
  for (const { name, version } of made) {
    const detail = await versionsB.getVersion({ tenantId: 'default', functionName: name, version });
    expect(detail).toBeDefined();
    asStored.set(name, { code: detail!.code, params: detail!.params, metadata: detail!.metadata });
  }
  const refused = await cli(['keys', 'retire', 'b'], {
    ENCRYPTION_KEYS: `${KEY_B},${KEY_C}`,
    ENCRYPTION_ACTIVE_KEY: 'c',
  });
  expect(refused.code).toBe(3);
  expect(refused.stderr).toMatch(
    /key b still encrypts stored data \(payloads: \d+, versions: 55, feedback: 50, feedback_examples: 50, artifacts: 55\)/,
  );

  // Workers on ring B+C with C active; the rotation is held on the versions row of the 20th function, that page's
  // connection is killed, and the worker replaced before the page is retried.
  const configBC = { ...stack.config, encryption: parseKeyRing(`${KEY_B},${KEY_C}`, 'c') };
  await workers.at(-1)!.shutdown();
  const first = await startWorker(configBC, logger);
  workers.push(first);
  const claimCheck = createClaimCheck(configBC, 'test-rotation-50');
  try {
    const client = new Client({ connection: stack.client.connection, dataConverter: claimCheck.dataConverter });
    const held = await lockWhere('SELECT 1 FROM versions WHERE function_name = $1 FOR UPDATE', [stored[20]!.name]);
    const handle = await client.workflow.start(WORKFLOW_TYPES.rotateKey, {
      workflowId: rotateKeyWorkflowId(stack.config.DATABASE_SCHEMA, 'c'),
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      args: [{ target_key_id: 'c', page_size: 10, pages_per_run: 3 }],
    });
    const waiting = await waiterOn(held.pid);
    const midway: RotationProgress = await client.workflow.getHandle(handle.workflowId).query(rotationProgressQuery);
    expect(midway).toMatchObject({ complete: false, cursor: { stage: 'versions' } });
    expect(midway.done).toBeGreaterThan(0);
    await stack.pool.query('SELECT pg_terminate_backend($1)', [waiting]);
    const stopping = first.shutdown();
    await held.tx.query('ROLLBACK');
    held.tx.release();
    await stopping;
    workers.push(await startWorker(configBC, logger));
    const result: RotationProgress = await handle.result();
    expect(result).toMatchObject({ target_key_id: 'c', complete: true, unreadable: {}, concurrent: 0 });
    expect(Object.keys(result.by_key)).toEqual(['b']);
  } finally {
    await claimCheck.close();
    artifactsB.close();
  }

  for (const table of ['versions', 'feedback', 'feedback_examples']) {
    const keys = await stack.pool.query(`SELECT DISTINCT key_id FROM ${table}`);
    expect(keys.rows).toEqual([{ key_id: 'c' }]);
  }
  const artifactKeys = await stack.pool.query('SELECT DISTINCT artifact_key_id FROM versions');
  expect(artifactKeys.rows).toEqual([{ artifact_key_id: 'c' }]);
  const retired = await cli(['keys', 'retire', 'b'], {
    ENCRYPTION_KEYS: `${KEY_B},${KEY_C}`,
    ENCRYPTION_ACTIVE_KEY: 'c',
  });
  expect(retired.code).toBe(0);

  // Read back with a ring that holds C alone: every version's code and params, every feedback, as stored.
  const configC = { ...stack.config, encryption: parseKeyRing(KEY_C, undefined) };
  const artifactsC = createArtifactStore(configC, logger);
  try {
    const versionsC = new VersionsRepo(stack.pool, artifactsC.store, new FieldCipher(configC.encryption));
    const feedbackC = new FeedbackRepo(stack.pool, new FieldCipher(configC.encryption));
    for (const s of stored) {
      const detail = await versionsC.getVersion({ tenantId: 'default', functionName: s.name, version: s.version });
      expect({ code: detail?.code, params: detail?.params, metadata: detail?.metadata }).toEqual(asStored.get(s.name));
      const [signal] = await feedbackC.signals('default', s.name, s.version);
      expect(signal).toMatchObject({ comments: s.comments, suggestions: s.suggestions });
      expect(await feedbackC.examples('default', s.name)).toEqual(s.examples);
    }
  } finally {
    artifactsC.close();
  }
}, 240_000);
