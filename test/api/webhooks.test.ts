import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkWebhookUrl, isForbiddenAddress, sendWebhook } from '../../src/infra/events/webhook-http';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, until, type TestStack } from '../helpers/stack';
import { FunctionNameKey, TenantKey } from '../../src/definitions/search-attributes';

/**
 * Webhooks end to end against a local receiver (node:http on 127.0.0.1, so the stack allows private targets):
 * registration rules, the secret shown once, signed deliveries from real enhancements, retries with a delivery log,
 * a refusal that is not retried, tenant isolation and deletion.
 */

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: any;
}

let stack: TestStack;
let receiver: Server;
let base: string;
let operator: Record<string, string>;
let viewer: Record<string, string>;
let stranger: Record<string, string>;
const received: Received[] = [];
/** Statuses a path answers, in order, before it answers 200. */
const plans = new Map<string, number[]>();
/** Requests to these paths wait for the promise before they are answered. */
const holds = new Map<string, Promise<void>>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, raw, body: JSON.parse(raw) });
      await holds.get(path);
      const status = plans.get(path)?.shift() ?? 200;
      res
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status === 200 ? 'thanks' : `no: ${'x'.repeat(1000)}`);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stack = await startStack('webhooks', {
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_RETRY_INITIAL_MS: '100',
    WEBHOOK_RETRY_MAX_MS: '400',
    WEBHOOK_MAX_ATTEMPTS: '5',
    WEBHOOK_SWEEP_SECONDS: '1',
  });
  operator = { authorization: `Bearer ${await stack.createKey('default', 'operator')}` };
  viewer = { authorization: `Bearer ${await stack.createKey('default', 'viewer')}` };
  stranger = { authorization: `Bearer ${await stack.createKey(`other-${uniqueSuffix()}`, 'operator')}` };
});
afterAll(async () => {
  await stack.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

const hooks = () => `${stack.url}/api/v1/webhooks`;

async function register(path: string, eventTypes: string[]): Promise<{ id: string; secret: string }> {
  const res = await postJson(hooks(), { url: `${base}${path}`, event_types: eventTypes, description: path }, operator);
  expect(res.status).toBe(201);
  return res.body;
}

/** Enhances a fresh function; resolves with its name once the run has answered. */
async function enhance(prefix: string): Promise<string> {
  const name = `${prefix}_${uniqueSuffix()}`;
  const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: name,
    original_code: `def ${name}(x: int) -> int:\n    return x + 1\n`,
  });
  expect(res.status).toBe(200);
  return name;
}

async function eventId(functionName: string, type: string): Promise<string> {
  const res = await getJson(`${stack.url}/api/v1/functions/${functionName}/events?event_type=${type}`);
  expect(res.body.events).toHaveLength(1);
  return res.body.events[0].id;
}

/** The delivery run of one event, to its end. */
async function deliveryRun(id: string): Promise<Array<{ webhook_id: string; status: string }>> {
  return stack.client.workflow.getHandle(`webhooks-${stack.config.DATABASE_SCHEMA}-${id}`).result();
}

function verifies(secret: string, header: unknown, raw: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

const at = (path: string, fn?: string) =>
  received.filter((r) => r.path === path && (fn === undefined || r.body.function_name === fn));

test('registration is validated, with machine-readable errors', async () => {
  const cases: Array<[unknown, number, string, string?]> = [
    [{ url: 'ftp://example.com/hook', event_types: ['version.created'] }, 400, 'invalid_webhook_url', 'url'],
    [{ url: 'http://user:pw@example.com/hook', event_types: ['version.created'] }, 400, 'invalid_webhook_url', 'url'],
    [{ url: 'not a url', event_types: ['version.created'] }, 400, 'invalid_webhook_url', 'url'],
    [{ url: 'https://example.com/hook#x', event_types: ['version.created'] }, 400, 'invalid_webhook_url', 'url'],
    [
      { url: 'https://example.com/hook', event_types: ['version.created', 'version.exploded'] },
      400,
      'unknown_event_type',
      'event_types.1',
    ],
    [{ url: 'https://example.com/hook', event_types: [] }, 400, 'invalid_request', 'event_types'],
    [{ url: 'https://example.com/hook', event_types: ['*'], secret: 'mine' }, 400, 'invalid_request'],
  ];
  for (const [body, status, code, path] of cases) {
    const res = await postJson(hooks(), body, operator);
    expect({ body, status: res.status, code: res.body.error.code }).toEqual({ body, status, code });
    if (path) expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  }
  const unknown = await postJson(hooks(), { url: 'https://example.com/h', event_types: ['nope'] }, operator);
  expect(unknown.body.error.message).toContain('version.created');
  // Registering needs the operator role; reading does not.
  expect((await postJson(hooks(), { url: 'https://example.com/h', event_types: ['*'] }, viewer)).status).toBe(403);
  expect((await getJson(hooks(), viewer)).status).toBe(200);
});

test('the signing secret is shown once, at registration', async () => {
  const res = await postJson(
    hooks(),
    { url: `${base}/hooks/once`, event_types: ['version.created', 'version.created'] },
    operator,
  );
  expect(res.status).toBe(201);
  expect(res.headers.get('location')).toBe(`/api/v1/webhooks/${res.body.id}`);
  expect(res.body).toMatchObject({
    id: expect.stringMatching(/^wh_[0-9a-f]{16}$/),
    event_types: ['version.created'],
    secret: expect.stringMatching(/^whsec_/),
  });
  const one = await getJson(`${hooks()}/${res.body.id}`, viewer);
  const list = await getJson(hooks(), viewer);
  for (const answer of [one, list]) {
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.body)).not.toContain(res.body.secret);
    expect(JSON.stringify(answer.body)).not.toContain('"secret"');
  }
  expect(list.body.webhooks.map((w: { id: string }) => w.id)).toContain(res.body.id);
  expect((await requestJson('DELETE', `${hooks()}/${res.body.id}`, undefined, operator)).status).toBe(204);
});

test('an enhancement delivers version.created and enhancement.completed, signed with the secret', async () => {
  const main = await register('/hooks/main', ['version.created', 'enhancement.completed']);
  const all = await register('/hooks/all', ['*']);
  const fn = await enhance('wh_signed');
  const got = await until('two deliveries', () =>
    at('/hooks/main', fn).length >= 2 ? at('/hooks/main', fn) : undefined,
  );
  await deliveryRun(await eventId(fn, 'enhancement.completed'));
  expect(
    at('/hooks/main', fn)
      .map((r) => r.body.type)
      .sort(),
  ).toEqual(['enhancement.completed', 'version.created']);
  for (const r of got) {
    expect(verifies(main.secret, r.headers['x-poet-signature'], r.raw)).toBe(true);
    expect(verifies(all.secret, r.headers['x-poet-signature'], r.raw)).toBe(false);
    expect(r.headers['x-poet-event']).toBe(r.body.type);
    expect(r.headers['x-poet-delivery']).toMatch(/^dlv_[0-9a-f]{24}$/);
    expect(r.headers['content-type']).toBe('application/json');
    // The stable event id receivers dedupe on is the event's id in the events API.
    expect(r.body.id).toBe(await eventId(fn, r.body.type));
    expect(r.body).toMatchObject({
      function_name: fn,
      run: { workflow_id: expect.stringMatching(/^enhance-/) },
      data: { version: 1 },
    });
  }
  // `*` takes every type, the run's start included; feedback recorded by the API is delivered too.
  await until('the * webhook', () =>
    at('/hooks/all', fn).some((r) => r.body.type === 'enhancement.started') ? true : undefined,
  );
  const fb = await postJson(`${stack.url}/api/v1/functions/${fn}/feedback`, {
    version: 1,
    execution_id: 'e-1',
    feedback_type: 'user',
    rating: 5,
  });
  expect(fb.status).toBe(200);
  const feedback = await until('feedback.received', () =>
    at('/hooks/all', fn).find((r) => r.body.type === 'feedback.received'),
  );
  expect(verifies(all.secret, feedback.headers['x-poet-signature'], feedback.raw)).toBe(true);
  expect(feedback.body.data).toMatchObject({ version: 1, execution_id: 'e-1', rating: 5 });

  const log = await getJson(`${hooks()}/${main.id}/deliveries`, viewer);
  expect(log.status).toBe(200);
  const mine = log.body.deliveries.filter((d: { event_id: string }) => got.some((r) => r.body.id === d.event_id));
  expect(mine).toHaveLength(2);
  for (const d of mine)
    expect(d).toMatchObject({
      attempt: 1,
      outcome: 'delivered',
      status_code: 200,
      will_retry: false,
      response_excerpt: 'thanks',
      error: null,
    });
  for (const w of [main, all])
    expect((await requestJson('DELETE', `${hooks()}/${w.id}`, undefined, operator)).status).toBe(204);
});

test('a receiver failing twice with 500 gets the event on the third attempt, each one logged', async () => {
  plans.set('/hooks/flaky', [500, 500]);
  const flaky = await register('/hooks/flaky', ['version.created']);
  const fn = await enhance('wh_flaky');
  const id = await eventId(fn, 'version.created');
  expect(await deliveryRun(id)).toEqual([{ webhook_id: flaky.id, status: 'delivered' }]);
  const got = at('/hooks/flaky', fn);
  expect(got.map((r) => r.headers['x-poet-attempt'])).toEqual(['1', '2', '3']);
  // One delivery: the same delivery id and event id on every attempt, each freshly signed.
  expect(new Set(got.map((r) => r.headers['x-poet-delivery'])).size).toBe(1);
  expect(got.every((r) => r.body.id === id && verifies(flaky.secret, r.headers['x-poet-signature'], r.raw))).toBe(true);

  const log = await getJson(`${hooks()}/${flaky.id}/deliveries?limit=2`, viewer);
  expect(log.body.deliveries.map((d: any) => [d.attempt, d.outcome, d.status_code, d.will_retry])).toEqual([
    [3, 'delivered', 200, false],
    [2, 'failed', 500, true],
  ]);
  const rest = await getJson(
    `${hooks()}/${flaky.id}/deliveries?limit=2&page_token=${log.body.next_page_token}`,
    viewer,
  );
  expect(rest.body.deliveries.map((d: any) => [d.attempt, d.outcome, d.status_code, d.error])).toEqual([
    [1, 'failed', 500, 'HTTP 500'],
  ]);
  // Only an excerpt of the response body is kept.
  expect(rest.body.deliveries[0].response_excerpt.length).toBeLessThanOrEqual(256);
  expect(rest.body.next_page_token).toBeNull();
  expect((await getJson(`${hooks()}/${flaky.id}/deliveries?page_token=bm9wZQ`, viewer)).body.error.code).toBe(
    'invalid_page_token',
  );
  const counted = await stack.worker.deps.metrics.registry.getSingleMetricAsString('poet_webhook_deliveries_total');
  expect(counted).toMatch(/poet_webhook_deliveries_total\{outcome="retry"\} [2-9]/);
  expect(counted).toMatch(/poet_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
  await requestJson('DELETE', `${hooks()}/${flaky.id}`, undefined, operator);
});

test('a 410 is not retried', async () => {
  plans.set('/hooks/gone', [410, 410, 410]);
  const gone = await register('/hooks/gone', ['version.created']);
  const fn = await enhance('wh_gone');
  const id = await eventId(fn, 'version.created');
  expect(await deliveryRun(id)).toEqual([{ webhook_id: gone.id, status: 'failed' }]);
  // The delivery run reads in the Temporal UI: whose function and event it carries.
  const run = await stack.client.workflow.getHandle(`webhooks-${stack.config.DATABASE_SCHEMA}-${id}`).describe();
  expect([run.typedSearchAttributes.get(FunctionNameKey), run.typedSearchAttributes.get(TenantKey)]).toEqual([
    fn,
    'default',
  ]);
  expect(await run.staticDetails()).toContain(
    `- **version**: v1\n- **domain**: –\n- **trigger**: event version.created`,
  );
  expect(at('/hooks/gone', fn)).toHaveLength(1);
  const log = await getJson(`${hooks()}/${gone.id}/deliveries`, viewer);
  expect(log.body.deliveries.map((d: any) => [d.attempt, d.outcome, d.status_code, d.will_retry])).toEqual([
    [1, 'failed', 410, false],
  ]);
  await requestJson('DELETE', `${hooks()}/${gone.id}`, undefined, operator);
});

test("another tenant can neither see nor delete a tenant's webhook, nor receive its events", async () => {
  const mine = await register('/hooks/mine', ['version.created']);
  const theirs = await postJson(hooks(), { url: `${base}/hooks/theirs`, event_types: ['*'] }, stranger);
  expect(theirs.status).toBe(201);
  for (const [method, url] of [
    ['GET', `${hooks()}/${mine.id}`],
    ['DELETE', `${hooks()}/${mine.id}`],
    ['GET', `${hooks()}/${mine.id}/deliveries`],
    ['POST', `${hooks()}/${mine.id}/test`],
  ] as const) {
    const res = await requestJson(method, url, undefined, stranger);
    expect({ method, url, status: res.status, code: res.body.error.code }).toEqual({
      method,
      url,
      status: 404,
      code: 'webhook_not_found',
    });
  }
  expect((await getJson(hooks(), stranger)).body.webhooks.map((w: { id: string }) => w.id)).toEqual([theirs.body.id]);
  expect((await getJson(`${hooks()}/${mine.id}`, viewer)).status).toBe(200);

  const fn = await enhance('wh_tenant');
  expect(await deliveryRun(await eventId(fn, 'version.created'))).toEqual([
    { webhook_id: mine.id, status: 'delivered' },
  ]);
  expect(at('/hooks/theirs')).toHaveLength(0);
  await requestJson('DELETE', `${hooks()}/${mine.id}`, undefined, operator);
});

test('a deleted webhook gets no more deliveries, not even the retries under way', async () => {
  const kept = await register('/hooks/kept', ['version.created']);
  const deleted = await register('/hooks/deleted', ['version.created']);
  expect((await requestJson('DELETE', `${hooks()}/${deleted.id}`, undefined, operator)).status).toBe(204);
  expect((await getJson(`${hooks()}/${deleted.id}`, viewer)).status).toBe(404);
  expect((await requestJson('DELETE', `${hooks()}/${deleted.id}`, undefined, operator)).status).toBe(404);
  const fn = await enhance('wh_deleted');
  expect(await deliveryRun(await eventId(fn, 'version.created'))).toEqual([
    { webhook_id: kept.id, status: 'delivered' },
  ]);
  expect(at('/hooks/deleted')).toHaveLength(0);

  // Deleted while its first attempt is in flight (answered 500 only after the delete): no retry follows.
  let release!: () => void;
  holds.set('/hooks/down', new Promise<void>((resolve) => (release = resolve)));
  plans.set('/hooks/down', [500, 500, 500, 500, 500]);
  const down = await register('/hooks/down', ['version.created']);
  const fn2 = await enhance('wh_down');
  await until('the first attempt', () => (at('/hooks/down', fn2).length > 0 ? true : undefined));
  expect((await requestJson('DELETE', `${hooks()}/${down.id}`, undefined, operator)).status).toBe(204);
  release();
  const results = await deliveryRun(await eventId(fn2, 'version.created'));
  expect(results).toContainEqual({ webhook_id: down.id, status: 'skipped' });
  expect(at('/hooks/down', fn2)).toHaveLength(1);
  await requestJson('DELETE', `${hooks()}/${kept.id}`, undefined, operator);
});

test('an event whose writer died before starting its delivery is delivered by the sweep', async () => {
  const swept = await register('/hooks/swept', ['version.activated']);
  // What a crash between the outbox commit and the start leaves behind: a row still marked pending.
  const { rows } = await stack.pool.query<{ id: string }>(
    `INSERT INTO events (tenant_id, function_name, event_type, dedupe_key, payload, created_at, webhooks_pending)
     VALUES ('default', 'wh_swept', 'version.activated', $1, '{"version": 2}', now() - interval '1 minute', true) RETURNING id`,
    [`test/${uniqueSuffix()}`],
  );
  const got = await until('the swept event', () => at('/hooks/swept').find((r) => r.body.id === rows[0]!.id));
  expect(verifies(swept.secret, got.headers['x-poet-signature'], got.raw)).toBe(true);
  expect(await deliveryRun(rows[0]!.id)).toEqual([{ webhook_id: swept.id, status: 'delivered' }]);
  const { rows: after } = await stack.pool.query('SELECT webhooks_pending FROM events WHERE id = $1', [rows[0]!.id]);
  expect(after[0].webhooks_pending).toBe(false);
  await requestJson('DELETE', `${hooks()}/${swept.id}`, undefined, operator);
});

test('a test ping is signed, answered at once and logged', async () => {
  const ping = await register('/hooks/ping', ['version.created']);
  expect((await postJson(`${hooks()}/${ping.id}/test`, undefined, viewer)).status).toBe(403);
  const res = await postJson(`${hooks()}/${ping.id}/test`, undefined, operator);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ outcome: 'delivered', status_code: 200, error: null });
  const [got] = at('/hooks/ping');
  expect(got!.body).toMatchObject({ type: 'ping', data: { webhook_id: ping.id } });
  expect(got!.headers['x-poet-delivery']).toBe(res.body.delivery_id);
  expect(verifies(ping.secret, got!.headers['x-poet-signature'], got!.raw)).toBe(true);
  const log = await getJson(`${hooks()}/${ping.id}/deliveries`, viewer);
  expect(log.body.deliveries).toEqual([
    expect.objectContaining({ event_type: 'ping', event_id: null, outcome: 'delivered' }),
  ]);
  await requestJson('DELETE', `${hooks()}/${ping.id}`, undefined, operator);
});

test('by default, loopback, private and link-local targets are refused, after DNS resolution too', async () => {
  for (const url of [
    'http://127.0.0.1/h',
    'http://[::1]/h',
    'http://169.254.169.254/latest',
    'http://10.1.2.3/h',
    'http://localhost:8080/h',
    'http://[::ffff:127.0.0.1]/h',
  ]) {
    expect({ url, check: checkWebhookUrl(url, false) }).toEqual({
      url,
      check: expect.objectContaining({ ok: false, code: 'webhook_target_forbidden' }),
    });
    expect(checkWebhookUrl(url, true).ok).toBe(true);
  }
  expect(checkWebhookUrl('https://hooks.example.com/poet', false).ok).toBe(true);
  expect(
    ['192.168.1.1', '172.16.0.1', '100.64.0.1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '0.0.0.0'].every(
      isForbiddenAddress,
    ),
  ).toBe(true);
  expect(['93.184.216.34', '2606:4700::1111'].some(isForbiddenAddress)).toBe(false);

  // A name is judged by the address it resolves to, where the socket connects: `localhost` is 127.0.0.1.
  const port = (receiver.address() as AddressInfo).port;
  const before = at('/hooks/ssrf').length;
  const request = {
    secret: 's',
    eventType: 'ping',
    deliveryId: 'dlv_x',
    attempt: 1,
    body: '{}',
    timeoutMs: 5_000,
    allowPrivate: false,
  };
  for (const url of [`http://localhost:${port}/hooks/ssrf`, `http://127.0.0.1:${port}/hooks/ssrf`]) {
    const sent = await sendWebhook({ ...request, url });
    expect({ url, outcome: sent.outcome, retryable: sent.retryable }).toEqual({
      url,
      outcome: 'blocked',
      retryable: false,
    });
  }
  expect(at('/hooks/ssrf')).toHaveLength(before);
  expect(
    (await sendWebhook({ ...request, url: `http://localhost:${port}/hooks/ssrf`, allowPrivate: true })).outcome,
  ).toBe('delivered');
});
