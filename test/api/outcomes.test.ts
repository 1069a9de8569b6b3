import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROUTES } from '../../src/api/routes';
import { unitBucket, versionForBucket } from '../../src/app/resolution';
import { runInVersionFolders } from '../helpers/field';
import { freePort } from '../helpers/net';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const run = promisify(execFile);

/** Ten calls of the enhanced function, in the real runtime: 8 answer, 2 divide by zero. */
const CALLS = [
  'answers = [f(6, 3) for _ in range(8)]',
  'for _ in range(2):',
  '    try:\n        f(1, 0)\n    except ZeroDivisionError:\n        answers.append("ZeroDivisionError")',
  'print(json.dumps({"answers": answers, "stats": poet_runtime.report_stats()}))',
];

describe('outcome reports from the field, per-version figures and version resolution', () => {
  let stack: TestStack;
  let name: string;
  let reporter: string;
  const api = (p: string) => `${stack.url}/api/v1${p}`;
  const versionDir = (v: number) => path.join(stack.config.dataDir, 'functions', name, `v${v}`);

  /** Runs CALLS against the stored version folder, its poet_runtime.py beside code.py, reporting to `url`. */
  const callInField = (version: number, env: Record<string, string>) =>
    runInVersionFolders<{ answers: unknown[]; stats: Record<string, unknown> }>([versionDir(version)], name, CALLS, {
      env,
    });

  beforeAll(async () => {
    stack = await startStack('outcomes', { RATE_LIMIT_TENANT_REPORTS_PER_MINUTE: '1500' });
    name = `div_${uniqueSuffix()}`;
    const enhanced = await postJson(api('/functions/enhance'), {
      function_name: name,
      original_code: `def ${name}(a: float, b: float) -> float:\n    return a / b\n`,
      context: { samples: [[6, 3]] },
    });
    expect(enhanced.body.version).toBe(1);
    reporter = await stack.createKey('default', 'reporter');
  });
  afterAll(() => stack.close());

  test('the real runtime reports each call to the live API with a reporter key; the version figures reflect them', async () => {
    const field = await callInField(1, { POET_REPORT_URL: stack.url, POET_REPORT_KEY: reporter });
    expect(field.answers).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 'ZeroDivisionError', 'ZeroDivisionError']);
    // Reported when the process exited (the flush at exit), so none were pending then.
    expect(field.stats).toMatchObject({ enabled: true, dropped: 0, rejected: 0 });

    const outcomes = await getJson(api(`/functions/${name}/versions/1/outcomes?window=1h`));
    expect(outcomes.status).toBe(200);
    expect(outcomes.body).toMatchObject({
      function_name: name,
      version: 1,
      window: '1h',
      calls: 10,
      successes: 8,
      success_rate: 0.8,
      mean_attempts: 1,
      errors: [{ exception_type: 'ZeroDivisionError', count: 2 }],
    });
    const { p50, p95, mean } = outcomes.body.latency_ms;
    expect(p50).toBeGreaterThan(0);
    expect(p95).toBeGreaterThanOrEqual(p50);
    expect(mean).toBeGreaterThan(0);
    // Aggregated: one row per minute, not one per call.
    const rows = await stack.pool.query('SELECT calls FROM outcome_buckets WHERE function_name = $1', [name]);
    expect(rows.rows.length).toBeLessThanOrEqual(2);
  });

  test('with the API unreachable the calls answer as ever, and the runtime drops and counts what it cannot keep', async () => {
    const closedPort = await freePort();
    const field = await callInField(1, {
      POET_REPORT_URL: `http://127.0.0.1:${closedPort}`,
      POET_REPORT_KEY: reporter,
      POET_REPORT_MAX_PENDING: '4',
    });
    expect(field.answers).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 'ZeroDivisionError', 'ZeroDivisionError']);
    expect(field.stats).toEqual({ enabled: true, pending: 4, sent: 0, dropped: 6, rejected: 0 });
  });

  test('reports for a version the tenant does not have are refused and listed, the rest stored; bad batches are 400', async () => {
    const report = (version: number, over: Record<string, unknown> = {}) => ({
      function_name: name,
      version,
      success: false,
      exception_type: 'TimeoutError',
      latency_ms: 1200,
      attempts: 3,
      ...over,
    });
    const answer = await postJson(
      api('/outcomes'),
      { reports: [report(1), report(99), report(99)] },
      {
        'x-api-key': reporter,
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      accepted: 1,
      rejected: [{ function_name: name, version: 99, reports: 2, reason: 'version_not_found' }],
    });
    // Another tenant's reporter cannot add to this tenant's version.
    const other = await stack.createKey('other', 'reporter');
    expect((await postJson(api('/outcomes'), { reports: [report(1)] }, { 'x-api-key': other })).body.accepted).toBe(0);

    const outcomes = await getJson(api(`/functions/${name}/versions/1/outcomes`));
    expect(outcomes.body.errors).toContainEqual({ exception_type: 'TimeoutError', count: 1 });
    for (const bad of [
      { reports: [] },
      { reports: [report(1, { latency_ms: -1 })] },
      { reports: [report(1, { exception_type: 'not a class; DROP TABLE' })] },
      { reports: [report(1, { extra: true })] },
    ]) {
      const refused = await postJson(api('/outcomes'), bad, { 'x-api-key': reporter });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('invalid_request');
    }
    expect((await getJson(api(`/functions/${name}/versions/7/outcomes`))).status).toBe(404);
  });

  test('a row keeps the 50 most frequent exception classes by name and counts the rest together', async () => {
    const other = `errs_${uniqueSuffix()}`;
    const made = await postJson(api('/functions/enhance'), {
      function_name: other,
      original_code: `def ${other}(a: float) -> float:\n    return a\n`,
      context: { samples: [[1]] },
    });
    expect(made.body.version).toBe(1);
    const failures = (types: string[]) => ({
      reports: types.map((t) => ({
        function_name: other,
        version: 1,
        success: false,
        exception_type: t,
        latency_ms: 1,
        attempts: 1,
      })),
    });
    // Twice as many of the first class, so it is kept by name whatever comes after.
    const first = ['Frequent', 'Frequent', ...Array.from({ length: 59 }, (_, i) => `E${i}`)];
    expect((await postJson(api('/outcomes'), failures(first), { 'x-api-key': reporter })).body.accepted).toBe(61);
    expect((await postJson(api('/outcomes'), failures(['Late1', 'Late2']), { 'x-api-key': reporter })).status).toBe(
      200,
    );
    const { body } = await getJson(api(`/functions/${other}/versions/1/outcomes`));
    expect(body.calls).toBe(63);
    expect(body.errors).toHaveLength(51);
    // 49 of the classes seen once keep their names (by name order), the other 10 and both late ones are "(other)".
    expect(body.errors.slice(0, 2)).toEqual([
      { exception_type: '(other)', count: 12 },
      { exception_type: 'Frequent', count: 2 },
    ]);
    expect(body.errors.reduce((sum: number, e: { count: number }) => sum + e.count, 0)).toBe(63);
  });

  test("a tenant's report budget counts each report, whatever the batch size", async () => {
    const key = await stack.createKey('budget', 'reporter');
    const reports = Array.from({ length: 1000 }, () => ({
      function_name: 'f',
      version: 1,
      success: true,
      latency_ms: 1,
      attempts: 1,
    }));
    expect((await postJson(api('/outcomes'), { reports }, { 'x-api-key': key })).status).toBe(200);
    const over = await postJson(api('/outcomes'), { reports }, { 'x-api-key': key });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('a reporter key may report and nothing else: 403 on every other route', async () => {
    const guarded = ROUTES.filter((r) => r.auth === 'api_key' && r.role !== 'reporter');
    expect(guarded.length).toBeGreaterThan(20);
    for (const rule of guarded) {
      const url = stack.url + rule.path.replace(/:([a-z_]+)/g, (_m, param: string) => (param === 'v' ? '1' : name));
      const answer = await requestJson(rule.method, url, rule.method === 'GET' ? undefined : {}, {
        'x-api-key': reporter,
      });
      expect({ route: `${rule.method} ${rule.path}`, status: answer.status }).toEqual({
        route: `${rule.method} ${rule.path}`,
        status: 403,
      });
      expect(answer.body.error.code).toBe('forbidden');
    }
    expect((await getJson(api('/no-such-route'), { 'x-api-key': reporter })).status).toBe(403);
  });

  test('resolve answers the active version with its code URLs, the same for a unit every time, and follows activation', async () => {
    const resolve = async (unit: string) => getJson(api(`/functions/${name}/resolve?unit=${encodeURIComponent(unit)}`));
    const first = await resolve('user-42');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      function_name: name,
      unit: 'user-42',
      version: 1,
      bucket: unitBucket('default', name, 'user-42'),
      reason: 'active',
      urls: {
        version: `/api/v1/functions/${name}/versions/1`,
        python: `/api/v1/functions/${name}/versions/1/code/python`,
        dana: `/api/v1/functions/${name}/versions/1/code/dana`,
      },
    });
    expect((await resolve('user-42')).body).toEqual(first.body);
    const code = await fetch(stack.url + first.body.urls.python, { headers: { 'x-api-key': stack.apiKey } });
    expect(await code.text()).toContain(`def ${name}(a: float, b: float)`);

    // A new active version: every unit resolves to it, each in the bucket it had.
    const v2 = await postJson(api('/functions/enhance'), {
      function_name: name,
      original_code: `def ${name}(a: float, b: float) -> float:\n    return float(a) / b\n`,
      context: { samples: [[6, 3]] },
    });
    expect(v2.body.version).toBe(2);
    const units = ['user-42', 'job:7', 'tenant user/9', 'ユーザー'];
    for (const unit of units) {
      const answer = await resolve(unit);
      expect(answer.body).toMatchObject({ version: 2, bucket: unitBucket('default', name, unit) });
    }

    expect((await getJson(api(`/functions/${name}/resolve`))).status).toBe(400);
    expect((await resolve('tab\there')).status).toBe(400);
    expect((await getJson(api('/functions/no_such_fn/resolve?unit=u'))).body.error.code).toBe('function_not_found');
  });

  test("the runtime resolves a unit's version and that version's params through the live API with a viewer key", async () => {
    const script = [
      'import json, sys, poet_runtime',
      'try:\n    print(json.dumps(poet_runtime.resolve_version(sys.argv[1], sys.argv[2])))',
      'except poet_runtime.PoetResolveError as err:\n    print(json.dumps({"status": err.status, "code": err.code}))',
    ].join('\n');
    // The stored version folder's own poet_runtime.py, the service's URL and key from the environment.
    const dir = versionDir(2);
    const inField = async (fn: string, key: string) =>
      JSON.parse(
        (
          await run('python3', ['-B', '-c', script, fn, 'user-42'], {
            cwd: dir,
            env: { PATH: process.env.PATH!, PYTHONPATH: dir, POET_REPORT_URL: stack.url, POET_RESOLVE_KEY: key },
          })
        ).stdout,
      );
    const viewer = await stack.createKey('default', 'viewer');
    const detail = await getJson(api(`/functions/${name}/versions/2`));
    expect(await inField(name, viewer)).toEqual({
      function_name: name,
      unit: 'user-42',
      version: 2,
      reason: 'active',
      bucket: unitBucket('default', name, 'user-42'),
      params: detail.body.params,
    });
    expect(Object.keys(detail.body.params)).toContain('retries');
    expect(await inField(name, reporter)).toEqual({ status: 403, code: 'forbidden' });
    expect(await inField('no_such_fn', viewer)).toEqual({ status: 404, code: 'function_not_found' });
  });
});

describe('units and buckets', () => {
  const units = Array.from({ length: 4000 }, (_, i) => `unit-${i}`);

  test('a unit keeps its bucket, and units spread evenly over the buckets', () => {
    const buckets = units.map((u) => unitBucket('t', 'f', u));
    expect(units.map((u) => unitBucket('t', 'f', u))).toEqual(buckets);
    const belowQuarter = buckets.filter((b) => b < 2500).length / units.length;
    expect(belowQuarter).toBeGreaterThan(0.22);
    expect(belowQuarter).toBeLessThan(0.28);
    // Another function places the same units elsewhere: no unit is first in line for every rollout.
    expect(units.map((u) => unitBucket('t', 'g', u))).not.toEqual(buckets);
  });

  test('raising a rollout share only adds units to the candidate; without one every unit runs the active version', () => {
    const buckets = units.map((u) => unitBucket('t', 'f', u));
    let previous = new Set<number>();
    for (const sharePercent of [5, 25, 50, 100]) {
      const onCandidate = new Set(
        buckets.flatMap((b, i) => (versionForBucket(b, 1, { candidate: 2, sharePercent }) === 2 ? [i] : [])),
      );
      for (const i of previous) expect(onCandidate.has(i)).toBe(true);
      expect(Math.abs(onCandidate.size / units.length - sharePercent / 100)).toBeLessThan(0.03);
      previous = onCandidate;
    }
    expect(previous.size).toBe(units.length);
    expect(buckets.every((b) => versionForBucket(b, 1) === 1)).toBe(true);
  });
});
