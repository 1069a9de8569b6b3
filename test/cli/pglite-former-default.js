'use strict';
// `node pglite-former-default.js DATA_DIR`: writes DATA_DIR/pglite as the former embedded default left it (PGlite
// behind pglite-socket, written by the service's own repositories from dist/) at an older migration level, so that
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
const { VersionsRepo } = dist('infra/db/versions-repo');
const { createLogger } = dist('infra/observability/logger');
const { FilesystemArtifactStore } = dist('infra/storage/artifact-store');

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
  for (const file of readdirSync(path.join(root, 'migrations')).sort().slice(0, -2))
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
    const code = "def add(a, b):\n    # public.add: 'quoted' \\ back\n    return a + b\n";
    await new VersionsRepo(pool, new FilesystemArtifactStore(path.join(dataDir, 'functions'))).storeVersion({
      tenantId: 'acme',
      functionName: 'add',
      idempotencyKey: 'wf-1/run-1',
      inputHash: 'h1',
      request: { function_name: 'add', original_code: code, domain: 'base_reliability' },
      domain: 'base_reliability',
      optimizeFor: null,
      safetyLevel: 'high',
      artifact: {
        python: code,
        dana: code,
        params: { retries: 3, tags: ['x', 'y'] },
        optimizations: [],
        provider: 'template',
        enhancer_version: 'template-1',
      },
      metadata: { cache: 'miss' },
    });
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
