'use strict';
// `npm run soak -- --minutes N [--clients C] [--production] [--json FILE] [--heap-snapshots DIR]`: the soak of
// bench/lib/soak.js against the `npm start` stack; --production (or SOAK_SHAPE=production) runs it on the machine's
// PostgreSQL and Redis instead of the embedded database; --heap-snapshots has the worker write heap snapshots into DIR
// (a few hundred MiB each) and reports what grew between the first and the last. Exits 1 when a check fails.
const { writeFileSync } = require('node:fs');
const { parseArgs } = require('node:util');
const { runSoak } = require('./lib/soak');
const { printTable } = require('./lib/stats');

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    clients: { type: 'string', default: '4' },
    production: { type: 'boolean', default: process.env.SOAK_SHAPE === 'production' },
    json: { type: 'string' },
    log: { type: 'boolean', default: false },
    'heap-snapshots': { type: 'string' },
  },
});

const round = (v) => Math.round(v * 10) / 10;

(async () => {
  const result = await runSoak({
    minutes: Number(values.minutes),
    clients: Number(values.clients),
    production: values.production,
    log: values.log ? process.stderr : undefined,
    snapshotDir: values['heap-snapshots'],
  });
  console.log(
    `soak: ${result.shape}, ${result.minutes} min, ${result.clients} clients, ready in ${round(result.readyMs / 1000)} s`,
  );
  console.log(
    `requests ${result.requests} (${round(result.perSecond)}/s) by kind ${JSON.stringify(result.byKind)} by status ${JSON.stringify(result.byStatus)}`,
  );
  console.log(`latency ms: p50 ${result.latencyMs.p50}, p95 ${result.latencyMs.p95}, p99 ${result.latencyMs.p99}`);
  const until = Number.isFinite(result.rssUntilMs)
    ? `, until the first heap snapshot at minute ${round(result.rssUntilMs / 60_000)}`
    : '';
  printTable(
    `memory after warm-up${until} (MiB; database: PSS of the postmaster and its backends; the worker's RSS by mapping: malloc heaps, its main thread's V8 heap, other anonymous memory (the workflow thread's heap, stacks), files)`,
    Object.entries(result.rss).map(([proc, m]) => ({
      process: proc,
      first: round(m.first),
      last: round(m.last),
      max: round(m.max),
      'slope per 10 min': round(m.slopePer10Min),
      '10-minute means': m.tenMinuteMeans.join(' '),
    })),
  );
  printTable(
    'V8 heap after warm-up (MiB; floor: the lowest sample of each minute, i.e. after a collection)',
    Object.entries(result.heap).map(([series, h]) => ({
      series,
      'first floor': round(h.firstFloor),
      'last floor': round(h.lastFloor),
      'floor slope per 10 min': round(h.floorSlopePer10Min),
      '10-minute means': h.tenMinuteMeans.join(' '),
    })),
  );
  console.log(
    `workflows in the worker's cache: at most ${result.cachedWorkflows.max}, 10-minute means ${result.cachedWorkflows.tenMinuteMeans.join(' ')}`,
  );
  if (result.snapshots.length > 0) {
    printTable(
      'worker heap snapshots (a full GC first: heap in use after collection)',
      result.snapshots.map((s) => ({
        minute: round(s.t / 60_000),
        MiB: s.heapMiB === undefined ? '' : round(s.heapMiB),
        nodes: s.nodes ?? '',
        error: s.error ?? '',
      })),
    );
  }
  if (result.snapshotDiff) {
    const d = result.snapshotDiff;
    console.log(`snapshot diff, last minus first: ${round(d.bytesDelta / 2 ** 20)} MiB, ${d.nodesDelta} nodes`);
    const row = (r) => ({
      constructor: r.name,
      count: `${r.countBefore} -> ${r.countAfter}`,
      'count delta': r.countDelta,
      'KiB delta': round(r.sizeDelta / 1024),
    });
    printTable('grew most in bytes', d.bySize.map(row));
    printTable('grew most in count', d.byCount.map(row));
  }
  printTable(
    'checks',
    result.checks.map((c) => ({ check: c.name, ok: c.ok ? 'yes' : 'NO', detail: c.detail })),
  );
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
  process.exit(result.ok ? 0 : 1);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
