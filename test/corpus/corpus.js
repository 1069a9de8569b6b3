'use strict';
// The validation corpus: real-world-style functions in functions/*.py (one category per file), explicit samples in
// samples.json (others are derived from type hints by the sandbox), and public code kept verbatim under public/
// (sources.json names its origin and license). Shared by test/corpus, bench/validation.js and
// bench/corpus-doctests.js, which pass in the enhancer and sandbox they use (src/ under jest, dist/ in a benchmark).
const { spawn } = require('node:child_process');
const { readFileSync, readdirSync } = require('node:fs');
const path = require('node:path');

const dir = path.join(__dirname, 'functions');
const samples = JSON.parse(readFileSync(path.join(__dirname, 'samples.json'), 'utf8'));
const sources = JSON.parse(readFileSync(path.join(__dirname, 'sources.json'), 'utf8'));

/** Every public top-level function of every corpus file: {category, name, code, samples?, analysis}. */
async function listCases(analyzer) {
  const cases = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.py'))
    .sort()) {
    const code = readFileSync(path.join(dir, file), 'utf8');
    const analysis = await analyzer.analyze(code);
    if (!analysis.ok) throw new Error(`corpus file ${file} does not parse: ${analysis.error.message}`);
    for (const fn of analysis.functions.filter((f) => !f.name.startsWith('_'))) {
      cases.push({
        category: path.basename(file, '.py'),
        name: fn.name,
        code,
        samples: samples[fn.name],
        analysis: fn,
      });
    }
  }
  return cases;
}

/**
 * Enhances one case with the template for `domain` and validates it in the sandbox.
 * @returns {Promise<{compiled: boolean, ran: boolean, preserved: boolean, safety_level: string, duration_ms: number, problems: string[]}>}
 */
async function runCase(tools, testCase, domain, sandboxOptions) {
  const { enhanceWithTemplate, runSandbox } = tools;
  const enhanced = enhanceWithTemplate({
    functionName: testCase.name,
    originalCode: testCase.code,
    analysis: testCase.analysis,
    domain,
    optimizeFor: null,
    strict: false,
  });
  const started = performance.now();
  const result = await runSandbox(
    {
      original_code: testCase.code,
      enhanced_code: enhanced.python,
      function_name: testCase.name,
      samples: testCase.samples,
      timeout_s: 10,
      memory_mb: 512,
    },
    sandboxOptions,
  );
  return {
    compiled: result.compiled,
    ran: result.imported && !result.errors.some((e) => e.stage === 'run' || e.stage === 'resolve'),
    preserved: result.errors.length === 0 && result.mismatches.length === 0,
    safety_level: result.safety_level,
    samples_run: result.samples_run,
    duration_ms: performance.now() - started,
    problems: [
      ...result.errors.map((e) => `${e.stage}: ${e.message}`),
      ...result.mismatches.map((m) => `${JSON.stringify(m.sample)}: ${m.original} vs ${m.enhanced}`),
    ],
  };
}

/** The domains the corpus's doctests are held to on the enhanced code (test/corpus/doctests.test.ts). */
const DOCTEST_DOMAINS = [
  'base_reliability',
  'llm_optimization',
  'financial_services',
  'healthcare',
  'ml_monitoring',
  'building_management',
];

/** What a domain rule's refusal says, so a declared refusal is checked to come from the rule it names. */
const RULE_MESSAGES = {
  reject_none: 'must not be None',
  ranges: 'is outside the allowed range',
  max_abs_result: 'beyond the allowed magnitude',
  reject_non_finite: 'finite number',
  max_input_tokens: 'tokens, over the limit',
};

/**
 * Every public top-level function with doctests in a corpus file sources.json records:
 * {id: 'file::name', file, module, name, code, analysis}. Throws when a file holds a doctested function the
 * manifest does not list (its origin would be unrecorded), or the manifest lists one the file lacks.
 */
async function listDoctestCases(analyzer) {
  const cases = [];
  for (const [file, entry] of Object.entries(sources.files)) {
    const code = readFileSync(path.join(__dirname, file), 'utf8');
    const analysis = await analyzer.analyze(code);
    if (!analysis.ok) throw new Error(`corpus file ${file} does not parse: ${analysis.error.message}`);
    const doctested = analysis.functions.filter((f) => !f.name.startsWith('_') && f.docstring?.includes('>>>'));
    const found = doctested.map((f) => f.name).sort();
    if (found.join() !== [...entry.functions].sort().join()) {
      throw new Error(
        `sources.json lists ${entry.functions.join(', ')} for ${file}, which has doctests for ${found.join(', ')}`,
      );
    }
    for (const fn of doctested) {
      cases.push({
        id: `${file}::${fn.name}`,
        file,
        module: path.basename(file, '.py'),
        name: fn.name,
        code,
        analysis: fn,
      });
    }
  }
  return cases;
}

/**
 * Renders every case with the template for `domain` (the request defaults: no optimize_for, no strict) and runs its
 * doctests on the original and the enhanced module in one python3 process (doctest_harness.py).
 */
function runDoctests(tools, cases, domain, { pythonBin, runtimeDir, pathEnv }) {
  const { enhanceWithTemplate, strictTypes } = tools;
  const request = {
    runtime_dir: runtimeDir,
    cases: cases.map((c) => ({
      id: c.id,
      module: c.module,
      function: c.name,
      original: c.code,
      enhanced: enhanceWithTemplate({
        functionName: c.name,
        originalCode: c.code,
        analysis: c.analysis,
        domain,
        optimizeFor: null,
        strict: strictTypes({}),
      }).python,
    })),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(pythonBin, [path.join(__dirname, 'doctest_harness.py')], { env: { PATH: pathEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout));
      else reject(new Error(`doctest harness exited with ${code} for ${domain.name}: ${stderr}`));
    });
    child.stdin.end(JSON.stringify(request));
  });
}

/**
 * One domain's results against the refusals sources.json declares for it. `rate`: the share of the doctests that
 * pass on the original which also pass on the enhanced code, declared refusals aside.
 */
function summarize(results, domainName) {
  const summary = {
    functions: results.length,
    doctests: 0,
    passed: 0,
    declared: 0,
    changed: [],
    undeclared: [],
    stale: [],
    errors: [],
  };
  for (const result of results) {
    if (result.error) summary.errors.push(`${result.id}: ${result.error}`);
    const declared = sources.declared[result.id]?.[domainName];
    for (const example of result.examples) {
      const where = `${result.id}: ${example.source}`;
      if (!example.original.ok) {
        summary.errors.push(`${where} fails on the original: ${example.original.got}`);
        continue;
      }
      summary.doctests += 1;
      const refusal = declared?.refuses.includes(example.source);
      if (example.enhanced.ok) {
        summary.passed += 1;
        if (refusal) summary.stale.push(`${where} was declared refused by ${declared.rule}, yet passes`);
      } else if (refusal && example.enhanced.rule && example.enhanced.got.includes(RULE_MESSAGES[declared.rule])) {
        summary.declared += 1;
      } else {
        (example.enhanced.rule ? summary.undeclared : summary.changed).push(
          `${where} -> ${example.enhanced.got.trim()}`,
        );
      }
    }
  }
  summary.rate = summary.passed / (summary.doctests - summary.declared);
  return summary;
}

module.exports = { listCases, runCase, DOCTEST_DOMAINS, listDoctestCases, runDoctests, summarize, sources };
