import { openApiPath } from '../../src/api/openapi';
import { expressRoutes } from '../helpers/express-routes';
import { answerSchemas, type AnswerSchema } from '../helpers/openapi-answers';
import { startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/**
 * The document against the running API: every route Express serves is documented, every documented
 * operation is called here, and every real answer (status, content type, JSON body, X-Request-Id) matches it.
 * A new route needs its declaration in src/api/routes/ and at least one call below.
 */

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The OpenAPI path template the call exercises. */
  route: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  expect: number;
}

let stack: TestStack;
let doc: any;
let schemaOf: AnswerSchema;

beforeAll(async () => {
  stack = await startStack('openapi');
  const res = await fetch(`${stack.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = await res.json();
  schemaOf = answerSchemas(doc);
});
afterAll(() => stack.close());

async function check(call: Call): Promise<{ status: number; body: any }> {
  // The stack's admin key unless the call brings its own credentials (an empty authorization sends none).
  const headers = Object.fromEntries(
    Object.entries({
      authorization: `Bearer ${stack.apiKey}`,
      ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...call.headers,
    }).filter(([, v]) => v !== ''),
  );
  const res = await fetch(`${stack.url}${call.url}`, {
    method: call.method,
    headers,
    ...(call.body !== undefined ? { body: typeof call.body === 'string' ? call.body : JSON.stringify(call.body) } : {}),
  });
  const label = `${call.method} ${call.url} → ${res.status}`;
  expect({ label, status: res.status }).toEqual({ label, status: call.expect });

  const operation = doc.paths[call.route]?.[call.method.toLowerCase()];
  expect({ label, documented: operation !== undefined }).toEqual({ label, documented: true });
  const response = operation.responses[String(res.status)];
  expect({ label, statusDocumented: response !== undefined }).toEqual({ label, statusDocumented: true });
  // Every answer of the app carries the request id; the HTTP server's own (431) has none, and says so.
  expect({ label, requestId: res.headers.get('x-request-id') !== null }).toEqual({
    label,
    requestId: response.headers?.['X-Request-Id'] !== undefined,
  });

  const text = await res.text();
  if (!response.content) {
    expect({ label, body: text }).toEqual({ label, body: '' });
    return { status: res.status, body: text };
  }
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  expect({ label, mediaType, documented: Object.keys(response.content ?? {}) }).toEqual({
    label,
    mediaType,
    documented: expect.arrayContaining([mediaType]),
  });
  if (mediaType !== 'application/json') return { status: res.status, body: text };
  const body = JSON.parse(text);
  const validate = schemaOf(call.route, call.method, res.status)!;
  expect(validate).toBeDefined();
  const valid = validate(body);
  expect({ label, errors: valid ? null : validate.errors }).toEqual({ label, errors: null });
  return { status: res.status, body };
}

const exercised = new Set<string>();
async function run(calls: Call[]): Promise<{ status: number; body: any }[]> {
  const answers = [];
  for (const call of calls) {
    exercised.add(`${call.method} ${call.route}`);
    answers.push(await check(call));
  }
  return answers;
}

test('every route Express serves is in the document, and every documented operation is served', () => {
  const served = expressRoutes(stack.api.app).map((r) => {
    const [method, path] = r.split(' ');
    return `${method} ${openApiPath(path!)}`;
  });
  const documented = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
});

test('the document is OpenAPI 3.1 with the shared error body and request id on every operation', () => {
  expect(doc.openapi).toBe('3.1.0');
  // The validators are real: a body that breaks the schema is rejected.
  const runStatus = schemaOf('/api/v1/runs/{id}', 'GET', 200)!;
  expect(runStatus({ status: 'running', run: { workflow_id: 'w', run_id: 'r' }, type: 'enhanceFunction' })).toBe(true);
  expect(runStatus({ status: 'bogus', run: { workflow_id: 'w' } })).toBe(false);
  for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      expect({ path, method, has500: op.responses['500'] !== undefined }).toEqual({ path, method, has500: true });
      expect(
        op.parameters.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'x-request-id'),
      ).toBe(true);
    }
  }
});

test('every operation carries what tools need: a unique operationId, tags, security of a declared scheme, its errors', () => {
  expect(doc.servers).toEqual([expect.objectContaining({ url: expect.any(String) })]);
  const schemes = Object.keys(doc.components.securitySchemes);
  const ids = new Set<string>();
  for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const label = `${method.toUpperCase()} ${path}`;
      expect({ label, id: typeof op.operationId, tags: op.tags?.length > 0 }).toEqual({
        label,
        id: 'string',
        tags: true,
      });
      ids.add(op.operationId);
      for (const requirement of op.security)
        for (const scheme of Object.keys(requirement)) expect(schemes).toContain(scheme);
      if (op.security.length > 0)
        expect({ label, has401: op.responses['401'] !== undefined }).toEqual({ label, has401: true });
      for (const answer of Object.values<any>(op.responses)) {
        // Header schemas are JSON Schema, not serialized zod internals.
        for (const header of Object.values<any>(answer.headers ?? {})) expect(header.schema.def).toBeUndefined();
      }
    }
  }
  expect(ids.size).toBe(
    Object.values<Record<string, unknown>>(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0),
  );
});

test('real answers of every route match the document', async () => {
  const name = `oa_${uniqueSuffix()}`;
  const good = { function_name: name, original_code: `def ${name}(x: int) -> int:\n    return x * 2\n` };
  const enhance = '/api/v1/functions/enhance';
  const runs = '/api/v1/runs/{id}';
  const stats = '/api/v1/stats';

  await run([
    { method: 'GET', route: '/health/live', url: '/health/live', expect: 200 },
    {
      method: 'GET',
      route: '/health/live',
      url: '/health/live',
      headers: { authorization: '', 'x-padding': 'a'.repeat(20_000) },
      expect: 431,
    },
    { method: 'GET', route: '/health/ready', url: '/health/ready', expect: 200 },
    { method: 'GET', route: '/metrics', url: '/metrics', expect: 200 },
    { method: 'GET', route: '/openapi.json', url: '/openapi.json', expect: 200 },
    { method: 'GET', route: '/docs/init.js', url: '/docs/init.js', expect: 200 },
    { method: 'POST', route: enhance, url: enhance, body: { ...good, extra: 1 }, expect: 400 },
    { method: 'POST', route: enhance, url: enhance, body: '{"function_name": ', expect: 400 },
    { method: 'POST', route: enhance, url: enhance, body: { ...good, domain: 'astrology' }, expect: 400 },
    { method: 'POST', route: enhance, url: enhance, body: { ...good, original_code: 'def (:' }, expect: 422 },
    { method: 'POST', route: enhance, url: enhance, body: { ...good, original_code: 'x'.repeat(70_000) }, expect: 413 },
    { method: 'GET', route: runs, url: '/api/v1/runs/enhance-none-000000000000', expect: 404 },
    { method: 'GET', route: runs, url: `/api/v1/runs/${encodeURIComponent('bad id!')}`, expect: 400 },
    { method: 'GET', route: stats, url: `${stats}?window=24h`, expect: 200 },
    { method: 'GET', route: stats, url: `${stats}?window=forever`, expect: 400 },
    { method: 'GET', route: stats, url: stats, headers: { authorization: '' }, expect: 401 },
    { method: 'GET', route: '/api/v1/costs', url: '/api/v1/costs?days=7', expect: 200 },
    { method: 'GET', route: '/api/v1/costs', url: '/api/v1/costs?days=-1', expect: 400 },
    {
      method: 'POST',
      route: '/api/v1/codec/decode',
      url: '/api/v1/codec/decode',
      body: { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'MQ==' }] },
      expect: 200,
    },
    {
      method: 'POST',
      route: '/api/v1/codec/decode',
      url: '/api/v1/codec/decode',
      body: { payloads: 'none' },
      expect: 400,
    },
    {
      method: 'POST',
      route: '/v1/external/enhance',
      url: '/v1/external/enhance',
      body: { ...good, extra: 1 },
      expect: 400,
    },
    { method: 'POST', route: '/v1/aitomatic/enhance', url: '/v1/aitomatic/enhance', body: {}, expect: 401 },
    {
      method: 'GET',
      route: '/v1/aitomatic/runs/{id}',
      url: '/v1/aitomatic/runs/enhance-none-000000000000',
      expect: 401,
    },
    { method: 'GET', route: '/api/v1/admin/api-keys', url: '/api/v1/admin/api-keys', expect: 200 },
    { method: 'GET', route: '/api/v1/admin/audit', url: '/api/v1/admin/audit?limit=5', expect: 200 },
    { method: 'GET', route: '/api/v1/admin/audit', url: '/api/v1/admin/audit?limit=0', expect: 400 },
    { method: 'DELETE', route: '/api/v1/admin/api-keys/{id}', url: '/api/v1/admin/api-keys/not-an-id', expect: 400 },
    {
      method: 'DELETE',
      route: '/api/v1/admin/api-keys/{id}',
      url: '/api/v1/admin/api-keys/poet_000000000000',
      expect: 404,
    },
  ]);
  const [created] = await run([
    {
      method: 'POST',
      route: '/api/v1/admin/api-keys',
      url: '/api/v1/admin/api-keys',
      body: { name: 'openapi viewer', role: 'viewer' },
      expect: 201,
    },
  ]);
  await run([
    { method: 'POST', route: '/api/v1/admin/api-keys', url: '/api/v1/admin/api-keys', body: { name: '' }, expect: 400 },
    {
      method: 'GET',
      route: '/api/v1/domains',
      url: '/api/v1/domains',
      headers: { authorization: `Bearer ${created!.body.key}` },
      expect: 200,
    },
    {
      method: 'POST',
      route: '/api/v1/domains',
      url: '/api/v1/domains',
      body: { name: 'x' },
      headers: { authorization: `Bearer ${created!.body.key}` },
      expect: 403,
    },
    {
      method: 'DELETE',
      route: '/api/v1/admin/api-keys/{id}',
      url: `/api/v1/admin/api-keys/${created!.body.id}`,
      expect: 200,
    },
  ]);

  const [done] = await run([{ method: 'POST', route: enhance, url: enhance, body: good, expect: 200 }]);
  const [accepted] = await run([
    {
      method: 'POST',
      route: enhance,
      url: enhance,
      body: { ...good, optimize_for: 'cost' },
      headers: { prefer: 'respond-async' },
      expect: 202,
    },
  ]);
  await run([
    { method: 'GET', route: runs, url: `/api/v1/runs/${done!.body.run.workflow_id}`, expect: 200 },
    { method: 'GET', route: runs, url: `/api/v1/runs/${accepted!.body.run.workflow_id}`, expect: 200 },
    { method: 'GET', route: '/api/v1/runs', url: '/api/v1/runs?limit=5', expect: 200 },
    { method: 'GET', route: '/api/v1/runs', url: '/api/v1/runs?limit=x', expect: 400 },
  ]);

  const batch = '/api/v1/functions/enhance:batch';
  const events = '/api/v1/runs/{id}/events';
  const batched = await run([
    { method: 'POST', route: batch, url: batch, body: { functions: [] }, expect: 400 },
    {
      method: 'POST',
      route: batch,
      url: batch,
      body: { functions: [{ ...good, original_code: 'def (:' }] },
      expect: 422,
    },
    {
      method: 'POST',
      route: batch,
      url: batch,
      body: { functions: [{ ...good, optimize_for: 'accuracy' }] },
      expect: 202,
    },
  ]);
  const batchId = batched[2]!.body.run.workflow_id;
  await run([
    // The stream ends with the batch; then its status carries the per-item result.
    { method: 'GET', route: events, url: `/api/v1/runs/${batchId}/events`, expect: 200 },
    { method: 'GET', route: events, url: '/api/v1/runs/enhance-none-000000000000/events', expect: 404 },
    { method: 'GET', route: runs, url: `/api/v1/runs/${batchId}`, expect: 200 },
    { method: 'DELETE', route: runs, url: `/api/v1/runs/${batchId}`, expect: 200 },
    { method: 'DELETE', route: runs, url: '/api/v1/runs/enhance-none-000000000000', expect: 404 },
    { method: 'DELETE', route: runs, url: `/api/v1/runs/${encodeURIComponent('bad id!')}`, expect: 400 },
  ]);

  const domains = '/api/v1/domains';
  const domain = '/api/v1/domains/{name}';
  const custom = `custom_${uniqueSuffix()}`;
  const [builtin] = await run([
    { method: 'GET', route: domain, url: `${domains}/base_reliability`, expect: 200 },
    { method: 'GET', route: domains, url: domains, expect: 200 },
    { method: 'GET', route: domain, url: `${domains}/Not-A-Name`, expect: 400 },
    { method: 'GET', route: domain, url: `${domains}/nothing_here`, expect: 404 },
  ]);
  const { builtin: _builtin, ...settings } = builtin!.body;
  await run([
    { method: 'POST', route: domains, url: domains, body: { ...settings, name: custom }, expect: 201 },
    { method: 'POST', route: domains, url: domains, body: { ...settings, name: custom }, expect: 409 },
    { method: 'POST', route: domains, url: domains, body: { name: custom }, expect: 400 },
    { method: 'PUT', route: domain, url: `${domains}/${custom}`, body: { ...settings, name: custom }, expect: 200 },
    {
      method: 'PUT',
      route: domain,
      url: `${domains}/${custom}_x`,
      body: { ...settings, name: `${custom}_x` },
      expect: 404,
    },
    { method: 'DELETE', route: domain, url: `${domains}/${custom}`, expect: 204 },
    { method: 'DELETE', route: domain, url: `${domains}/base_reliability`, expect: 409 },
  ]);

  // Versions, feedback, events, cache, on the function enhanced above.
  const fn = '/api/v1/functions/{name}';
  const [feedback] = await run([
    { method: 'GET', route: '/api/v1/functions', url: '/api/v1/functions?limit=5', expect: 200 },
    { method: 'GET', route: '/api/v1/functions', url: '/api/v1/functions?limit=0', expect: 400 },
    { method: 'GET', route: fn, url: `/api/v1/functions/${name}`, expect: 200 },
    { method: 'GET', route: fn, url: '/api/v1/functions/nobody_here', expect: 404 },
    { method: 'GET', route: `${fn}/versions`, url: `/api/v1/functions/${name}/versions`, expect: 200 },
    { method: 'GET', route: `${fn}/versions/{v}`, url: `/api/v1/functions/${name}/versions/1`, expect: 200 },
    { method: 'GET', route: `${fn}/versions/{v}`, url: `/api/v1/functions/${name}/versions/x`, expect: 400 },
    {
      method: 'GET',
      route: `${fn}/versions/{a}/diff/{b}`,
      url: `/api/v1/functions/${name}/versions/1/diff/2`,
      expect: 200,
    },
    {
      method: 'GET',
      route: `${fn}/versions/{a}/diff/{b}`,
      url: `/api/v1/functions/${name}/versions/1/diff/9`,
      expect: 404,
    },
    {
      method: 'POST',
      route: `${fn}/feedback`,
      url: `/api/v1/functions/${name}/feedback`,
      body: { version: 1, execution_id: 'e1', feedback_type: 'error', comments: 'TimeoutError' },
      expect: 200,
    },
    {
      method: 'POST',
      route: `${fn}/feedback`,
      url: `/api/v1/functions/${name}/feedback`,
      body: { version: 1 },
      expect: 400,
    },
    {
      method: 'POST',
      route: `${fn}/feedback`,
      url: `/api/v1/functions/${name}/feedback`,
      body: { version: 9, execution_id: 'e', feedback_type: 'user' },
      expect: 404,
    },
    {
      method: 'POST',
      route: `${fn}/versions/{v}/activate`,
      url: `/api/v1/functions/${name}/versions/1/activate`,
      expect: 200,
    },
    {
      method: 'POST',
      route: `${fn}/versions/{v}/activate`,
      url: `/api/v1/functions/${name}/versions/99/activate`,
      expect: 404,
    },
    { method: 'GET', route: `${fn}/events`, url: `/api/v1/functions/${name}/events?limit=2`, expect: 200 },
    { method: 'GET', route: `${fn}/events`, url: `/api/v1/functions/${name}/events?page_token=bm9wZQ`, expect: 400 },
    { method: 'GET', route: '/api/v1/cache/stats', url: '/api/v1/cache/stats', expect: 200 },
    { method: 'DELETE', route: '/api/v1/cache', url: `/api/v1/cache?function_name=${name}`, expect: 200 },
    { method: 'DELETE', route: '/api/v1/cache', url: '/api/v1/cache?function_name=1x', expect: 400 },
  ]).then((answers) => answers.slice(9, 10));
  await run([
    { method: 'GET', route: runs, url: `/api/v1/runs/${feedback!.body.run.workflow_id}`, expect: 200 },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/code/{language}`,
      url: `/api/v1/functions/${name}/versions/1/code/python`,
      expect: 200,
    },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/code/{language}`,
      url: `/api/v1/functions/${name}/versions/1/code/dana`,
      expect: 200,
    },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/code/{language}`,
      url: `/api/v1/functions/${name}/versions/1/code/rust`,
      expect: 400,
    },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/code/{language}`,
      url: `/api/v1/functions/${name}/versions/9/code/dana`,
      expect: 404,
    },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/runtime`,
      url: `/api/v1/functions/${name}/versions/1/runtime`,
      expect: 200,
    },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/runtime`,
      url: `/api/v1/functions/${name}/versions/9/runtime`,
      expect: 404,
    },
    {
      method: 'POST',
      route: '/api/v1/outcomes',
      url: '/api/v1/outcomes',
      body: {
        reports: [
          { function_name: name, version: 1, success: true, latency_ms: 3, attempts: 1 },
          { function_name: name, version: 9, success: false, exception_type: 'KeyError', latency_ms: 3, attempts: 1 },
        ],
      },
      expect: 200,
    },
    { method: 'POST', route: '/api/v1/outcomes', url: '/api/v1/outcomes', body: { reports: [] }, expect: 400 },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/outcomes`,
      url: `/api/v1/functions/${name}/versions/1/outcomes?window=1h`,
      expect: 200,
    },
    {
      method: 'GET',
      route: `${fn}/versions/{v}/outcomes`,
      url: `/api/v1/functions/${name}/versions/9/outcomes`,
      expect: 404,
    },
    { method: 'GET', route: `${fn}/resolve`, url: `/api/v1/functions/${name}/resolve?unit=u-1`, expect: 200 },
    { method: 'GET', route: `${fn}/resolve`, url: `/api/v1/functions/${name}/resolve`, expect: 400 },
    { method: 'GET', route: `${fn}/resolve`, url: '/api/v1/functions/nothing_here/resolve?unit=u', expect: 404 },
    { method: 'POST', route: `${fn}/rollouts`, url: `/api/v1/functions/${name}/rollouts`, body: {}, expect: 400 },
    {
      method: 'POST',
      route: `${fn}/rollouts`,
      url: `/api/v1/functions/${name}/rollouts`,
      body: { candidate_version: 2, steps: [50, 25, 100] },
      expect: 400,
    },
    {
      method: 'POST',
      route: `${fn}/rollouts`,
      url: `/api/v1/functions/${name}/rollouts`,
      body: { candidate_version: 9 },
      expect: 404,
    },
    { method: 'GET', route: `${fn}/rollouts/current`, url: `/api/v1/functions/${name}/rollouts/current`, expect: 404 },
    {
      method: 'POST',
      route: `${fn}/rollouts/current/{action}`,
      url: `/api/v1/functions/${name}/rollouts/current/pause`,
      expect: 404,
    },
    {
      method: 'POST',
      route: `${fn}/rollouts/current/{action}`,
      url: `/api/v1/functions/${name}/rollouts/current/explode`,
      expect: 400,
    },
  ]);

  // Tenant data, on a tenant of its own (the erasure at the end removes it): export, import, delete, erase.
  const life = { authorization: `Bearer ${await stack.createKey('openapi-life', 'operator')}` };
  const ndjson = { ...life, 'content-type': 'application/x-ndjson' };
  await run([
    {
      method: 'POST',
      route: '/api/v1/functions/enhance',
      url: '/api/v1/functions/enhance',
      headers: life,
      body: { function_name: 'life_fn', original_code: 'def life_fn(x: int) -> int:\n    return x\n' },
      expect: 200,
    },
  ]);
  const [exported] = await run([
    { method: 'GET', route: '/api/v1/tenant/export', url: '/api/v1/tenant/export', headers: life, expect: 200 },
  ]);
  await run([
    {
      method: 'POST',
      route: '/api/v1/tenant/import',
      url: '/api/v1/tenant/import',
      headers: ndjson,
      body: exported!.body,
      expect: 200,
    },
    {
      method: 'POST',
      route: '/api/v1/tenant/import',
      url: '/api/v1/tenant/import',
      headers: ndjson,
      body: 'nope',
      expect: 400,
    },
    { method: 'DELETE', route: fn, url: '/api/v1/functions/life_fn', headers: life, expect: 200 },
    { method: 'DELETE', route: fn, url: '/api/v1/functions/life_fn', headers: life, expect: 404 },
    { method: 'GET', route: '/api/v1/admin/audit/verify', url: '/api/v1/admin/audit/verify', expect: 200 },
    {
      method: 'GET',
      route: '/api/v1/admin/audit/verify',
      url: '/api/v1/admin/audit/verify',
      headers: { authorization: `Bearer ${await stack.createKey('openapi-other', 'admin')}` },
      expect: 403,
    },
    { method: 'GET', route: '/api/v1/admin/key-rotation', url: '/api/v1/admin/key-rotation', expect: 200 },
    {
      method: 'GET',
      route: '/api/v1/admin/key-rotation',
      url: '/api/v1/admin/key-rotation',
      headers: { authorization: `Bearer ${await stack.createKey('openapi-other', 'admin')}` },
      expect: 403,
    },
    { method: 'GET', route: '/api/v1/tenant/settings', url: '/api/v1/tenant/settings', headers: life, expect: 200 },
    {
      method: 'PUT',
      route: '/api/v1/tenant/settings',
      url: '/api/v1/tenant/settings',
      headers: life,
      body: { rollout: { steps: [10, 100], min_calls: 50 } },
      expect: 200,
    },
    {
      method: 'PUT',
      route: '/api/v1/tenant/settings',
      url: '/api/v1/tenant/settings',
      headers: life,
      body: { rollout: { steps: [10, 50] } },
      expect: 400,
    },
    { method: 'DELETE', route: '/api/v1/tenant', url: '/api/v1/tenant?confirm=nope', headers: life, expect: 400 },
    {
      method: 'DELETE',
      route: '/api/v1/tenant',
      url: '/api/v1/tenant?confirm=openapi-life',
      headers: life,
      expect: 200,
    },
  ]);

  // Webhooks: the receiver is never called here (a ping to an unknown webhook is a 404).
  const hooks = '/api/v1/webhooks';
  const hook = '/api/v1/webhooks/{id}';
  const [registered] = await run([
    {
      method: 'POST',
      route: hooks,
      url: hooks,
      body: { url: 'https://hooks.example.com/poet', event_types: ['version.created'] },
      expect: 201,
    },
  ]);
  const hookUrl = `${hooks}/${registered!.body.id}`;
  await run([
    {
      method: 'POST',
      route: hooks,
      url: hooks,
      body: { url: 'ftp://hooks.example.com', event_types: ['*'] },
      expect: 400,
    },
    { method: 'GET', route: hooks, url: hooks, expect: 200 },
    { method: 'GET', route: hook, url: hookUrl, expect: 200 },
    { method: 'GET', route: hook, url: `${hooks}/nope`, expect: 400 },
    { method: 'GET', route: hook, url: `${hooks}/wh_0000000000000000`, expect: 404 },
    { method: 'GET', route: `${hook}/deliveries`, url: `${hookUrl}/deliveries?limit=5`, expect: 200 },
    { method: 'GET', route: `${hook}/deliveries`, url: `${hookUrl}/deliveries?limit=0`, expect: 400 },
    { method: 'POST', route: `${hook}/test`, url: `${hooks}/wh_0000000000000000/test`, expect: 404 },
    { method: 'DELETE', route: hook, url: hookUrl, expect: 204 },
    { method: 'DELETE', route: hook, url: hookUrl, expect: 404 },
  ]);

  // Schedules: the one the worker applied at start.
  const schedule = `/api/v1/schedules/${stack.config.reevaluationScheduleId}`;
  await run([
    { method: 'GET', route: '/api/v1/schedules', url: '/api/v1/schedules', expect: 200 },
    {
      method: 'POST',
      route: '/api/v1/schedules/{id}/pause',
      url: `${schedule}/pause`,
      body: { note: 'openapi' },
      expect: 200,
    },
    { method: 'POST', route: '/api/v1/schedules/{id}/pause', url: `${schedule}/pause`, body: { note: 1 }, expect: 400 },
    { method: 'POST', route: '/api/v1/schedules/{id}/unpause', url: `${schedule}/unpause`, expect: 200 },
    { method: 'POST', route: '/api/v1/schedules/{id}/unpause', url: '/api/v1/schedules/none/unpause', expect: 404 },
    { method: 'POST', route: '/api/v1/schedules/{id}/trigger', url: `${schedule}/trigger`, expect: 200 },
    { method: 'POST', route: '/api/v1/schedules/{id}/trigger', url: '/api/v1/schedules/none/trigger', expect: 404 },
  ]);

  const page = await run([{ method: 'GET', route: '/docs', url: '/docs', expect: 200 }]);
  // Offline: the page loads Swagger UI from this server, never from a CDN.
  expect(page[0]!.body).not.toMatch(/https?:\/\//);
  // Public, like the page itself, and allowed by the security headers (same-origin scripts only, no inline script).
  await run([
    {
      method: 'GET',
      route: '/docs/assets/{file}',
      url: '/docs/assets/swagger-ui-bundle.js',
      headers: { authorization: '' },
      expect: 200,
    },
    {
      method: 'GET',
      route: '/docs/assets/{file}',
      url: '/docs/assets/swagger-ui.css',
      headers: { authorization: '' },
      expect: 200,
    },
    {
      method: 'GET',
      route: '/docs/assets/{file}',
      url: '/docs/assets/..%2Fpackage.json',
      headers: { authorization: '' },
      expect: 404,
    },
    { method: 'GET', route: '/dashboard', url: '/dashboard', headers: { authorization: '' }, expect: 200 },
    // The file routes answer conditional and range requests they cannot satisfy as such, not as a missing file.
    {
      method: 'GET',
      route: '/dashboard',
      url: '/dashboard',
      headers: { authorization: '', 'if-match': '"stale"' },
      expect: 412,
    },
    {
      method: 'GET',
      route: '/dashboard/{file}',
      url: '/dashboard/app.js',
      headers: { authorization: '', range: 'bytes=99999999-' },
      expect: 416,
    },
    {
      method: 'GET',
      route: '/dashboard/{file}',
      url: '/dashboard/app.js',
      headers: { authorization: '' },
      expect: 200,
    },
    {
      method: 'GET',
      route: '/dashboard/{file}',
      url: '/dashboard/style.css',
      headers: { authorization: '' },
      expect: 200,
    },
    {
      method: 'GET',
      route: '/dashboard/{file}',
      url: '/dashboard/..%2Fpackage.json',
      headers: { authorization: '' },
      expect: 404,
    },
  ]);
  const unsatisfiable = await fetch(`${stack.url}/dashboard/app.js`, { headers: { range: 'bytes=99999999-' } });
  expect(unsatisfiable.headers.get('content-range')).toMatch(/^bytes \*\/\d+$/);
  const docs = await fetch(`${stack.url}/docs`);
  expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(await docs.text()).not.toMatch(/<script>(?!<\/script>)/);

  const documented = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect(documented.filter((op) => !exercised.has(op))).toEqual([]);
});
