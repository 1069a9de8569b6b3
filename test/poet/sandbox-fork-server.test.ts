import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { SandboxRequest } from '../../src/contracts/analysis';
import { createLogger } from '../../src/infra/observability/logger';
import { runSandbox, type SandboxOptions } from '../../src/infra/sandbox/run';
import { SandboxForkServer } from '../../src/infra/sandbox/fork-server';
import { waitUntil } from '../../src/cli/wait';
import { childrenOf, ended } from '../helpers/processes';
import { sandboxPython, scriptDir } from '../helpers/sandbox';

const python = sandboxPython;

const ORIGINAL = 'def f():\n    return None\n';

const request = (enhanced: string, extra: Partial<SandboxRequest> = {}): SandboxRequest => ({
  original_code: ORIGINAL,
  enhanced_code: enhanced,
  function_name: 'f',
  samples: [[]],
  timeout_s: 5,
  memory_mb: 256,
  ...extra,
});

/** Enhanced code whose f() returns `expression` as JSON, after `prelude` ran at import. */
const probeCode = (expression: string, prelude = '') =>
  `import json, os\n${prelude}\n\ndef f():\n    return json.dumps(${expression})\n`;

/** What f() returned: the original returns None, so the value comes back as the enhanced side of a mismatch. */
function returned(result: Awaited<ReturnType<typeof runSandbox>>): unknown {
  const repr = result.mismatches[0]?.enhanced;
  if (!repr) throw new Error(`no value came back: ${JSON.stringify(result.errors)}`);
  return JSON.parse(repr.slice(1, -1)); // the repr of a str: '...'
}

async function probe(opts: SandboxOptions, expression: string, prelude = ''): Promise<unknown> {
  return returned(await runSandbox(request(probeCode(expression, prelude)), opts));
}

/** Whether the validation ran in a child of the fork server, which preloads asyncio (a one-shot run does not). */
const forked = async (opts: SandboxOptions) => (await probe(opts, '"asyncio" in sys.modules', 'import sys')) as boolean;

/** The running server's pid after one validation through it. */
async function serverPid(opts: SandboxOptions & { forkServer: SandboxForkServer }): Promise<number> {
  expect(await forked(opts)).toBe(true);
  return opts.forkServer.pid!;
}

// What the guard denies cannot be undone from the code under test: its list and functions are bound in the hook.
const UNDO_GUARD = [
  'import os, sys',
  'for module in list(sys.modules.values()):',
  '    denied = getattr(module, "_DENIED_EVENTS", None)',
  '    if denied is not None:',
  '        getattr(denied, "clear", lambda: None)()',
  '        module._DENIED_EVENTS = set()',
  '        module._WRITE_FLAGS = 0',
  '',
  'def f():',
  '    return str(getattr(os, "fo" + "rk")())',
].join('\n');

describe('SandboxForkServer', () => {
  const forkServer = new SandboxForkServer(python);
  const opts = { ...python, forkServer };
  afterAll(() => forkServer.close());

  it('runs each validation in a child of one warm server', async () => {
    const server = await serverPid(opts);
    expect(server).not.toBe(process.pid);
    expect(await serverPid(opts)).toBe(server);
  });

  it.each([
    [
      'kills itself',
      'import signal\nsignal.raise_signal(signal.SIGKILL)\n\ndef f():\n    return None\n',
      {},
      /killed by SIGKILL without a result/,
    ],
    ['calls os._exit', 'import os\n\ndef f():\n    os._exit(3)\n', {}, /exited with code 3 without a result/],
    [
      'exhausts its memory',
      'def f():\n    hog = []\n    while True:\n        hog.append(bytearray(1 << 20))\n',
      {},
      /exceeded the sandbox's memory limit/,
    ],
    [
      'sleeps past its timeout with the alarm blocked',
      'import signal, time\n\ndef f():\n    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n    time.sleep(60)\n',
      { timeout_s: 0.5 },
      /^timed out/,
    ],
  ])('keeps serving after a validation that %s', async (_what, code, extra, error) => {
    const server = await serverPid(opts);
    const result = await runSandbox(request(code, extra), opts);
    expect(result.safety_level).toBe('low');
    expect(result.errors[0]?.message).toMatch(error);
    expect(await serverPid(opts)).toBe(server);
  });

  it('keeps the guard in force when the code under test rebinds what it finds in the harness module', async () => {
    const result = await runSandbox(request(UNDO_GUARD), opts);
    expect(JSON.stringify(result)).toContain('sandbox: os.fork is not allowed');
  });

  it('keeps what a validation changes in its process (globals, modules, environment, rlimits, signals, fds) from the next', async () => {
    const state = [
      'math.pi',
      'hasattr(builtins, "poet_leak")',
      'os.environ.get("POET_LEAK")',
      '"poet_leak" in sys.modules',
      'resource.getrlimit(resource.RLIMIT_NOFILE)[0]',
      'signal.getsignal(signal.SIGTERM) == signal.SIG_DFL',
      'len(os.listdir("/proc/self/fd"))',
    ].join(', ');
    const imports = 'import builtins, math, resource, signal, sys';
    const tamper = [
      imports,
      'math.pi = 3',
      'builtins.poet_leak = True',
      'os.environ["POET_LEAK"] = "1"',
      'sys.modules["poet_leak"] = math',
      'resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))',
      'signal.signal(signal.SIGTERM, signal.SIG_IGN)',
      'leaked = [open(f"leak{i}.txt", "w") for i in range(5)]',
    ].join('\n');
    const server = await serverPid(opts);
    const clean = await probe(opts, `[${state}]`, imports);
    const tampered = await probe(opts, `[${state}]`, tamper);
    expect(tampered).toEqual([3, true, '1', true, 64, false, expect.any(Number)]);
    expect(await probe(opts, `[${state}]`, imports)).toEqual(clean);
    expect(await serverPid(opts)).toBe(server);
  });

  it('replaces the isolated processes it keeps ready when they die while they wait', async () => {
    const server = await serverPid(opts);
    // Made while the server is idle, after the validation above.
    await waitUntil(async () => childrenOf(server).length === 2, 5_000, 'two isolated processes ready');
    const ready = childrenOf(server);
    for (const pid of ready) process.kill(-pid, 'SIGKILL');
    await waitUntil(async () => ready.every(ended), 5_000, 'the ready processes gone');
    expect(await serverPid(opts)).toBe(server);
    expect(await serverPid(opts)).toBe(server);
  });

  it('returns each of concurrent validations its own result', async () => {
    const server = await serverPid(opts);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        probe(opts, `[${i}, "asyncio" in sys.modules]`, 'import sys, time\ntime.sleep(0.2)'),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, true]));
    expect(forkServer.pid).toBe(server);
  });

  it('survives its server being killed, during a validation and between validations', async () => {
    const server = await serverPid(opts);
    const slow = runSandbox(
      request('import json, time\n\ndef f():\n    time.sleep(1)\n    return json.dumps("slept")\n'),
      opts,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(server, 'SIGKILL');
    // The validation cut short runs again, one-shot, to its own result.
    expect(returned(await slow)).toBe('slept');
    await waitUntil(async () => ended(server), 5_000, 'the killed server gone');
    const next = await serverPid(opts);
    expect(next).not.toBe(server);
  });

  it('stops its server on close, leaving no process behind', async () => {
    const own = new SandboxForkServer(python);
    const server = await serverPid({ ...python, forkServer: own });
    await own.close();
    await waitUntil(async () => ended(server), 5_000, 'the closed server gone');
    expect(await forked({ ...python, forkServer: own })).toBe(false);
  });
});

describe('SandboxForkServer that cannot start', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-broken-server-'));
  const logs = new PassThrough();
  let logged = '';
  logs.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lets every validation run one-shot, and says why', async () => {
    symlinkSync(path.join(scriptDir, 'sandbox.py'), path.join(dir, 'sandbox.py'));
    writeFileSync(path.join(dir, 'sandbox_server.py'), 'raise SystemExit("this server cannot start")\n');
    const broken = { ...python, scriptDir: dir };
    const forkServer = new SandboxForkServer({
      ...broken,
      logger: createLogger({ level: 'warn', service: 'test-fork-server', stream: logs }),
    });
    try {
      expect(await forked({ ...broken, forkServer })).toBe(false);
      expect(await forked({ ...broken, forkServer })).toBe(false);
      expect(logged).toContain('this server cannot start');
    } finally {
      await forkServer.close();
    }
  });
});
