'use strict';
// The validation benchmarks' common ground: the corpus functions (test/corpus), one domain's settings, the python3
// the worker would use, and what validates a case as the worker does (template enhancement, then the sandbox).
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const dist = path.join(root, 'dist');

async function loadCorpus(domainName) {
  const { PythonAnalyzer } = require(path.join(dist, 'infra', 'sandbox', 'python-analyzer'));
  const { runSandbox } = require(path.join(dist, 'infra', 'sandbox', 'run'));
  const { SandboxForkServer } = require(path.join(dist, 'infra', 'sandbox', 'fork-server'));
  const { BUILTIN_DOMAINS } = require(path.join(dist, 'poet', 'domains'));
  const { enhanceWithTemplate } = require(path.join(dist, 'poet', 'template'));
  const { listCases, runCase } = require(path.join(root, 'test', 'corpus', 'corpus.js'));
  /** The sandbox as the worker runs it, with kernel isolation or (the floor of what isolation costs) without. */
  const sandbox = (isolation) => ({
    pythonBin: process.env.PYTHON_BIN ?? 'python3',
    scriptDir: path.join(root, 'python'),
    pathEnv: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    harness: { isolation, disk_bytes: 64 << 20 },
  });
  const python = sandbox(process.env.SANDBOX_ISOLATION ?? 'namespaces');
  const domain = Object.values(BUILTIN_DOMAINS).find((d) => d.name === domainName);
  if (!domain) throw new Error(`unknown domain ${domainName}`);
  const analyzer = new PythonAnalyzer({ ...python, timeoutMs: 10_000 });
  let cases;
  try {
    cases = await listCases(analyzer);
  } finally {
    await analyzer.close();
  }
  const tools = { enhanceWithTemplate, runSandbox };
  return {
    cases,
    domain,
    python,
    sandbox,
    /** The validation of one case; `options` are the sandbox's (python3, and the fork server if any). */
    runCase: (testCase, options) => runCase(tools, testCase, domain, options),
    forkServer: (options = python) => new SandboxForkServer(options),
  };
}

module.exports = { loadCorpus };
