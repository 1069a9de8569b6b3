import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { poetRuntime, RUNTIME_PACKAGE_DIR } from '../../src/poet/runtime';

const run = promisify(execFile);
const pathEnv = process.env.PATH!;

/**
 * The interpreter that runs the runtime's own suite: python3 from PATH when it has pytest and hypothesis, else Debian's,
 * where .ci/run installs python3-pytest and python3-hypothesis (a pyenv python3 first on PATH does not see them).
 */
async function pytestInterpreter(): Promise<string> {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const ok = await run(candidate, ['-c', 'import pytest, hypothesis'], { env: { PATH: pathEnv } }).then(
      () => true,
      () => false,
    );
    if (ok) return candidate;
  }
  throw new Error('no python3 with pytest and hypothesis: apt-get install python3-pytest python3-hypothesis');
}

test('the poet_runtime package passes its own pytest suite', async () => {
  const python = await pytestInterpreter();
  const tests = path.join(RUNTIME_PACKAGE_DIR, 'tests');
  const { stdout } = await run(python, ['-m', 'pytest', tests, '-q', '-p', 'no:cacheprovider'], {
    env: { PATH: pathEnv, PYTHONDONTWRITEBYTECODE: '1' },
    maxBuffer: 8 << 20,
  }).catch((err: { stdout?: string; stderr?: string }) => {
    throw new Error(`pytest failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  });
  expect(stdout).toMatch(/\b\d+ passed\b/);
  expect(stdout).not.toMatch(/failed|error|skipped/);
}, 120_000);

test('the version the service records is the one the package declares', async () => {
  const { stdout } = await run(
    'python3',
    [
      '-I',
      '-c',
      'import sys; sys.path.insert(0, sys.argv[1]); import poet_runtime; print(poet_runtime.__version__)',
      path.dirname(RUNTIME_PACKAGE_DIR),
    ],
    {
      env: { PATH: pathEnv },
    },
  );
  expect(stdout.trim()).toBe(poetRuntime().version);
});
