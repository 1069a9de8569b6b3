import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { localActivityOf } from '../helpers/history';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';
import { poetRuntime } from '../../src/poet/runtime';

const addCode = (name: string) => `def ${name}(a: int, b: int = 2) -> int:
    """Add two integers."""
    if a < 0:
        raise ValueError("a must be non-negative")
    return a + b
`;

let stack: TestStack;
let enhanceUrl: string;

beforeAll(async () => {
  stack = await startStack('enhance');
  enhanceUrl = `${stack.url}/api/v1/functions/enhance`;
});
afterAll(() => stack.close());

async function pollRun(location: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await getJson(`${stack.url}${location}`);
    expect(res.status).toBe(200);
    if (res.body.status !== 'running') return res.body;
    if (Date.now() > deadline) throw new Error(`run ${location} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function versionRows(functionName: string) {
  const res = await stack.pool.query<{ version: number; status: string }>(
    'SELECT version, status FROM versions WHERE function_name = $1 ORDER BY version',
    [functionName],
  );
  return res.rows;
}

/** The activities a run ran: regular ones (scheduled events) and local ones (their markers). */
async function activityTypes(workflowId: string, runId: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const name = localActivityOf(e)?.activity_type ?? e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

describe('POST /api/v1/functions/enhance', () => {
  test('answers 200 with POET code that python3 runs, stored as version 1 with its artifacts and events', async () => {
    const name = `add_${uniqueSuffix()}`;
    const res = await postJson(enhanceUrl, {
      function_name: name,
      original_code: addCode(name),
      context: { samples: [[1, 2], [3], [-1]] },
    });

    expect(res.status).toBe(200);
    expect(res.body.version).toBe(1);
    expect(res.body.metadata).toMatchObject({
      domain: 'base_reliability',
      cache: 'miss',
      safety_level: 'high',
      samples_run: 3,
      provider: 'template',
      runtime_version: poetRuntime().version,
    });
    // What the sandbox tried reaches the answer: the three samples, generated inputs, no doctest, no feedback yet.
    const { validation } = res.body.metadata;
    expect(validation.inputs).toMatchObject({ samples: 3, doctests: 0, feedback: 0 });
    expect(validation.inputs.generated).toBeGreaterThanOrEqual(100);
    expect(validation.agreed).toBeGreaterThanOrEqual(100);
    expect(validation.duration_ms).toBeGreaterThan(0);
    expect(validation.declared_rules).toBe(0);
    // No optimize_for: the domain's reference settings, unshifted.
    expect(res.body.metadata.optimize_for).toBeNull();
    expect(res.body.metadata.params).toMatchObject({ retries: 3, timeout: 30, learning_rate: 0.05 });
    expect(res.body.run.workflow_id).toMatch(new RegExp(`^enhance-${name}-[0-9a-f]{12}$`));
    expect(res.body.enhanced_code.dana).toContain(name);

    // The version folder runs on its own under a plain python3 (its poet_runtime.py beside code.py), and behaves
    // like the original, errors included.
    const versionDir = path.join(stack.config.dataDir, 'functions', name, 'v1');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-run-'));
    for (const file of ['code.py', 'poet_runtime.py'])
      writeFileSync(path.join(dir, file), readFileSync(path.join(versionDir, file)));
    const script = [
      'import importlib.util',
      'spec = importlib.util.spec_from_file_location("enhanced", "code.py")',
      'enhanced = importlib.util.module_from_spec(spec)',
      'spec.loader.exec_module(enhanced)',
      `f = enhanced.${name}`,
      `print(f(2, 3), f(4), f.__name__, f.__doc__)`,
      `try:\n    f(-1)\nexcept ValueError as e:\n    print("ValueError", e)`,
    ].join('\n');
    const out = execFileSync('python3', ['-c', script], { cwd: dir, encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual([`5 6 ${name} Add two integers.`, 'ValueError a must be non-negative']);

    expect(readFileSync(path.join(versionDir, 'code.py'), 'utf8')).toBe(res.body.enhanced_code.python);
    expect(readFileSync(path.join(versionDir, 'code.dana'), 'utf8')).toBe(res.body.enhanced_code.dana);
    expect(JSON.parse(readFileSync(path.join(versionDir, 'params.json'), 'utf8'))).toEqual(res.body.metadata.params);
    expect(JSON.parse(readFileSync(path.join(versionDir, 'metadata.json'), 'utf8'))).toMatchObject({
      version: 1,
      safety_level: 'high',
      runtime_version: poetRuntime().version,
      validation,
    });
    expect(readFileSync(path.join(versionDir, 'poet_runtime.py'), 'utf8')).toBe(poetRuntime().source);
    expect(readlinkSync(path.join(stack.config.dataDir, 'functions', name, 'current'))).toBe('v1');
    expect(await versionRows(name)).toEqual([{ version: 1, status: 'active' }]);

    const events = await stack.pool.query<{ event_type: string; streamed: boolean }>(
      'SELECT event_type, streamed_at IS NOT NULL AS streamed FROM events WHERE function_name = $1 ORDER BY id',
      [name],
    );
    expect(events.rows).toEqual([
      { event_type: 'enhancement.started', streamed: true },
      { event_type: 'version.created', streamed: true },
      { event_type: 'enhancement.completed', streamed: true },
    ]);
    const redis = new Redis(stack.config.REDIS_URL!);
    try {
      const entries = await redis.xrange(`${stack.config.REDIS_PREFIX}events`, '-', '+');
      const mine = entries.map(([, fields]) => fields).filter((fields) => fields.includes(name));
      expect(mine.map((fields) => fields[fields.indexOf('type') + 1])).toEqual([
        'enhancement.started',
        'version.created',
        'enhancement.completed',
      ]);
    } finally {
      redis.disconnect();
    }
  });

  test('Prefer: respond-async answers 202 with a run URL that polls to the same result', async () => {
    const name = `mul_${uniqueSuffix()}`;
    const code = `def ${name}(x: float, y: float) -> float:\n    return x * y\n`;
    const res = await postJson(
      enhanceUrl,
      { function_name: name, original_code: code, optimize_for: 'performance' },
      { prefer: 'respond-async' },
    );

    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location).toBe(`/api/v1/runs/${res.body.run.workflow_id}`);
    const done = await pollRun(location);
    expect(done.status).toBe('completed');
    expect(done.result).toMatchObject({ function_name: name, version: 1, run: res.body.run });
    expect(done.result.enhanced_code.python).toContain(`def ${name}(x: float, y: float) -> float:`);
    expect(done.result.metadata).toMatchObject({ optimize_for: 'performance', params: { retries: 2, timeout: 15 } });
  });

  test('an identical request is a cache hit: no generate activity, and the active version is reused', async () => {
    const name = `square_${uniqueSuffix()}`;
    const body = { function_name: name, original_code: `def ${name}(n: int) -> int:\n    return n * n\n` };
    const first = await postJson(enhanceUrl, body);
    expect(first.status).toBe(200);
    expect(first.body.metadata.cache).toBe('miss');
    expect(await activityTypes(first.body.run.workflow_id, first.body.run.run_id)).toEqual(
      expect.arrayContaining(['generate', 'validate', 'storeVersion', 'publish']),
    );

    const second = await postJson(enhanceUrl, body);
    expect(second.status).toBe(200);
    expect(second.body.metadata.cache).toBe('hit');
    expect(second.body.run.run_id).not.toBe(first.body.run.run_id);
    expect(second.body.enhanced_code).toEqual(first.body.enhanced_code);
    expect(second.body.version).toBe(1);
    const activities = await activityTypes(second.body.run.workflow_id, second.body.run.run_id);
    expect(activities).not.toContain('generate');
    expect(activities).not.toContain('validate');
    // The active version already holds this input: read in-process (a local activity), nothing written.
    expect(activities).not.toContain('storeVersion');
    expect(await versionRows(name)).toEqual([{ version: 1, status: 'active' }]);
  });

  test("a request's evidence_budget_s reaches the sandbox: 0 tries only the samples, so the version rates medium", async () => {
    const name = `neg_${uniqueSuffix()}`;
    const res = await postJson(enhanceUrl, {
      function_name: name,
      original_code: `def ${name}(n: int) -> int:\n    return -n\n`,
      evidence_budget_s: 0,
      context: { samples: [[1], [2]] },
    });
    expect(res.status).toBe(200);
    expect(res.body.metadata.safety_level).toBe('medium');
    expect(res.body.metadata.validation).toMatchObject({
      inputs: { samples: 2, doctests: 0, generated: 0, feedback: 0 },
      agreed: 2,
    });
  });

  test('a changed function makes version 2 and deprecates version 1', async () => {
    const name = `scale_${uniqueSuffix()}`;
    const v1 = await postJson(enhanceUrl, {
      function_name: name,
      original_code: `def ${name}(x: int) -> int:\n    return 2 * x\n`,
    });
    const v2 = await postJson(enhanceUrl, {
      function_name: name,
      original_code: `def ${name}(x: int) -> int:\n    return 3 * x\n`,
    });
    expect([v1.status, v2.status]).toEqual([200, 200]);
    expect([v1.body.version, v2.body.version]).toEqual([1, 2]);
    expect(await versionRows(name)).toEqual([
      { version: 1, status: 'deprecated' },
      { version: 2, status: 'active' },
    ]);
    expect(readlinkSync(path.join(stack.config.dataDir, 'functions', name, 'current'))).toBe('v2');
  });

  test('ten identical concurrent requests share one workflow run and make one version', async () => {
    const name = `cube_${uniqueSuffix()}`;
    const body = { function_name: name, original_code: `def ${name}(n: int) -> int:\n    return n ** 3\n` };
    const answers = await Promise.all(Array.from({ length: 10 }, () => postJson(enhanceUrl, body)));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((a) => a.body.run.run_id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.version))).toEqual(new Set([1]));
    expect(await versionRows(name)).toEqual([{ version: 1, status: 'active' }]);
  });

  test('enhanced code that fails validation fails the run clearly and stores nothing', async () => {
    const name = `broken_${uniqueSuffix()}`;
    // Valid syntax, but importing the module raises: the sandbox cannot load it.
    const code = `raise RuntimeError("no import for you")\n\ndef ${name}(x: int) -> int:\n    return x\n`;
    const res = await postJson(enhanceUrl, { function_name: name, original_code: code });

    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toContain('no import for you');
    expect(res.body.error.run.workflow_id).toMatch(/^enhance-broken_/);
    expect(await versionRows(name)).toEqual([]);
    const run = await getJson(`${stack.url}/api/v1/runs/${res.body.error.run.workflow_id}`);
    expect(run.body).toMatchObject({ status: 'failed', error: { code: 'validation_failed' } });
  });
});

describe('bad input', () => {
  const good = { function_name: 'ok_fn', original_code: 'def ok_fn(x):\n    return x\n' };

  test.each([
    ['a path in function_name', { ...good, function_name: '../../etc/passwd' }, 'function_name'],
    ['a function_name starting with a digit', { ...good, function_name: '1abc' }, 'function_name'],
    ['a dunder function_name', { ...good, function_name: '__init__' }, 'function_name'],
    ['an unknown body key', { ...good, extra: true }, '(body)'],
    ['a missing original_code', { function_name: 'ok_fn' }, 'original_code'],
    ['an unknown optimize_for', { ...good, optimize_for: 'vibes' }, 'optimize_for'],
    ['a malformed sample', { ...good, context: { samples: [{ args: 1 }] } }, 'context.samples.0'],
    ['an evidence budget over 60 s', { ...good, evidence_budget_s: 61 }, 'evidence_budget_s'],
  ])('%s answers 400 with the offending path', async (_label, body, pathPrefix) => {
    const res = await postJson(enhanceUrl, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(
      res.body.error.details.map((d: { path: string }) => d.path).some((p: string) => p.startsWith(pathPrefix)),
    ).toBe(true);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  test('an unknown domain answers 400 listing the valid ones', async () => {
    const res = await postJson(enhanceUrl, { ...good, domain: 'astrology' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_domain');
    expect(res.body.error.details[0].valid).toContain('base_reliability');
  });

  test('syntactically invalid Python answers 422 with the parser message and line', async () => {
    const res = await postJson(enhanceUrl, { function_name: 'f', original_code: 'x = 1\ndef f(:\n    return 1\n' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('invalid_python');
    expect(res.body.error.details[0]).toMatchObject({ path: 'original_code', line: 2 });
    expect(res.body.error.details[0].message).toEqual(expect.any(String));
  });

  test('code without the named function answers 422 naming the functions it has', async () => {
    const res = await postJson(enhanceUrl, {
      function_name: 'missing',
      original_code: 'def present(x):\n    return x\n',
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('function_not_found');
    expect(res.body.error.details[0].message).toContain('present');
  });

  test('code over the size limit answers 413, a body over the body limit too', async () => {
    const big = `def f(x):\n    return x\n${'# padding\n'.repeat(8_000)}`;
    const overCode = await postJson(enhanceUrl, { function_name: 'f', original_code: big });
    expect(overCode.status).toBe(413);
    expect(overCode.body.error.code).toBe('payload_too_large');

    const overBody = await postJson(enhanceUrl, { function_name: 'f', original_code: 'x'.repeat(400 * 1024) });
    expect(overBody.status).toBe(413);
  });

  test('malformed JSON answers 400 invalid_json', async () => {
    const res = await postJson(enhanceUrl, '{"function_name": ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  test('a wait budget out of range answers 400', async () => {
    const res = await postJson(`${enhanceUrl}?wait=-3`, good);
    expect(res.status).toBe(400);
  });

  test('rejected requests store nothing', async () => {
    expect(await versionRows('ok_fn')).toEqual([]);
    expect(await versionRows('f')).toEqual([]);
  });

  test('unknown and malformed run ids answer 404 and 400', async () => {
    expect((await getJson(`${stack.url}/api/v1/runs/enhance-nothing-000000000000`)).status).toBe(404);
    expect((await getJson(`${stack.url}/api/v1/runs/${encodeURIComponent('bad id!')}`)).status).toBe(400);
  });
});

describe('while no worker polls', () => {
  let idle: TestStack;
  beforeAll(async () => {
    idle = await startStack('enhance-idle');
    await idle.worker.shutdown();
  });
  afterAll(() => idle.close());

  // More callers than the server lets wait on one run by update (ten): the others join it by waiting for its result.
  test('twelve identical requests answer 202 with the one run they share', async () => {
    const name = `idle_${uniqueSuffix()}`;
    const body = { function_name: name, original_code: `def ${name}(n: int) -> int:\n    return n - 1\n` };
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => postJson(`${idle.url}/api/v1/functions/enhance?wait=1`, body)),
    );

    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(202));
    expect(new Set(answers.map((a) => a.body.run.workflow_id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.run.run_id)).size).toBe(1);
    expect(answers[0]!.body.run.run_id).toMatch(/\S/);
  });
});
