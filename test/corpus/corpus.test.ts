import { sandboxPython } from '../helpers/sandbox';
import path from 'node:path';
import { PythonAnalyzer } from '../../src/infra/sandbox/python-analyzer';
import { runSandbox } from '../../src/infra/sandbox/run';
import { getDomain } from '../../src/poet/domains';
import { enhanceWithTemplate } from '../../src/poet/template';

const { listCases, runCase } = require('./corpus.js') as typeof import('./corpus.js');

const scriptDir = path.join(__dirname, '../../python');
const sandboxOptions = sandboxPython;
const analyzer = new PythonAnalyzer({ pythonBin: 'python3', scriptDir, timeoutMs: 10_000, pathEnv: process.env.PATH! });
afterAll(() => analyzer.close());

// Every domain is benchmarked over the corpus in bench/validation.js; here the reference domain, in full.
test('the corpus holds at least 60 functions of every category and shape, each preserved by the base_reliability enhancement', async () => {
  const cases = await listCases(analyzer);
  expect(cases.length).toBeGreaterThanOrEqual(60);
  expect(new Set(cases.map((c) => c.category))).toEqual(
    new Set(['data_structures', 'edge_cases', 'finance', 'health', 'ml', 'numeric', 'strings']),
  );
  const shapes = cases.map((c) => c.analysis);
  expect(shapes.some((f) => f.is_async)).toBe(true);
  expect(shapes.some((f) => f.is_generator)).toBe(true);
  expect(shapes.some((f) => f.decorators.length > 0)).toBe(true);
  expect(shapes.some((f) => f.params.some((p) => p.kind === 'var_keyword'))).toBe(true);
  expect(shapes.some((f) => f.params.some((p) => p.kind === 'positional_only'))).toBe(true);

  const failures: string[] = [];
  let samplesRun = 0;
  for (const testCase of cases) {
    const outcome = await runCase(
      { enhanceWithTemplate, runSandbox },
      testCase,
      getDomain('base_reliability')!,
      sandboxOptions,
    );
    samplesRun += outcome.samples_run;
    if (!outcome.preserved) failures.push(`${testCase.name}: ${outcome.problems.join('; ')}`);
  }
  expect(failures).toEqual([]);
  expect(samplesRun).toBeGreaterThan(cases.length);
}, 180_000);
