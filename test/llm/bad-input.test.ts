import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('badinput', { VALIDATION_TIMEOUT_SECONDS: '2', VALIDATION_MEMORY_MB: '256' });
});
afterAll(() => stack.close());

async function versions(name: string): Promise<number> {
  return (await stack.pool.query('SELECT 1 FROM versions WHERE function_name = $1', [name])).rowCount ?? 0;
}

test.each([
  [
    'an infinite loop',
    (n: string) => `def ${n}(x: int) -> int:\n    while True:\n        x += 1\n`,
    /timed out after 2s \(wall clock\) while running the original on sample 0/,
  ],
  [
    'a memory hog',
    (n: string) => `def ${n}(x: int) -> int:\n    return len(bytearray(1 << 36))\n`,
    /the original code exceeded the sandbox's memory limit on sample 0/,
  ],
  [
    'a fork bomb the scan catches',
    (n: string) => `import os\n\ndef ${n}(x: int) -> int:\n    while True:\n        os.fork()\n`,
    /blocked: calls os\.fork \(line \d+\)/,
  ],
])('%s fails the run with the reason and stores nothing', async (_label, code, reason) => {
  const name = `bad_${uniqueSuffix()}`;
  const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: name,
    original_code: code(name),
  });
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe('validation_failed');
  expect(res.body.error.message).toMatch(reason);
  expect(await versions(name)).toBe(0);
});
