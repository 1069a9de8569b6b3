#!/usr/bin/env node
// The corpus's own doctests on the enhanced code (test/corpus/doctests.test.ts asserts the same): for each domain,
// every doctested corpus function is enhanced with the template and its doctests run on the original and the
// enhanced module. Prints a markdown table for bench/RESULTS.md: functions, doctests passing on the original, those
// that pass on the enhanced code, the refusals the domain declares (sources.json), and the rate without them.
// Run: npm run bench:doctests   (builds first; needs only python3)
'use strict';
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const { PythonAnalyzer } = require(path.join(dist, 'infra', 'sandbox', 'python-analyzer'));
const { getDomain } = require(path.join(dist, 'poet', 'domains'));
const { RUNTIME_PACKAGE_DIR } = require(path.join(dist, 'poet', 'runtime'));
const { enhanceWithTemplate, strictTypes } = require(path.join(dist, 'poet', 'template'));
const { DOCTEST_DOMAINS, listDoctestCases, runDoctests, summarize } = require(
  path.join(__dirname, '..', 'test', 'corpus', 'corpus.js'),
);

const pythonBin = process.env.PYTHON_BIN ?? 'python3';
const pathEnv = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

async function main() {
  const analyzer = new PythonAnalyzer({
    pythonBin,
    scriptDir: path.join(__dirname, '..', 'python'),
    timeoutMs: 10_000,
    pathEnv,
  });
  let cases;
  try {
    cases = await listDoctestCases(analyzer);
  } finally {
    await analyzer.close();
  }
  const options = { pythonBin, runtimeDir: path.dirname(RUNTIME_PACKAGE_DIR), pathEnv };
  console.log('| domain | functions | doctests | passed | declared refusals | changed | rate | wall s |');
  console.log('|---|---|---|---|---|---|---|---|');
  const changed = [];
  for (const name of DOCTEST_DOMAINS) {
    const started = performance.now();
    const results = await runDoctests({ enhanceWithTemplate, strictTypes }, cases, getDomain(name), options);
    const seconds = (performance.now() - started) / 1000;
    const s = summarize(results, name);
    const kept = s.doctests - s.declared;
    console.log(
      `| ${name} | ${s.functions} | ${s.doctests} | ${s.passed} | ${s.declared} | ${kept - s.passed} | ` +
        `${(100 * s.rate).toFixed(2)}% | ${seconds.toFixed(1)} |`,
    );
    changed.push(...[...s.changed, ...s.undeclared, ...s.stale, ...s.errors].map((line) => `${name}: ${line}`));
  }
  if (changed.length > 0) console.log(`\nNot kept:\n${changed.map((line) => `- ${line}`).join('\n')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
