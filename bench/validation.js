#!/usr/bin/env node
// Validation over the corpus (test/corpus): for every built-in domain, the template enhancement of every corpus
// function is validated in the python3 sandbox; reports the share that compiles, runs and preserves behaviour,
// and the p50/p95 wall time of one validation. Prints a markdown table for bench/RESULTS.md.
// Run: npm run bench:validation   (builds first; needs only python3)
'use strict';
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const { PythonAnalyzer } = require(path.join(dist, 'infra', 'sandbox', 'python-analyzer'));
const { runSandbox } = require(path.join(dist, 'infra', 'sandbox', 'harness'));
const { BUILTIN_DOMAINS } = require(path.join(dist, 'poet', 'domains'));
const { enhanceWithTemplate } = require(path.join(dist, 'poet', 'template'));
const { listCases, runCase } = require(path.join(__dirname, '..', 'test', 'corpus', 'corpus.js'));

const scriptDir = path.join(__dirname, '..', 'python');
const pathEnv = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const share = (n, total) => `${((100 * n) / total).toFixed(1)}%`;

async function main() {
  const analyzer = new PythonAnalyzer({
    pythonBin: process.env.PYTHON_BIN ?? 'python3',
    scriptDir,
    timeoutMs: 10_000,
    pathEnv,
  });
  const sandbox = {
    pythonBin: process.env.PYTHON_BIN ?? 'python3',
    scriptDir,
    pathEnv,
    harness: { isolation: process.env.SANDBOX_ISOLATION ?? 'namespaces', disk_bytes: 64 << 20 },
  };
  try {
    const cases = await listCases(analyzer);
    const rows = [];
    const failures = [];
    for (const domain of Object.values(BUILTIN_DOMAINS)) {
      const outcomes = [];
      for (const testCase of cases) {
        const outcome = await runCase({ enhanceWithTemplate, runSandbox }, testCase, domain, sandbox);
        outcomes.push(outcome);
        if (!outcome.preserved) failures.push(`${domain.name}/${testCase.name}: ${outcome.problems.join('; ')}`);
      }
      const times = outcomes.map((o) => o.duration_ms).sort((a, b) => a - b);
      const count = (key) => outcomes.filter((o) => o[key]).length;
      rows.push(
        `| ${domain.name} | ${cases.length} | ${share(count('compiled'), cases.length)} | ${share(count('ran'), cases.length)} | ` +
          `${share(count('preserved'), cases.length)} | ${quantile(times, 0.5).toFixed(0)} | ${quantile(times, 0.95).toFixed(0)} |`,
      );
      process.stderr.write(`${domain.name}: done\n`);
    }
    console.log('| domain | functions | compiles | runs | preserves behaviour | p50 ms | p95 ms |');
    console.log('|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
    if (failures.length > 0) console.log(`\nNot preserved:\n${failures.map((f) => `- ${f}`).join('\n')}`);
  } finally {
    await analyzer.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
