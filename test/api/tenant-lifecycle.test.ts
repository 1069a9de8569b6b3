import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { waitUntil } from '../../src/cli/wait';
import { poet } from '../helpers/cli';
import { requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';
import { rowsContaining } from '../helpers/raw-rows';

const source = (name: string) => `def ${name}(a: float, b: float) -> float:\n    return a / b\n`;

/**
 * Delete a function, export a tenant, import the export into another tenant (twice), and erase a tenant, on the
 * real API, worker, PostgreSQL, Redis and Temporal.
 */
describe('tenant data lifecycle', () => {
  let stack: TestStack;
  let redis: Redis;
  const tenant = `acme-${uniqueSuffix()}`;
  const other = `beta-${uniqueSuffix()}`;
  const keys: Record<string, string> = {};
  const as = (who: string) => ({ authorization: `Bearer ${keys[who]}` });
  const api = (p: string) => `${stack.url}/api/v1${p}`;

  beforeAll(async () => {
    stack = await startStack('lifecycle');
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    keys.operator = await stack.createKey(tenant, 'operator');
    keys.agent = await stack.createKey(tenant, 'agent');
    keys.other = await stack.createKey(other, 'operator');
    keys.third = await stack.createKey(`gamma-${uniqueSuffix()}`, 'operator');
  });
  afterAll(async () => {
    redis.disconnect();
    await stack.close();
  });

  const enhance = async (who: string, name: string) => {
    const res = await requestJson(
      'POST',
      api('/functions/enhance'),
      { function_name: name, original_code: source(name), context: { samples: [[6, 3]] } },
      as(who),
    );
    expect(res.status).toBe(200);
    return res.body;
  };

  async function exportOf(who: string): Promise<{ text: string; records: any[] }> {
    const res = await fetch(api('/tenant/export'), { headers: as(who) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = await res.text();
    return {
      text,
      records: text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    };
  }

  const importInto = (who: string, body: string) =>
    requestJson('POST', api('/tenant/import'), body, { ...as(who), 'content-type': 'application/x-ndjson' });

  const artifactFolders = () => readdirSync(path.join(stack.config.dataDir, 'functions'));

  test('delete, export, import twice, erase', async () => {
    const kept = `kept_${uniqueSuffix()}`;
    const dropped = `dropped_${uniqueSuffix()}`;
    await enhance('operator', kept);
    await enhance('operator', dropped);
    // Error feedback makes version 2 of `kept`.
    const fb = await requestJson(
      'POST',
      api(`/functions/${kept}/feedback`),
      {
        version: 1,
        execution_id: `e-${uniqueSuffix()}`,
        feedback_type: 'error',
        rating: 2,
        comments: 'TimeoutError: timed out',
        examples: [{ args: [6, 3], expected: 2.0 }],
      },
      as('operator'),
    );
    expect(fb.body).toMatchObject({ status: 'requires_update', new_version: 2 });

    // Delete: operators only; everything of the function goes, the audit log keeps the deletion.
    expect((await requestJson('DELETE', api(`/functions/${dropped}`), undefined, as('agent'))).status).toBe(403);
    expect(artifactFolders()).toContain(`${dropped}@${tenant}`);
    const indexKey = `${stack.config.REDIS_PREFIX}cache:index:${tenant}:${dropped}`;
    expect(await redis.exists(indexKey)).toBe(1);
    const deleted = await requestJson('DELETE', api(`/functions/${dropped}`), undefined, as('operator'));
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      function_name: dropped,
      deleted: { versions: 1, events: expect.any(Number) },
    });
    expect(deleted.body.deleted.artifact_files).toBeGreaterThanOrEqual(5);
    expect(deleted.body.deleted.runs).toBeGreaterThanOrEqual(1);
    expect((await requestJson('GET', api(`/functions/${dropped}`), undefined, as('operator'))).status).toBe(404);
    expect((await requestJson('DELETE', api(`/functions/${dropped}`), undefined, as('operator'))).status).toBe(404);
    expect(artifactFolders()).not.toContain(`${dropped}@${tenant}`);
    expect(await redis.exists(indexKey)).toBe(0);
    const rowsOf = async (table: string, name: string) =>
      Number((await stack.pool.query(`SELECT count(*) FROM ${table} WHERE function_name = $1`, [name])).rows[0].count);
    for (const table of ['versions', 'feedback', 'events']) expect(await rowsOf(table, dropped)).toBe(0);
    await waitUntil(
      async () =>
        (
          await stack.pool.query(
            `SELECT 1 FROM audit_log WHERE tenant_id = $1 AND action = 'DELETE /api/v1/functions/:name' AND target = $2 AND status = 200`,
            [tenant, dropped],
          )
        ).rowCount === 1,
      5_000,
      'the audit row of the deletion',
    );

    // Export: header, the function, both versions with their files and digests, the feedback, the events, the end.
    const exported = await exportOf('operator');
    const kinds = exported.records.map((r) => r.kind);
    expect(kinds[0]).toBe('header');
    expect(kinds[kinds.length - 1]).toBe('end');
    expect(exported.records[0]).toMatchObject({ format: 'poet-tenant-export', format_version: 1, tenant_id: tenant });
    const versions = exported.records.filter((r) => r.kind === 'version');
    expect(versions.map((v) => [v.function_name, v.version, v.status])).toEqual([
      [kept, 1, 'deprecated'],
      [kept, 2, 'active'],
    ]);
    expect(versions[1].files['code.py']).toContain(`def ${kept}(`);
    expect(Object.keys(versions[1].sha256).sort()).toEqual(Object.keys(versions[1].files).sort());
    expect(exported.records.at(-1).counts).toMatchObject({ functions: 1, versions: 2, feedback: 1 });
    expect(exported.records.some((r) => r.function_name === dropped || r.name === dropped)).toBe(false);

    // Import into another tenant: the same versions, code and current version; a second import changes nothing.
    const first = await importInto('other', exported.text);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      imported: { functions: 1, versions: 2, feedback: 1 },
      skipped: { functions: 0 },
    });
    // The feedback's example came along, as the source tenant stores it.
    const examplesOf = async (t: string) =>
      (await stack.pool.query('SELECT example, call_hash FROM feedback_examples WHERE tenant_id = $1', [t])).rows;
    expect(await examplesOf(other)).toEqual(await examplesOf(tenant));
    expect(await examplesOf(other)).toHaveLength(1);
    const again = await importInto('other', exported.text);
    expect(again.body).toMatchObject({
      imported: { functions: 0, versions: 0, feedback: 0, events: 0 },
      skipped: { functions: 1 },
    });
    const restored = await requestJson('GET', api(`/functions/${kept}/versions/2`), undefined, as('other'));
    expect(restored.body).toMatchObject({ status: 'active', code: { python: versions[1].files['code.py'] } });
    expect((await requestJson('GET', api(`/functions/${kept}`), undefined, as('other'))).body.current_version).toBe(2);
    const reexported = await exportOf('other');
    expect(reexported.records.filter((r) => r.kind === 'version').map((v) => v.sha256)).toEqual(
      versions.map((v) => v.sha256),
    );

    // The same through the CLI: `poet export` to a file, `poet import` of it into a third tenant.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-export-'));
    try {
      const file = path.join(dir, 'export.ndjson');
      const cliEnv = (who: string) => ({ POET_URL: stack.url, POET_API_KEY: keys[who]! });
      expect(await poet(['export', file], cliEnv('operator'))).toMatchObject({ code: 0 });
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines.map((r) => r.kind)).toEqual(kinds);
      const cliImport = await poet(['import', file, '--json'], cliEnv('third'));
      expect(cliImport).toMatchObject({ code: 0 });
      expect(JSON.parse(cliImport.stdout)).toMatchObject({ imported: { functions: 1, versions: 2, feedback: 1 } });
      expect(await poet(['import', file], cliEnv('agent'))).toMatchObject({
        code: 3,
        stderr: expect.stringMatching(/403/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // A cut-short or tampered export is refused, naming the line.
    const cut = exported.text.trim().split('\n').slice(0, -1).join('\n');
    expect((await importInto('other', cut)).body.error).toMatchObject({
      code: 'invalid_export',
      message: expect.stringMatching(/end record/),
    });
    const tampered = exported.records
      .map((r) =>
        JSON.stringify(r.kind === 'version' ? { ...r, files: { ...r.files, 'code.py': `${r.files['code.py']}#` } } : r),
      )
      .join('\n');
    expect((await importInto('other', tampered)).body.error.message).toMatch(/SHA-256 does not match/);

    // Erasure: the confirmation must name the tenant; then nothing anywhere names it.
    expect((await requestJson('DELETE', api('/tenant?confirm=nope'), undefined, as('operator'))).status).toBe(400);
    const erased = await requestJson('DELETE', api(`/tenant?confirm=${tenant}`), undefined, as('operator'));
    expect(erased.status).toBe(200);
    expect(erased.body.pseudonym).toMatch(/^erased-[0-9a-f]{16}$/);
    expect(erased.body.audit_rows_pseudonymized).toBeGreaterThan(0);
    // The erasure's own audit row is written after its answer, under the pseudonym.
    await waitUntil(
      async () =>
        (
          await stack.pool.query(
            `SELECT 1 FROM audit_log WHERE tenant_id = $1 AND action = 'DELETE /api/v1/tenant' AND status = 200`,
            [erased.body.pseudonym],
          )
        ).rowCount === 1,
      5_000,
      'the audit row of the erasure',
    );
    expect(await rowsNaming(tenant)).toEqual([]);
    expect(artifactFolders().filter((name) => name.includes(tenant))).toEqual([]);
    expect(await redisNaming(tenant)).toEqual([]);
    // The chain of actions stays: the tenant's deletion is still there, in order, under the pseudonym.
    const trail = await stack.pool.query('SELECT action, target, ip FROM audit_log WHERE tenant_id = $1 ORDER BY id', [
      erased.body.pseudonym,
    ]);
    expect(trail.rows.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'POST /api/v1/functions/enhance',
        'DELETE /api/v1/functions/:name',
        'DELETE /api/v1/tenant',
      ]),
    );
    expect(trail.rows.every((r) => r.ip === null)).toBe(true);
    // The key of the erased tenant is gone with it; the other tenant is untouched.
    expect((await requestJson('GET', api('/functions'), undefined, as('operator'))).status).toBe(401);
    expect((await requestJson('GET', api(`/functions/${kept}`), undefined, as('other'))).body.current_version).toBe(2);
    // The hash chain over the log still verifies after the pseudonymization (it hashes only what erasure keeps).
    const verify = () => requestJson('GET', api('/admin/audit/verify'));
    expect((await verify()).body).toEqual({ rows: expect.any(Number), intact: true, breaks: [] });
    expect((await requestJson('GET', api('/admin/audit/verify'), undefined, as('other'))).status).toBe(403);
    // Append-only otherwise: an UPDATE outside an erasure is still refused.
    await expect(
      stack.pool.query('UPDATE audit_log SET tenant_id = $1 WHERE tenant_id = $1', [erased.body.pseudonym]),
    ).rejects.toThrow(/append-only/);
    // A row edited behind the trigger's back (its owner can disable it) breaks the chain, and the check says where.
    const results: any = await stack.pool.query(
      `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
       UPDATE audit_log SET action = 'GET /nothing' WHERE id = (SELECT min(id) FROM audit_log) RETURNING chain_seq;
       ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete;`,
    );
    const edited = results[1].rows[0].chain_seq;
    expect((await verify()).body).toMatchObject({
      intact: false,
      breaks: [{ chain_seq: edited, reason: 'row changed' }],
    });
  });

  /** Every text-like column of every table of the stack's schema, searched for the tenant id. */
  async function rowsNaming(tenantId: string): Promise<string[]> {
    const { columns, found } = await rowsContaining(stack.pool, tenantId);
    expect(columns).toBeGreaterThan(20);
    return found;
  }

  /** Keys under the stack's prefix whose name or value names the tenant. */
  async function redisNaming(tenantId: string): Promise<string[]> {
    const found: string[] = [];
    const keysUnder = await redis.keys(`${stack.config.REDIS_PREFIX}*`);
    expect(existsSync(stack.config.dataDir)).toBe(true);
    for (const key of keysUnder) {
      if (key.includes(tenantId)) found.push(key);
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'set'
            ? (await redis.smembers(key)).join('\n')
            : type === 'stream'
              ? JSON.stringify(await redis.xrange(key, '-', '+'))
              : type === 'hash'
                ? JSON.stringify(await redis.hgetall(key))
                : '';
      if (value?.includes(tenantId)) found.push(`${key} (value)`);
    }
    return found;
  }
});
