'use strict';
// Benchmark 4: validation sandbox throughput. The template enhancement of every corpus function (test/corpus) for
// one domain, validated in the python3 sandbox with as many validations at once as the machine has cores:
// validations per second and the p50/p95 of one validation. No service stack: the sandbox alone. Validations run
// as the worker runs them: in children of the warm fork server, or one-shot with SANDBOX_FORK_SERVER=false.
// (bench/validation.js reports, per domain, how many enhancements compile, run and preserve behaviour.)
const os = require('node:os');
const { loadCorpus } = require('./lib/corpus');
const { percentiles } = require('./lib/stats');

const DOMAIN = process.env.BENCH_VALIDATION_DOMAIN ?? 'base_reliability';
const CONCURRENCY = Number(process.env.BENCH_VALIDATION_CONCURRENCY ?? os.cpus().length);
const FORK_SERVER = process.env.SANDBOX_FORK_SERVER !== 'false';

/** Every corpus case through `python`'s sandbox, CONCURRENCY at once. */
async function measure(corpus, python) {
  const { cases } = corpus;
  const forkServer = FORK_SERVER ? corpus.forkServer(python) : undefined;
  const times = [];
  let preserved = 0;
  let next = 0;
  let seconds;
  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) {
          const outcome = await corpus.runCase(cases[next++], { ...python, forkServer });
          times.push(outcome.duration_ms);
          if (outcome.preserved) preserved++;
        }
      }),
    );
    seconds = (performance.now() - started) / 1000;
  } finally {
    await forkServer?.close();
  }
  const p = percentiles(times);
  const perSecond = Math.round((cases.length / seconds) * 10) / 10;
  return {
    isolation: python.harness.isolation,
    validations: cases.length,
    'at once': CONCURRENCY,
    'per second': perSecond,
    'p50 ms': p.p50,
    'p95 ms': p.p95,
    preserved,
  };
}

// Isolated (the default) beside the floor without isolation, in the same run: the ratio is what isolation costs.
async function run({ figures }) {
  const corpus = await loadCorpus(DOMAIN);
  const floor = await measure(corpus, corpus.sandbox('none'));
  const isolated = await measure(corpus, corpus.sandbox('namespaces'));
  figures['validation.per_second'] = { value: isolated['per second'], better: 'higher' };
  figures['validation.p95_ms'] = { value: isolated['p95 ms'], better: 'lower' };
  figures['validation.isolation_p50_added_ms'] = {
    value: Math.round((isolated['p50 ms'] - floor['p50 ms']) * 10) / 10,
    better: 'lower',
  };
  return {
    title: `Validation sandbox throughput: ${DOMAIN}, ${CONCURRENCY} at once, ${FORK_SERVER ? 'fork server' : 'one-shot'}; isolated against the floor without isolation`,
    rows: [
      floor,
      { ...isolated, 'throughput ratio': Math.round((isolated['per second'] / floor['per second']) * 100) / 100 },
    ],
  };
}

module.exports = { name: 'validation', stack: false, run };
