'use strict';
// Benchmark: the restore drill's RTO. Makes BENCH_RESTORE_N functions (default 50) through the API, each with a
// second version from error feedback, then times `poet backup <dir>` and `poet restore <dir>` (the built CLI, as an
// operator runs it) into a fresh, empty schema and data dir: the restore's wall time, migrations included, is the
// time to recover the data. Starting the API and worker on the restored data is not included (see docs/tenant-data.md).
const { execFile } = require('node:child_process');
const { mkdtempSync, readdirSync, rmSync, statSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { enhanceBody } = require('./lib/load');

const N = Number(process.env.BENCH_RESTORE_N ?? 50);
const CLI = path.join(__dirname, '..', 'dist', 'cli', 'main.js');

async function poet(args, env) {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args, '--json'], { env });
  return { seconds: (performance.now() - started) / 1000, summary: JSON.parse(stdout) };
}

function sizeMiB(dir) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) bytes += statSync(path.join(entry.parentPath, entry.name)).size;
  return bytes / 2 ** 20;
}

async function run({ stack, figures }) {
  for (let i = 0; i < N; i++) {
    const body = enhanceBody('restore', i);
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body });
    if (res.status !== 200) throw new Error(`enhance: HTTP ${res.status} ${await res.text()}`);
    const fb = await fetch(`${stack.url}/api/v1/functions/restore_${i}/feedback`, {
      method: 'POST',
      headers: stack.headers,
      body: JSON.stringify({
        version: 1,
        execution_id: `r-${i}`,
        feedback_type: 'error',
        rating: 2,
        comments: 'TimeoutError',
      }),
    });
    if (fb.status !== 200) throw new Error(`feedback: HTTP ${fb.status} ${await fb.text()}`);
  }
  console.error(`restore: ${N} functions with 2 versions each made`);
  const backupDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'poet-bench-backup-')), 'backup');
  const targetDir = mkdtempSync(path.join(os.tmpdir(), 'poet-bench-restore-'));
  const target = `${stack.env.DATABASE_SCHEMA}_restored`;
  const { Client } = require('pg');
  try {
    const backup = await poet(['backup', backupDir], stack.env);
    const restore = await poet(['restore', backupDir], { ...stack.env, DATABASE_SCHEMA: target, DATA_DIR: targetDir });
    figures['restore.rto_seconds'] = { value: Math.round(restore.seconds * 100) / 100, better: 'lower' };
    figures['restore.backup_seconds'] = { value: Math.round(backup.seconds * 100) / 100, better: 'lower' };
    return {
      title: `Backup and restore drill (${N} functions, ${backup.summary.versions} versions)`,
      rows: [
        {
          rows: backup.summary.rows,
          versions: backup.summary.versions,
          'artifact files': backup.summary.artifact_files,
          'backup MiB': Math.round(sizeMiB(backupDir) * 10) / 10,
          'backup s': Math.round(backup.seconds * 100) / 100,
          'restore s (RTO)': Math.round(restore.seconds * 100) / 100,
        },
      ],
    };
  } finally {
    const pg = new Client({ connectionString: stack.env.DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS ${target} CASCADE`);
    await pg.end();
    rmSync(path.dirname(backupDir), { recursive: true, force: true });
    rmSync(targetDir, { recursive: true, force: true });
  }
}

module.exports = { name: 'restore', run };
