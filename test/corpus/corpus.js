'use strict';
// The validation corpus: real-world-style functions in functions/*.py (one category per file), explicit samples in
// samples.json (others are derived from type hints by the sandbox). Shared by test/corpus and bench/validation.js,
// which pass in the enhancer and sandbox they use (from src/ under jest, from dist/ in the benchmark).
const { readFileSync, readdirSync } = require('node:fs');
const path = require('node:path');

const dir = path.join(__dirname, 'functions');
const samples = JSON.parse(readFileSync(path.join(__dirname, 'samples.json'), 'utf8'));

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

module.exports = { listCases, runCase };
