import path from 'node:path';
import { PythonAnalyzer, PythonAnalyzerError } from '../../src/infra/sandbox/python-analyzer';
import type { AnalyzeResult, AnalyzeSuccess } from '../../src/contracts/analysis';

const scriptDir = path.join(__dirname, '../../python');
const pathEnv = process.env.PATH!;

function expectOk(result: AnalyzeResult): AnalyzeSuccess {
  if (!result.ok) throw new Error(`expected a successful analysis, got ${JSON.stringify(result.error)}`);
  return result;
}

describe('PythonAnalyzer', () => {
  const analyzer = new PythonAnalyzer({ pythonBin: 'python3', scriptDir, timeoutMs: 10_000, pathEnv });
  afterAll(() => analyzer.close());

  it('describes top-level functions: parameters, kinds, defaults, async, generators, decorators', async () => {
    const code = [
      'import functools',
      '',
      '@functools.lru_cache(maxsize=None)',
      'def scale(x: float, /, factor: int = 2, *rest: int, clamp: bool = False, **extra) -> float:',
      '    """Scales x."""',
      '    def inner():',
      '        yield 1',
      '    return x * factor',
      '',
      'async def fetch(url):',
      '    return url',
      '',
      'def count(n):',
      '    yield from range(n)',
      '',
      'class Skipped:',
      '    def method(self):',
      '        pass',
    ].join('\n');
    const result = expectOk(await analyzer.analyze(code));
    expect(result.functions.map((f) => f.name)).toEqual(['scale', 'fetch', 'count']);
    const [scale, fetch, count] = result.functions;
    expect(scale).toEqual({
      name: 'scale',
      is_async: false,
      is_generator: false,
      lineno: 4,
      end_lineno: 8,
      params: [
        { name: 'x', kind: 'positional_only', annotation: 'float', default: null },
        { name: 'factor', kind: 'positional_or_keyword', annotation: 'int', default: '2' },
        { name: 'rest', kind: 'var_positional', annotation: 'int', default: null },
        { name: 'clamp', kind: 'keyword_only', annotation: 'bool', default: 'False' },
        { name: 'extra', kind: 'var_keyword', annotation: null, default: null },
      ],
      returns: 'float',
      docstring: 'Scales x.',
      decorators: ['functools.lru_cache(maxsize=None)'],
    });
    expect(fetch).toMatchObject({ is_async: true, is_generator: false, docstring: null, returns: null });
    expect(count).toMatchObject({ is_async: false, is_generator: true });
  });

  it('reports a syntax error with its 1-based line and column', async () => {
    const result = await analyzer.analyze('def ok():\n    return 1\n\ndef broken(:\n    pass\n');
    expect(result).toEqual({
      id: expect.any(Number),
      ok: false,
      error: { message: 'invalid syntax', line: 4, column: 12 },
    });
  });

  it('reports errors only the compiler sees, such as return outside a function', async () => {
    const result = await analyzer.analyze('return 1\n');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatchObject({ message: "'return' outside function", line: 1 });
  });

  it('gives the same normalized hash when only comments, layout or docstrings change', async () => {
    const base = expectOk(await analyzer.analyze('def add(a, b):\n    """Adds."""\n    return a + b\n'));
    const reformatted = expectOk(
      await analyzer.analyze(
        '# helper\ndef add(a,  b):  # sum\n    """Adds two numbers,\n    carefully."""\n\n    return (a + b)\n',
      ),
    );
    const changed = expectOk(await analyzer.analyze('def add(a, b):\n    return a - b\n'));
    expect(reformatted.normalized_hash).toBe(base.normalized_hash);
    expect(changed.normalized_hash).not.toBe(base.normalized_hash);
  });

  it('answers concurrent requests by id, each with its own result', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `f${i}`);
    const results = await Promise.all(names.map((name) => analyzer.analyze(`def ${name}(x):\n    return x\n`)));
    expect(results.map((r) => expectOk(r).functions[0]?.name)).toEqual(names);
  });
});

describe('PythonAnalyzer lifecycle', () => {
  it('a stuck request times out alone: requests queued behind it, even on a pool of one, wait for their own turn and succeed', async () => {
    const analyzer = new PythonAnalyzer({
      pythonBin: 'python3',
      scriptDir,
      timeoutMs: 2_000,
      pathEnv,
      poolSize: 1,
      queueMax: 8,
    });
    try {
      expectOk(await analyzer.analyze('def warm():\n    pass\n'));
      const slow = analyzer.analyze('x = 1\n'.repeat(1_000_000));
      const queued = analyzer.analyze('def queued():\n    pass\n');
      await expect(slow).rejects.toMatchObject({ name: 'PythonAnalyzerError', code: 'timeout' });
      expect(expectOk(await queued).functions[0]?.name).toBe('queued');
      expect(expectOk(await analyzer.analyze('def after():\n    pass\n')).functions[0]?.name).toBe('after');
    } finally {
      await analyzer.close();
    }
  });

  it('with a stuck request on one child, another child answers the others meanwhile', async () => {
    const analyzer = new PythonAnalyzer({
      pythonBin: 'python3',
      scriptDir,
      timeoutMs: 3_000,
      pathEnv,
      poolSize: 2,
      queueMax: 8,
    });
    try {
      const slow = analyzer.analyze('x = 1\n'.repeat(1_000_000));
      const small = await Promise.all(['a', 'b', 'c'].map((name) => analyzer.analyze(`def ${name}():\n    pass\n`)));
      expect(small.map((r) => expectOk(r).functions[0]?.name)).toEqual(['a', 'b', 'c']);
      await expect(slow).rejects.toMatchObject({ code: 'timeout' });
    } finally {
      await analyzer.close();
    }
  });

  it('a repeated parse is answered from its cache while the only child is busy; concurrent repeats share one parse', async () => {
    const analyzer = new PythonAnalyzer({ pythonBin: 'python3', scriptDir, timeoutMs: 3_000, pathEnv, poolSize: 1 });
    try {
      const code = 'def cached(x):\n    return x\n';
      const first = expectOk(await analyzer.analyze(code));
      const slow = analyzer.analyze('x = 1\n'.repeat(1_000_000)).then(
        () => 'slow',
        () => 'slow',
      );
      // Without the cache the repeat waits behind the slow parse on the pool's only child.
      const repeat = analyzer.analyze(code).then((r) => {
        expect(r).toEqual(first);
        return 'repeat';
      });
      expect(await Promise.race([repeat, slow])).toBe('repeat');
      await slow;
      const fresh = 'def fresh():\n    pass\n';
      const [a, b] = await Promise.all([analyzer.analyze(fresh), analyzer.analyze(fresh)]);
      expect(a).toBe(b);
    } finally {
      await analyzer.close();
    }
  });

  it('past the queue bound a request is refused at once as overloaded', async () => {
    const analyzer = new PythonAnalyzer({
      pythonBin: 'python3',
      scriptDir,
      timeoutMs: 5_000,
      pathEnv,
      poolSize: 1,
      queueMax: 2,
    });
    try {
      const accepted = [1, 2, 3].map((i) => analyzer.analyze(`def f${i}():\n    pass\n`));
      await expect(analyzer.analyze('def f4():\n    pass\n')).rejects.toMatchObject({ code: 'overloaded' });
      expect((await Promise.all(accepted)).map((r) => r.ok)).toEqual([true, true, true]);
    } finally {
      await analyzer.close();
    }
  });

  it('rejects requests after close', async () => {
    const analyzer = new PythonAnalyzer({ pythonBin: 'python3', scriptDir, timeoutMs: 5_000, pathEnv });
    expectOk(await analyzer.analyze('x = 1\n'));
    await analyzer.close();
    await expect(analyzer.analyze('x = 1\n')).rejects.toBeInstanceOf(PythonAnalyzerError);
  });

  it('rejects with a clear error when the interpreter cannot be started', async () => {
    const analyzer = new PythonAnalyzer({ pythonBin: 'no-such-python-here', scriptDir, timeoutMs: 5_000, pathEnv });
    await expect(analyzer.analyze('x = 1\n')).rejects.toMatchObject({
      code: 'exited',
      message: expect.stringContaining('failed to start'),
    });
    await analyzer.close();
  });
});
