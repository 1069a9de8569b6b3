#!/usr/bin/env node
// npm run bench [-- [--quick] [--topology dev|cluster] name ...]: builds, starts the service out of process, runs the
// named benchmarks (all by default), prints a table for each, then each figure that has a floor beside the floor
// measured in the same run (bench/floor.js, added to the run when a benchmark needs it) with their ratio, and compares
// figures and ratios with the previous run (bench/results.json).
// A benchmark may name its stack's options, bring a setup (a fake LLM and the settings that point the stack at it)
// or need no stack at all (`stack: false`).
// --topology cluster runs them against the Temporal cluster of scripts/cluster.sh (hit latency, scale, CPU and the
// floor by default), two workers per stack as that topology runs, and keeps its figures under `cluster.`.
// --quick runs a few requests of each, to show the code path works; it records nothing.
'use strict';
const os = require('node:os');
const { needsFloor } = require('./lib/floors');
const { startBenchStack } = require('./lib/stack');
const { compareAndRecord, printTable } = require('./lib/stats');
const { TOPOLOGIES, clusterTemporal } = require('./lib/topology');

const BENCHMARKS = [
  require('./floor'),
  require('./hit-latency'),
  require('./hit-breakdown'),
  require('./cache'),
  require('./dashboard'),
  require('./overhead'),
  require('./scale'),
  require('./validation-throughput'),
  require('./validation-cpu'),
  require('./cost'),
  require('./cpu'),
  require('./restore'),
  require('./encryption'),
];
const CLUSTER_DEFAULT = ['hit-latency', 'scale', 'cpu'];
const CLUSTER_WORKERS = 2;

function parseArgs(argv) {
  const options = { quick: false, topology: 'dev', names: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') options.quick = true;
    else if (argv[i] === '--topology') options.topology = argv[++i];
    else if (argv[i].startsWith('--topology=')) options.topology = argv[i].slice('--topology='.length);
    else if (argv[i].startsWith('--')) throw new Error(`unknown option ${argv[i]}; known: --quick, --topology`);
    else options.names.push(argv[i]);
  }
  if (!TOPOLOGIES.includes(options.topology))
    throw new Error(`unknown topology ${options.topology}; known: ${TOPOLOGIES.join(', ')}`);
  return options;
}

/** The benchmarks to run, the floor first whenever one of them is read against it. */
function select({ names, topology }) {
  const wanted = names.length ? names : topology === 'cluster' ? CLUSTER_DEFAULT : BENCHMARKS.map((b) => b.name);
  const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length)
    throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const withFloor = needsFloor(wanted) ? ['floor', ...wanted] : wanted;
  return BENCHMARKS.filter((b) => withFloor.includes(b.name));
}

async function runOne(benchmark, context) {
  const setup = benchmark.setup ? await benchmark.setup() : { env: {}, close: async () => {} };
  try {
    if (benchmark.stack === false) return await benchmark.run(context);
    const options = { ...benchmark.stack, env: { ...benchmark.stack?.env, ...setup.env } };
    if (context.topology === 'cluster') {
      options.temporal = clusterTemporal();
      options.workers = Math.max(options.workers ?? 1, CLUSTER_WORKERS);
    }
    const stack = await startBenchStack(options);
    try {
      return await benchmark.run({ ...context, stack });
    } finally {
      await stack.close();
    }
  } finally {
    await setup.close();
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const selected = select(options);
  const [load1, load5] = os.loadavg();
  console.log(
    `${new Date().toISOString()}  ${os.cpus().length} cores (${os.cpus()[0].model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${load1.toFixed(1)} / ${load5.toFixed(1)}, topology ${options.topology}${options.quick ? ', quick' : ''}`,
  );
  const figures = {};
  const context = { figures, quick: options.quick, topology: options.topology };
  for (const benchmark of selected) {
    const { title, rows } = await runOne(benchmark, context);
    printTable(`${title}  [load average ${os.loadavg()[0].toFixed(1)}]`, rows);
  }
  const regressions = compareAndRecord(figures, { topology: options.topology, record: !options.quick });
  if (regressions > 0) console.log(`\n${regressions} figure(s) or ratio(s) regressed`);
  if (options.quick) console.log('\nquick run: bench/results.json not written');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
