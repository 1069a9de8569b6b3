'use strict';
// autocannon against POST /api/v1/functions/enhance, a different body per request (cycled), every response time kept.
const autocannon = require('autocannon');

/** Runs autocannon over the given bodies and returns every response time, status counts, errors and req/s. */
async function load(stack, bodies, { connections, amount, path = '/api/v1/functions/enhance', timeout = 10 }) {
  const times = [];
  const statuses = {};
  let cursor = 0;
  const instance = autocannon({
    url: `${stack.url}${path}`,
    method: 'POST',
    headers: stack.headers,
    connections,
    amount,
    timeout,
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[cursor++ % bodies.length] }) }],
  });
  instance.on('response', (_client, status, _bytes, responseTime) => {
    times.push(responseTime);
    statuses[status] = (statuses[status] ?? 0) + 1;
  });
  const result = await instance;
  return {
    times,
    statuses,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    rps: result.requests.average,
    seconds: result.duration,
  };
}

/** A distinct two-argument function per index: each is its own enhancement (and, once made, its own cache entry). */
function enhanceBody(prefix, i) {
  const name = `${prefix}_${i}`;
  return JSON.stringify({
    function_name: name,
    original_code: `def ${name}(a: int, b: int) -> int:\n    """Sum."""\n    return a + b + ${i}\n`,
  });
}

/** The fake model as the worker's only LLM provider, priced so the costs table fills. */
function fakeProviderEnv(fake, { timeoutMs = 30_000 } = {}) {
  return {
    FAKE_LLM_KEY: 'sk-bench',
    LLM_PROVIDERS: JSON.stringify([
      {
        name: 'fake',
        base_url: fake.url('good'),
        model: 'fake-model',
        api_key_env: 'FAKE_LLM_KEY',
        price_in_per_1k: 0.0025,
        price_out_per_1k: 0.01,
        timeout_ms: timeoutMs,
      },
    ]),
  };
}

module.exports = { load, enhanceBody, fakeProviderEnv };
