import { sandboxPython } from '../helpers/sandbox';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { OptimizeFor } from '../../src/contracts/enhance';
import type { SandboxRequest } from '../../src/contracts/analysis';
import { PythonAnalyzer } from '../../src/infra/sandbox/python-analyzer';
import { runSandbox } from '../../src/infra/sandbox/run';
import { applyOptimizeFor, DomainSettings, getDomain, listDomainNames } from '../../src/poet/domains';
import { ENHANCER_VERSION, enhanceWithTemplate } from '../../src/poet/template';

const scriptDir = path.join(__dirname, '../../python');
const pathEnv = process.env.PATH!;
const analyzer = new PythonAnalyzer({ pythonBin: 'python3', scriptDir, timeoutMs: 10_000, pathEnv });
let workdir: string;

beforeAll(async () => {
  workdir = await mkdtemp(path.join(os.tmpdir(), 'poet-template-test-'));
});
afterAll(async () => {
  await analyzer.close();
  await rm(workdir, { recursive: true, force: true });
});

const baseDomain = (): DomainSettings => {
  const domain = getDomain('base_reliability');
  if (!domain) throw new Error('base_reliability is missing');
  return domain;
};

/** base_reliability with waits short enough for tests. */
const fastDomain = (operate: Partial<DomainSettings['operate']> = {}): DomainSettings => {
  const base = baseDomain();
  return { ...base, operate: { ...base.operate, backoff_base_s: 0.01, backoff_max_s: 0.02, ...operate } };
};

async function enhance(code: string, name: string, domain = fastDomain(), optimizeFor: OptimizeFor = 'reliability') {
  const analysis = await analyzer.analyze(code);
  if (!analysis.ok) throw new Error(`test code does not parse: ${analysis.error.message}`);
  const fn = analysis.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`test code has no function ${name}`);
  return enhanceWithTemplate({ functionName: name, originalCode: code, analysis: fn, domain, optimizeFor });
}

let moduleCount = 0;

/** Imports `python` as module `m` in a real python3 and prints the JSON of the driver's `result`. */
async function drive(python: string, driver: string, env: Record<string, string> = {}): Promise<unknown> {
  moduleCount += 1;
  const file = path.join(workdir, `enhanced_${moduleCount}.py`);
  await writeFile(file, python);
  const script = [
    'import importlib.util, json, sys',
    'spec = importlib.util.spec_from_file_location("enhanced", sys.argv[1])',
    'm = importlib.util.module_from_spec(spec)',
    'spec.loader.exec_module(m)',
    driver,
    'print(json.dumps(result))',
  ].join('\n');
  const { stdout } = await promisify(execFile)('python3', ['-I', '-S', '-c', script, file], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return JSON.parse(stdout) as unknown;
}

const sandbox = (original: string, enhanced: string, functionName: string, samples?: SandboxRequest['samples']) =>
  runSandbox(
    { original_code: original, enhanced_code: enhanced, function_name: functionName, samples, timeout_s: 5, memory_mb: 256 },
    sandboxPython,
  );

describe('enhanceWithTemplate output', () => {
  const code = 'def area(width: float, height: float = 1.0) -> float:\n    """Area of a rectangle."""\n    return width * height\n';

  it('is byte-identical for the same input', async () => {
    const first = await enhance(code, 'area', baseDomain());
    const second = await enhance(code, 'area', baseDomain());
    expect(second).toEqual(first);
    expect(first.python).toContain(`(${ENHANCER_VERSION})`);
  });

  it('carries the reference parameters of base_reliability, shifted by optimize_for', async () => {
    const plain = await enhance(code, 'area', baseDomain());
    expect(plain.params).toMatchObject({ domain: 'base_reliability', retries: 3, timeout: 30, backoff_max: 8, learning_rate: 0.05 });
    expect(plain.optimizations).toEqual([
      'perceive:type_checks',
      'operate:retries=3',
      'operate:retry_on=TimeoutError|ConnectionError',
      'operate:backoff=min(1*2^n,8)s',
      'operate:timeout=30s',
      'operate:latency_p50_p95',
      'enforce:return_type',
      'train:basic',
    ]);
    const fast = await enhance(code, 'area', applyOptimizeFor(baseDomain(), 'performance'), 'performance');
    expect(fast.params).toMatchObject({ optimize_for: 'performance', retries: 2, timeout: 15 });
    expect(applyOptimizeFor(baseDomain(), 'reliability').operate.retries).toBe(4);
    expect(applyOptimizeFor(baseDomain(), 'cost').operate.retries).toBe(1);
    expect(applyOptimizeFor(baseDomain(), 'accuracy').perceive.reject_non_finite).toBe(true);
  });

  it('offers the reference domains', () => {
    expect(listDomainNames()).toEqual(
      expect.arrayContaining(['base_reliability', 'computation', 'llm_optimization', 'ml_monitoring', 'financial_services', 'healthcare']),
    );
    expect(getDomain('constructor')).toBeUndefined();
  });

  it('imports only the standard library and keeps the original code verbatim', async () => {
    const { python } = await enhance(code, 'area');
    expect(python).toContain(code.trimEnd());
    const imported = await drive(
      python,
      [
        'import ast',
        'tree = ast.parse(open(sys.argv[1]).read())',
        'names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}',
        'names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}',
        'result = sorted(n for n in names if n not in sys.stdlib_module_names)',
      ].join('\n'),
    );
    expect(imported).toEqual([]);
  });

  it('keeps the public name, signature and docstring, and rebinds the name to the wrapper', async () => {
    const { python } = await enhance(code, 'area');
    const facts = await drive(
      python,
      'import inspect\nresult = [m.area.__name__, str(inspect.signature(m.area)), m.area.__doc__, hasattr(m.area, "__wrapped__"), m.area(2.0, 3)]',
    );
    expect(facts).toEqual(['area', '(width: float, height: float = 1.0) -> float', 'Area of a rectangle.', true, 6.0]);
  });

  it('writes Dana with the same settings on the original definition', async () => {
    const { dana } = await enhance(code, 'area', baseDomain());
    expect(dana).toBe(
      [
        `# POET-enhanced area, generated by poet-service (${ENHANCER_VERSION}); settings as in the Python module's POET_PARAMS.`,
        '@poet(domain="base_reliability", optimize_for="reliability", retries=3, timeout=30, enable_training=True, learning_algorithm="basic", learning_rate=0.05)',
        code.trimEnd(),
        '',
      ].join('\n'),
    );
  });
});

describe('enhanced code preserves behaviour in the sandbox', () => {
  const cases: [string, string, string, SandboxRequest['samples']?][] = [
    ['typed numeric', 'def scale(x: int, factor: float) -> float:\n    return x * factor\n', 'scale'],
    ['defaults', 'def greet(name: str, greeting: str = "Hello", punct="!") -> str:\n    return f"{greeting}, {name}{punct}"\n', 'greet'],
    [
      '*args and **kwargs',
      'def combine(*parts, sep=",", **labels):\n    return sep.join(map(str, parts)) + repr(sorted(labels.items()))\n',
      'combine',
      [{ args: [1, 2, 3], kwargs: { sep: '-', a: 1 } }, [], { kwargs: { z: [1] } }],
    ],
    ['async def', 'import asyncio\n\nasync def double(n: int) -> int:\n    await asyncio.sleep(0)\n    return n * 2\n', 'double'],
    ['a generator', 'def countdown(n: int):\n    while n > 0:\n        yield n\n        n -= 1\n', 'countdown'],
    [
      'a function raising ValueError',
      'def parse_age(text: str) -> int:\n    value = int(text)\n    if value < 0:\n        raise ValueError(f"negative age: {value}")\n    return value\n',
      'parse_age',
      [['42'], ['-3'], ['abc']],
    ],
    ['recursion', 'def fact(n: int) -> int:\n    return 1 if n <= 1 else n * fact(n - 1)\n', 'fact', [[0], [5], [30]]],
    [
      'postponed annotations',
      'from __future__ import annotations\n\ndef norm(xs: list) -> float:\n    return sum(x * x for x in xs) ** 0.5\n',
      'norm',
    ],
  ];

  it.each(cases.map(([label, code, name, samples]) => ({ label, code, name, samples })))('$label', async ({ code, name, samples }) => {
    const { python } = await enhance(code, name);
    const result = await sandbox(code, python, name, samples);
    expect(result).toMatchObject({ compiled: true, imported: true, errors: [], mismatches: [], safety_level: 'high' });
    expect(result.samples_run).toBeGreaterThan(0);
  });
});

describe('POET phases at run time', () => {
  it('Operate: lets a ValueError through at once, without retrying', async () => {
    const code = 'calls = 0\n\ndef check(x: int) -> int:\n    global calls\n    calls += 1\n    raise ValueError(f"bad {x}")\n';
    const { python } = await enhance(code, 'check');
    const result = await drive(
      python,
      'try:\n    m.check(3)\nexcept ValueError as exc:\n    result = [type(exc).__name__, str(exc), m.calls, m.check.poet_stats["retries"]]',
    );
    expect(result).toEqual(['ValueError', 'bad 3', 1, 0]);
  });

  it('Operate: retries a transient TimeoutError and succeeds', async () => {
    const code = [
      'calls = 0',
      '',
      'def fetch(key: str) -> str:',
      '    global calls',
      '    calls += 1',
      '    if calls < 3:',
      '        raise TimeoutError("upstream slow")',
      '    return key.upper()',
    ].join('\n');
    const { python } = await enhance(code, 'fetch');
    const result = await drive(python, 'result = [m.fetch("k"), m.calls, m.fetch.poet_stats["retries"], m.fetch.poet_stats["successes"]]');
    expect(result).toEqual(['K', 3, 2, 1]);
  });

  it('Operate: enforces the timeout on sync and async functions', async () => {
    const code = 'import asyncio, time\n\ndef slow():\n    time.sleep(5)\n\nasync def aslow():\n    await asyncio.sleep(5)\n';
    const domain = fastDomain({ timeout_s: 0.2, retries: 1 });
    const timed = async (name: string, call: string) => {
      const { python } = await enhance(code, name, domain);
      const driver = [
        'import asyncio, time',
        'started = time.monotonic()',
        'try:',
        `    ${call}`,
        'except TimeoutError as exc:',
        '    result = [str(exc), time.monotonic() - started]',
      ].join('\n');
      return (await drive(python, driver)) as [string, number];
    };
    const [slow, aslow] = await Promise.all([timed('slow', 'm.slow()'), timed('aslow', 'asyncio.run(m.aslow())')]);
    for (const [name, [message, seconds]] of [['slow', slow], ['aslow', aslow]] as const) {
      expect(message).toBe(`${name}() did not finish within the POET timeout of 0.2s`);
      // two attempts of 0.2 s and a 0.01 s backoff, far below the 5 s the function wants
      expect(seconds).toBeGreaterThanOrEqual(0.4);
      expect(seconds).toBeLessThan(2);
    }
  });

  it('Perceive: rejects a wrong-typed argument; bool is not int, int is a float', async () => {
    const code = 'def mix(count: int, ratio: float, *names: str) -> float:\n    return count * ratio\n';
    const { python } = await enhance(code, 'mix');
    const result = await drive(
      python,
      [
        'result = []',
        'for args in (("3", 0.5), (True, 0.5), (3, 1), (3, 0.5, "a", 7)):',
        '    try:',
        '        result.append(m.mix(*args))',
        '    except TypeError as exc:',
        '        result.append(str(exc))',
        'try:',
        '    m.mix()',
        'except TypeError as exc:',
        '    result.append(str(exc))',
      ].join('\n'),
    );
    expect(result).toEqual([
      "mix() argument 'count' must be int, got str",
      "mix() argument 'count' must be int, got bool",
      3,
      "mix() argument 'names' must be str, got int",
      "mix() missing 2 required positional arguments: 'count' and 'ratio'",
    ]);
  });

  it('Enforce: refuses a result that breaks the return annotation', async () => {
    const code = 'def half(n: int) -> int:\n    return n / 2\n';
    const { python } = await enhance(code, 'half');
    const result = await drive(python, 'try:\n    m.half(3)\nexcept ValueError as exc:\n    result = [type(exc).__name__, str(exc)]');
    expect(result).toEqual(['PoetEnforcementError', 'half() returned float, expected int']);
  });

  it('Train: applies the basic rule and honours POET_PARAMS_FILE', async () => {
    const code = 'def job(x: int) -> int:\n    return x\n';
    const { python } = await enhance(code, 'job', baseDomain());
    const paramsFile = path.join(workdir, 'params.json');
    await writeFile(paramsFile, JSON.stringify({ retries: 2, timeout: 10, unknown: 1 }));
    const result = await drive(
      python,
      [
        'result = [dict(m.POET_PARAMS)["retries"], "unknown" in m.POET_PARAMS]',
        'result.append(m.train_job({"success": False, "duration_s": 9.5}))',
        'result.append(m.train_job({"success": True, "duration_s": 0.1}))',
      ].join('\n'),
      { POET_PARAMS_FILE: paramsFile },
    );
    expect(result).toEqual([2, false, { retries: 3, timeout: 12 }, { retries: 3, timeout: 10.8 }]);
  });
});
