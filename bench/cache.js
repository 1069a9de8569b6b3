'use strict';
// Benchmark: the enhancement cache under a mixed workload (new functions, exact repeats, cosmetic edits: comments,
// layout, docstrings) through the API with two worker processes (each its own L0; Redis shared). Reports the hit
// rate per layer (GET /api/v1/cache/stats, i.e. the cache_stats table) and latency per layer, end to end and for
// the lookup alone. BENCH_CACHE_N requests (default 150), BENCH_SEED (default 42).
const path = require('node:path');
const { percentiles } = require('./lib/stats');

const dist = path.join(__dirname, '..', 'dist');
const { EnhanceRequest } = require(path.join(dist, 'contracts', 'enhance'));
const { canonicalJson, sha256 } = require(path.join(dist, 'infra', 'hash'));
const { EnhancementCache } = require(path.join(dist, 'infra', 'cache', 'enhancement-cache'));
const { cacheKeyFor, producerOf } = require(path.join(dist, 'activities', 'cache'));
const { createPool } = require(path.join(dist, 'infra', 'db', 'pool'));
const { createLogger } = require(path.join(dist, 'infra', 'observability', 'logger'));
const { PythonAnalyzer } = require(path.join(dist, 'infra', 'sandbox', 'python-analyzer'));
const { createRedis } = require(path.join(dist, 'infra', 'cache', 'redis'));
const { ProviderChain } = require(path.join(dist, 'infra', 'llm', 'provider-chain'));
const { loadConfig } = require(path.join(dist, 'config'));
const { waitUntil } = require(path.join(dist, 'cli', 'wait'));

const N = Number(process.env.BENCH_CACHE_N ?? 150);
const MIX = { new: 0.3, repeat: 0.4, cosmetic: 0.3 };
const LABEL = {
  lineage: 'the active version (lineage, ahead of the cache)',
  l0: 'L0 hit (in-process)',
  l1: 'L1 hit (Redis)',
  l2: 'L2 hit (normalized code)',
  miss: 'miss (generate + validate)',
};

/** mulberry32: the same seed gives the same workload. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Variant 0 is the plain source; others differ only in comments, blank lines, spacing and the docstring. */
function render(name, k, variant) {
  const doc = ['', `    """Scale and shift (${variant})."""\n`, `    '''Variant ${variant}.'''\n\n`][variant % 3];
  const comment = variant ? `# edit ${variant}\n` : '';
  const spacing = variant % 2 ? '  ' : ' ';
  return `${comment}def ${name}(a: int, b: int) -> int:\n${doc}    return a *${spacing}b + ${k}${variant ? `  # v${variant}` : ''}\n`;
}

function workload(seed) {
  const random = rng(seed);
  const functions = [];
  const issued = [];
  const ops = [];
  for (let i = 0; i < N; i++) {
    const r = random();
    const kind = r < MIX.new || functions.length === 0 ? 'new' : r < MIX.new + MIX.repeat ? 'repeat' : 'cosmetic';
    let body;
    if (kind === 'new') {
      const fn = { name: `cb_${functions.length}`, k: functions.length, variants: 1 };
      functions.push(fn);
      body = { function_name: fn.name, original_code: render(fn.name, fn.k, 0) };
    } else if (kind === 'repeat') {
      body = issued[Math.floor(random() * issued.length)];
    } else {
      const fn = functions[Math.floor(random() * functions.length)];
      body = { function_name: fn.name, original_code: render(fn.name, fn.k, fn.variants++) };
    }
    issued.push(body);
    ops.push({ kind, body });
  }
  return { ops, functions };
}

async function post(stack, body) {
  const started = performance.now();
  const res = await fetch(`${stack.url}/api/v1/functions/enhance`, {
    method: 'POST',
    headers: stack.headers,
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
  return { ms: performance.now() - started, json };
}

/** The cache lookup alone in this process, against the workers' Redis entries. */
async function lookupLatencies(env, ops, functions) {
  const logger = createLogger({ level: 'error', service: 'bench', silent: true });
  const redis = createRedis(env.REDIS_URL, logger);
  await new Promise((resolve) => redis.once('ready', resolve));
  const analyzer = new PythonAnalyzer({
    pythonBin: 'python3',
    scriptDir: path.join(__dirname, '..', 'python'),
    timeoutMs: 5_000,
    pathEnv: process.env.PATH,
  });
  // The workers' chain, as their config gives it: it is part of every key.
  const providers = new ProviderChain(loadConfig(env));
  const newCache = () =>
    new EnhancementCache({ redis, prefix: env.REDIS_PREFIX, maxEntries: 1_000, ttlSeconds: 0, logger });
  const ms = { l0: [], l1: [], l2: [], miss: [] };
  // The keys as the API derives them (its python3 parse gives the AST hash); only the lookup is timed.
  const inputOf = async (body) => {
    const request = EnhanceRequest.parse(body);
    const analysis = await analyzer.analyze(request.original_code);
    const keyed = (req) => sha256(canonicalJson({ tenant: 'default', request: req }));
    const normalized_input_hash = keyed({ ...request, original_code: `ast:${analysis.normalized_hash}` });
    return {
      input_hash: keyed(request),
      normalized_input_hash,
      tenant_id: 'default',
      function_name: request.function_name,
    };
  };
  const producer = producerOf(providers);
  // The cache's own lookup, as the local activity makes it after the lineage (an L2 hit without its re-embedding).
  const time = async (cache, body) => {
    const input = await inputOf(body);
    const keys = {
      exact: cacheKeyFor(input.input_hash, producer),
      normalized: cacheKeyFor(input.normalized_input_hash, producer),
    };
    const started = performance.now();
    const hit = await cache.get(keys, { tenantId: input.tenant_id, functionName: input.function_name });
    ms[hit ? hit.layer : 'miss'].push(performance.now() - started);
  };
  try {
    const sample = ops.slice(0, 60).map((op) => op.body);
    const warm = newCache();
    for (const body of sample) await time(warm, body); // cold L0: Redis answers (L1)
    for (const body of sample) await time(warm, body); // now L0
    // Cosmetic variants never requested, each in a fresh process: only L2 (in Redis) can answer them.
    for (const [i, fn] of functions.slice(0, 60).entries()) {
      await time(newCache(), {
        function_name: fn.name,
        original_code: render(fn.name, fn.k, 1_000 + i),
      });
    }
  } finally {
    await analyzer.close();
    redis.disconnect();
  }
  return ms;
}

async function run({ stack, figures }) {
  const seed = Number(process.env.BENCH_SEED ?? 42);
  const { ops, functions } = workload(seed);
  const pool = createPool({ url: stack.env.DATABASE_URL, schema: stack.env.DATABASE_SCHEMA, max: 1 });
  const byLayer = { lineage: [], l0: [], l1: [], l2: [], miss: [] };
  const kinds = {};
  try {
    for (const op of ops) {
      const { ms, json } = await post(stack, op.body);
      let layer = 'miss';
      // The function's active version answers an input it already holds, ahead of the cache (metadata.lineage).
      if (json.metadata.lineage) layer = 'lineage';
      // A cache hit answers before its run publishes its events: wait for this run's cache.hit event.
      else if (json.metadata.cache === 'hit') {
        await waitUntil(
          async () => {
            const ev = await pool.query(
              `SELECT payload->>'layer' AS layer FROM events WHERE run_id = $1 AND event_type = 'cache.hit'`,
              [json.run.run_id],
            );
            layer = ev.rows[0]?.layer;
            return layer !== undefined;
          },
          10_000,
          'the cache.hit event of the run',
          5,
        );
      }
      byLayer[layer].push(ms);
      kinds[op.kind] ??= {};
      kinds[op.kind][layer] = (kinds[op.kind][layer] ?? 0) + 1;
    }
  } finally {
    await pool.end();
  }
  // Workers flush their counts every CACHE_STATS_FLUSH_SECONDS (1 s here). Not every request reaches the cache (the
  // active version answers some first), so the counts are read once they have held still for three flushes.
  let stats;
  let seen = '';
  let stillSince = Date.now();
  await waitUntil(
    async () => {
      stats = await (await fetch(`${stack.url}/api/v1/cache/stats`, { headers: stack.headers })).json();
      const now = JSON.stringify(stats.layers);
      if (now !== seen) [seen, stillSince] = [now, Date.now()];
      return stats.layers[0].hits + stats.layers[0].misses > 0 && Date.now() - stillSince >= 3_000;
    },
    30_000,
    'cache statistics flushed',
    250,
  );
  const lookups = await lookupLatencies(stack.env, ops, functions);

  console.log(
    `\ncache: N=${N}, seed ${seed}, mix ${JSON.stringify(MIX)}, 2 workers; served by layer per request kind: ${JSON.stringify(kinds)}`,
  );
  const rows = [];
  for (const l of stats.layers) {
    rows.push({
      row: `${l.layer} hits/misses/errors`,
      value: `${l.hits}/${l.misses}/${l.errors}`,
      'hit rate': l.hit_rate === null ? '-' : `${(100 * l.hit_rate).toFixed(1)}%`,
    });
  }
  rows.push({ row: 'all lookups', value: N, 'hit rate': `${(100 * stats.overall_hit_rate).toFixed(1)}%` });
  figures['cache.hit_rate'] = { value: Math.round(1000 * stats.overall_hit_rate) / 1000, better: 'higher' };
  for (const [layer, samples] of Object.entries(byLayer)) {
    if (!samples.length) continue;
    const p = percentiles(samples);
    rows.push({
      row: `end to end, ${LABEL[layer]}`,
      value: `n=${p.n}`,
      'hit rate': `p50 ${p.p50} ms, p95 ${p.p95} ms`,
    });
    figures[`cache.${layer}.e2e_p50_ms`] = { value: p.p50, better: 'lower' };
  }
  for (const [layer, samples] of Object.entries(lookups)) {
    if (!samples.length) continue;
    const p = percentiles(samples);
    rows.push({
      row: `lookup alone, ${LABEL[layer]}`,
      value: `n=${p.n}`,
      'hit rate': `p50 ${p.p50} ms, p95 ${p.p95} ms`,
    });
    figures[`cache.${layer}.lookup_p50_ms`] = { value: p.p50, better: 'lower' };
  }
  return { title: 'Enhancement cache under a mixed workload: hit rate and latency per layer', rows };
}

module.exports = { name: 'cache', stack: { workers: 2, env: { CACHE_STATS_FLUSH_SECONDS: '1' } }, run };
