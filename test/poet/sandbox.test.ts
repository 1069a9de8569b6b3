import { existsSync } from 'node:fs';
import path from 'node:path';
import { runSandbox } from '../../src/infra/sandbox';
import type { SandboxRequest } from '../../src/contracts/analysis';

const opts = { pythonBin: 'python3', scriptDir: path.join(__dirname, '../../python'), pathEnv: process.env.PATH! };

const request = (original: string, enhanced: string, extra: Partial<SandboxRequest> = {}): SandboxRequest => ({
  original_code: original,
  enhanced_code: enhanced,
  function_name: 'f',
  timeout_s: 5,
  memory_mb: 256,
  ...extra,
});

const TYPED = 'def f(a: int, b: float = 1.5) -> float:\n    return a * b\n';

describe('runSandbox', () => {
  it('rates identical behaviour on samples derived from type hints as high', async () => {
    const result = await runSandbox(request(TYPED, TYPED), opts);
    expect(result).toMatchObject({ compiled: true, imported: true, samples_run: 3, mismatches: [], errors: [], safety_level: 'high' });
  });

  it('rates code without derivable samples as medium', async () => {
    const untyped = 'def f(a, b):\n    return a + b\n';
    const result = await runSandbox(request(untyped, untyped), opts);
    expect(result).toMatchObject({ samples_run: 0, errors: [], safety_level: 'medium' });
  });

  it('reports a mismatch when the enhanced code returns something else', async () => {
    const enhanced = 'def f(a: int, b: float = 1.5) -> float:\n    return a * b + (1 if a == 7 else 0)\n';
    const result = await runSandbox(request(TYPED, enhanced), opts);
    expect(result.safety_level).toBe('low');
    expect(result.mismatches).toEqual([{ sample: { args: [7], kwargs: {} }, original: '10.5', enhanced: '11.5' }]);
  });

  it('compares exceptions by type and message', async () => {
    const original = 'def f(x):\n    raise ValueError(f"bad {x}")\n';
    const same = await runSandbox(request(original, original, { samples: [[1], { args: [2] }] }), opts);
    expect(same).toMatchObject({ samples_run: 2, safety_level: 'high' });
    const other = await runSandbox(request(original, 'def f(x):\n    raise ValueError("bad")\n', { samples: [[1]] }), opts);
    expect(other.mismatches).toEqual([{ sample: { args: [1], kwargs: {} }, original: "raised ValueError('bad 1')", enhanced: "raised ValueError('bad')" }]);
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
    const stuck = 'import signal, time\n\ndef f():\n    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n    time.sleep(60)\n';
    const started = Date.now();
    const result = await runSandbox(request(stuck, stuck, { timeout_s: 0.5, samples: [[]] }), opts);
    expect(Date.now() - started).toBeLessThan(4_500);
    expect(result.safety_level).toBe('low');
    expect(result.errors[0]?.message).toMatch(/^timed out/);
  });

  it('runs with an environment holding only PATH, in a working directory removed afterwards', async () => {
    const probe = 'import os\n\ndef f():\n    return [sorted(os.environ), os.path.dirname(os.getcwd())]\n';
    const result = await runSandbox(request('def f():\n    return None\n', probe, { samples: [[]] }), opts);
    const reported = result.mismatches[0]?.enhanced ?? '';
    const [envKeys, workdir] = JSON.parse(reported.replaceAll("'", '"')) as [string[], string];
    // Python's C-locale coercion (PEP 538) may add LC_CTYPE itself.
    expect(envKeys.filter((key) => key !== 'LC_CTYPE')).toEqual(['PATH']);
    expect(path.basename(workdir)).toMatch(/^poet-sandbox-/);
    expect(existsSync(workdir)).toBe(false);
  });

  it('keeps what the code under test prints out of the result, and limits its memory', async () => {
    const noisy = 'print("{not json")\n\ndef f():\n    print("noise")\n    return len(bytearray(1 << 30))\n';
    const result = await runSandbox(request('def f():\n    return 0\n', noisy, { samples: [[]], memory_mb: 128 }), opts);
    expect(result.mismatches).toEqual([{ sample: { args: [], kwargs: {} }, original: '0', enhanced: 'raised MemoryError()' }]);
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
    ]);
    const genResult = await runSandbox(
      request(code, code.replace('yield i', 'yield -i'), { function_name: 'g', samples: [[3]] }),
      opts,
    );
    expect(genResult.mismatches).toEqual([{ sample: { args: [3], kwargs: {} }, original: '[0, 1, 2]', enhanced: '[0, -1, -2]' }]);
  });
});
