'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

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

/**
 * Figures are kept by name in bench/results.json (the previous run's, committed with RESULTS.md). Each metric
 * says whether lower is better; a change of more than 10% the wrong way is flagged as a regression.
 */
function compareAndRecord(figures) {
  const previous = existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')).figures ?? {}) : {};
  const rows = [];
  for (const [name, { value, better }] of Object.entries(figures)) {
    const before = previous[name]?.value;
    let change = '';
    let flag = '';
    if (typeof before === 'number' && before !== 0 && Number.isFinite(value)) {
      const ratio = (value - before) / before;
      change = `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
      const worse = better === 'lower' ? ratio > 0.1 : ratio < -0.1;
      flag = worse ? 'REGRESSION' : '';
    }
    rows.push({ metric: name, value, previous: before ?? '', change, flag });
  }
  printTable('Compared with the previous bench/results.json (more than 10% worse: REGRESSION)', rows);
  const merged = { ...previous, ...figures };
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`, figures: merged }, null, 2)}\n`,
  );
  return rows.filter((row) => row.flag).length;
}

module.exports = { quantile, median, percentiles, printTable, compareAndRecord };
