#!/usr/bin/env node
// npm run bench [-- name ...]: builds, starts the service out of process, runs the named benchmarks (all by
// default), prints a table for each and compares the figures with the previous run (bench/results.json).
// A benchmark may name its stack's options, bring a setup (a fake LLM and the settings that point the stack at it)
// or need no stack at all (`stack: false`).
'use strict';
const os = require('node:os');
const { startBenchStack } = require('./lib/stack');
const { compareAndRecord, printTable } = require('./lib/stats');

const BENCHMARKS = [
  require('./hit-latency'),
  require('./cache'),
  require('./dashboard'),
  require('./overhead'),
  require('./scale'),
  require('./validation-throughput'),
  require('./validation-cpu'),
  require('./cost'),
  require('./cpu'),
  require('./floor'),
  require('./restore'),
  require('./encryption'),
];

async function runOne(benchmark, figures) {
  const setup = benchmark.setup ? await benchmark.setup() : { env: {}, close: async () => {} };
  try {
    if (benchmark.stack === false) return await benchmark.run({ figures });
    const stack = await startBenchStack({ ...benchmark.stack, env: { ...benchmark.stack?.env, ...setup.env } });
    try {
      return await benchmark.run({ stack, figures });
    } finally {
      await stack.close();
    }
  } finally {
    await setup.close();
  }
}

async function main() {
  const wanted = process.argv.slice(2);
  const selected = wanted.length ? BENCHMARKS.filter((b) => wanted.includes(b.name)) : BENCHMARKS;
  if (selected.length === 0) throw new Error(`unknown benchmark; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const [load1, load5] = os.loadavg();
  console.log(
    `${new Date().toISOString()}  ${os.cpus().length} cores (${os.cpus()[0].model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${load1.toFixed(1)} / ${load5.toFixed(1)}`,
  );
  const figures = {};
  for (const benchmark of selected) {
    const { title, rows } = await runOne(benchmark, figures);
    printTable(`${title}  [load average ${os.loadavg()[0].toFixed(1)}]`, rows);
  }
  const regressions = compareAndRecord(figures);
  if (regressions > 0) console.log(`\n${regressions} figure(s) regressed by more than 10%`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
