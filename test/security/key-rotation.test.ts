import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Pool, PoolClient } from 'pg';
import type { RotationProgress } from '../../src/contracts/key-rotation';
import { rotationProgressQuery } from '../../src/definitions/messages';
import { rotateKeyWorkflowId } from '../../src/definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import { KeyRing, newKeyEntry, parseKeyRing } from '../../src/infra/crypto/key-ring';
import { createPool } from '../../src/infra/db/pool';
import { createLogger } from '../../src/infra/observability/logger';
import { createClaimCheck } from '../../src/infra/temporal/claim-check';
import { EncryptionCodec } from '../../src/infra/temporal/encryption-codec';
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
  stack = await startStack('rotation', { ENCRYPTION_KEYS: KEY_A });
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

/** A transaction holding one payload row's lock: the rotation's write of that row waits until it ends. */
async function lockRow(row: StoredRow): Promise<{ tx: PoolClient; pid: number }> {
  const tx = await locks.connect();
  await tx.query('BEGIN');
  await tx.query('SELECT 1 FROM payloads WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [row.id, row.tenant_id]);
  const { rows: me } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { tx, pid: me[0]!.pid };
}
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
  expect(refused.stderr).toMatch(new RegExp(`key a still encrypts ${before.length} stored payloads`));

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
    // The second run counted what is left after its first page: every row from the sixth on.
    expect(await progress()).toMatchObject({
      done: 5,
      concurrent: 1,
      runs: 2,
      pages: 3,
      remaining: before.length - 6,
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
      done: before.length - 1,
      by_key: { a: before.length - 1 },
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
  expect(retired.stdout).toContain('key a encrypts no stored payload');
  expect(retired.stdout).toContain('Remove the entry "a:..."');
  const active = await cli(['keys', 'retire', 'b']);
  expect(active.code).toBe(3);
  expect(active.stderr).toContain('key b is the active key');
}, 180_000);
