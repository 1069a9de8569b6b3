import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { getJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/**
 * The Python client (clients/python/poet_client) against the real API and worker: its own unittest suite, run with
 * python3, with the stack's URL and keys. The model takes 1.5 s and the wait budget is 1 s, so a miss answers 202 and
 * the client follows the run, while a cache hit answers 200 at once.
 */
const ENHANCE_LIMIT = 30;
const root = path.join(__dirname, '..', '..');
const clientDir = path.join(root, 'clients', 'python');

let fake: FakeLlm;
let stack: TestStack;

beforeAll(async () => {
  fake = await startFakeLlm({ latencyMs: 1500 });
  stack = await startStack('pyclient', {
    LLM_PROVIDERS: JSON.stringify([
      { name: 'fake', base_url: fake.url('good'), model: 'fake-model', timeout_ms: 60_000 },
    ]),
    ENHANCE_WAIT_SECONDS: '1',
    RUN_EVENTS_POLL_MS: '100',
    // Per key: the admin key's tests stay below it, the limited key's test spends it.
    RATE_LIMIT_ENHANCE_PER_MINUTE: String(ENHANCE_LIMIT),
  });
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

function python3(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, {
      cwd,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('the Python client passes its tests against the live service', async () => {
  const { code, output } = await python3(['-m', 'unittest', 'discover', '-v', '-s', 'tests'], clientDir, {
    POET_URL: stack.url,
    POET_API_KEY: stack.apiKey,
    POET_VIEWER_KEY: await stack.createKey('default', 'viewer'),
    POET_LIMITED_KEY: await stack.createKey('default', 'agent'),
    POET_ENHANCE_LIMIT: String(ENHANCE_LIMIT),
  });
  if (code !== 0) throw new Error(`python3 -m unittest exited ${code}:\n${output}`);
  const ran = Number(/^Ran (\d+) tests?/m.exec(output)?.[1]);
  // Every test ran and none was skipped: the count follows the test methods of the client's suite.
  expect(ran).toBe(16);
  expect(output).toMatch(/^OK$/m);
  expect(output).not.toMatch(/skipped/);
}, 300_000);

test('examples/agent.py enhances a function from a file, runs the enhanced module and reports the failing call', async () => {
  const name = `ratio_${uniqueSuffix()}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-'));
  try {
    const file = path.join(dir, 'ratio.py');
    writeFileSync(file, `def ${name}(a: float, b: float) -> float:\n    return a / b\n`);
    const { code, output } = await python3(['examples/agent.py', file, '[6, 3]', '[1, 0]'], root, {
      POET_URL: stack.url,
      POET_API_KEY: stack.apiKey,
    });
    if (code !== 0) throw new Error(`examples/agent.py exited ${code}:\n${output}`);
    expect(output).toContain(`${name} v1: safety`);
    expect(output).toContain(`${name}(6, 3) = 2.0`);
    expect(output).toContain(`${name}(1, 0) raised ZeroDivisionError: division by zero`);
    // The error report made the service regenerate: version 2 is active, version 1 carries the report.
    expect(output).toMatch(/feedback: requires_update, new version 2/);
    const versions = await getJson(`${stack.url}/api/v1/functions/${name}/versions`);
    expect(versions.body.current_version).toBe(2);
    expect(versions.body.versions.find((v: { version: number }) => v.version === 1).metrics).toMatchObject({
      feedback_count: 1,
      error_rate: 0.5,
      success_rate: 0.5,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
