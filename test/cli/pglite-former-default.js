'use strict';
// `node pglite-former-default.js DATA_DIR`: writes DATA_DIR/pglite as the former embedded default left it (PGlite
// behind pglite-socket, written through dist/'s repositories and artifact store) at that release's migration level, so that
// `poet migrate-pglite` must also apply the migrations since. Prints {key, code} for the test to check.
const { cpSync, mkdtempSync, readdirSync, rmSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const dist = (m) => require(path.join(root, 'dist', m));
const { pgliteTools } = dist('cli/pglite-import');
const { ApiKeysRepo } = dist('infra/db/api-keys-repo');
const { AuditRepo } = dist('infra/db/audit-repo');
const { createPool, migrate } = dist('infra/db/pool');
const { createLogger } = dist('infra/observability/logger');
const { FilesystemArtifactStore } = dist('infra/storage/artifact-store');

/** The last migration of the release whose embedded default was PGlite: the command applies every one after it. */
const FORMER_LAST_MIGRATION = '1764020000000_payload-tenants.sql';

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

(async () => {
  const dataDir = process.argv[2];
  const logger = createLogger({ level: 'error', service: 'fixture', silent: true });
  const tools = pgliteTools();
  const { PGLiteSocketServer } = tools.require('@electric-sql/pglite-socket');
  const db = new tools.PGlite(path.join(dataDir, 'pglite'));
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 4 });
  await server.start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  const older = mkdtempSync(path.join(os.tmpdir(), 'poet-migrations-'));
  for (const file of readdirSync(path.join(root, 'migrations')).filter((f) => f <= FORMER_LAST_MIGRATION))
    cpSync(path.join(root, 'migrations', file), path.join(older, file));
  const pool = createPool({ url, schema: 'public', max: 1 });
  try {
    await migrate({ url, schema: 'public', dir: older, logger });
    const { key } = await new ApiKeysRepo(pool).create({
      tenantId: 'acme',
      role: 'admin',
      name: 'laptop',
      createdBy: 'cli',
    });
    await new AuditRepo(pool).record({
      actor: 'k1',
      tenantId: 'acme',
      action: 'POST /api/v1/enhance',
      target: 'add',
      requestId: 'r1',
      outcome: 'success',
      status: 200,
      ip: '127.0.0.1',
      details: { note: "it's public.versions, {a,b}" },
    });
    // A version as the former default's schema held it, written the way its storeVersion did: artifacts, then rows.
    const code = "def add(a, b):\n    # public.add: 'quoted' \\ back\n    return a + b\n";
    const ref = { tenantId: 'acme', functionName: 'add', version: 1 };
    const store = new FilesystemArtifactStore(path.join(dataDir, 'functions'));
    const params = { retries: 3, tags: ['x', 'y'] };
    const written = await store.writeVersion(ref, {
      'code.py': code,
      'code.dana': code,
      'params.json': `${JSON.stringify(params, null, 2)}\n`,
      'metadata.json': `${JSON.stringify({ version: 1, cache: 'miss' }, null, 2)}\n`,
    });
    await pool.query("INSERT INTO functions (tenant_id, name) VALUES ('acme', 'add')");
    await pool.query(
      `INSERT INTO versions (tenant_id, function_name, version, status, idempotency_key, input_hash, domain, provider,
                             enhancer_version, safety_level, params, metadata, artifact_path)
       VALUES ('acme', 'add', 1, 'active', 'wf-1/run-1', 'h1', 'base_reliability', 'template', 'template-1', 'high',
               $1, $2, $3)`,
      [JSON.stringify(params), JSON.stringify({ cache: 'miss' }), written.location],
    );
    await pool.query("UPDATE functions SET current_version = 1 WHERE tenant_id = 'acme' AND name = 'add'");
    await store.setCurrent(ref);
    process.stdout.write(JSON.stringify({ key, code }));
  } finally {
    await pool.end();
    await server.stop();
    await db.close();
    rmSync(older, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
