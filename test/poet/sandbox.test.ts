import { existsSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/infra/observability/logger';
import { runSandbox, type SandboxOptions } from '../../src/infra/sandbox/run';
import { SandboxForkServer } from '../../src/infra/sandbox/fork-server';
import type { SandboxRequest } from '../../src/contracts/analysis';
import { sandboxPython } from '../helpers/sandbox';

const python = sandboxPython;
// The fork server warns whenever a validation falls back to one-shot: none may here.
const warnings = new PassThrough();
let warned = '';
warnings.on('data', (chunk: Buffer) => (warned += chunk.toString()));
const forkServer = new SandboxForkServer({
  ...python,
  logger: createLogger({ level: 'warn', service: 'test-sandbox', stream: warnings }),
});
afterAll(() => forkServer.close());

const request = (original: string, enhanced: string, extra: Partial<SandboxRequest> = {}): SandboxRequest => ({
  original_code: original,
  enhanced_code: enhanced,
  function_name: 'f',
  timeout_s: 5,
  memory_mb: 256,
  ...extra,
});

const TYPED = 'def f(a: int, b: float = 1.5) -> float:\n    return a * b\n';

describe.each<[string, SandboxOptions]>([
  ['one-shot', python],
  ['fork server', { ...python, forkServer }],
])('runSandbox (%s)', (_path, opts) => {
  it('rates identical behaviour on samples derived from type hints as high', async () => {
    const result = await runSandbox(request(TYPED, TYPED), opts);
    expect(result).toMatchObject({
      compiled: true,
      imported: true,
      samples_run: 3,
      mismatches: [],
      errors: [],
      safety_level: 'high',
    });
  });

  it('rates code without derivable samples by its generated inputs', async () => {
    const untyped = 'def f(a, b):\n    return a + b\n';
    const result = await runSandbox(request(untyped, untyped), opts);
    expect(result).toMatchObject({ samples_run: 0, errors: [], safety_level: 'high' });
    expect(result.evidence.inputs.generated).toBeGreaterThanOrEqual(100);
    expect(result.evidence.agreed).toBeGreaterThanOrEqual(100);
  });

  it('rates code as medium when under 100 inputs could be compared within the budget', async () => {
    const slow = 'import time\n\ndef f(a, b):\n    time.sleep(0.01)\n    return a\n';
    const result = await runSandbox(request(slow, slow, { evidence_budget_s: 0.3 }), opts);
    expect(result).toMatchObject({ samples_run: 0, errors: [], mismatches: [], safety_level: 'medium' });
    expect(result.evidence.agreed).toBeLessThan(100);
    expect(result.evidence.agreed).toBeGreaterThan(0);
  });

  it('reports a mismatch when the enhanced code returns something else', async () => {
    const enhanced = 'def f(a: int, b: float = 1.5) -> float:\n    return a * b + (1 if a == 7 else 0)\n';
    const result = await runSandbox(request(TYPED, enhanced), opts);
    expect(result.safety_level).toBe('low');
    // the derived sample, and the shortest failing generated call (the extra `+ 0` breaks on strings as well)
    expect(result.mismatches).toEqual([
      { sample: { args: [7], kwargs: {} }, original: '10.5', enhanced: '11.5' },
      {
        sample: { generated: expect.any(String), failing_inputs: expect.any(Number) },
        original: expect.any(String),
        enhanced: expect.any(String),
      },
    ]);
  });

  it('compares exceptions by type and message', async () => {
    const original = 'def f(x):\n    raise ValueError(f"bad {x}")\n';
    const same = await runSandbox(request(original, original, { samples: [[1], { args: [2] }] }), opts);
    expect(same).toMatchObject({ samples_run: 2, safety_level: 'high' });
    const other = await runSandbox(
      request(original, 'def f(x):\n    raise ValueError("bad")\n', { samples: [[1]] }),
      opts,
    );
    expect(other.mismatches).toEqual([
      {
        sample: { args: [1], kwargs: {} },
        original: "raised ValueError('bad 1')",
        enhanced: "raised ValueError('bad')",
      },
      {
        sample: { generated: 'f(0)', failing_inputs: expect.any(Number) },
        original: "raised ValueError('bad 0')",
        enhanced: "raised ValueError('bad')",
      },
    ]);
  });

  it('reports a compile error of the enhanced code with its line', async () => {
    const result = await runSandbox(request(TYPED, 'def f(a):\n    return a +\n'), opts);
    expect(result).toMatchObject({ compiled: false, imported: false, safety_level: 'low' });
    expect(result.errors).toEqual([{ stage: 'compile', message: 'SyntaxError: invalid syntax', line: 2 }]);
  });

  it('reports import failures and a missing function', async () => {
    const failing = await runSandbox(request(TYPED, 'import json\n\nraise RuntimeError("no")\n'), opts);
    expect(failing.errors).toEqual([{ stage: 'import', message: 'RuntimeError: no', line: 3 }]);
    const missing = await runSandbox(request(TYPED, 'def g():\n    pass\n'), opts);
    expect(missing).toMatchObject({ imported: true, safety_level: 'low' });
    expect(missing.errors).toEqual([{ stage: 'resolve', message: "enhanced code: 'f' is not defined", line: null }]);
  });

  it('stops an infinite loop with a run error within bounded time', async () => {
    const looping = 'def f(n: int):\n    while True:\n        n += 1\n';
    const started = Date.now();
    const result = await runSandbox(request(looping, looping, { timeout_s: 1 }), opts);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.safety_level).toBe('low');
    expect(result.errors).toEqual([
      { stage: 'run', message: 'timed out after 1s (wall clock) while running the original on sample 0', line: null },
    ]);
  });

  it('kills a harness that blocks its own alarm once timeout_s + 2 s have passed', async () => {
    const stuck =
      'import signal, time\n\ndef f():\n    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n    time.sleep(60)\n';
    const started = Date.now();
    const result = await runSandbox(request(stuck, stuck, { timeout_s: 0.5, samples: [[]] }), opts);
    expect(Date.now() - started).toBeLessThan(4_500);
    expect(result.safety_level).toBe('low');
    expect(result.errors[0]?.message).toMatch(/^timed out/);
  });

  it('runs with an environment holding only PATH, in a working directory of its own', async () => {
    const probe = 'import os\n\ndef f():\n    return [sorted(os.environ), os.getcwd()]\n';
    const result = await runSandbox(request('def f():\n    return None\n', probe, { samples: [[]] }), opts);
    const reported = result.mismatches[0]?.enhanced ?? '';
    const [envKeys, workdir] = JSON.parse(reported.replaceAll("'", '"')) as [string[], string];
    // Python's C-locale coercion (PEP 538) may add LC_CTYPE itself.
    expect(envKeys.filter((key) => key !== 'LC_CTYPE')).toEqual(['PATH']);
    expect(path.basename(workdir)).toMatch(/^poet-sandbox-/);
  });

  it('keeps what the code under test prints out of the result, and limits its memory', async () => {
    const noisy = 'print("{not json")\n\ndef f():\n    print("noise")\n    return len(bytearray(1 << 30))\n';
    const result = await runSandbox(
      request('def f():\n    return 0\n', noisy, { samples: [[]], memory_mb: 128 }),
      opts,
    );
    expect(result.mismatches).toEqual([
      { sample: { args: [], kwargs: {} }, original: '0', enhanced: 'raised MemoryError()' },
    ]);
  });

  it('drives async functions and generators to a value before comparing', async () => {
    const code = [
      'async def f(n: int):',
      '    return [i * i for i in range(n)]',
      '',
      'def g(n: int):',
      '    for i in range(n):',
      '        yield i',
    ].join('\n');
    const asyncResult = await runSandbox(request(code, code.replace('i * i', 'i + i')), opts);
    expect(asyncResult.mismatches.map((m) => m.sample)).toEqual([
      { args: [7], kwargs: {} },
      { generated: 'f(2)', failing_inputs: expect.any(Number) },
    ]);
    const genResult = await runSandbox(
      request(code, code.replace('yield i', 'yield -i'), { function_name: 'g', samples: [[3]] }),
      opts,
    );
    expect(genResult.mismatches).toEqual([
      { sample: { args: [3], kwargs: {} }, original: '[0, 1, 2]', enhanced: '[0, -1, -2]' },
      { sample: { generated: 'g(2)', failing_inputs: expect.any(Number) }, original: '[0, 1]', enhanced: '[0, -1]' },
    ]);
  });

  it('blocks dangerous code statically, with findings and line numbers, and never runs it', async () => {
    const evil = [
      'import subprocess',
      'import os as system_tools',
      '',
      'def f(x: int) -> int:',
      '    system_tools.system("touch /tmp/poet-should-not-exist")',
      '    open("/etc/poet-owned", "w").write("x")',
      '    return eval(str(x))',
    ].join('\n');
    const result = await runSandbox(request('def f(x: int) -> int:\n    return x\n', evil), opts);
    expect(result).toMatchObject({ safety_level: 'blocked', compiled: false, imported: false, samples_run: 0 });
    expect(result.findings.map((f) => [f.rule, f.severity, f.line])).toEqual([
      ['banned_import', 'blocked', 1],
      ['dangerous_call', 'blocked', 5],
      ['write_outside_temp', 'blocked', 6],
      ['dynamic_code', 'blocked', 7],
    ]);
    expect(result.errors.every((e) => e.stage === 'scan' && e.message.startsWith('blocked: '))).toBe(true);
    expect(existsSync('/tmp/poet-should-not-exist')).toBe(false);
  });

  it('scans and validates an expression nested deeper than the recursion limit', async () => {
    // a + 0 + 0 + ... nests one level per term: a left operand 2000 levels down
    const deep = (first: string) =>
      `def f(a: int) -> int:\n    return ${first} + ${Array(2000).fill('0').join(' + ')}\n`;
    const clean = await runSandbox(request(deep('a'), deep('a')), opts);
    expect(clean).toMatchObject({ compiled: true, imported: true, samples_run: 3, errors: [], safety_level: 'high' });
    const hidden = await runSandbox(request(deep('a'), deep('eval("a")')), opts);
    expect(hidden).toMatchObject({ safety_level: 'blocked', imported: false });
    expect(hidden.findings.map((f) => [f.rule, f.line])).toEqual([['dynamic_code', 2]]);
  });

  it('rates network imports and writes to run-time paths low, and passes clean code with no findings', async () => {
    const risky =
      'import urllib.request\n\ndef f(x: int, path=None) -> int:\n    if path:\n        open(path, "a").write("x")\n    return x\n';
    const result = await runSandbox(request(risky, risky), opts);
    expect(result.findings.map((f) => [f.rule, f.severity, f.line])).toEqual([
      ['network_import', 'low', 1],
      ['dynamic_write', 'low', 5],
    ]);
    expect(result).toMatchObject({ errors: [], mismatches: [], safety_level: 'low' });
    const clean = await runSandbox(request(TYPED, TYPED), opts);
    expect(clean.findings).toEqual([]);
  });

  it('denies network, processes and writes outside its directory at run time, whatever the scan missed', async () => {
    const probe = [
      'import importlib',
      '',
      'def f(kind: str):',
      '    try:',
      '        if kind == "net":',
      '            importlib.import_module("soc" + "ket").create_connection(("127.0.0.1", 6379), timeout=1)',
      '        elif kind == "proc":',
      '            importlib.import_module("o" + "s").popen("true")',
      '        else:',
      '            with open("/tmp/poet-sandbox-escape", "w") as handle:',
      '                handle.write("x")',
      '        return "allowed"',
      '    except OSError as exc:',
      '        return type(exc).__name__',
    ].join('\n');
    const result = await runSandbox(
      request('def f(kind: str):\n    return "allowed"\n', probe, { samples: [['net'], ['proc'], ['file']] }),
      opts,
    );
    // importlib.import_module is itself a blocked call: the scan stops it before it runs
    expect(result.safety_level).toBe('blocked');
    const dynamic = probe
      .replaceAll('importlib.import_module', '__builtins__["__imp" + "ort__"]')
      .replace('import importlib\n', '');
    const run = await runSandbox(
      request('def f(kind: str):\n    return "allowed"\n', dynamic, { samples: [['net'], ['proc'], ['file']] }),
      opts,
    );
    // the three samples, then the shortest generated call, which takes the file branch
    expect(run.mismatches.map((m) => m.enhanced)).toEqual([
      "'PermissionError'",
      "'PermissionError'",
      "'PermissionError'",
      "'PermissionError'",
    ]);
    expect(existsSync('/tmp/poet-sandbox-escape')).toBe(false);
  });

  it('fails a function that exhausts the memory limit, naming the limit', async () => {
    const hog = 'def f(n: int):\n    return len(bytearray(1 << 34))\n';
    const result = await runSandbox(request(hog, hog, { memory_mb: 128 }), opts);
    expect(result.safety_level).toBe('low');
    expect(result.errors[0]).toEqual({
      stage: 'run',
      message: "the original code exceeded the sandbox's memory limit on sample 0",
      line: null,
    });
  });

  it('fails an enhanced function whose signature or docstring changed', async () => {
    const wrapped = 'def f(*args, **kwargs):\n    return args[0] * kwargs.get("b", 1.5)\n';
    const result = await runSandbox(request(TYPED, wrapped), opts);
    expect(result.errors).toEqual([
      {
        stage: 'resolve',
        message:
          "the enhanced function changed its signature: '(a: int, b: float = 1.5) -> float' became '(*args, **kwargs)'",
        line: null,
      },
    ]);
  });
});

it('ran every validation of the fork server path in the fork server', () => {
  expect(warned).toBe('');
});
