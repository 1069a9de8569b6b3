import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { poet, poetLive } from '../helpers/cli';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

// The built CLI following runs live: the fake provider takes its time, so the generate stage can be seen as it happens.
let fake: FakeLlm;
let stack: TestStack;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeLlm({ latencyMs: 1500 });
  stack = await startStack('cli_progress', {
    // byname: `hang_*` functions hang until the call is aborted, the rest get a good answer.
    LLM_PROVIDERS: JSON.stringify([
      { name: 'primary', base_url: fake.url('byname'), model: 'fake-large', timeout_ms: 100_000 },
    ]),
    RUN_EVENTS_POLL_MS: '100',
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'poet-cli-progress-'));
  env = { POET_URL: stack.url, POET_API_KEY: stack.apiKey };
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await stack.close();
  await fake.close();
});

function pyFile(name: string, code = `def ${name}(x: int) -> int:\n    return x + 1\n`): string {
  const file = path.join(dir, `${name}.py`);
  writeFileSync(file, code);
  return file;
}

/** The stages of the human progress lines, in the order printed: `[   1.5s] <workflow id> <stage>[: detail]`. */
function stagesPrinted(stderr: string, id: string): string[] {
  const line = new RegExp(`^\\[\\s*\\d+\\.\\ds\\] ${id} (\\w+)`);
  return stderr.split('\n').flatMap((l) => l.match(line)?.[1] ?? []);
}

const RUN_ID = /enhance-[a-z_0-9]+-[0-9a-f]{12}/;

test('enhance --wait prints each stage as it happens, with elapsed time, then the result on stdout', async () => {
  const name = `live_${uniqueSuffix()}`;
  const cli = poetLive(['enhance', pyFile(name), '--wait'], env);
  // Live, not replayed: when generate is printed, the provider is still answering and nothing after it is out.
  const atGenerate = await cli.stderrMatching(/ generate: /);
  expect(atGenerate).not.toMatch(/ (validate|store|completed)\b/);
  const id = atGenerate.match(RUN_ID)![0];

  const run = await cli.done;
  expect(run.code).toBe(0);
  expect(stagesPrinted(run.stderr, id)).toEqual([
    'queued',
    'cache',
    'generate',
    'validate',
    'store',
    'publish',
    'completed',
  ]);
  // The generate stage took the provider's latency: validate starts at least that long after the run was queued.
  const validateAt = Number(run.stderr.match(new RegExp(`\\[\\s*(\\d+\\.\\d)s\\] ${id} validate`))![1]);
  expect(validateAt).toBeGreaterThanOrEqual(1.5);
  expect(run.stdout).toMatch(new RegExp(`^${name} v1: safety \\w+, cache miss, provider primary`));
});

test('runs watch follows an async run live; --json gives NDJSON stage events on stderr and the run on stdout', async () => {
  const name = `watch_${uniqueSuffix()}`;
  const started = await poet(['enhance', pyFile(name), '--async'], env);
  expect(started.code).toBe(0);
  const id = started.stdout.trim();

  const cli = poetLive(['runs', 'watch', id, '--json'], env);
  const atGenerate = await cli.stderrMatching(/"stage":"generate"/);
  expect(atGenerate).not.toContain('"stage":"completed"');
  const run = await cli.done;
  expect(run.code).toBe(0);

  const events = run.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const stages = events.filter((e) => e.event === 'stage');
  expect(stages.map((e) => e.stage)).toEqual([
    'queued',
    'cache',
    'generate',
    'validate',
    'store',
    'publish',
    'completed',
  ]);
  expect(stages[2]).toMatchObject({
    workflow_id: id,
    stage: 'generate',
    detail: expect.stringContaining('primary'),
    elapsed_s: expect.any(Number),
  });
  expect(events.at(-1)).toEqual({ workflow_id: id, event: 'end', status: 'completed' });
  expect(JSON.parse(run.stdout)).toMatchObject({
    status: 'completed',
    run: { workflow_id: id },
    result: { function_name: name, version: 1 },
  });
});

test('a failed run and a canceled run exit 5 after their last stage; an unknown run exits 3', async () => {
  const broken = `broken_${uniqueSuffix()}`;
  const failed = await poet(
    ['enhance', pyFile(broken, `raise RuntimeError("no import")\n\ndef ${broken}(x):\n    return x\n`)],
    env,
  );
  expect(failed.code).toBe(5);
  const failedId = failed.stderr.match(RUN_ID)![0];
  expect(stagesPrinted(failed.stderr, failedId).slice(-3)).toEqual(['generate', 'validate', 'failed']);
  expect(failed.stderr).toMatch(/poet: run \S+ failed: validation_failed/);

  const hanging = `hang_${uniqueSuffix()}`;
  const id = (await poet(['enhance', pyFile(hanging), '--async'], env)).stdout.trim();
  const cli = poetLive(['runs', 'watch', id], env);
  await cli.stderrMatching(/ generate: /);
  expect((await requestJson('DELETE', `${stack.url}/api/v1/runs/${id}`)).status).toBe(202);
  const canceled = await cli.done;
  expect(canceled.code).toBe(5);
  expect(stagesPrinted(canceled.stderr, id).at(-1)).toBe('canceled');
  expect(canceled.stderr).toContain(`poet: run ${id} canceled`);

  const missing = await poet(['runs', 'watch', 'enhance-none-000000000000'], env);
  expect(missing.code).toBe(3);
  expect(missing.stderr).toContain('404 run_not_found');
});

test('when the event stream breaks, the CLI polls the run instead and still prints its stages in order', async () => {
  // In front of the API: every event stream is cut right after it opens; everything else passes through.
  const api = new URL(stack.url);
  const proxy = http.createServer((req, res) => {
    if (req.url?.endsWith('/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 2000\n\n', () => res.destroy());
      return;
    }
    const upstream = http.request(
      { host: api.hostname, port: api.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const name = `poll_${uniqueSuffix()}`;
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const run = await poet(['enhance', pyFile(name)], { ...env, POET_URL: url });
    expect(run.code).toBe(0);
    const id = run.stderr.match(RUN_ID)![0];
    // Polls see the history up to some stage (the provider's latency keeps generate in view); then the outcome.
    const printed = stagesPrinted(run.stderr, id);
    expect(printed).toEqual(
      ['queued', 'cache', 'generate', 'validate', 'store', 'publish', 'completed'].slice(0, printed.length),
    );
    expect(printed).toContain('generate');
    // The last poll saw either the completed stage or, after it, the ended run: both end the output with it.
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`${id} completed$`));
    expect(run.stdout).toMatch(new RegExp(`^${name} v1: `));
  } finally {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
});
