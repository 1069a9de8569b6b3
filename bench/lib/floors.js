'use strict';
// Our figures against their floor (bench/floor.js: workflows of the same shape that do nothing, on the same SDK and
// Temporal), both measured in the same run. Absolute times follow the machine's load; the ratio says what our own
// code costs on top of Temporal's, so targets and regression flags are on ratios.

/**
 * Each row: the benchmark that measures it, the figure of ours and the floor's it is read against (names in `figures`), `kind` ratio (ours / floor)
 * or difference (ours - floor, for figures that are already ratios), which way is better, and the target on the
 * ratio, or on our figure itself where the floor has no counterpart to divide by.
 */
const FLOOR_ROWS = [
  {
    name: 'hit_c1_p50',
    measure: 'hit p50, concurrency 1 (floor: hit shape)',
    benchmark: 'hit-latency',
    ours: 'hit.c1.p50_ms',
    floor: 'floor.hit_shape.p50_ms',
    kind: 'ratio',
    better: 'lower',
    target: 1.2,
  },
  {
    name: 'hit_c1_p99',
    measure: 'hit p99, concurrency 1 (floor: hit shape)',
    benchmark: 'hit-latency',
    ours: 'hit.c1.p99_ms',
    floor: 'floor.hit_shape.p99_ms',
    kind: 'ratio',
    better: 'lower',
    target: 1.4,
  },
  {
    name: 'miss_throughput_c100',
    measure: 'miss throughput /s, 100 in flight, 1 s model (floor: miss shape)',
    benchmark: 'scale',
    ours: 'scale.c100.throughput_per_s',
    floor: 'floor.miss_shape_100.throughput_per_s',
    kind: 'ratio',
    better: 'higher',
    target: 0.85,
  },
  {
    name: 'overhead_200ms',
    measure: 'overhead vs in-process, 200 ms model (floor: miss shape)',
    benchmark: 'overhead',
    ours: 'overhead.ratio_of_medians',
    floor: 'floor.miss_ratio_of_medians',
    kind: 'difference',
    better: 'lower',
    target: 0.05,
  },
  {
    name: 'cpu_miss',
    measure: 'CPU ms per miss, all processes (floor: miss shape, 100 in flight)',
    benchmark: 'cpu',
    ours: 'cpu.miss.total_ms_per_request',
    floor: 'floor.miss_shape_100.cpu_ms',
    kind: 'ratio',
    better: 'lower',
    target: 1.4,
  },
  {
    // The floor's workflows parse and validate nothing: this row leaves python3 out of ours, to show what the rest
    // of the miss path costs on top of Temporal (python3's own floor: `validation-cpu`, the sandbox without isolation).
    name: 'cpu_miss_without_python',
    measure: 'CPU ms per miss without python3 (parse, validation) (floor: miss shape, 100 in flight)',
    benchmark: 'cpu',
    ours: 'cpu.miss.without_python_ms_per_request',
    floor: 'floor.miss_shape_100.cpu_ms',
    kind: 'ratio',
    better: 'lower',
    target: 1.4,
  },
  {
    name: 'cpu_hit_c50',
    measure: 'CPU ms per hit, 50 in flight (floor: hit shape, 50 in flight)',
    benchmark: 'cpu',
    ours: 'cpu.hit_c50.total_ms_per_request',
    floor: 'floor.hit_shape_50.cpu_ms',
    kind: 'ratio',
    better: 'lower',
    oursTarget: 20,
  },
];

const round = (v, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Whether any of the named benchmarks measures a figure that is read against the floor. */
function needsFloor(benchmarkNames) {
  return FLOOR_ROWS.some((row) => benchmarkNames.includes(row.benchmark));
}

/** The rows whose figure and floor were both measured in this run, with their ratio and whether it meets its target. */
function floorRatios(figures) {
  const ratios = {};
  for (const row of FLOOR_ROWS) {
    const ours = figures[row.ours]?.value;
    const floor = figures[row.floor]?.value;
    if (!Number.isFinite(ours) || !Number.isFinite(floor) || floor === 0) continue;
    const value = row.kind === 'ratio' ? round(ours / floor) : round(ours - floor);
    const onOurs = row.oursTarget !== undefined;
    const target = onOurs ? row.oursTarget : row.target;
    const checked = onOurs ? ours : value;
    const met = row.better === 'lower' ? checked <= target : checked >= target;
    ratios[row.name] = { measure: row.measure, ours, floor, kind: row.kind, value, better: row.better, target, met };
    if (onOurs) ratios[row.name].target_on = 'ours';
  }
  return ratios;
}

/**
 * How a ratio moved since the previous run, and whether by more than `tolerance` the wrong way: relative for ratios
 * (0.1 = 10% of the previous ratio), absolute for differences (0.1 = a tenth of the in-process time).
 */
function ratioChange(ratio, before, tolerance) {
  if (typeof before !== 'number' || !Number.isFinite(ratio.value)) return { change: '', regressed: false };
  const delta = ratio.kind === 'ratio' ? (before === 0 ? 0 : (ratio.value - before) / before) : ratio.value - before;
  const worse = ratio.better === 'lower' ? delta > tolerance : delta < -tolerance;
  const change =
    ratio.kind === 'ratio'
      ? `${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(1)}%`
      : `${delta >= 0 ? '+' : ''}${delta.toFixed(3)}`;
  return { change, regressed: worse };
}

/** Table rows: each figure beside its floor, the ratio, its target, the previous run's ratio and the flag. */
function floorTableRows(ratios, previous, tolerance, beside = {}) {
  return Object.entries(ratios).map(([name, r]) => {
    const { change, regressed } = ratioChange(r, previous[name]?.value, tolerance);
    const sign = r.better === 'lower' ? '≤' : '≥';
    const target =
      r.target_on === 'ours' ? `ours ${sign} ${r.target}` : `${sign} ${r.kind === 'difference' ? '+' : ''}${r.target}`;
    return {
      measure: r.measure,
      ours: r.ours,
      floor: r.floor,
      ratio: r.kind === 'difference' ? `${r.value >= 0 ? '+' : ''}${r.value}` : r.value,
      target,
      met: r.met ? 'yes' : 'no',
      ...(Object.keys(beside).length ? { 'dev server ratio (results.json)': beside[name]?.value ?? '' } : {}),
      previous: previous[name]?.value ?? '',
      change,
      flag: regressed ? 'REGRESSION' : '',
    };
  });
}

module.exports = { FLOOR_ROWS, needsFloor, floorRatios, ratioChange, floorTableRows };
