import { sandboxPython } from '../helpers/sandbox';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PythonAnalyzer } from '../../src/infra/sandbox/python-analyzer';
import { runSandbox } from '../../src/infra/sandbox/run';
import { BUILTIN_DOMAINS, DomainSettings, getDomain } from '../../src/poet/domains';
import { enhanceWithTemplate } from '../../src/poet/template';

const scriptDir = path.join(__dirname, '../../python');
const pathEnv = process.env.PATH!;
const analyzer = new PythonAnalyzer({ pythonBin: 'python3', scriptDir, timeoutMs: 10_000, pathEnv });
let workdir: string;

beforeAll(async () => {
  workdir = await mkdtemp(path.join(os.tmpdir(), 'poet-domains-test-'));
});
afterAll(async () => {
  await analyzer.close();
  await rm(workdir, { recursive: true, force: true });
});

async function enhance(code: string, name: string, domain: DomainSettings) {
  const analysis = await analyzer.analyze(code);
  if (!analysis.ok) throw new Error(`test code does not parse: ${analysis.error.message}`);
  const fn = analysis.functions.find((f) => f.name === name)!;
  return enhanceWithTemplate({
    functionName: name,
    originalCode: code,
    analysis: fn,
    domain,
    optimizeFor: null,
    strict: false,
  });
}

let files = 0;
/** Runs `driver` against the module `m` (the enhanced code) and `o` (the original) in python3; prints `result` as JSON. */
async function drive(original: string, enhanced: string, driver: string): Promise<unknown> {
  files += 1;
  const [o, m] = [path.join(workdir, `o${files}.py`), path.join(workdir, `m${files}.py`)];
  await Promise.all([writeFile(o, original), writeFile(m, enhanced)]);
  const script = [
    'import importlib.util, json, sys',
    // Where the sandbox and a version folder have it: beside the module, importable as poet_runtime.
    `sys.path.insert(0, ${JSON.stringify(scriptDir)})`,
    'def load(label, file):',
    '    spec = importlib.util.spec_from_file_location(label, file)',
    '    mod = importlib.util.module_from_spec(spec)',
    '    spec.loader.exec_module(mod)',
    '    return mod',
    'o, m = load("o", sys.argv[1]), load("m", sys.argv[2])',
    'def outcome(fn, *args, **kwargs):',
    '    try:',
    '        return ["ok", repr(fn(*args, **kwargs))]',
    '    except Exception as exc:',
    '        return [type(exc).__name__, str(exc)]',
    driver,
    'print(json.dumps(result))',
  ].join('\n');
  const { stdout } = await promisify(execFile)('python3', ['-I', '-S', '-c', script, o, m], { env: { PATH: pathEnv } });
  return JSON.parse(stdout) as unknown;
}

/**
 * One function per built-in domain, a sample it must accept, and an input the original accepts that the domain's
 * declared rules refuse; `rejects: null` where the domain declares none (annotations are only observed there).
 */
const CASES: Record<string, { code: string; name: string; good: string; bad: string; rejects: RegExp | null }> = {
  base_reliability: {
    name: 'double',
    code: 'def double(x: int) -> int:\n    return x * 2\n',
    good: '(4,)',
    bad: '("ab",)',
    rejects: null,
  },
  computation: {
    name: 'mean',
    code: 'def mean(a: float, b: float) -> float:\n    return (a + b) / 2\n',
    good: '(1.0, 3.0)',
    bad: '(float("nan"), 1.0)',
    rejects: /must be a finite number/,
  },
  llm_optimization: {
    name: 'summarize',
    code: 'def summarize(prompt: str) -> str:\n    return prompt[:20]\n',
    good: '("hello world",)',
    bad: '("x" * 200_000,)',
    rejects: /about 50000 tokens, over the limit of 32000/,
  },
  prompt_optimization: {
    name: 'render',
    code: 'def render(template: str, topic=""):\n    return template.replace("{topic}", str(topic))\n',
    good: '("about {topic}", "cats")',
    bad: '(None, "cats")',
    rejects: /argument 'template' must not be None/,
  },
  ml_monitoring: {
    name: 'psi',
    code: 'def psi(expected: float, actual: float) -> float:\n    return abs(expected - actual)\n',
    good: '(0.2, 0.3)',
    bad: '(float("inf"), 0.3)',
    rejects: /must be a finite number/,
  },
  financial_services: {
    name: 'monthly_payment',
    code: [
      'def monthly_payment(principal: float, annual_rate: float, months: int) -> float:',
      '    r = annual_rate / 12',
      '    return principal * r / (1 - (1 + r) ** -months) if r else principal / months',
    ].join('\n'),
    good: '(10000.0, 0.05, 12)',
    bad: '(10000.0, 500.0, 12)',
    rejects: /argument 'annual_rate' = 500.0 is outside the allowed range \[-1, 100\]/,
  },
  building_management: {
    name: 'heating_demand',
    code: 'def heating_demand(setpoint: float, temperature: float) -> float:\n    return max(setpoint - temperature, 0.0)\n',
    good: '(21.0, 18.5)',
    bad: '(21.0, 850.0)',
    rejects: /argument 'temperature' = 850.0 is outside the allowed range \[-60, 150\]/,
  },
  semiconductor: {
    name: 'chamber_ok',
    code: 'def chamber_ok(pressure: float, rf_power: float) -> bool:\n    return pressure < 100 and rf_power < 500\n',
    good: '(20.0, 300.0)',
    bad: '(-5.0, 300.0)',
    rejects: /argument 'pressure' = -5.0 is outside the allowed range/,
  },
  healthcare: {
    name: 'bmi',
    code: 'def bmi(weight_kg: float, height_cm: float) -> float:\n    return weight_kg / (height_cm / 100) ** 2\n',
    good: '(70.0, 175.0)',
    bad: '(70.0, -175.0)',
    rejects: /argument 'height_cm' = -175.0 is outside the allowed range \[0, 300\]/,
  },
};

describe('built-in domains', () => {
  test('every built-in domain has a case below', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(BUILTIN_DOMAINS).sort());
  });

  test.each(Object.entries(CASES))(
    '%s: keeps behaviour on a good input; refuses a bad one only by a declared rule',
    async (domainName, c) => {
      const { python, params } = await enhance(c.code, c.name, getDomain(domainName)!);
      expect(params.domain).toBe(domainName);
      const driver = `result = [outcome(o.${c.name}, *${c.good}), outcome(m.${c.name}, *${c.good}), outcome(o.${c.name}, *${c.bad}), outcome(m.${c.name}, *${c.bad}), m.${c.name}.poet_stats["rule_refusals"]]`;
      const result = (await drive(c.code, python, driver)) as [
        [string, unknown],
        [string, unknown],
        [string, unknown],
        [string, unknown],
        number,
      ];
      expect(result[1]).toEqual(result[0]);
      expect(result[0][0]).toBe('ok');
      if (c.rejects === null) {
        // no rule declared: the bad input gets exactly what the original gives it
        expect(result[3]).toEqual(result[2]);
        expect(result[4]).toBe(0);
      } else {
        // the original lets the bad input through (or fails on it obscurely); the declared rule refuses it clearly
        expect(String(result[2][1])).not.toMatch(c.rejects);
        expect(result[3][0]).toMatch(/^Poet(TypeError|InputError)$/);
        expect(String(result[3][1])).toMatch(c.rejects);
        expect(result[4]).toBe(1);
      }

      const validation = await runSandbox(
        { original_code: c.code, enhanced_code: python, function_name: c.name, timeout_s: 5, memory_mb: 256 },
        sandboxPython,
      );
      expect(validation).toMatchObject({ errors: [], mismatches: [] });
    },
  );

  test('financial_services keeps an audit trail; healthcare masks PII in it', async () => {
    const code = 'def lookup(patient_id: str, age: int) -> str:\n    return patient_id[:3]\n';
    const driver =
      'outcome(m.lookup, "jane@example.org 555-123-4567", 42)\noutcome(m.lookup, "x", 200)\nresult = [[e["args"], e["outcome"]] for e in m.lookup.poet_audit]';
    const audited = async (domain: string) =>
      drive(code, (await enhance(code, 'lookup', getDomain(domain)!)).python, driver);
    // financial_services has no age range; healthcare refuses age 200, and the refusal is on the trail too
    expect(await audited('financial_services')).toEqual([
      ["'jane@example.org 555-123-4567', 42", 'ok'],
      ["'x', 200", 'ok'],
    ]);
    expect(await audited('healthcare')).toEqual([
      ["'*** ***', 42", 'ok'],
      ["'x', 200", 'raised PoetInputError'],
    ]);
  });

  test('llm_optimization answers repeated calls from its cache; ml_monitoring flags drift and tracks latency', async () => {
    const code = 'calls = 0\n\ndef score(x: float) -> float:\n    global calls\n    calls += 1\n    return x * 2\n';
    const cached = await drive(
      code,
      (await enhance(code, 'score', getDomain('llm_optimization')!)).python,
      'result = [m.score(1.5), m.score(1.5), m.score(2.5), m.calls, m.score.poet_stats["cache_hits"]]',
    );
    expect(cached).toEqual([3, 3, 5, 2, 1]);
    const drift = await drive(
      code,
      (await enhance(code, 'score', getDomain('ml_monitoring')!)).python,
      'for i in range(40):\n    m.score(1.0 + (i % 5) * 0.01)\nm.score(50.0)\ns = m.score.poet_stats\nresult = [s["drift_alerts"], s["calls"], s["latency_p95_s"] >= s["latency_p50_s"] > 0]',
    );
    expect(drift).toEqual([1, 41, true]);
  });

  test('building_management holds the last good result through a transient fault, never through a ValueError', async () => {
    const code = [
      'state = {"fail": None}',
      '',
      'def read_setpoint(zone: int) -> float:',
      '    if state["fail"]:',
      '        raise state["fail"]("sensor bus")',
      '    return 21.5',
    ].join('\n');
    const domain = getDomain('building_management')!;
    const fast = { ...domain, operate: { ...domain.operate, backoff_base_s: 0.01, backoff_max_s: 0.01 } };
    const result = await drive(
      code,
      (await enhance(code, 'read_setpoint', fast)).python,
      'first = m.read_setpoint(1)\nm.state["fail"] = ConnectionError\nheld = m.read_setpoint(1)\nm.state["fail"] = ValueError\nresult = [first, held, m.read_setpoint.poet_stats["fallbacks"], outcome(m.read_setpoint, 1)]',
    );
    expect(result).toEqual([21.5, 21.5, 1, ['ValueError', 'sensor bus']]);
  });

  test('financial_services refuses a result beyond cent precision', async () => {
    const code = 'def grow(amount: float, years: int) -> float:\n    return amount * 10 ** years\n';
    const result = await drive(
      code,
      (await enhance(code, 'grow', getDomain('financial_services')!)).python,
      'result = [outcome(o.grow, 1e9, 6), outcome(m.grow, 1e9, 6)]',
    );
    expect(result).toEqual([
      ['ok', '1000000000000000.0'],
      ['PoetEnforcementError', expect.stringMatching(/beyond the allowed magnitude/)],
    ]);
  });

  test("a domain may not list the function's own errors as transient", () => {
    const parsed = DomainSettings.safeParse({
      name: 'bad',
      description: 'x',
      operate: { retry_on: ['TimeoutError', 'ValueError'] },
    });
    expect(parsed.success).toBe(false);
  });

  test('a params file cannot make Operate retry a TypeError', async () => {
    const code = 'calls = 0\n\ndef f(x: int) -> int:\n    global calls\n    calls += 1\n    raise TypeError("mine")\n';
    const { python } = await enhance(code, 'f', getDomain('base_reliability')!);
    const result = await drive(
      code,
      python,
      'm.f.poet_params["retry_on"] = ["TypeError", "Exception"]\nresult = [outcome(m.f, 1), m.calls, m.f.poet_stats["retries"]]',
    );
    expect(result).toEqual([['TypeError', 'mine'], 1, 0]);
  });
});
