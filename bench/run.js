#!/usr/bin/env node
// npm run bench [-- name ...]: builds, starts the service out of process, runs the named benchmarks (all by
// default), prints a table for each and compares the figures with the previous run (bench/results.json).
'use strict';
const os = require('node:os');
const { startBenchStack } = require('./lib/stack');
const { compareAndRecord, printTable } = require('./lib/stats');

const BENCHMARKS = [require('./hit-latency'), require('./cache'), require('./dashboard')];

async function main() {
  const wanted = process.argv.slice(2);
  const selected = wanted.length ? BENCHMARKS.filter((b) => wanted.includes(b.name)) : BENCHMARKS;
  if (selected.length === 0) throw new Error(`unknown benchmark; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  console.log(`${new Date().toISOString()}  ${os.cpus().length} cores (${os.cpus()[0].model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  const figures = {};
  for (const benchmark of selected) {
    const stack = await startBenchStack(benchmark.stack ?? {});
    try {
      const { title, rows } = await benchmark.run({ stack, figures });
      printTable(title, rows);
    } finally {
      await stack.close();
    }
  }
  const regressions = compareAndRecord(figures);
  if (regressions > 0) console.log(`\n${regressions} figure(s) regressed by more than 10%`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
