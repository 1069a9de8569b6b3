import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Express } from 'express';
import { ROUTES as ROUTE_RULES } from '../../src/api/routes';
import { getJson, postJson, requestJson, startStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('apikeys');
});
afterAll(() => stack.close());

/** Every (method, path) the Express app serves, read from its router stack. */
function servedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (layers: any[]) => {
    for (const layer of layers) {
      if (layer.route) {
        const paths: string[] = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        // An escaped colon (`enhance\\:batch`) is literal in Express 5 paths; the table writes it plain.
        for (const method of Object.keys(layer.route.methods))
          for (const p of paths) out.push(`${method.toUpperCase()} ${p.replace(/\\:/g, ':')}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as any).router.stack);
  return out.sort();
}

describe('the route declarations (src/api/routes/)', () => {
  test('name every route the app serves, and only those', () => {
    const table = ROUTE_RULES.map((r) => `${r.method} ${r.path}`).sort();
    expect(servedRoutes(stack.api.app)).toEqual(table);
  });

  test('docs/api.md\'s "Who may call what" table says the same', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'docs', 'api.md'), 'utf8');
    const section = readme
      .split('### Who may call what')[1]!
      .split('\n\n')
      .find((block) => block.startsWith('| route'))!;
    const rows = section
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').map((cell) => cell.trim()));
    const fromReadme = rows.map(([, route, credentials, role]) => ({
      route: route!.replace(/`/g, ''),
      credentials,
      role,
    }));
    const credentialsOf = { public: 'none', api_key: 'API key', partner_jwt: 'partner JWT' } as const;
    expect(fromReadme).toEqual(
      ROUTE_RULES.map((r) => ({
        route: `${r.method} ${r.path}`,
        credentials: credentialsOf[r.auth],
        role: r.role ?? (r.auth === 'partner_jwt' ? "(partner tenant's agent)" : ''),
      })),
    );
  });

  test("every route but health, metrics, the API docs and the dashboard's files needs credentials, and every api-key route names a role", () => {
    const publicRoute = (p: string) =>
      p.startsWith('/health/') ||
      p === '/metrics' ||
      p === '/openapi.json' ||
      p === '/docs' ||
      p.startsWith('/docs/') ||
      p === '/dashboard' ||
      p.startsWith('/dashboard/');
    for (const rule of ROUTE_RULES) {
      if (publicRoute(rule.path)) expect(rule.auth).toBe('public');
      else expect(rule.auth).not.toBe('public');
      if (rule.auth === 'api_key') expect(rule.role).toBeDefined();
    }
  });
});

describe('API keys', () => {
  const runUrl = () => `${stack.url}/api/v1/runs/enhance-nothing-000000000000`;

  test('no key, a malformed key, a wrong secret or a non-Bearer scheme: 401 with WWW-Authenticate', async () => {
    const wrongSecret = stack.apiKey.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    const attempts: Array<Record<string, string>> = [
      { authorization: '' },
      { authorization: 'Bearer nope' },
      { authorization: `Bearer ${wrongSecret}` },
      { authorization: `Basic ${stack.apiKey}` },
      { 'x-api-key': 'poet_000000000000.x' },
    ];
    for (const headers of attempts) {
      const res = await getJson(runUrl(), headers);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  test('Bearer and X-API-Key both authenticate', async () => {
    expect((await getJson(runUrl(), { authorization: `Bearer ${stack.apiKey}` })).status).toBe(404);
    expect((await getJson(runUrl(), { 'x-api-key': stack.apiKey })).status).toBe(404);
  });

  test("a role below the route's: 403; viewer reads, agent enhances, only admin manages keys", async () => {
    const viewer = await stack.createKey('default', 'viewer');
    const agent = await stack.createKey('default', 'agent');
    const operator = await stack.createKey('default', 'operator');
    const enhanceUrl = `${stack.url}/api/v1/functions/enhance`;
    const asViewer = await postJson(enhanceUrl, { function_name: 'f' }, { 'x-api-key': viewer });
    expect(asViewer.status).toBe(403);
    expect(asViewer.body.error).toEqual({
      code: 'forbidden',
      message: 'this action needs the agent role',
      category: 'input',
      severity: 'warning',
    });
    expect((await getJson(runUrl(), { 'x-api-key': viewer })).status).toBe(404);
    // Past authorization: the schema answers.
    expect((await postJson(enhanceUrl, { function_name: 'f' }, { 'x-api-key': agent })).status).toBe(400);
    expect((await getJson(`${stack.url}/api/v1/admin/api-keys`, { 'x-api-key': operator })).status).toBe(403);
    expect((await getJson(`${stack.url}/api/v1/admin/audit`, { 'x-api-key': agent })).status).toBe(403);
  });

  test('an unknown route needs an admin key (fail closed), then answers 404', async () => {
    const viewer = await stack.createKey('default', 'viewer');
    expect((await getJson(`${stack.url}/api/v1/nothing-here`, { authorization: '' })).status).toBe(401);
    expect((await getJson(`${stack.url}/api/v1/nothing-here`, { 'x-api-key': viewer })).status).toBe(403);
    expect((await getJson(`${stack.url}/api/v1/nothing-here`)).status).toBe(404);
  });

  test('admins create a key shown once and stored only as a hash, list keys without secrets, and revoke them', async () => {
    const created = await postJson(`${stack.url}/api/v1/admin/api-keys`, { name: 'ci agent', role: 'agent' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci agent', role: 'agent', tenant_id: 'default', revoked_at: null });
    const { key, id } = created.body as { key: string; id: string };
    expect(key.startsWith(`${id}.`)).toBe(true);
    expect(created.headers.get('location')).toBe(`/api/v1/admin/api-keys/${id}`);

    const row = await stack.pool.query('SELECT * FROM api_keys WHERE id = $1', [id]);
    expect(JSON.stringify(row.rows[0])).not.toContain(key.split('.')[1]);
    expect(row.rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);

    const listed = await getJson(`${stack.url}/api/v1/admin/api-keys`);
    expect(listed.status).toBe(200);
    const mine = listed.body.api_keys.find((k: { id: string }) => k.id === id);
    expect(mine).toMatchObject({ id, role: 'agent', name: 'ci agent' });
    expect(JSON.stringify(listed.body)).not.toMatch(/key_hash|\.[A-Za-z0-9_-]{43}/);

    expect((await getJson(runUrl(), { 'x-api-key': key })).status).toBe(404);
    const revoked = await requestJson('DELETE', `${stack.url}/api/v1/admin/api-keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    expect((await getJson(runUrl(), { 'x-api-key': key })).status).toBe(401);
    expect((await requestJson('DELETE', `${stack.url}/api/v1/admin/api-keys/poet_000000000000`)).status).toBe(404);
    expect((await requestJson('DELETE', `${stack.url}/api/v1/admin/api-keys/..%2F..%2Fetc`)).status).toBe(400);
  });

  test('key creation rejects unknown roles and unknown fields', async () => {
    for (const body of [
      { name: 'x', role: 'root' },
      { name: 'x', role: 'agent', tenant_id: 'other' },
      { role: 'agent' },
    ]) {
      const res = await postJson(`${stack.url}/api/v1/admin/api-keys`, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });

  test('`poet keys create` makes the first admin key directly in PostgreSQL and prints only the key on stdout', async () => {
    const cli = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [cli, 'keys', 'create', '--tenant', 'acme', '--role', 'admin', '--name', 'bootstrap'],
      {
        env: { ...process.env, DATABASE_URL: stack.config.DATABASE_URL, DATABASE_SCHEMA: stack.config.DATABASE_SCHEMA },
      },
    );
    const key = stdout.trim();
    expect(key).toMatch(/^poet_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/);
    expect(stderr).toContain('tenant acme');
    const listed = await getJson(`${stack.url}/api/v1/admin/api-keys`, { authorization: `Bearer ${key}` });
    expect(listed.status).toBe(200);
    expect(listed.body.api_keys).toEqual([
      expect.objectContaining({ tenant_id: 'acme', role: 'admin', name: 'bootstrap', created_by: 'cli' }),
    ]);

    await expect(
      promisify(execFile)(process.execPath, [cli, 'keys', 'create', '--role', 'root'], { env: process.env }),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('--role must be one of'),
    });
  });
});
