import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { poet } from '../helpers/cli';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** What the drill compares before and after: every version's code digests, the current versions, the runs. */
async function observe(stack: TestStack, names: string[]) {
  const state: Record<string, { current: number; code: Record<number, { python: string; dana: string }> }> = {};
  for (const name of names) {
    const fn = await getJson(`${stack.url}/api/v1/functions/${name}`);
    expect(fn.status).toBe(200);
    const code: Record<number, { python: string; dana: string }> = {};
    for (const { version } of fn.body.versions) {
      const v = await getJson(`${stack.url}/api/v1/functions/${name}/versions/${version}`);
      expect(v.status).toBe(200);
      code[version] = { python: sha(v.body.code.python), dana: sha(v.body.code.dana) };
    }
    state[name] = { current: fn.body.current_version, code };
  }
  return state;
}

/**
 * The restore drill: enhance, give feedback, `poet backup`, wipe the database schema and the artifacts, `poet
 * restore`; then every version reads back with identical SHA-256 of its code, the current versions are the same
 * and the runs list still answers (Temporal keeps the runs; the restored payload store decodes them).
 */
test('restore drill: backup, wipe, restore, everything reads back the same', async () => {
  const stack = await startStack('drill');
  const backupDir = mkdtempSync(path.join(os.tmpdir(), 'poet-backup-'));
  rmSync(backupDir, { recursive: true });
  const { config } = stack;
  const env = {
    DATABASE_URL: config.DATABASE_URL!,
    DATABASE_SCHEMA: config.DATABASE_SCHEMA,
    DATA_DIR: config.dataDir,
    LOG_LEVEL: 'error',
  };
  let restored: TestStack | undefined;
  try {
    const names = [`drill_a_${uniqueSuffix()}`, `drill_b_${uniqueSuffix()}`];
    for (const name of names) {
      const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
        function_name: name,
        original_code: `def ${name}(a: float, b: float) -> float:\n    return a / b\n`,
        context: { samples: [[6, 3]] },
      });
      expect(res.status).toBe(200);
    }
    const fb = await postJson(`${stack.url}/api/v1/functions/${names[0]}/feedback`, {
      version: 1,
      execution_id: `drill-${uniqueSuffix()}`,
      feedback_type: 'error',
      rating: 2,
      comments: 'TimeoutError: timed out after 30 s',
    });
    expect(fb.body).toMatchObject({ status: 'requires_update', new_version: 2 });
    const before = await observe(stack, names);
    expect(before[names[0]!]!.current).toBe(2);
    const runsBefore = await getJson(`${stack.url}/api/v1/runs?limit=20`);
    expect(runsBefore.body.runs.length).toBeGreaterThanOrEqual(3);

    const backup = await poet(['backup', backupDir, '--json'], env);
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(backup.stdout)).toMatchObject({ versions: 3 });
    // A second backup into the same directory is refused rather than mixed with the first.
    expect((await poet(['backup', backupDir], env)).stderr).toMatch(/not empty/);

    // The wipe: the stack's schema and its artifacts are gone (its close drops and removes both).
    await stack.close();
    mkdirSync(config.dataDir, { recursive: true });

    const restore = await poet(['restore', backupDir, '--json'], env);
    expect(restore).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(restore.stdout)).toMatchObject({ versions: 3, seconds: expect.any(Number) });
    expect(readdirSync(path.join(config.dataDir, 'functions')).sort()).toEqual([...names].sort());
    // Restoring twice would duplicate everything: refused, the database is not empty any more.
    expect((await poet(['restore', backupDir], env)).stderr).toMatch(/is not empty/);

    // The same schema, artifacts and task queue, served again.
    restored = await startStack('drill', {
      DATABASE_SCHEMA: config.DATABASE_SCHEMA,
      DATA_DIR: config.dataDir,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      REDIS_PREFIX: config.REDIS_PREFIX,
    });
    expect(await observe(restored, names)).toEqual(before);
    const runsAfter = await getJson(`${restored.url}/api/v1/runs?limit=20`);
    expect(runsAfter.status).toBe(200);
    expect(runsAfter.body.runs.map((r: { workflow_id: string }) => r.workflow_id).sort()).toEqual(
      runsBefore.body.runs.map((r: { workflow_id: string }) => r.workflow_id).sort(),
    );
    // The audit log came back whole: its hash chain verifies.
    expect((await getJson(`${restored.url}/api/v1/admin/audit/verify`)).body).toMatchObject({ intact: true });
    // The restored service goes on: feedback on the restored active version makes the next version.
    const next = await postJson(`${restored.url}/api/v1/functions/${names[0]}/feedback`, {
      version: 2,
      execution_id: `drill-${uniqueSuffix()}`,
      feedback_type: 'error',
      rating: 1,
      comments: 'TimeoutError: timed out again',
    });
    expect(next.body).toMatchObject({ status: 'requires_update', new_version: 3 });

    // A directory that is not a backup is refused before anything is written.
    const tampered = mkdtempSync(path.join(os.tmpdir(), 'poet-tampered-'));
    writeFileSync(path.join(tampered, 'manifest.json'), '{"format":"something-else"}');
    expect((await poet(['restore', tampered], env)).stderr).toMatch(/not a poet-backup/);
    rmSync(tampered, { recursive: true, force: true });
  } finally {
    await restored?.close();
    rmSync(backupDir, { recursive: true, force: true });
  }
});
