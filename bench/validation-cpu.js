'use strict';
// Benchmark: CPU per validation, one-shot python3 per validation against children of the warm fork server
// (SANDBOX_FORK_SERVER). The template enhancement of every corpus function (test/corpus) for one domain, validated
// one at a time, BENCH_VALIDATION_CPU_PASSES times over, on each path: user + system CPU of the python3 processes
// (reaped one-shot harnesses; the fork server with its reaped children) and of this Node process, per validation.
// CPU does not depend on what else runs on the machine, as wall time does. No service stack: the sandbox alone.
const { cpuSeconds } = require('./lib/cpu');
const { loadCorpus } = require('./lib/corpus');
const { percentiles } = require('./lib/stats');

const DOMAIN = process.env.BENCH_VALIDATION_DOMAIN ?? 'base_reliability';
const PASSES = Number(process.env.BENCH_VALIDATION_CPU_PASSES ?? 3);

async function run({ figures }) {
  const corpus = await loadCorpus(DOMAIN);
  const { cases, python } = corpus;

  /** CPU ms of python3 and of Node per validation on one path, after one validation that warms it up. */
  async function measure(path, options) {
    const cold = cpuSeconds(process.pid);
    await corpus.runCase(cases[0], options);
    const before = cpuSeconds(process.pid);
    const started = performance.now();
    const walls = [];
    for (let pass = 0; pass < PASSES; pass++) {
      for (const testCase of cases) {
        const one = performance.now();
        const outcome = await corpus.runCase(testCase, options);
        walls.push(performance.now() - one);
        if (!outcome.preserved)
          throw new Error(`validation-cpu: ${testCase.name} on the ${path} path: ${outcome.problems.join('; ')}`);
      }
    }
    const after = cpuSeconds(process.pid);
    const n = PASSES * cases.length;
    const perValidation = (seconds) => Math.round((seconds * 1000 * 10) / n) / 10;
    return {
      path,
      validations: n,
      'python3 CPU ms': perValidation(after.children - before.children),
      'Node CPU ms': perValidation(after.self - before.self),
      'wall ms': Math.round(((performance.now() - started) / n) * 10) / 10,
      'p50 wall ms': Math.round(percentiles(walls).p50 * 10) / 10,
      'first validation python3 CPU ms': Math.round((before.children - cold.children) * 1000),
    };
  }

  async function forked(label, options) {
    const forkServer = corpus.forkServer(options);
    try {
      return await measure(label, { ...options, forkServer });
    } finally {
      await forkServer.close();
    }
  }

  const oneShot = await measure('one-shot', python);
  const floor = await forked('fork server, no isolation (floor)', corpus.sandbox('none'));
  const isolated = await forked('fork server, isolated', corpus.sandbox('namespaces'));
  figures['validation.python_cpu_ms.one_shot'] = { value: oneShot['python3 CPU ms'], better: 'lower' };
  figures['validation.python_cpu_ms.fork_server'] = { value: isolated['python3 CPU ms'], better: 'lower' };
  figures['validation.isolation_added_cpu_ms'] = {
    value: Math.round((isolated['python3 CPU ms'] - floor['python3 CPU ms']) * 10) / 10,
    better: 'lower',
  };
  return {
    title: `CPU per validation: ${DOMAIN}, ${cases.length} corpus functions x ${PASSES}, one at a time (one-shot isolated as the default)`,
    rows: [oneShot, floor, isolated],
  };
}

module.exports = { name: 'validation-cpu', stack: false, run };
