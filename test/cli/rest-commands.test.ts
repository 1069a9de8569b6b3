import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { poetRuntime } from '../../src/poet/runtime';
import { poet } from '../helpers/cli';
import { freePort } from '../helpers/net';
import { startStack, type TestStack } from '../helpers/stack';

// The built CLI as a REST client of the real stack (API, worker, Temporal, PostgreSQL, Redis).
let stack: TestStack;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await startStack('cli_rest');
  dir = mkdtempSync(path.join(os.tmpdir(), 'poet-cli-'));
  env = { POET_URL: stack.url, POET_API_KEY: stack.apiKey };
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await stack.close();
});

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

function pyFile(name: string, code: string): string {
  const file = path.join(dir, `${name}.py`);
  writeFileSync(file, code);
  return file;
}

test('enhance --json follows the run to its end: progress on stderr, the result on stdout', async () => {
  const file = pyFile('cli_double', 'def cli_double(x: int) -> int:\n    return 2 * x\n');
  const run = await poet(['enhance', file, '--domain', 'computation', '--json'], env);
  expect(run).toMatchObject({ code: 0 });
  const body = JSON.parse(run.stdout);
  expect(body).toMatchObject({
    status: 'completed',
    result: { function_name: 'cli_double', version: 1, metadata: { domain: 'computation' } },
  });
  expect(body.result.enhanced_code.python).toContain('def cli_double');
  expect(JSON.parse(run.stderr.trim().split('\n').at(-1)!)).toMatchObject({
    workflow_id: expect.stringMatching(/^enhance-cli_double-[0-9a-f]{12}$/),
    event: 'end',
    status: 'completed',
  });
});

test('enhance --async prints the run id; runs watch follows it and prints the outcome', async () => {
  const file = pyFile('helper_module', 'def cli_inc(x: int) -> int:\n    return x + 1\n');
  const started = await poet(['enhance', file, '--function', 'cli_inc', '--async'], env);
  expect(started.code).toBe(0);
  const id = started.stdout.trim();
  expect(id).toMatch(/^enhance-cli_inc-[0-9a-f]{12}$/);

  const watched = await poet(['runs', 'watch', id, '--url', stack.url, '--api-key', stack.apiKey]);
  expect(watched.code).toBe(0);
  expect(watched.stdout).toMatch(/^cli_inc v1: safety \w+, cache (hit|miss), provider \w+/);
});

test('usage errors exit 2 before anything is sent', async () => {
  const missingFile = await poet(['enhance', path.join(dir, 'absent.py')], env);
  expect(missingFile.code).toBe(2);
  expect(missingFile.stderr).toContain('cannot read');
  expect((await poet(['enhance'], env)).code).toBe(2);
  expect((await poet(['enhance', pyFile('a', 'def a():\n    pass\n'), '--wait', '--async'], env)).code).toBe(2);
  expect((await poet(['runs', 'watch', 'x', '--url', 'not a url'])).code).toBe(2);
  expect((await poet(['frobnicate'])).code).toBe(2);
});

test('the API refusing a request exits 3 with its error code and details', async () => {
  const file = pyFile('cli_bad', 'def cli_bad(x):\n    return x\n');
  const unknownDomain = await poet(['enhance', file, '--domain', 'no_such_domain'], env);
  expect(unknownDomain.code).toBe(3);
  expect(unknownDomain.stderr).toContain('400 unknown_domain');

  const noKey = await poet(['runs', 'watch', 'enhance-x-000000000000'], { POET_URL: stack.url });
  expect(noKey.code).toBe(3);
  expect(noKey.stderr).toMatch(/^poet: 401 /);

  const missingRun = await poet(['runs', 'watch', 'enhance-x-000000000000', '--json'], env);
  expect(missingRun.code).toBe(3);
  expect(missingRun.stderr).toContain('404 run_not_found');
});

test('an unreachable API exits 4', async () => {
  const port = await freePort();
  const run = await poet(['runs', 'watch', 'enhance-x-000000000000'], {
    POET_URL: `http://127.0.0.1:${port}`,
    POET_API_KEY: 'k',
  });
  expect(run.code).toBe(4);
  expect(run.stderr).toContain('cannot reach the API');
});

test('feedback regenerates; versions lists both with their feedback; diff shows what changed', async () => {
  const file = pyFile('cli_ratio', 'def cli_ratio(a: float, b: float) -> float:\n    return a / b\n');
  expect((await poet(['enhance', file], env)).code).toBe(0);

  const feedback = await poet(
    [
      'feedback',
      'cli_ratio',
      '--version',
      '1',
      '--type',
      'error',
      '--rating',
      '2',
      '--comments',
      'TimeoutError: timed out after 30 s',
      '--error-rate',
      '0.4',
    ],
    env,
  );
  expect(feedback).toMatchObject({ code: 0 });
  expect(feedback.stdout).toMatch(/^requires_update: cli_ratio v1 -> v2 \(.*timeouts.*\)/);

  const versions = await poet(['versions', 'cli_ratio'], env);
  expect(versions.code).toBe(0);
  const lines = versions.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^version\s+status\s+created/);
  expect(lines[1]).toMatch(/^v2\*\s+active\s/);
  expect(lines[2]).toMatch(/^v1\s+deprecated\s.*\s1\s+-\s+0\.40\s+-$/);
  const json = JSON.parse((await poet(['versions', 'cli_ratio', '--json'], env)).stdout);
  expect(json).toMatchObject({
    current_version: 2,
    versions: expect.arrayContaining([
      expect.objectContaining({ version: 1, metrics: expect.objectContaining({ feedback_count: 1, error_rate: 0.4 }) }),
    ]),
  });

  const diff = await poet(['diff', 'cli_ratio', '1', 'v2', '--all'], env);
  expect(diff.code).toBe(0);
  expect(diff.stdout).toContain('--- v1/code.py');
  expect(diff.stdout).toContain('+  "retries": 5,');

  expect((await poet(['diff', 'cli_ratio', '1', 'nine'], env)).code).toBe(2);
  expect((await poet(['feedback', 'cli_ratio', '--version', '1', '--rating', '9'], env)).code).toBe(2);
  const missing = await poet(['diff', 'cli_ratio', '1', '9'], env);
  expect(missing.code).toBe(3);
  expect(missing.stderr).toContain('404 version_not_found');
  expect((await poet(['versions', 'no_such_function'], env)).code).toBe(3);
});

test('versions get writes the version folder with the runtime it was validated with, which runs on its own; feedback --example binds the next version', async () => {
  const file = pyFile('cli_half', 'def cli_half(x: float) -> float:\n    return x / 2\n');
  expect((await poet(['enhance', file], env)).code).toBe(0);
  const folder = path.join(dir, 'half');
  const got = await poet(['versions', 'get', 'cli_half', '1', '--dir', folder, '--json'], env);
  expect(got).toMatchObject({ code: 0 });
  const runtime = { version: poetRuntime().version, sha256: sha256Hex(poetRuntime().source) };
  expect(JSON.parse(got.stdout)).toEqual({
    dir: folder,
    files: ['code.py', 'code.dana', 'params.json', 'metadata.json', 'poet_runtime.py'],
    runtime: { ...runtime, fetched: true },
  });
  expect(readFileSync(path.join(folder, 'poet_runtime.py'), 'utf8')).toBe(poetRuntime().source);
  expect(JSON.parse(readFileSync(path.join(folder, 'metadata.json'), 'utf8'))).toMatchObject({
    version: 1,
    runtime_version: runtime.version,
  });
  // Only the folder on the path (-c puts the working directory first): code.py imports the poet_runtime.py beside it.
  const script = 'import runpy\nf = runpy.run_path("code.py")["cli_half"]\nprint(f(5.0), f.__name__)';
  expect(execFileSync('python3', ['-c', script], { cwd: folder, encoding: 'utf8' }).trim()).toBe('2.5 cli_half');

  // Again: the runtime there already matches the API's (304), so it is kept, not fetched.
  const again = await poet(['versions', 'get', 'cli_half', '1', '--dir', folder], env);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(
    `cli_half v1 -> ${folder}: code.py, code.dana, params.json, metadata.json, poet_runtime.py`,
  );
  expect(again.stderr).toContain(`poet_runtime ${runtime.version} (sha256 ${runtime.sha256}), the file there already`);

  // A feedback example the version fails: the regeneration that still fails it is refused, naming it.
  const example = await poet(
    ['feedback', 'cli_half', '--version', '1', '--type', 'error', '--example', '{"args": [5.0], "expected": 2.0}'],
    env,
  );
  expect(example.code).toBe(3);
  expect(example.stderr).toContain('422 validation_failed');
  expect(example.stderr).toContain('feedback example 0 {"args":[5],"kwargs":{}} failed: expected 2, ');
  expect((await poet(['feedback', 'cli_half', '--version', '1', '--example', '{args: [5]}'], env)).code).toBe(2);

  const missing = await poet(['versions', 'get', 'cli_half', '4', '--dir', folder], env);
  expect(missing.code).toBe(3);
  expect(missing.stderr).toContain('404 version_not_found');
});

test('resolve names the version a unit runs, the same each time; outcomes prints what the field reported', async () => {
  const file = pyFile('cli_quarter', 'def cli_quarter(x: float) -> float:\n    return x / 4\n');
  expect((await poet(['enhance', file], env)).code).toBe(0);

  const resolved = await poet(['resolve', 'cli_quarter', '--unit', 'user-7'], env);
  expect(resolved).toMatchObject({ code: 0 });
  expect(resolved.stdout.trim()).toMatch(
    /^cli_quarter v1 for user-7 \(active, bucket \d+\): \/api\/v1\/functions\/cli_quarter\/versions\/1\/code\/python$/,
  );
  const json = JSON.parse((await poet(['resolve', 'cli_quarter', '--unit', 'user-7', '--json'], env)).stdout);
  expect(json).toMatchObject({ function_name: 'cli_quarter', unit: 'user-7', version: 1, reason: 'active' });
  expect(resolved.stdout).toContain(`bucket ${json.bucket})`);
  expect((await poet(['resolve', 'cli_quarter'], env)).code).toBe(2);

  await fetch(`${stack.url}/api/v1/outcomes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
    body: JSON.stringify({
      reports: [
        { function_name: 'cli_quarter', version: 1, success: true, latency_ms: 2, attempts: 1 },
        {
          function_name: 'cli_quarter',
          version: 1,
          success: false,
          exception_type: 'TypeError',
          latency_ms: 2,
          attempts: 1,
        },
      ],
    }),
  });
  const outcomes = await poet(['outcomes', 'cli_quarter', 'v1', '--window', '1h'], env);
  expect(outcomes).toMatchObject({ code: 0 });
  expect(outcomes.stdout).toMatch(
    /^cli_quarter v1, last 1h: 2 calls, success 0\.5000, p50 [\d.]+ ms, p95 [\d.]+ ms, attempts 1\.00\n {2}TypeError: 1\n$/,
  );
});

test('rollout starts, shows, pauses and aborts a rollout; the baseline stays active', async () => {
  const file = pyFile('cli_rollout', 'def cli_rollout(x: float) -> float:\n    return x / 2\n');
  expect((await poet(['enhance', file], env)).code).toBe(0);
  writeFileSync(file, 'def cli_rollout(x: float) -> float:\n    return x * 0.5\n');
  expect((await poet(['enhance', file], env)).code).toBe(0);

  const started = await poet(['rollout', 'cli_rollout', 'start', '--candidate', 'v1', '--steps', '10,100'], env);
  expect(started).toMatchObject({ code: 0 });
  expect(started.stdout).toMatch(
    /^cli_rollout: rollout of v1 against v2 started \(rollout-cli_rollout-[0-9a-f]{8}\)\n$/,
  );
  const paused = await poet(['rollout', 'cli_rollout', 'pause'], env);
  expect(paused.stdout).toBe('cli_rollout: v1 against v2, paused, 10 % of units (steps 10/100)\n');
  const status = JSON.parse((await poet(['rollout', 'cli_rollout', '--json'], env)).stdout);
  expect(status).toMatchObject({ status: 'paused', share_percent: 10, candidate_version: 1 });
  const aborted = await poet(['rollout', 'cli_rollout', 'abort'], env);
  expect(aborted.stdout).toBe('cli_rollout: v1 against v2, aborted, 0 % of units (steps 10/100)\n');
  const fn = await fetch(`${stack.url}/api/v1/functions/cli_rollout`, { headers: { 'x-api-key': stack.apiKey } });
  expect(((await fn.json()) as { current_version: number }).current_version).toBe(2);
  expect((await poet(['rollout', 'cli_rollout', 'explode'], env)).code).toBe(2);
  expect((await poet(['rollout', 'cli_rollout', 'start'], env)).code).toBe(2);
});
