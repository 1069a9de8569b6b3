import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SandboxRequest } from '../../src/contracts/analysis';
import { runSandbox, type SandboxOptions } from '../../src/infra/sandbox/run';
import { SandboxForkServer } from '../../src/infra/sandbox/fork-server';
import { sandboxPython } from '../helpers/sandbox';

// The interpreter's own packages are importable inside the isolation (read-only); PyYAML is installed for the
// python3 the tests run (scripts/test.sh checks it).
const YAML_CODE = 'import yaml\n\ndef f(text: str):\n    return yaml.safe_load(text)\n';

const request = (extra: Partial<SandboxRequest> = {}): SandboxRequest => ({
  original_code: YAML_CODE,
  enhanced_code: YAML_CODE,
  function_name: 'f',
  samples: [['a: 1'], ['[1, 2]']],
  timeout_s: 10,
  memory_mb: 256,
  ...extra,
});

const forkServer = new SandboxForkServer(sandboxPython);
afterAll(() => forkServer.close());

describe.each<[string, SandboxOptions]>([
  ['one-shot', sandboxPython],
  ['fork server', { ...sandboxPython, forkServer }],
])('third-party packages in the sandbox (%s)', (_path, opts) => {
  it("imports the interpreter's installed packages", async () => {
    const result = await runSandbox(request({ dependencies: ['PyYAML', 'yaml'] }), opts);
    expect(result).toMatchObject({ errors: [], mismatches: [], samples_run: 2, safety_level: 'high' });
  });

  it('names a declared dependency the interpreter lacks, before running anything', async () => {
    const result = await runSandbox(request({ dependencies: ['PyYAML', 'no-such-package-poet'] }), opts);
    expect(result).toMatchObject({ imported: false, samples_run: 0, safety_level: 'low' });
    expect(result.errors).toEqual([
      {
        stage: 'dependency',
        message: expect.stringMatching(
          /^dependency 'no-such-package-poet' is not installed for the sandbox's interpreter/,
        ),
        line: null,
      },
    ]);
  });
});

describe('a sandbox interpreter that is a venv under /tmp', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-sandbox-venv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('validates isolated: its prefix is bound inside the private /tmp rather than hidden by it', async () => {
    // --system-site-packages: the venv sees the base interpreter's PyYAML, as an operator's venv sees what they install.
    execFileSync('python3', ['-m', 'venv', '--without-pip', '--system-site-packages', path.join(dir, 'venv')]);
    const venv = { ...sandboxPython, pythonBin: path.join(dir, 'venv', 'bin', 'python3') };
    const result = await runSandbox(request({ dependencies: ['PyYAML'] }), venv);
    expect(result).toMatchObject({ errors: [], mismatches: [], samples_run: 2, safety_level: 'high' });
  });
});
