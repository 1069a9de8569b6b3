import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { Metrics } from '../../src/infra/observability/metrics';

const root = path.join(__dirname, '..', '..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

/** Names a scrape of our processes can contain: our registry (histograms with their series suffixes). */
function knownSeries(): Set<string> {
  const names = new Set<string>(['up']);
  for (const metric of new Metrics({ domains: [], stages: [] }).registry.getMetricsAsArray() as unknown as {
    name: string;
    type: string;
  }[]) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** Metric names in a PromQL expression: what is left after strings, selectors, ranges, grouping clauses and functions. */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'increase',
  'and',
  'or',
  'unless',
  'offset',
  'histogram_quantile',
  'clamp_min',
]);
function referencedMetrics(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)/g)]
    .map((m) => m[1]!)
    .filter((id) => !PROMQL_WORDS.has(id));
}

/** Balanced (), [] and {} outside strings: the shape errors a hand edit most often makes. */
function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

function expectKnownMetrics(expr: string, where: string): void {
  const known = knownSeries();
  // temporal_* series come from the Temporal runtime's exporter, not our registry.
  const unknown = referencedMetrics(expr).filter((name) => !known.has(name) && !name.startsWith('temporal_'));
  expect({ where, unknown }).toEqual({ where, unknown: [] });
  expect({ where, balanced: balanced(expr) }).toEqual({ where, balanced: true });
}

/** promtool from PROMTOOL_PATH (npm test resolves it), else found or built once by scripts/install-promtool.sh. */
function promtool(): string {
  return (
    process.env.PROMTOOL_PATH ??
    execFileSync('bash', [path.join(root, 'scripts', 'install-promtool.sh')], { encoding: 'utf8' }).trim()
  );
}

test('the metric check finds what an expression queries, and nothing else', () => {
  expect(
    referencedMetrics(
      'sum by (le, safety_level) (rate(poet_nope_bucket{job="x", status=~"5.."}[5m] offset 1d)) / clamp_min(up, 1e-9) > 0.5',
    ),
  ).toEqual(['poet_nope_bucket', 'up']);
  expect(balanced('sum(rate(x[5m])')).toBe(false);
});

describe('deploy/prometheus', () => {
  const alerts = parse(read('deploy/prometheus/alerts.yml')) as {
    groups: { name: string; rules: Record<string, any>[] }[];
  };
  const rules = alerts.groups.flatMap((g) => g.rules);

  test('the alert rules cover the issue: error rate, p95, circuit, cache hit rate, readiness, task queue backlog', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'PoetHighErrorRate',
        'PoetHighLatencyP95',
        'PoetCircuitOpen',
        'PoetCacheHitRateDrop',
        'PoetReadinessFailing',
        'PoetWorkerTaskQueueBacklog',
      ]),
    );
    const byName = Object.fromEntries(rules.map((r) => [r.alert, r.expr as string]));
    expect(byName.PoetHighErrorRate).toMatch(/status=~"5\.\."[\s\S]*> 0\.01/);
    expect(byName.PoetHighLatencyP95).toMatch(
      /histogram_quantile\(0\.95,[\s\S]*poet_run_duration_seconds_bucket[\s\S]*> 5\s*$/,
    );
    expect(byName.PoetCircuitOpen).toContain('poet_circuit_breaker_state');
    expect(byName.PoetReadinessFailing).toContain('poet_ready == 0');
  });

  test.each(rules.map((r) => [r.alert as string, r] as const))(
    '%s is well formed and uses metrics we export',
    (name, rule) => {
      expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toEqual(expect.any(String));
      expectKnownMetrics(rule.expr, name);
    },
  );

  test('the scrape config reads the alert rules and scrapes the API and every worker on their configured ports', () => {
    const config = parse(read('deploy/prometheus/prometheus.yml'));
    const defaults = loadConfig({});
    expect(config.rule_files).toEqual(['alerts.yml']);
    const jobs = Object.fromEntries(config.scrape_configs.map((j: { job_name: string }) => [j.job_name, j]));
    expect(jobs['poet-api'].static_configs[0].targets).toEqual([`api:${defaults.PORT}`]);
    expect(jobs['poet-worker'].dns_sd_configs[0]).toMatchObject({ names: ['worker'], port: defaults.WORKER_HTTP_PORT });
  });

  test('promtool accepts the rules and the config, and the rules fire (and stay quiet) on the series in alerts.test.yml', () => {
    const bin = promtool();
    expect(
      execFileSync(bin, ['test', 'rules', path.join(root, 'deploy/prometheus/alerts.test.yml')], { encoding: 'utf8' }),
    ).toMatch(/SUCCESS/);
    expect(
      execFileSync(bin, ['check', 'rules', path.join(root, 'deploy/prometheus/alerts.yml')], { encoding: 'utf8' }),
    ).toMatch(/SUCCESS: 7 rules found/);
    expect(
      execFileSync(bin, ['check', 'config', '--syntax-only', path.join(root, 'deploy/prometheus/prometheus.yml')], {
        encoding: 'utf8',
      }),
    ).toMatch(/SUCCESS/);
  });
});

describe('deploy/grafana', () => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/poet-service.json'));
  const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml'));
  const providers = parse(read('deploy/grafana/provisioning/dashboards/poet.yml'));
  const panels: any[] = dashboard.panels;
  const visible = panels.filter((p) => p.type !== 'row');

  test('the dashboard has the five sections, unique ids and panels that fit the 24-column grid without overlapping', () => {
    expect(dashboard).toMatchObject({
      uid: 'poet-service',
      title: expect.any(String),
      schemaVersion: expect.any(Number),
    });
    expect(panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'System health',
      'Cache performance',
      'Circuit breakers',
      'Recent activity',
      'Cost',
    ]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (const q of panels) {
        if (p === q) continue;
        const overlap =
          p.gridPos.x < q.gridPos.x + q.gridPos.w &&
          q.gridPos.x < p.gridPos.x + p.gridPos.w &&
          p.gridPos.y < q.gridPos.y + q.gridPos.h &&
          q.gridPos.y < p.gridPos.y + p.gridPos.h;
        expect({ panels: [p.title, q.title], overlap }).toEqual({ panels: [p.title, q.title], overlap: false });
      }
    }
  });

  test.each(visible.map((p) => [p.title as string, p] as const))(
    'panel "%s" queries the provisioned datasource with metrics we export',
    (title, panel) => {
      expect(['stat', 'timeseries', 'state-timeline', 'gauge', 'table']).toContain(panel.type);
      expect(panel.datasource.uid).toBe(datasources.datasources[0].uid);
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expectKnownMetrics(target.expr, title);
    },
  );

  test('provisioning points Grafana at Prometheus and at the dashboards folder', () => {
    expect(datasources.datasources[0]).toMatchObject({
      type: 'prometheus',
      url: 'http://prometheus:9090',
      isDefault: true,
    });
    expect(providers.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
  });
});
