import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { VersionsRepo } from '../../src/infra/db/versions-repo';
import { FilesystemArtifactStore } from '../../src/infra/storage/artifact-store';
import { poetRuntime } from '../../src/poet/runtime';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const fn = (name: string) => ({
  function_name: name,
  original_code: `def ${name}(a: float, b: float) -> float:\n    return a / b\n`,
  context: { samples: [[6, 3]] },
});
const feedback = (version: number, over: Record<string, unknown> = {}) => ({
  version,
  execution_id: `exec-${uniqueSuffix()}`,
  feedback_type: 'user',
  rating: 5,
  ...over,
});

describe('versions, feedback-driven regeneration and rollback', () => {
  let stack: TestStack;
  const api = (path: string) => `${stack.url}/api/v1${path}`;

  beforeAll(async () => {
    stack = await startStack('versions');
  });
  afterAll(() => stack.close());

  async function activeVersions(name: string): Promise<{ version: number; status: string }[]> {
    const res = await stack.pool.query(
      'SELECT version, status FROM versions WHERE function_name = $1 ORDER BY version',
      [name],
    );
    return res.rows;
  }

  test('versions are listed and read; feedback is accepted, regenerates, deduplicates; rollback activates an old version', async () => {
    const name = `div_${uniqueSuffix()}`;
    expect((await postJson(api('/functions/enhance'), fn(name))).body.version).toBe(1);

    const list = await getJson(api('/functions?limit=200'));
    expect(list.status).toBe(200);
    expect(list.body.functions).toContainEqual(
      expect.objectContaining({ function_name: name, current_version: 1, version_count: 1 }),
    );

    // Good feedback: stored, no new version; the same report again is not counted twice.
    const good = feedback(1, { metrics: { success_rate: 1, avg_duration: 12, error_rate: 0 } });
    const accepted = await postJson(api(`/functions/${name}/feedback`), good);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted', version: 1 });
    expect(accepted.body.new_version).toBeUndefined();
    const duplicate = await postJson(api(`/functions/${name}/feedback`), good);
    expect(duplicate.body).toEqual({ status: 'accepted', duplicate: true, version: 1 });
    const v1 = await getJson(api(`/functions/${name}/versions`));
    expect(v1.body).toMatchObject({
      function_name: name,
      current_version: 1,
      versions: [
        {
          version: 1,
          status: 'active',
          domain: 'base_reliability',
          provider: 'template',
          metrics: { feedback_count: 1, success_rate: 1, avg_duration: 12, error_rate: 0 },
        },
      ],
    });

    // Timeouts reported: Train learns more retries and a longer timeout, and version 2 replaces version 1.
    const timeouts = feedback(1, { feedback_type: 'error', rating: 2, comments: 'TimeoutError: timed out after 30 s' });
    const regenerated = await postJson(api(`/functions/${name}/feedback`), timeouts);
    expect(regenerated.status).toBe(200);
    expect(regenerated.body).toMatchObject({ status: 'requires_update', version: 1, new_version: 2 });
    expect(regenerated.body.update_reason).toMatch(/error report.*timeouts/);
    expect(await activeVersions(name)).toEqual([
      { version: 1, status: 'deprecated' },
      { version: 2, status: 'active' },
    ]);

    const v2 = await getJson(api(`/functions/${name}/versions/2`));
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({
      version: 2,
      status: 'active',
      params: { retries: 5, timeout: 36 },
      storage: 'filesystem',
      downloads: null,
    });
    expect(v2.body.metadata.guidance).toMatchObject({ operate: { retries: 5, timeout_s: 36 } });
    expect(v2.body.code.python).toContain(`def ${name}(a: float, b: float) -> float:`);

    const diff = await getJson(api(`/functions/${name}/versions/1/diff/2`));
    expect(diff.status).toBe(200);
    expect(diff.body.diff.params).toContain('-  "retries": 3,\n-  "timeout": 30,\n+  "retries": 5,\n+  "timeout": 36,');
    expect(diff.body.diff.python).toContain('--- v1/code.py');

    // Rollback: v1 active again, v2 deprecated, and the events say so.
    const rollback = await postJson(api(`/functions/${name}/versions/1/activate`), {});
    expect(rollback.status).toBe(200);
    expect(rollback.body).toMatchObject({ function_name: name, current_version: 1, previous_version: 2 });
    expect(await activeVersions(name)).toEqual([
      { version: 1, status: 'active' },
      { version: 2, status: 'deprecated' },
    ]);
    expect((await getJson(api(`/functions/${name}`))).body).toMatchObject({ current_version: 1, version_count: 2 });

    const events = await getJson(api(`/functions/${name}/events?limit=100`));
    const types = events.body.events.map((e: { event_type: string }) => e.event_type);
    expect(types).toEqual(
      expect.arrayContaining([
        'enhancement.started',
        'enhancement.completed',
        'feedback.received',
        'version.created',
        'version.deprecated',
        'version.activated',
      ]),
    );
    expect(types.filter((t: string) => t === 'feedback.received')).toHaveLength(2);

    // Another tenant sees none of it; a viewer may read but not roll back.
    const acme = { authorization: `Bearer ${await stack.createKey('acme', 'admin')}` };
    expect((await getJson(api(`/functions/${name}`), acme)).status).toBe(404);
    expect((await getJson(api('/functions?limit=200'), acme)).body.functions).toEqual([]);
    expect((await postJson(api(`/functions/${name}/feedback`), feedback(1), acme)).status).toBe(404);
    expect((await getJson(`${stack.url}${'/api/v1/runs/'}${regenerated.body.run.workflow_id}`, acme)).status).toBe(404);
    const viewer = { authorization: `Bearer ${await stack.createKey('default', 'viewer')}` };
    expect((await getJson(api(`/functions/${name}/versions/1`), viewer)).status).toBe(200);
    expect((await postJson(api(`/functions/${name}/versions/2/activate`), {}, viewer)).status).toBe(403);

    // Feedback on the deprecated version is stored but changes nothing.
    const late = await postJson(
      api(`/functions/${name}/feedback`),
      feedback(2, { feedback_type: 'error', comments: 'ValueError' }),
    );
    expect(late.body).toMatchObject({ status: 'accepted', version: 2 });
    expect(late.body.update_reason).toMatch(/no longer the active version/);
  });

  test('unknown functions and versions are 404; malformed input is 400 with the offending path', async () => {
    const name = `known_${uniqueSuffix()}`;
    await postJson(api('/functions/enhance'), fn(name));
    const cases: [string, Promise<{ status: number; body: any }>, number, string][] = [
      [
        'feedback, unknown function',
        postJson(api('/functions/nobody_here/feedback'), feedback(1)),
        404,
        'function_not_found',
      ],
      [
        'feedback, unknown version',
        postJson(api(`/functions/${name}/feedback`), feedback(9)),
        404,
        'version_not_found',
      ],
      ['function', getJson(api('/functions/nobody_here')), 404, 'function_not_found'],
      ['versions', getJson(api('/functions/nobody_here/versions')), 404, 'function_not_found'],
      ['version', getJson(api(`/functions/${name}/versions/7`)), 404, 'version_not_found'],
      ['diff', getJson(api(`/functions/${name}/versions/1/diff/3`)), 404, 'version_not_found'],
      ['activate', postJson(api(`/functions/${name}/versions/4/activate`), {}), 404, 'version_not_found'],
      ['events', getJson(api('/functions/nobody_here/events')), 404, 'function_not_found'],
      ['version not a number', getJson(api(`/functions/${name}/versions/abc`)), 400, 'invalid_request'],
      ['bad name', getJson(api('/functions/__init__/versions')), 400, 'invalid_request'],
      [
        'feedback, rating out of range',
        postJson(api(`/functions/${name}/feedback`), feedback(1, { rating: 9 })),
        400,
        'invalid_request',
      ],
      [
        'feedback, unknown key',
        postJson(api(`/functions/${name}/feedback`), feedback(1, { mood: 'sad' })),
        400,
        'invalid_request',
      ],
      ['events, bad type', getJson(api(`/functions/${name}/events?event_type=nope`)), 400, 'invalid_request'],
      ['events, forged token', getJson(api(`/functions/${name}/events?page_token=bm9wZQ`)), 400, 'invalid_page_token'],
    ];
    for (const [label, pending, status, code] of cases) {
      const res = await pending;
      expect({ label, status: res.status, code: res.body.error.code }).toEqual({ label, status, code });
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
    }
    const bad = await postJson(api(`/functions/${name}/feedback`), feedback(1, { rating: 9 }));
    expect(bad.body.error.details).toContainEqual(expect.objectContaining({ path: 'rating' }));
  });

  test("a version's code reads as text, the same as the version's detail; unknown versions and languages are refused", async () => {
    const name = `src_${uniqueSuffix()}`;
    await postJson(api('/functions/enhance'), fn(name));
    const detail = (await getJson(api(`/functions/${name}/versions/1`))).body;

    const python = await fetch(api(`/functions/${name}/versions/1/code/python`), {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(python.status).toBe(200);
    expect(python.headers.get('content-type')).toMatch(/^text\/x-python/);
    const source = await python.text();
    expect(source).toBe(detail.code.python);
    expect(source).toContain(`def ${name}(a: float, b: float) -> float:`);

    const dana = await fetch(api(`/functions/${name}/versions/1/code/dana`), {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(dana.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await dana.text()).toBe(detail.code.dana);

    const viewer = await stack.createKey('default', 'viewer');
    expect(
      (await fetch(api(`/functions/${name}/versions/1/code/python`), { headers: { 'x-api-key': viewer } })).status,
    ).toBe(200);
    expect((await getJson(api(`/functions/${name}/versions/1/code/python`), { authorization: '' })).status).toBe(401);
    const other = await stack.createKey('other', 'admin');
    expect(
      (await getJson(api(`/functions/${name}/versions/1/code/python`), { 'x-api-key': other })).body.error.code,
    ).toBe('version_not_found');
    expect((await getJson(api(`/functions/${name}/versions/2/code/python`))).body.error.code).toBe('version_not_found');
    const rust = await getJson(api(`/functions/${name}/versions/1/code/rust`));
    expect(rust.status).toBe(400);
    expect(rust.body.error.details[0].path).toBe('params.language');
  });

  test('feedback examples are regression tests: a regeneration, and a new enhance, that fail one are refused; one passed counts as feedback evidence', async () => {
    const adds = (name: string) => ({
      function_name: name,
      original_code: `def ${name}(a: int, b: int) -> int:\n    return a + b\n`,
    });
    const report = (version: number, examples: unknown[]) =>
      feedback(version, { feedback_type: 'error', comments: 'wrong sums', examples });

    // An example the code fails: Train regenerates on the error report, and the new version still fails it.
    const failing = `sum_${uniqueSuffix()}`;
    const v1 = await postJson(api('/functions/enhance'), adds(failing));
    expect(v1.body.metadata.validation.inputs.feedback).toBe(0);
    const refused = await postJson(api(`/functions/${failing}/feedback`), report(1, [{ args: [1, 2], expected: 4 }]));
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('validation_failed');
    expect(refused.body.error.message).toContain('feedback example 0 {"args":[1,2],"kwargs":{}} failed: expected 4');
    expect(await activeVersions(failing)).toEqual([{ version: 1, status: 'active' }]);
    // The same request as version 1's was a cache hit; its validation predates the example, so it runs again and fails.
    const again = await postJson(api('/functions/enhance'), adds(failing));
    expect(again.status).toBe(422);
    expect(again.body.error.message).toContain('feedback example 0');
    // Code that gives what the example expects passes it and becomes version 2.
    const fixed = await postJson(api('/functions/enhance'), {
      function_name: failing,
      original_code: `def ${failing}(a: int, b: int) -> int:\n    return a + b + 1\n`,
    });
    expect(fixed.status).toBe(200);
    expect(fixed.body).toMatchObject({ version: 2, metadata: { cache: 'miss' } });
    expect(fixed.body.metadata.validation.inputs.feedback).toBe(1);

    // Examples the code passes: the regenerated version counts them as feedback inputs, in the answer and when stored.
    const passing = `plus_${uniqueSuffix()}`;
    await postJson(api('/functions/enhance'), adds(passing));
    const examples = [
      { args: [1, 2], expected: 3 },
      { args: [], kwargs: { a: 2, b: 5 }, expected: 7 },
      { args: ['x', 1], raises: { type: 'TypeError', message: 'can only concatenate str (not "int") to str' } },
    ];
    const regenerated = await postJson(api(`/functions/${passing}/feedback`), report(1, examples));
    expect(regenerated.status).toBe(200);
    expect(regenerated.body).toMatchObject({ status: 'requires_update', new_version: 2 });
    const v2 = await getJson(api(`/functions/${passing}/versions/2`));
    expect(v2.body.metadata.validation.inputs.feedback).toBe(3);
    expect(v2.body.metadata.validation.agreed).toBeGreaterThanOrEqual(3);

    // The same call again with the same outcome is stored once; with another outcome it is a 409 and stores nothing.
    await postJson(api(`/functions/${passing}/feedback`), feedback(2, { examples: [examples[0]] }));
    const conflict = await postJson(
      api(`/functions/${passing}/feedback`),
      feedback(2, {
        examples: [
          { args: [5, 5], expected: 10 },
          { args: [1, 2], expected: 5 },
        ],
      }),
    );
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'example_conflict', details: [{ path: 'examples.1' }] });
    const stored = await stack.pool.query(
      'SELECT example FROM feedback_examples WHERE function_name = $1 ORDER BY id',
      [passing],
    );
    expect(stored.rows.map((r) => r.example)).toEqual(examples.map((e) => ({ kwargs: {}, ...e })));
    // Another tenant's function of the same name has none of them.
    const acme = { authorization: `Bearer ${await stack.createKey('acme', 'admin')}` };
    const theirs = await postJson(api('/functions/enhance'), adds(failing), acme);
    expect(theirs.status).toBe(200);
    expect(theirs.body.metadata.validation.inputs.feedback).toBe(0);
  });

  test.each([
    ['both expected and raises', [{ args: [1], expected: 1, raises: { type: 'ValueError' } }]],
    ['neither expected nor raises', [{ args: [1] }]],
    ['args not a list', [{ args: 1, expected: 1 }]],
    ['a raises type that is not a class name', [{ args: [1], raises: { type: 'not a name' } }]],
    ['an example over 10000 characters', [{ args: ['x'.repeat(10_001)], expected: 1 }]],
    ['more than 20 examples', Array.from({ length: 21 }, (_, i) => ({ args: [i], expected: i }))],
    ['an empty list', []],
  ])('feedback examples with %s answer 400 with their path', async (_label, examples) => {
    const name = `bad_ex_${uniqueSuffix()}`;
    await postJson(api('/functions/enhance'), fn(name));
    const res = await postJson(api(`/functions/${name}/feedback`), feedback(1, { examples }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.details[0].path).toMatch(/^examples/);
    const rows = await stack.pool.query('SELECT count(*)::int AS n FROM feedback WHERE function_name = $1', [name]);
    expect(rows.rows[0].n).toBe(0);
  });

  test("a version's runtime downloads with its digest; a version embedding its runtime answers 404 runtime_embedded", async () => {
    const name = `rt_${uniqueSuffix()}`;
    await postJson(api('/functions/enhance'), fn(name));
    const url = api(`/functions/${name}/versions/1/runtime`);
    const auth = { authorization: `Bearer ${stack.apiKey}` };
    const res = await fetch(url, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/x-python/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="poet_runtime.py"');
    const source = await res.text();
    expect(source).toBe(poetRuntime().source);
    expect(source).toBe(
      readFileSync(path.join(stack.config.dataDir, 'functions', name, 'v1', 'poet_runtime.py'), 'utf8'),
    );
    const digest = createHash('sha256').update(source);
    expect(res.headers.get('repr-digest')).toBe(`sha-256=:${digest.copy().digest('base64')}:`);
    expect(res.headers.get('x-poet-runtime-version')).toBe(poetRuntime().version);
    const etag = `"${digest.digest('hex')}"`;
    expect(res.headers.get('etag')).toBe(etag);
    // (fetch sends `cache-control: no-cache` with a conditional request unless told otherwise)
    const unchanged = await fetch(url, { headers: { ...auth, 'if-none-match': etag, 'cache-control': 'max-age=0' } });
    expect(unchanged.status).toBe(304);

    // Same rules as the version's code: a viewer reads it, another tenant and no key do not.
    const viewer = await stack.createKey('default', 'viewer');
    expect((await fetch(url, { headers: { 'x-api-key': viewer } })).status).toBe(200);
    expect((await getJson(url, { authorization: '' })).status).toBe(401);
    const other = await stack.createKey('other', 'admin');
    expect((await getJson(url, { 'x-api-key': other })).body.error.code).toBe('version_not_found');
    expect((await getJson(api(`/functions/${name}/versions/2/runtime`))).body.error.code).toBe('version_not_found');

    // A version stored before the runtime was a package: its code.py carries the runtime, its folder has none.
    const versions = new VersionsRepo(stack.pool, new FilesystemArtifactStore(stack.config.dataDir));
    const request = { ...fn(name), domain: 'base_reliability', context: { samples: [{ args: [6, 3], kwargs: {} }] } };
    await versions.storeVersion({
      tenantId: 'default',
      functionName: name,
      idempotencyKey: `old-${name}`,
      inputHash: 'f'.repeat(64),
      parentVersion: null,
      trigger: 'request',
      request,
      domain: 'base_reliability',
      optimizeFor: null,
      safetyLevel: 'high',
      artifact: {
        python: '# the runtime, embedded\n',
        dana: '',
        params: {},
        optimizations: [],
        provider: 'template',
        enhancer_version: 'old',
      },
      metadata: { domain: 'base_reliability' },
    });
    const embedded = await getJson(api(`/functions/${name}/versions/2/runtime`));
    expect(embedded.status).toBe(404);
    expect(embedded.body.error).toMatchObject({
      code: 'runtime_embedded',
      message: expect.stringContaining('embeds its runtime'),
    });
    expect((await getJson(api(`/functions/${name}/versions/2`))).body.code.python).toBe('# the runtime, embedded\n');
  });

  test('twenty concurrent feedback posts on one function: contiguous versions, exactly one active', async () => {
    const name = `busy_${uniqueSuffix()}`;
    await postJson(api('/functions/enhance'), fn(name));
    // Ten reports on v1, then ten on whatever is active: every post races the regenerations of the others.
    const post = (version: number, i: number) =>
      postJson(
        api(`/functions/${name}/feedback`),
        feedback(version, {
          feedback_type: 'error',
          rating: 1,
          comments: `ConnectionError ${i}`,
          suggestions: [`try ${i}`],
        }),
      );
    const first = Promise.all(Array.from({ length: 10 }, (_, i) => post(1, i)));
    const current = async () => (await getJson(api(`/functions/${name}`))).body.current_version as number;
    const second = Promise.all(Array.from({ length: 10 }, async (_, i) => post(await current(), 10 + i)));
    const answers = [...(await first), ...(await second)];
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    for (const a of answers) expect(['accepted', 'requires_update']).toContain(a.body.status);

    const rows = await activeVersions(name);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
    expect(rows.filter((r) => r.status === 'active')).toHaveLength(1);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const newVersions = new Set(answers.flatMap((a) => (a.body.new_version ? [a.body.new_version] : [])));
    expect([...newVersions].every((v) => v >= 2 && v <= rows.length)).toBe(true);
    const counted = await stack.pool.query('SELECT count(*)::int AS n FROM feedback WHERE function_name = $1', [name]);
    expect(counted.rows[0].n).toBe(20);
  });
});
