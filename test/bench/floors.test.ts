import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// How `npm run bench` reads figures against their floor (bench/lib/floors.js) and records and flags them
// (bench/lib/stats.js): the arithmetic and the flags, on figures given here; no timing is measured or judged.
const bench = path.join(__dirname, '..', '..', 'bench', 'lib');
const { floorRatios, ratioChange } = require(path.join(bench, 'floors.js'));
const { compareAndRecord } = require(path.join(bench, 'stats.js'));

const lower = (value: number) => ({ value, better: 'lower' });
const higher = (value: number) => ({ value, better: 'higher' });

/** One run's figures: ours scaled by `slower` against a fixed floor. */
function run(slower: number) {
  return {
    'hit.c1.p50_ms': lower(27 * 1.5 * slower),
    'hit.c1.p99_ms': lower(46 * 1.6 * slower),
    'floor.hit_shape.p50_ms': lower(27),
    'floor.hit_shape.p99_ms': lower(46),
    'scale.c100.throughput_per_s': higher(18 / slower),
    'floor.miss_shape_100.throughput_per_s': higher(33),
    'overhead.ratio_of_medians': lower(1.4),
    'floor.miss_ratio_of_medians': lower(1.3),
    'cpu.miss.total_ms_per_request': lower(100 * slower),
    'cpu.miss.without_python_ms_per_request': lower(60 * slower),
    'floor.miss_shape_100.cpu_ms': lower(50),
    'cpu.hit_c50.total_ms_per_request': lower(19),
    'floor.hit_shape_50.cpu_ms': lower(12),
    'scale.c100.errors': lower(0),
  };
}

let dir: string;
let file: string;
let log: jest.SpyInstance;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'poet-floors-'));
  file = path.join(dir, 'results.json');
  log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  log.mockRestore();
  rmSync(dir, { recursive: true, force: true });
});

test('each figure is divided by its floor, the overhead ratio less its floor, with the target checked', () => {
  const ratios = floorRatios(run(1));
  expect(ratios.hit_c1_p50).toMatchObject({ ours: 40.5, floor: 27, value: 1.5, target: 1.2, met: false });
  expect(ratios.miss_throughput_c100).toMatchObject({ value: 0.545, better: 'higher', met: false });
  expect(ratios.overhead_200ms).toMatchObject({ kind: 'difference', value: 0.1, met: false });
  expect(ratios.cpu_miss).toMatchObject({ value: 2, met: false });
  expect(ratios.cpu_miss_without_python).toMatchObject({ value: 1.2, target: 1.4, met: true });
  // No floor to divide by in the target: CPU per hit under load is held to 20 ms of its own.
  expect(ratios.cpu_hit_c50).toMatchObject({ value: 1.583, target: 20, target_on: 'ours', met: true });
});

test('a figure whose floor was not measured in the run has no ratio', () => {
  const { 'floor.hit_shape.p50_ms': _, ...figures } = run(1);
  expect(Object.keys(floorRatios(figures))).not.toContain('hit_c1_p50');
});

test('tolerance: relative on ratios, absolute on differences, in the direction that is worse', () => {
  const ratio = { kind: 'ratio', better: 'lower', value: 1.65 };
  expect(ratioChange(ratio, 1.5, 0.1)).toEqual({ change: '+10.0%', regressed: false });
  expect(ratioChange({ ...ratio, value: 1.7 }, 1.5, 0.1).regressed).toBe(true);
  expect(ratioChange({ kind: 'ratio', better: 'higher', value: 0.4 }, 0.5, 0.1).regressed).toBe(true);
  expect(ratioChange({ kind: 'difference', better: 'lower', value: 0.2 }, 0.05, 0.1).regressed).toBe(true);
  expect(ratioChange({ kind: 'difference', better: 'lower', value: 0.1 }, 0.05, 0.1).regressed).toBe(false);
});

test('a slower run on a slower machine is no regression when its floor slowed alike; a ratio that grew is one', () => {
  compareAndRecord(run(1), { file });
  const recorded = JSON.parse(readFileSync(file, 'utf8'));
  expect(recorded.ratios.hit_c1_p50.value).toBe(1.5);
  expect(recorded.figures['hit.c1.p50_ms'].value).toBe(40.5);

  // Twice the times and half the rates, ours and the floor's alike: every ratio as before.
  const busier = Object.fromEntries(
    Object.entries(run(1)).map(([name, f]) => [
      name,
      {
        ...f,
        value:
          name.endsWith('errors') || name.includes('ratio_of') ? f.value : f.value * (f.better === 'higher' ? 0.5 : 2),
      },
    ]),
  );
  expect(compareAndRecord(busier, { file })).toBe(0);
  // hit p50 and p99, throughput, CPU per miss with and without python3; the overhead is unchanged
  expect(compareAndRecord(run(1.3), { file })).toBe(5);
});

test('a cluster run is kept under cluster. and shown beside the dev server ratios; a quick run writes nothing', () => {
  compareAndRecord(run(1), { file });
  compareAndRecord(run(1.1), { file, topology: 'cluster' });
  const recorded = JSON.parse(readFileSync(file, 'utf8'));
  expect(recorded.ratios['cluster.hit_c1_p50'].value).toBe(1.65);
  expect(recorded.ratios.hit_c1_p50.value).toBe(1.5);
  expect(recorded.figures['cluster.hit.c1.p50_ms']).toBeDefined();
  const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
  expect(printed).toContain('dev server ratio (results.json)');

  writeFileSync(file, '{}');
  compareAndRecord(run(1), { file, record: false });
  expect(readFileSync(file, 'utf8')).toBe('{}');
});
