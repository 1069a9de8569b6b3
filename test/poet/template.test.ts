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
import { applyOptimizeFor, type DomainSettings, getDomain, listDomainNames } from '../../src/poet/domains';
import { poetRuntime } from '../../src/poet/runtime';
import { ENHANCER_VERSION, enhanceWithTemplate, reembedSource, strictTypes } from '../../src/poet/template';

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

async function enhance(
  code: string,
  name: string,
  domain = fastDomain(),
  optimizeFor: OptimizeFor | null = 'reliability',
) {
  const analysis = await analyzer.analyze(code);
  if (!analysis.ok) throw new Error(`test code does not parse: ${analysis.error.message}`);
  const fn = analysis.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`test code has no function ${name}`);
  return enhanceWithTemplate({
    functionName: name,
    originalCode: code,
    analysis: fn,
    domain,
    optimizeFor,
    strict: strictTypes({ optimize_for: optimizeFor ?? undefined }),
  });
}

let moduleCount = 0;

/** Imports `python` as module `m` in a real python3 (poet_runtime importable) and prints the JSON of the driver's `result`. */
async function drive(python: string, driver: string, env: Record<string, string> = {}): Promise<unknown> {
  moduleCount += 1;
  const file = path.join(workdir, `enhanced_${moduleCount}.py`);
  await writeFile(file, python);
  const script = [
    'import importlib.util, json, sys',
    `sys.path.insert(0, ${JSON.stringify(scriptDir)})`,
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
    {
      original_code: original,
      enhanced_code: enhanced,
      function_name: functionName,
      samples,
      timeout_s: 5,
      memory_mb: 256,
    },
    sandboxPython,
  );

describe('enhanceWithTemplate output', () => {
  const code =
    'def area(width: float, height: float = 1.0) -> float:\n    """Area of a rectangle."""\n    return width * height\n';

  it('is byte-identical for the same input', async () => {
    const first = await enhance(code, 'area', baseDomain());
    const second = await enhance(code, 'area', baseDomain());
    expect(second).toEqual(first);
    expect(first.python).toContain(`poet-service ${ENHANCER_VERSION}`);
    expect(first.runtime_version).toBe(poetRuntime().version);
  });

  it('carries the reference parameters of base_reliability, shifted by optimize_for', async () => {
    const plain = await enhance(code, 'area', baseDomain());
    expect(plain.params).toMatchObject({
      domain: 'base_reliability',
      retries: 3,
      timeout: 30,
      backoff_max: 8,
      learning_rate: 0.05,
    });
    expect(plain.optimizations).toEqual([
      'perceive:type_checks(strict)',
      'operate:retries=3',
      'operate:retry_on=TimeoutError|ConnectionError',
      'operate:backoff=min(1*2^n,8)s',
      'operate:timeout=30s',
      'operate:latency_p50_p95',
      'enforce:return_type(strict)',
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
      expect.arrayContaining([
        'base_reliability',
        'computation',
        'llm_optimization',
        'ml_monitoring',
        'financial_services',
        'healthcare',
      ]),
    );
    expect(getDomain('constructor')).toBeUndefined();
  });

  it('is a thin module: the original code verbatim and one import, under 40 lines for a 3-line function', async () => {
    const { python } = await enhance(code, 'area');
    expect(python).toContain(code.trimEnd());
    expect(python.split('\n').length).toBeLessThanOrEqual(40);
    expect(python.trimEnd().split('\n').at(-1)).toBe('area = poet(POET_PARAMS)(area)');
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
    expect(imported).toEqual(['poet_runtime']);
  });

  it('runs from a version folder that holds poet_runtime.py beside it, with nothing else on the path', async () => {
    const { python } = await enhance(code, 'area');
    const folder = await mkdtemp(path.join(workdir, 'v1-'));
    await writeFile(path.join(folder, 'code.py'), python);
    await writeFile(path.join(folder, 'poet_runtime.py'), poetRuntime().source);
    const script =
      'import importlib.util as u, json\ns = u.spec_from_file_location("m", "code.py")\nm = u.module_from_spec(s)\ns.loader.exec_module(m)\nprint(json.dumps([m.area(2.0, 3), m.area.poet_runtime_version]))';
    const { stdout } = await promisify(execFile)('python3', ['-S', '-c', script], {
      cwd: folder,
      env: { PATH: pathEnv },
    });
    expect(JSON.parse(stdout)).toEqual([6, poetRuntime().version]);
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

describe("reembedSource: an L2 hit answers with the caller's own text", () => {
  const original = 'from __future__ import annotations\n\ndef area(w: float, h: float) -> float:\n    return w * h\n';
  const edited =
    'from __future__ import annotations\n\n# rectangles only\n\ndef area(w: float, h: float) -> float:\n    """Width times height."""\n    return w * h  # square units\n';
  const functionOf = async (code: string) => {
    const analysis = await analyzer.analyze(code);
    const fn = analysis.ok ? analysis.functions.find((f) => f.name === 'area') : undefined;
    if (!fn) throw new Error('test code has no function area');
    return fn;
  };

  test('both modules embed the new text exactly as the template renders it, and the module runs', async () => {
    const before = await enhance(original, 'area');
    const fresh = await enhance(edited, 'area');
    expect(reembedSource(before, original, { code: edited, analysis: await functionOf(edited) })).toEqual({
      python: fresh.python,
      dana: fresh.dana,
    });
    expect(await drive(fresh.python, 'result = m.area(2.0, 3.0)')).toBe(6);
  });

  test('modules that do not embed the previous source, or a change of future imports, are refused', async () => {
    const before = await enhance(original, 'area');
    const analysis = await functionOf(edited);
    expect(reembedSource(before, 'def other():\n    pass\n', { code: edited, analysis })).toBeUndefined();
    const noFuture = edited.replace('from __future__ import annotations\n', '');
    expect(reembedSource(before, original, { code: noFuture, analysis: await functionOf(noFuture) })).toBeUndefined();
  });
});

describe('enhanced code preserves behaviour in the sandbox', () => {
  const cases: [string, string, string, SandboxRequest['samples']?][] = [
    ['typed numeric', 'def scale(x: int, factor: float) -> float:\n    return x * factor\n', 'scale'],
    [
      'defaults',
      'def greet(name: str, greeting: str = "Hello", punct="!") -> str:\n    return f"{greeting}, {name}{punct}"\n',
      'greet',
    ],
    [
      '*args and **kwargs',
      'def combine(*parts, sep=",", **labels):\n    return sep.join(map(str, parts)) + repr(sorted(labels.items()))\n',
      'combine',
      [{ args: [1, 2, 3], kwargs: { sep: '-', a: 1 } }, [], { kwargs: { z: [1] } }],
    ],
    [
      'async def',
      'import asyncio\n\nasync def double(n: int) -> int:\n    await asyncio.sleep(0)\n    return n * 2\n',
      'double',
    ],
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

  it.each(cases.map(([label, code, name, samples]) => ({ label, code, name, samples })))(
    '$label',
    async ({ code, name, samples }) => {
      const { python } = await enhance(code, name);
      const result = await sandbox(code, python, name, samples);
      expect(result).toMatchObject({
        compiled: true,
        imported: true,
        errors: [],
        mismatches: [],
        safety_level: 'high',
      });
      expect(result.samples_run).toBeGreaterThan(0);
    },
  );
});

describe('POET phases at run time', () => {
  it('Operate: lets a ValueError through at once, without retrying', async () => {
    const code =
      'calls = 0\n\ndef check(x: int) -> int:\n    global calls\n    calls += 1\n    raise ValueError(f"bad {x}")\n';
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
    const result = await drive(
      python,
      'result = [m.fetch("k"), m.calls, m.fetch.poet_stats["retries"], m.fetch.poet_stats["successes"]]',
    );
    expect(result).toEqual(['K', 3, 2, 1]);
  });

  it('Operate: enforces the timeout on sync and async functions', async () => {
    const code =
      'import asyncio, time\n\ndef slow():\n    time.sleep(5)\n\nasync def aslow():\n    await asyncio.sleep(5)\n';
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
    expect(slow[0]).toBe('slow() did not finish within the POET timeout of 0.2s');
    expect(aslow[0]).toBe('aslow() did not finish within the POET timeout of 0.2s');
    // sync: one attempt of 0.2 s, not retried since its thread may still run; far below the 5 s the function wants
    expect(slow[1]).toBeGreaterThanOrEqual(0.2);
    expect(slow[1]).toBeLessThan(0.4);
    // async: the first attempt is cancelled and has ended before the second one starts: two attempts of 0.2 s
    expect(aslow[1]).toBeGreaterThanOrEqual(0.4);
    expect(aslow[1]).toBeLessThan(2);
  });

  it('Perceive, strict: rejects a wrong-typed argument; bool is not int, int is a float', async () => {
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

  it('Perceive and Enforce by default: annotation mismatches are counted, and the original answers', async () => {
    const code = [
      'def to_int(number: float) -> int:',
      '    if not isinstance(number, int):',
      '        raise TypeError(f"Input value of [number={number}] must be an integer")',
      '    return number / 1',
    ].join('\n');
    const { python } = await enhance(code, 'to_int', baseDomain(), null);
    const result = await drive(
      python,
      [
        'result = []',
        'for arg in (6.0, "100", 4):',
        '    try:',
        '        result.append(repr(m.to_int(arg)))',
        '    except TypeError as exc:',
        '        result.append([type(exc).__name__, exc.args])',
        'stats = m.to_int.poet_stats',
        'result.append([stats["type_mismatches"], stats["return_mismatches"], stats["rule_refusals"]])',
      ].join('\n'),
    );
    // the function's own TypeError, untouched; "100" reaches the function; the float result is returned
    expect(result).toEqual([
      ['TypeError', ['Input value of [number=6.0] must be an integer']],
      ['TypeError', ['Input value of [number=100] must be an integer']],
      '4.0',
      [1, 1, 0],
    ]);
  });

  it('Enforce, strict: refuses a result that breaks the return annotation', async () => {
    const code = 'def half(n: int) -> int:\n    return n / 2\n';
    const { python } = await enhance(code, 'half');
    const result = await drive(
      python,
      'try:\n    m.half(3)\nexcept ValueError as exc:\n    result = [type(exc).__name__, str(exc)]',
    );
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
        'result = [m.job.poet_params["retries"], "unknown" in m.job.poet_params]',
        'result.append(m.job.poet_train({"success": False, "duration_s": 9.5}))',
        'result.append(m.job.poet_train({"success": True, "duration_s": 0.1}))',
      ].join('\n'),
      { POET_PARAMS_FILE: paramsFile },
    );
    expect(result).toEqual([2, false, { retries: 3, timeout: 12 }, { retries: 3, timeout: 10.8 }]);
  });
});
