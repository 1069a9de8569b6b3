import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

// Tenant isolation: another tenant's resource answers exactly like one that does not exist (404), never its data.
let stack: TestStack;
let alpha: string;
let beta: string;
let alphaAdmin: string;
let betaAdmin: string;

beforeAll(async () => {
  stack = await startStack('tenants');
  alpha = await stack.createKey('alpha', 'agent');
  beta = await stack.createKey('beta', 'agent');
  alphaAdmin = await stack.createKey('alpha', 'admin');
  betaAdmin = await stack.createKey('beta', 'admin');
});
afterAll(() => stack.close());

const code = (name: string, factor: number) => `def ${name}(x: int) -> int:\n    return ${factor} * x\n`;

describe('tenant isolation', () => {
  test("runs: another tenant's run is a 404 with the same body as a run that never existed", async () => {
    const name = `iso_${uniqueSuffix()}`;
    const made = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      { function_name: name, original_code: code(name, 2) },
      { 'x-api-key': alpha },
    );
    expect(made.status).toBe(200);
    const id = made.body.run.workflow_id as string;

    expect((await getJson(`${stack.url}/api/v1/runs/${id}`, { 'x-api-key': alpha })).body.status).toBe('completed');
    const foreign = await getJson(`${stack.url}/api/v1/runs/${id}`, { 'x-api-key': beta });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({
      error: { code: 'run_not_found', message: `no run with id ${id}`, category: 'input', severity: 'info' },
    });
    expect(JSON.stringify(foreign.body)).not.toContain('python');
    // The single-tenant admin of the stack is the `default` tenant: alpha's run is not its either.
    expect((await getJson(`${stack.url}/api/v1/runs/${id}`)).status).toBe(404);
  });

  test("batches: the batch, its items, their events and cancel are the tenant's own", async () => {
    const name = `isob_${uniqueSuffix()}`;
    const made = await postJson(
      `${stack.url}/api/v1/functions/enhance:batch`,
      { functions: [{ function_name: name, original_code: code(name, 3) }] },
      { 'x-api-key': alpha },
    );
    expect(made.status).toBe(202);
    const id = made.body.run.workflow_id as string;
    const done = await fetch(`${stack.url}${made.body.links.events}`, {
      headers: { 'x-api-key': alpha },
      signal: AbortSignal.timeout(60_000),
    });
    expect(await done.text()).toContain('event: end');
    const items = (await getJson(`${stack.url}/api/v1/runs/${id}`, { 'x-api-key': alpha })).body.result.items;
    for (const runId of [id, items[0].workflow_id]) {
      expect((await getJson(`${stack.url}/api/v1/runs/${runId}`, { 'x-api-key': beta })).status).toBe(404);
      expect((await getJson(`${stack.url}/api/v1/runs/${runId}/events`, { 'x-api-key': beta })).status).toBe(404);
      expect(
        (await requestJson('DELETE', `${stack.url}/api/v1/runs/${runId}`, undefined, { 'x-api-key': beta })).status,
      ).toBe(404);
      expect((await getJson(`${stack.url}/api/v1/runs/${runId}`, { 'x-api-key': alpha })).body.status).toBe(
        'completed',
      );
    }
  });

  test('enhance: the same function name in two tenants makes two version histories, each starting at 1', async () => {
    const name = `shared_${uniqueSuffix()}`;
    const a = await postJson(
      `${stack.url}/v1/external/enhance`,
      { function_name: name, original_code: code(name, 2) },
      { 'x-api-key': alpha },
    );
    const b = await postJson(
      `${stack.url}/v1/external/enhance`,
      { function_name: name, original_code: code(name, 3) },
      { 'x-api-key': beta },
    );
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body.version, b.body.version]).toEqual([1, 1]);
    expect(a.body.run.workflow_id).not.toBe(b.body.run.workflow_id);
    const rows = await stack.pool.query(
      'SELECT tenant_id, version, artifact_path FROM versions WHERE function_name = $1 ORDER BY tenant_id',
      [name],
    );
    expect(rows.rows.map((r) => [r.tenant_id, r.version])).toEqual([
      ['alpha', 1],
      ['beta', 1],
    ]);
    // Each tenant's artifacts hold its own code: neither write replaced the other's files.
    expect(readFileSync(path.join(rows.rows[0].artifact_path, 'code.py'), 'utf8')).toBe(a.body.enhanced_code.python);
    expect(readFileSync(path.join(rows.rows[1].artifact_path, 'code.py'), 'utf8')).toBe(b.body.enhanced_code.python);
    expect(a.body.enhanced_code.python).not.toBe(b.body.enhanced_code.python);
  });

  test("api keys: an admin lists only their tenant's keys and cannot revoke another tenant's (404)", async () => {
    const listed = await getJson(`${stack.url}/api/v1/admin/api-keys`, { 'x-api-key': betaAdmin });
    expect(listed.status).toBe(200);
    expect(new Set(listed.body.api_keys.map((k: { tenant_id: string }) => k.tenant_id))).toEqual(new Set(['beta']));
    const alphaKeyId = alpha.split('.')[0]!;
    const revoke = await requestJson('DELETE', `${stack.url}/api/v1/admin/api-keys/${alphaKeyId}`, undefined, {
      'x-api-key': betaAdmin,
    });
    expect(revoke.status).toBe(404);
    expect(revoke.body.error.code).toBe('api_key_not_found');
    // Still alive.
    expect((await getJson(`${stack.url}/api/v1/runs/enhance-x-000000000000`, { 'x-api-key': alpha })).status).toBe(404);
  });

  test("created keys belong to the creating admin's tenant", async () => {
    const created = await postJson(
      `${stack.url}/api/v1/admin/api-keys`,
      { name: 'beta viewer', role: 'viewer' },
      { 'x-api-key': betaAdmin },
    );
    expect(created.body.tenant_id).toBe('beta');
  });

  test("audit: an admin reads only their tenant's entries", async () => {
    await postJson(
      `${stack.url}/api/v1/admin/api-keys`,
      { name: 'alpha marker', role: 'viewer' },
      { 'x-api-key': alphaAdmin },
    );
    const betaView = await getJson(`${stack.url}/api/v1/admin/audit?limit=500`, { 'x-api-key': betaAdmin });
    expect(betaView.status).toBe(200);
    expect(betaView.body.entries.length).toBeGreaterThan(0);
    expect(betaView.body.entries.every((e: { tenant_id: string | null }) => e.tenant_id === 'beta')).toBe(true);
  });
});

describe('tenant isolation of custom domains', () => {
  const lab = (name: string) => ({
    name,
    description: 'alpha only',
    perceive: { ranges: [{ param: 'x', min: 0, max: 10 }] },
    operate: { retries: 1, timeout_s: 5 },
  });

  test("another tenant can neither read, replace, delete nor enhance with a tenant's custom domain (404 / unknown)", async () => {
    const alphaOperator = await stack.createKey('alpha', 'operator');
    const betaOperator = await stack.createKey('beta', 'operator');
    const name = `lab_${uniqueSuffix()}`;
    expect((await postJson(`${stack.url}/api/v1/domains`, lab(name), { 'x-api-key': alphaOperator })).status).toBe(201);
    expect((await getJson(`${stack.url}/api/v1/domains/${name}`, { 'x-api-key': alpha })).status).toBe(200);

    const read = await getJson(`${stack.url}/api/v1/domains/${name}`, { 'x-api-key': beta });
    expect(read.status).toBe(404);
    expect(JSON.stringify(read.body)).not.toContain('alpha only');
    const listed = await getJson(`${stack.url}/api/v1/domains`, { 'x-api-key': beta });
    expect(listed.body.domains.map((d: { name: string }) => d.name)).not.toContain(name);
    expect(
      (await requestJson('PUT', `${stack.url}/api/v1/domains/${name}`, lab(name), { 'x-api-key': betaOperator }))
        .status,
    ).toBe(404);
    expect(
      (await requestJson('DELETE', `${stack.url}/api/v1/domains/${name}`, undefined, { 'x-api-key': betaOperator }))
        .status,
    ).toBe(404);
    const fn = `uses_lab_${uniqueSuffix()}`;
    const enhance = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      { function_name: fn, original_code: code(fn, 2), domain: name },
      { 'x-api-key': beta },
    );
    expect(enhance.status).toBe(400);
    expect(enhance.body.error.code).toBe('unknown_domain');

    // Still alpha's, unchanged.
    expect((await getJson(`${stack.url}/api/v1/domains/${name}`, { 'x-api-key': alpha })).body.description).toBe(
      'alpha only',
    );
  });

  test('agents read domains but only operators change them', async () => {
    const name = `lab_${uniqueSuffix()}`;
    const res = await postJson(`${stack.url}/api/v1/domains`, lab(name), { 'x-api-key': alpha });
    expect(res.status).toBe(403);
    expect((await getJson(`${stack.url}/api/v1/domains`, { 'x-api-key': alpha })).status).toBe(200);
  });
});
