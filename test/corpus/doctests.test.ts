import { existsSync } from 'node:fs';
import path from 'node:path';
import { PythonAnalyzer } from '../../src/infra/sandbox/python-analyzer';
import { getDomain } from '../../src/poet/domains';
import { RUNTIME_PACKAGE_DIR } from '../../src/poet/runtime';
import { enhanceWithTemplate, strictTypes } from '../../src/poet/template';

const { DOCTEST_DOMAINS, listDoctestCases, runDoctests, summarize, sources } =
  require('./corpus.js') as typeof import('./corpus.js');

const scriptDir = path.join(__dirname, '../../python');
const analyzer = new PythonAnalyzer({ pythonBin: 'python3', scriptDir, timeoutMs: 10_000, pathEnv: process.env.PATH! });
afterAll(() => analyzer.close());

const SHAPES = [
  'own_checks',
  'generator',
  'async',
  'recursion',
  'var_args',
  'var_kwargs',
  'mutable_default',
  'closure',
  'decorator',
  'class_beside',
  'module_constant',
];

test('every doctest of the real-code corpus that passes on the original passes on the enhanced code of each domain, but for the refusals its domain declares', async () => {
  const cases = await listDoctestCases(analyzer);
  expect(cases.length).toBeGreaterThanOrEqual(150);
  for (const entry of Object.values(sources.files)) {
    const source = sources.sources[entry.source];
    expect(source?.license).toBeTruthy();
    if (source?.notice) expect(existsSync(path.join(__dirname, source.notice))).toBe(true);
  }

  const options = { pythonBin: 'python3', runtimeDir: path.dirname(RUNTIME_PACKAGE_DIR), pathEnv: process.env.PATH! };
  const run = (name: string) =>
    runDoctests({ enhanceWithTemplate, strictTypes }, cases, getDomain(name)!, options).then((results) => ({
      name,
      results,
    }));
  // Two harness processes at a time: one per core.
  const runs = [];
  for (let i = 0; i < DOCTEST_DOMAINS.length; i += 2)
    runs.push(...(await Promise.all(DOCTEST_DOMAINS.slice(i, i + 2).map(run))));

  const base = runs.find((r) => r.name === 'base_reliability')!.results;
  const shapes = new Set(base.flatMap((r) => r.shapes));
  expect(SHAPES.filter((shape) => !shapes.has(shape))).toEqual([]);
  // Annotations the function's own examples disagree with (a float annotation given "100", `-> int` answering a float).
  expect(base.filter((r) => r.mismatches > 0).length).toBeGreaterThanOrEqual(10);

  for (const { name, results } of runs) {
    const summary = summarize(results, name);
    expect({ domain: name, errors: summary.errors, undeclared: summary.undeclared, stale: summary.stale }).toEqual({
      domain: name,
      errors: [],
      undeclared: [],
      stale: [],
    });
    expect(summary.doctests).toBeGreaterThanOrEqual(800);
    if (summary.rate < 0.99)
      throw new Error(`${name}: ${summary.rate} of the doctests kept:\n${summary.changed.join('\n')}`);
  }
}, 120_000);
