import { waitUntil } from '../../src/cli/wait';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('audit');
});
afterAll(() => stack.close());

const audit = (query = '', headers: Record<string, string> = {}) =>
  getJson(`${stack.url}/api/v1/admin/audit${query}`, headers);

/** Audit rows are written once the answer is sent: wait for the one a call produced. */
async function entryFor(requestId: string) {
  let entry: any;
  await waitUntil(
    async () => {
      entry = (await audit(`?limit=500`)).body.entries.find((e: { request_id: string }) => e.request_id === requestId);
      return entry !== undefined;
    },
    5_000,
    `audit entry of ${requestId}`,
  );
  return entry;
}

describe('audit log', () => {
  test('a mutating call: who, tenant, action, target, request id, outcome, status and time', async () => {
    const requestId = `req-${uniqueSuffix()}`;
    const name = `aud_${uniqueSuffix()}`;
    const res = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      { function_name: name, original_code: 'def other():\n    pass\n' },
      { 'x-request-id': requestId },
    );
    expect(res.status).toBe(422);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const entry = await entryFor(requestId);
    expect(entry).toMatchObject({
      actor: stack.apiKey.split('.')[0],
      tenant_id: 'default',
      action: 'POST /api/v1/functions/enhance',
      target: name,
      outcome: 'rejected',
      status: 422,
    });
    expect(Date.parse(entry.at)).not.toBeNaN();
  });

  test('authentication failures, with the key id (never the secret) and the owner tenant when the id is known', async () => {
    const viewer = await stack.createKey('default', 'viewer');
    const [id] = viewer.split('.');
    const wrong = `${id}.${'A'.repeat(43)}`;
    const requestId = `req-${uniqueSuffix()}`;
    expect(
      (
        await getJson(`${stack.url}/api/v1/runs/enhance-x-000000000000`, {
          'x-api-key': wrong,
          'x-request-id': requestId,
        })
      ).status,
    ).toBe(401);
    expect(await entryFor(requestId)).toMatchObject({
      actor: id,
      tenant_id: 'default',
      outcome: 'denied',
      status: 401,
      details: { reason: 'wrong_secret' },
    });

    // An unknown key belongs to no tenant; the operator tenant (`default`) reads such entries.
    const anonymous = `req-${uniqueSuffix()}`;
    await getJson(`${stack.url}/api/v1/runs/x`, { authorization: '', 'x-request-id': anonymous });
    expect(await entryFor(anonymous)).toMatchObject({
      actor: null,
      tenant_id: null,
      details: { reason: 'missing_credentials' },
    });

    const forbidden = `req-${uniqueSuffix()}`;
    await postJson(
      `${stack.url}/api/v1/admin/api-keys`,
      { name: 'x', role: 'admin' },
      { 'x-api-key': viewer, 'x-request-id': forbidden },
    );
    expect(await entryFor(forbidden)).toMatchObject({
      actor: id,
      outcome: 'denied',
      status: 403,
      action: 'POST /api/v1/admin/api-keys',
    });

    const rows = await stack.pool.query('SELECT * FROM audit_log');
    expect(JSON.stringify(rows.rows)).not.toContain(viewer.split('.')[1]);
  });

  test('filters: actor, action, outcome, target, time range, and keyset pages', async () => {
    const created = await postJson(`${stack.url}/api/v1/admin/api-keys`, { name: 'filter me', role: 'viewer' });
    const keyId = created.body.id as string;
    await requestJson('DELETE', `${stack.url}/api/v1/admin/api-keys/${keyId}`);
    await waitUntil(
      async () => (await audit(`?target=${keyId}`)).body.entries.length === 2,
      5_000,
      'two entries on the key',
    );

    const byTarget = (await audit(`?target=${keyId}`)).body.entries;
    expect(byTarget.map((e: { action: string }) => e.action)).toEqual([
      'DELETE /api/v1/admin/api-keys/:id',
      'POST /api/v1/admin/api-keys',
    ]);
    const revokes = (await audit(`?action=${encodeURIComponent('DELETE /api/v1/admin/api-keys/:id')}&outcome=success`))
      .body.entries;
    expect(
      revokes.every(
        (e: { action: string; outcome: string }) => e.action.startsWith('DELETE') && e.outcome === 'success',
      ),
    ).toBe(true);
    expect(
      (await audit(`?actor=${stack.apiKey.split('.')[0]}`)).body.entries.every(
        (e: { actor: string }) => e.actor === stack.apiKey.split('.')[0],
      ),
    ).toBe(true);
    expect(
      (await audit(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.entries,
    ).toEqual([]);
    expect(
      (await audit(`?until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.entries.length,
    ).toBeGreaterThan(0);

    const first = (await audit('?limit=1')).body;
    expect(first.entries).toHaveLength(1);
    const second = (await audit(`?limit=1&before=${first.next_before}`)).body;
    expect(Number(second.entries[0].id)).toBeLessThan(Number(first.entries[0].id));

    for (const bad of [
      '?limit=0',
      '?limit=abc',
      '?outcome=maybe',
      '?since=yesterday',
      '?before=-1',
      '?limit=1&limit=2',
      '?drop=table',
    ]) {
      const res = await audit(bad);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });

  test('reads are not audited; only admins read the log', async () => {
    const agent = await stack.createKey('default', 'agent');
    expect((await audit('', { 'x-api-key': agent })).status).toBe(403);
    const requestId = `req-${uniqueSuffix()}`;
    await getJson(`${stack.url}/api/v1/runs/enhance-x-000000000000`, { 'x-request-id': requestId });
    // A later write that is audited: once its row is there, a row of the GET would be too.
    const later = `req-${uniqueSuffix()}`;
    await postJson(`${stack.url}/api/v1/admin/api-keys`, { name: 'marker', role: 'viewer' }, { 'x-request-id': later });
    await entryFor(later);
    expect((await stack.pool.query('SELECT 1 FROM audit_log WHERE request_id = $1', [requestId])).rowCount).toBe(0);
  });

  test('append-only: UPDATE, DELETE and TRUNCATE are refused by the database', async () => {
    for (const sql of ["UPDATE audit_log SET outcome = 'success'", 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
      await expect(stack.pool.query(sql)).rejects.toThrow(/append-only/);
    }
    expect((await stack.pool.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBeGreaterThan(0);
  });
});
