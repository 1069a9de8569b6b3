'use strict';
// The soak: the `npm start` stack (embedded PostgreSQL, or the machine's PostgreSQL and Redis) under a steady mix of
// hits, misses, feedback, batches and version reads from several clients, with API keys on. At the end it checks
// that nothing was lost or corrupted, and it samples the memory of the API, the worker and the database throughout.
const { spawn, execFileSync } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Pool } = require('pg');
const heapsnapshot = require('./heapsnapshot');
const { residentByKind } = require('./smaps');
const { percentiles } = require('./stats');

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const { freePort } = require(path.join(root, 'dist', 'cli', 'processes'));
const { waitUntil } = require(path.join(root, 'dist', 'cli', 'wait'));
const { parseKeyRing } = require(path.join(root, 'dist', 'infra', 'crypto', 'key-ring'));
const { FieldCipher } = require(path.join(root, 'dist', 'infra', 'crypto', 'field-cipher'));

/** What PostgreSQL's wire protocol interleaved between connections looks like in the logs, and lost writes. */
const PROTOCOL_ERRORS =
  /bind message supplies|portal "[^"]*" cannot be run|prepared statement "[^"]*" does not exist|malformed array literal|protocol (violation|error)|audit write failed|is not in the payload store|Failed to process Workflow Activation|unhandled request error/i;

const SAMPLE_MS = 5_000;
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
/** JSON with sorted keys: jsonb does not keep the order a file was written in. */
const canonical = (v) =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
          .join(',')}}`
      : JSON.stringify(v);

function childrenOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

const cmdline = (pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

/** Proportional set size in MiB: shared pages (PostgreSQL's shared buffers) split among the processes mapping them. */
function pssMiB(pid) {
  const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

function rssMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** The pids of the stack's API, worker and embedded postmaster (undefined when absent). */
function servicePids(stackPid) {
  const kids = childrenOf(stackPid);
  const find = (needle) => kids.find((pid) => cmdline(pid).includes(needle));
  return {
    api: find(`${path.sep}api${path.sep}main.js`),
    worker: find(`${path.sep}worker${path.sep}main.js`),
    postmaster: find(`${path.sep}native${path.sep}bin${path.sep}postgres`),
  };
}

/** API and worker RSS; the database as the PSS sum of the postmaster and its backends (0 when not embedded). */
function memory({ api, worker, postmaster }) {
  const safe = (fn) => {
    try {
      return fn();
    } catch {
      return 0;
    }
  };
  const db = postmaster
    ? [postmaster, ...childrenOf(postmaster)].reduce((sum, pid) => sum + safe(() => pssMiB(pid)), 0)
    : 0;
  return { api: api ? safe(() => rssMiB(api)) : 0, worker: worker ? safe(() => rssMiB(worker)) : 0, db };
}

/** Least-squares slope of (t in ms, MiB) points, in MiB per 10 minutes. */
function slopePer10Min(points) {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 600_000;
}

/**
 * From one /metrics answer: the main thread's V8 heap in use and external memory in MiB (prom-client's process
 * metrics), and the workflows the Temporal runtime keeps cached (its exporter's series, on the worker only). The
 * workflows themselves run in a worker thread with its own heap, which neither these series nor a snapshot show.
 */
async function heapMiB(url) {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(SAMPLE_MS) })).text();
    const sum = (metric) => {
      const values = [...text.matchAll(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].map((m) => Number(m[1]));
      return values.length > 0 ? values.reduce((a, b) => a + b, 0) : NaN;
    };
    return {
      heapUsed: sum('nodejs_heap_size_used_bytes') / 2 ** 20,
      heapTotal: sum('nodejs_heap_size_total_bytes') / 2 ** 20,
      external: sum('nodejs_external_memory_bytes') / 2 ** 20,
      cachedWorkflows: sum('temporal_sticky_cache_size'),
    };
  } catch {
    return { heapUsed: NaN, heapTotal: NaN, external: NaN, cachedWorkflows: NaN };
  }
}

/**
 * The heap in use right after a collection, approximated by its lowest sample in each window: heap used sampled at
 * random moments is mostly garbage waiting for the next GC, its floor is what is kept.
 */
function floors(samples, key, windowMs) {
  const byWindow = new Map();
  for (const s of samples) {
    if (!Number.isFinite(s[key])) continue;
    const w = Math.floor(s.t / windowMs);
    byWindow.set(w, Math.min(byWindow.get(w) ?? Infinity, s[key]));
  }
  return [...byWindow].map(([w, v]) => [(w + 0.5) * windowMs, v]);
}

/**
 * A heap snapshot of the worker's main thread (it must run with --heapsnapshot-signal=SIGWINCH and
 * --diagnostic-dir=dir; not SIGUSR2, on which the Temporal runtime shuts workers down): the file once the worker has
 * written it, which it does on its main thread, so the file is complete when it stops growing.
 */
async function snapshotWorker(pid, dir) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGWINCH');
  let file;
  await waitUntil(
    () => (file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'))) !== undefined,
    60_000,
    'heap snapshot file',
    200,
  );
  let size = -1;
  await waitUntil(
    () => {
      const now = statSync(path.join(dir, file)).size;
      const stable = now > 0 && now === size;
      size = now;
      return stable;
    },
    300_000,
    'heap snapshot written',
    2_000,
  );
  return path.join(dir, file);
}

const fnBody = (name, i) => ({
  function_name: name,
  original_code: `def ${name}(a: int, b: int) -> int:\n    """Adds with an offset."""\n    return a + b + ${i}\n`,
  context: {
    samples: [
      [1, 2],
      [3, 4],
    ],
  },
});

/**
 * Starts `poet start` as `npm start` does, with API keys required and limits raised; `production` uses the
 * machine's PostgreSQL (own schema) and Redis (own prefix) instead of the embedded database.
 */
async function startStack({ production, log, snapshotDir }) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-soak-'));
  const ports = {};
  for (const name of ['PORT', 'TEMPORAL_DEV_PORT', 'TEMPORAL_UI_PORT', 'EMBEDDED_PG_PORT', 'WORKER_HTTP_PORT'])
    ports[name] = String(await freePort());
  // The Temporal runtime's exporter, so that the worker's /metrics shows how many workflows it keeps cached.
  ports.TEMPORAL_METRICS_BIND_ADDRESS = `127.0.0.1:${await freePort()}`;
  const schema = `soak_${randomBytes(4).toString('hex')}`;
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // e.g. --max-old-space-size, which overrides the limits `poet start` gives the worker and the API
    NODE_OPTIONS: [
      process.env.NODE_OPTIONS,
      ...(snapshotDir ? ['--heapsnapshot-signal=SIGWINCH', `--diagnostic-dir=${snapshotDir}`] : []),
    ]
      .filter(Boolean)
      .join(' '),
    TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH ?? '',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    AUTH_MODE: 'api_keys',
    RATE_LIMIT_ENHANCE_PER_MINUTE: '1000000',
    RATE_LIMIT_KEY_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: '1000000',
    ...ports,
    ...(production
      ? {
          DATABASE_URL: process.env.SOAK_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
          DATABASE_SCHEMA: schema,
          REDIS_URL: process.env.SOAK_REDIS_URL ?? 'redis://127.0.0.1:6379',
          REDIS_PREFIX: `${schema}:`,
        }
      : {}),
  };
  const child = spawn(process.execPath, [cli, 'start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let output = '';
  const collect = (chunk) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    for (const line of text.split('\n')) if (PROTOCOL_ERRORS.test(line)) lines.push(line);
    log?.write(text);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const started = Date.now();
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`poet start exited early:\n${output}`);
      return output.includes('POET service is up');
    },
    240_000,
    'poet start ready',
    200,
  );
  const readyMs = Date.now() - started;
  const dbUrl = production ? env.DATABASE_URL : `postgres://postgres@127.0.0.1:${ports.EMBEDDED_PG_PORT}/postgres`;
  // The first admin key as a user makes it: `poet keys create` finds the embedded server by itself.
  const key = execFileSync(process.execPath, [cli, 'keys', 'create', '--role', 'admin', '--name', 'soak'], {
    env: { ...env, LOG_LEVEL: 'error' },
    encoding: 'utf8',
  }).trim();
  return {
    child,
    dataDir,
    readyMs,
    key,
    url: `http://127.0.0.1:${ports.PORT}`,
    workerMetricsUrl: `http://127.0.0.1:${ports.WORKER_HTTP_PORT}/metrics`,
    pool: new Pool({ connectionString: dbUrl, options: `-c search_path=${production ? schema : 'public'}`, max: 2 }),
    protocolErrors: lines,
    async stop() {
      if (production) await this.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await this.pool.end();
      const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** The load: `clients` loops, each request picked by weight, every answer recorded. */
async function drive(stack, { minutes, clients }) {
  const prefix = `soak${randomBytes(3).toString('hex')}`;
  const known = []; // { name, body, version, python }
  const stats = { requests: 0, byKind: {}, byStatus: {}, latencies: [], fiveXX: [], unauthorized: 0 };
  const posts = []; // request ids of every POST (each must leave an audit row)
  const asyncRuns = []; // workflow ids answered 202
  const feedbackAccepted = new Map(); // `${name}/${execution_id}/${version}` -> answers that were not `duplicate`
  const answers = []; // { name, version, python } from 200 enhance answers
  let counter = 0;

  async function call(kind, method, url, body, headers = {}) {
    const t = performance.now();
    const res = await fetch(`${stack.url}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${stack.key}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    stats.latencies.push(performance.now() - t);
    stats.requests++;
    stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
    stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
    if (res.status >= 500) stats.fiveXX.push(`${kind} ${res.status} ${text.slice(0, 200)}`);
    if (res.status === 401) stats.unauthorized++;
    if (method === 'POST') posts.push(res.headers.get('x-request-id'));
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json };
  }

  function remember(body, res) {
    if (res.status === 200) {
      known.push({ name: body.function_name, body, version: res.body.version });
      answers.push({ name: body.function_name, version: res.body.version, python: res.body.enhanced_code.python });
    } else if (res.status === 202) asyncRuns.push(res.body.run.workflow_id);
  }

  const miss = async () => {
    const i = counter++;
    const body = fnBody(`${prefix}_${i}`, i);
    // Some callers poll instead of waiting: those runs must complete too.
    const headers = i % 4 === 0 ? { prefer: 'respond-async' } : {};
    const res = await call('miss', 'POST', '/api/v1/functions/enhance', body, headers);
    remember(body, res);
  };
  const pick = () => known[Math.floor(Math.random() * known.length)];
  const hit = async () => {
    const f = pick();
    const res = await call('hit', 'POST', '/api/v1/functions/enhance', f.body);
    if (res.status === 200)
      answers.push({ name: f.name, version: res.body.version, python: res.body.enhanced_code.python });
  };
  const feedback = async () => {
    const f = pick();
    // One report in eight is a client retrying the previous one: it must be stored once.
    const execution = counter % 8 === 0 && f.lastExecution ? f.lastExecution : `exec-${counter++}`;
    f.lastExecution = execution;
    const body = {
      version: f.version,
      execution_id: execution,
      feedback_type: 'performance',
      rating: 5,
      metrics: { success_rate: 1, avg_duration: 0.01 },
    };
    const res = await call('feedback', 'POST', `/api/v1/functions/${f.name}/feedback`, body);
    const id = `${f.name}/${execution}/${f.version}`;
    if (res.status === 200 || res.status === 202)
      feedbackAccepted.set(id, (feedbackAccepted.get(id) ?? 0) + (res.body.duplicate ? 0 : 1));
  };
  const batch = async () => {
    const bodies = [0, 1, 2].map(() => {
      const i = counter++;
      return fnBody(`${prefix}_${i}`, i);
    });
    const res = await call('batch', 'POST', '/api/v1/functions/enhance:batch', { functions: bodies });
    if (res.status === 202) asyncRuns.push(res.body.run.workflow_id);
  };
  const read = async () => {
    const f = pick();
    await call('read', 'GET', `/api/v1/functions/${f.name}/versions`);
    await call('read', 'GET', `/api/v1/functions/${f.name}/versions/${f.version}`);
  };
  const mix = [
    [0.55, hit],
    [0.2, miss],
    [0.1, feedback],
    [0.05, batch],
    [0.1, read],
  ];

  await miss();
  const deadline = Date.now() + minutes * 60_000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < deadline) {
        if (known.length === 0) {
          await miss();
          continue;
        }
        let r = Math.random();
        const op = mix.find(([weight]) => (r -= weight) < 0)?.[1] ?? hit;
        await op();
      }
    }),
  );
  return { stats, posts, asyncRuns, feedbackAccepted, answers };
}

/** The end-of-run checks: each a name, what was counted and whether it holds. */
async function verify(stack, load) {
  const { pool } = stack;
  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok, detail });

  check(
    'no 5xx answers',
    load.stats.fiveXX.length === 0,
    `${load.stats.fiveXX.length} ${load.stats.fiveXX.slice(0, 3).join(' | ')}`,
  );
  check('no 401 for the valid key', load.stats.unauthorized === 0, String(load.stats.unauthorized));

  // Every run that answered 202 completes (batches wait for their children).
  const pending = new Set(load.asyncRuns);
  const failed = [];
  await waitUntil(
    async () => {
      for (const id of [...pending]) {
        const res = await fetch(`${stack.url}/api/v1/runs/${id}`, {
          headers: { authorization: `Bearer ${stack.key}` },
        });
        const body = await res.json();
        if (body.status === 'running') continue;
        pending.delete(id);
        if (body.status !== 'completed') failed.push(`${id}: ${body.status}`);
      }
      return pending.size === 0;
    },
    180_000,
    'every 202 run ended',
    1_000,
  ).catch(() => undefined);
  check(
    'every 202 run completed',
    pending.size === 0 && failed.length === 0,
    `${load.asyncRuns.length} runs, ${pending.size} still running, failed: ${failed.slice(0, 3).join(', ')}`,
  );

  // Audit rows are written once the answer is sent: give the last ones a moment.
  const ids = load.posts.filter(Boolean);
  const audited = async () =>
    (
      await pool.query(
        'SELECT count(*)::int AS rows, count(DISTINCT request_id)::int AS ids FROM audit_log WHERE request_id = ANY($1)',
        [ids],
      )
    ).rows[0];
  let audit = await audited();
  await waitUntil(async () => (audit = await audited()).ids === ids.length, 15_000, 'audit rows', 500).catch(
    () => undefined,
  );
  check(
    'every write has its audit row, once',
    audit.ids === ids.length && audit.rows === ids.length && ids.length === load.posts.length,
    `${load.posts.length} writes, ${audit.rows} audit rows for ${audit.ids} request ids`,
  );

  // Every version row has its four artifacts; params.json is the row's, and code.py is what the API answered.
  const answered = new Map(load.answers.map((a) => [`${a.name}/${a.version}`, sha256(a.python)]));
  const versions = (await pool.query('SELECT function_name, version, params, artifact_path FROM versions')).rows;
  // The row's params are sealed under the key ring `npm start` keeps in DATA_DIR.
  const ringFile = path.join(stack.dataDir, 'encryption-keys');
  const fields = new FieldCipher(
    existsSync(ringFile) ? parseKeyRing(readFileSync(ringFile, 'utf8'), undefined) : undefined,
  );
  const bad = [];
  let compared = 0;
  for (const v of versions) {
    const dir = path.resolve(stack.dataDir, v.artifact_path);
    const files = ['code.py', 'code.dana', 'params.json', 'metadata.json'];
    if (!files.every((f) => existsSync(path.join(dir, f)))) {
      bad.push(`${v.function_name} v${v.version}: missing files in ${dir}`);
      continue;
    }
    if (
      sha256(canonical(JSON.parse(readFileSync(path.join(dir, 'params.json'), 'utf8')))) !==
      sha256(canonical(fields.openJson(v.params)))
    ) {
      bad.push(`${v.function_name} v${v.version}: params.json differs from the row`);
    }
    const expected = answered.get(`${v.function_name}/${v.version}`);
    if (expected) {
      compared++;
      if (sha256(readFileSync(path.join(dir, 'code.py'))) !== expected)
        bad.push(`${v.function_name} v${v.version}: code.py differs from the answer`);
    }
  }
  check(
    'every version has its artifacts with matching SHA-256',
    bad.length === 0 && versions.length > 0,
    `${versions.length} versions, ${compared} compared with answered code, ${bad.length} bad ${bad.slice(0, 3).join('; ')}`,
  );

  const stored = new Map(
    (
      await pool.query(
        `SELECT function_name || '/' || execution_id || '/' || version AS id, count(*)::int AS n FROM feedback GROUP BY 1`,
      )
    ).rows.map((r) => [r.id, r.n]),
  );
  const feedbackBad = [...load.feedbackAccepted].filter(([id, accepted]) => stored.get(id) !== 1 || accepted !== 1);
  check(
    'every accepted feedback is stored once',
    feedbackBad.length === 0 && load.feedbackAccepted.size > 0,
    `${load.feedbackAccepted.size} accepted, ${feedbackBad.length} wrong ${feedbackBad
      .slice(0, 3)
      .map(([id]) => id)
      .join(', ')}`,
  );

  check(
    'no PostgreSQL protocol errors in the logs',
    stack.protocolErrors.length === 0,
    `${stack.protocolErrors.length} ${stack.protocolErrors.slice(0, 3).join(' | ')}`,
  );
  return checks;
}

/** Means of `key` over consecutive windows of `windowMs` from the start of the run, rounded to 0.1. */
function windowMeans(samples, key, windowMs) {
  const sums = new Map();
  for (const s of samples) {
    if (!Number.isFinite(s[key])) continue;
    const w = Math.floor(s.t / windowMs);
    const [sum, n] = sums.get(w) ?? [0, 0];
    sums.set(w, [sum + s[key], n + 1]);
  }
  return [...sums].sort(([a], [b]) => a - b).map(([, [sum, n]]) => Math.round((sum / n) * 10) / 10);
}

/**
 * One soak: stack up, `minutes` of load from `clients` clients, checks, memory report, stack down.
 * Memory is sampled every 5 s (RSS from /proc, V8 heap from the API's and the worker's /metrics); the slopes count
 * samples after the warm-up (a fifth of the run, at least one minute). With `snapshotDir`, the worker writes a heap
 * snapshot there at 80% and 95% of the run, and the result holds their totals and the difference by constructor.
 * Writing one leaves its working memory (some 200 MiB) in the worker's malloc heap, so RSS counts only the samples
 * before the first snapshot; the heap series count them all.
 */
async function runSoak({ minutes, clients = 4, production = false, log, snapshotDir }) {
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
  const stack = await startStack({ production, log, snapshotDir });
  const samples = [];
  const t0 = Date.now();
  const runMs = minutes * 60_000;
  const warmup = Math.max(60_000, runMs / 5);
  const sampler = setInterval(async () => {
    const t = Date.now() - t0;
    const pids = servicePids(stack.child.pid);
    const rss = memory(pids);
    const byKind = residentByKind(pids.worker);
    const [api, worker] = await Promise.all([heapMiB(`${stack.url}/metrics`), heapMiB(stack.workerMetricsUrl)]);
    samples.push({
      t,
      ...rss,
      workerMalloc: byKind?.malloc ?? NaN,
      workerFile: byKind?.file ?? NaN,
      // Anonymous memory beyond the main thread's V8 heap: the workflow thread's heap and the threads' stacks.
      workerOtherAnon: (byKind?.anon ?? NaN) - worker.heapTotal,
      workerMainHeap: worker.heapTotal,
      apiHeap: api.heapUsed,
      apiExternal: api.external,
      workerHeap: worker.heapUsed,
      workerExternal: worker.external,
      cachedWorkflows: worker.cachedWorkflows,
    });
  }, SAMPLE_MS);
  const snapshots = [];
  const taking = [];
  const snapshotTimers = (snapshotDir ? [Math.max(warmup, runMs * 0.8), runMs * 0.95] : []).map((at) =>
    setTimeout(() => {
      const t = Date.now() - t0;
      taking.push(
        snapshotWorker(servicePids(stack.child.pid).worker, snapshotDir).then(
          (file) => snapshots.push({ t, file }),
          (err) => snapshots.push({ t, error: err.message }),
        ),
      );
    }, at),
  );
  let result;
  try {
    const load = await drive(stack, { minutes, clients });
    clearInterval(sampler);
    await Promise.all(taking);
    snapshots.sort((a, b) => a.t - b.t);
    const checks = await verify(stack, load);
    const rssUntil = snapshots[0]?.t ?? Infinity;
    const after = samples.filter((s) => s.t >= warmup && s.t < rssUntil);
    const series = (k) => after.map((s) => [s.t, s[k]]).filter(([, v]) => Number.isFinite(v));
    const rss = Object.fromEntries(
      ['api', 'worker', 'db', 'workerMalloc', 'workerMainHeap', 'workerOtherAnon', 'workerFile'].map((k) => {
        const values = after.map((s) => s[k]).filter(Number.isFinite);
        return [
          k,
          {
            first: values[0] ?? 0,
            last: values.at(-1) ?? 0,
            max: Math.max(0, ...values),
            slopePer10Min: slopePer10Min(series(k)),
            tenMinuteMeans: windowMeans(
              samples.filter((s) => s.t < rssUntil),
              k,
              600_000,
            ),
          },
        ];
      }),
    );
    // The leak signal: heap in use after collection (per-minute floors), and external memory (buffers).
    const heap = Object.fromEntries(
      ['apiHeap', 'workerHeap', 'apiExternal', 'workerExternal'].map((k) => {
        const points = floors(samples, k, 60_000).filter(([t]) => t >= warmup);
        return [
          k,
          {
            firstFloor: points[0]?.[1] ?? NaN,
            lastFloor: points.at(-1)?.[1] ?? NaN,
            floorSlopePer10Min: slopePer10Min(points),
            tenMinuteMeans: windowMeans(samples, k, 600_000),
          },
        ];
      }),
    );
    const { stats } = load;
    result = {
      shape: production ? 'production (machine PostgreSQL + Redis)' : 'embedded (npm start defaults)',
      minutes,
      clients,
      readyMs: stack.readyMs,
      requests: stats.requests,
      perSecond: stats.requests / (minutes * 60),
      byKind: stats.byKind,
      byStatus: stats.byStatus,
      latencyMs: percentiles(stats.latencies),
      rss,
      rssUntilMs: rssUntil,
      heap,
      cachedWorkflows: {
        max: Math.max(0, ...samples.map((s) => s.cachedWorkflows).filter(Number.isFinite)),
        tenMinuteMeans: windowMeans(samples, 'cachedWorkflows', 600_000),
      },
      samples,
      snapshots,
      checks,
      ok: checks.every((c) => c.ok),
    };
  } finally {
    clearInterval(sampler);
    snapshotTimers.forEach(clearTimeout);
    const code = await stack.stop();
    if (result) {
      result.stopExitCode = code;
      result.checks.push({ name: 'the stack stops cleanly on SIGINT', ok: code === 0, detail: `exit code ${code}` });
      result.ok = result.checks.every((c) => c.ok);
    }
  }
  // Read once the stack is down: a worker's snapshot takes a few hundred MiB to parse.
  const written = snapshots.filter((s) => s.file);
  if (written.length > 0) {
    const summaries = written.map((s) => heapsnapshot.summarize(s.file));
    written.forEach((s, i) => Object.assign(s, { heapMiB: summaries[i].bytes / 2 ** 20, nodes: summaries[i].nodes }));
    if (summaries.length > 1) result.snapshotDiff = heapsnapshot.diff(summaries[0], summaries.at(-1));
  }
  return result;
}

module.exports = { runSoak, PROTOCOL_ERRORS };
