'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { floorRatios, floorTableRows } = require('./floors');

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const median = (values) => quantile(values, 0.5);

/** p50/p95/p99 of latencies in ms, rounded for tables. */
function percentiles(values) {
  const round = (v) => Math.round(v * 10) / 10;
  return {
    n: values.length,
    p50: round(quantile(values, 0.5)),
    p95: round(quantile(values, 0.95)),
    p99: round(quantile(values, 0.99)),
  };
}

function printTable(title, rows) {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  console.log(`\n${title}\n`);
  console.log(`| ${columns.join(' | ')} |`);
  console.log(`|${columns.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${columns.map((c) => row[c]).join(' | ')} |`);
}

const RESULTS_FILE = path.join(__dirname, '..', 'results.json');

/** Times and rates: they follow the machine's load, so they are judged by their ratio to the floor, not on their own. */
const TIMING = /(_ms|_us|per_second|_per_s|_per_request|ratio_of_medians)$/;

/**
 * Figures are kept by name in bench/results.json (the previous run's, committed with RESULTS.md), and beside them the
 * ratios of our figures to the floor measured in the same run (bench/lib/floors.js). A ratio more than `tolerance`
 * worse than the previous run's is a regression; so is any other figure (errors, memory, cost, hit rate) more than 10%
 * worse; a time or rate alone is shown with its change but not flagged. A cluster run's figures and ratios are kept
 * under `cluster.`, its ratios shown beside the dev server's. `record: false` (quick runs) compares without writing.
 */
function compareAndRecord(figures, { topology = 'dev', record = true, tolerance = 0.1, file = RESULTS_FILE } = {}) {
  const saved = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const prefix = topology === 'dev' ? '' : `${topology}.`;
  const previousFigures = saved.figures ?? {};
  const rows = [];
  for (const [name, { value, better }] of Object.entries(figures)) {
    const before = previousFigures[prefix + name]?.value;
    let change = '';
    let flag = '';
    if (typeof before === 'number' && before !== 0 && Number.isFinite(value)) {
      const ratio = (value - before) / before;
      change = `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
      const worse = better === 'lower' ? ratio > 0.1 : ratio < -0.1;
      if (worse) flag = TIMING.test(name) ? '(a time: not flagged)' : 'REGRESSION';
    }
    rows.push({ metric: prefix + name, value, previous: before ?? '', change, flag });
  }
  printTable(
    'Compared with the previous bench/results.json (a figure other than a time more than 10% worse: REGRESSION)',
    rows,
  );
  const ratios = floorRatios(figures);
  const previousRatios = saved.ratios ?? {};
  const unprefixed = (all) =>
    Object.fromEntries(Object.keys(ratios).flatMap((name) => (all[prefix + name] ? [[name, all[prefix + name]]] : [])));
  const ratioRows = floorTableRows(
    ratios,
    unprefixed(previousRatios),
    tolerance,
    topology === 'dev' ? {} : Object.fromEntries(Object.keys(ratios).map((name) => [name, previousRatios[name]])),
  );
  printTable(
    `Against the floor measured in the same run (${topology === 'dev' ? 'dev server' : topology}); a ratio more than ${tolerance * 100}% worse than the previous run's (a difference more than ${tolerance}): REGRESSION`,
    ratioRows,
  );
  if (record) {
    const prefixed = (entries) => Object.fromEntries(Object.entries(entries).map(([k, v]) => [prefix + k, v]));
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
          figures: { ...previousFigures, ...prefixed(figures) },
          ratios: { ...previousRatios, ...prefixed(ratios) },
        },
        null,
        2,
      )}\n`,
    );
  }
  return [...rows, ...ratioRows].filter((row) => row.flag === 'REGRESSION').length;
}

module.exports = { quantile, median, percentiles, printTable, compareAndRecord };
