import { PassThrough } from 'node:stream';
import { startApi } from '../../src/api/server';
import { createLogger } from '../../src/infra/observability/logger';
import { freePort } from '../helpers/net';
import { sampleValue, scrape } from '../helpers/prometheus';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const lines: Record<string, unknown>[] = [];
let stack: TestStack;
let temporalMetricsPort: number;

beforeAll(async () => {
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  temporalMetricsPort = await freePort();
  stack = await startStack(
    'observability',
    { TEMPORAL_METRICS_BIND_ADDRESS: `127.0.0.1:${temporalMetricsPort}` },
    { logger: createLogger({ level: 'debug', service: 'test-observability', stream: sink }) },
  );
});
afterAll(() => stack.close());

const fn = (name: string) => ({
  function_name: name,
  original_code: `def ${name}(x: int) -> int:\n    return x + 1\n`,
});

describe('request ids and correlated logs', () => {
  test('X-Request-Id is echoed and reaches the workflow and every activity log line with workflow_id, run_id and activity', async () => {
    const requestId = `req-${uniqueSuffix()}`;
    const res = await postJson(`${stack.url}/api/v1/functions/enhance`, fn(`inc_${uniqueSuffix()}`), {
      'x-request-id': requestId,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(requestId);

    const { workflow_id, run_id } = res.body.run;
    const activityLines = lines.filter((l) => l.request_id === requestId && typeof l.activity === 'string');
    expect([...new Set(activityLines.map((l) => l.activity))]).toEqual(
      expect.arrayContaining([
        'cacheLookupWithVersion',
        'generate',
        'validate',
        'cacheStore',
        'storeVersion',
        'publish',
      ]),
    );
    for (const line of activityLines)
      expect(line).toMatchObject({ workflow_id, run_id, service: 'test-observability' });
    const access = lines.find((l) => l.message === 'request' && l.request_id === requestId);
    expect(access).toMatchObject({ method: 'POST', route: '/api/v1/functions/enhance', status: 200 });
  });

  test('without a usable X-Request-Id a fresh one is generated', async () => {
    const none = await getJson(`${stack.url}/health/live`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const injected = await fetch(`${stack.url}/health/live`, { headers: { 'x-request-id': 'a b"c' } });
    expect(injected.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(injected.headers.get('x-request-id')).not.toBe(none.headers.get('x-request-id'));
  });
});

describe('metrics', () => {
  test('a failed run is classified in its answer and the worker counters; every run counts its duration', async () => {
    const before = await scrape(stack.worker.http.url);
    const failed = (samples: typeof before) =>
      sampleValue(samples, 'poet_run_duration_seconds_count', {
        workflow_type: 'enhanceFunction',
        outcome: 'failed',
      });
    const validationErrors = (samples: typeof before) =>
      sampleValue(samples, 'poet_errors_total', { category: 'validation', severity: 'warning' });
    const name = `noimport_${uniqueSuffix()}`;
    const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: `raise RuntimeError("no import")\n\ndef ${name}(x):\n    return x\n`,
      domain: 'computation',
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'validation_failed', category: 'validation', severity: 'warning' });
    const after = await scrape(stack.worker.http.url);
    expect(failed(after) - failed(before)).toBe(1);
    expect(validationErrors(after) - validationErrors(before)).toBe(1);
    // The API counted the answer as a failed enhancement, not as a refused request, and left the error to the worker.
    const api = await scrape(stack.url);
    expect(sampleValue(api, 'poet_enhancement_requests_total', { domain: 'computation', status: 'failed' })).toBe(1);
    expect(sampleValue(api, 'poet_errors_total', { category: 'validation', severity: 'warning' })).toBe(0);
  });

  test('the API counts requests by route template and enhancements by domain and outcome; labels stay bounded', async () => {
    const name = `dbl_${uniqueSuffix()}`;
    expect(
      (await postJson(`${stack.url}/api/v1/functions/enhance`, { ...fn(name), domain: 'computation' })).status,
    ).toBe(200);
    expect(
      (await postJson(`${stack.url}/api/v1/functions/enhance`, { ...fn(name), domain: `astro_${uniqueSuffix()}` }))
        .status,
    ).toBe(400);
    expect((await getJson(`${stack.url}/api/v1/runs/enhance-none-000000000000`)).status).toBe(404);
    expect((await getJson(`${stack.url}/no/such/${uniqueSuffix()}`)).status).toBe(404);

    const samples = await scrape(stack.url);
    expect(
      sampleValue(samples, 'poet_enhancement_requests_total', { domain: 'computation', status: 'completed' }),
    ).toBe(1);
    expect(sampleValue(samples, 'poet_enhancement_requests_total', { domain: 'other', status: 'rejected' })).toBe(1);
    // The 400 and the two 404s are the caller's: each counted once, by its class.
    expect(sampleValue(samples, 'poet_errors_total', { category: 'input', severity: 'info' })).toBeGreaterThanOrEqual(
      3,
    );
    expect(sampleValue(samples, 'poet_enhancement_duration_seconds_count', { domain: 'computation' })).toBe(1);
    expect(sampleValue(samples, 'poet_active_enhancements')).toBe(0);
    expect(
      sampleValue(samples, 'http_requests_total', { method: 'GET', route: '/api/v1/runs/:id', status: '404' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(samples, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/v1/functions/enhance',
      }),
    ).toBeGreaterThanOrEqual(2);
    // No raw path, function name or id ever becomes a label value.
    const labelValues = samples.flatMap((s) => Object.values(s.labels));
    expect(labelValues.some((v) => v.includes(name) || v.startsWith('/no/') || v.includes('astro_'))).toBe(false);
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  test('the worker serves its stage, cache and validation metrics, the task queue backlog and the Temporal runtime metrics', async () => {
    const body = fn(`sq_${uniqueSuffix()}`);
    expect((await postJson(`${stack.url}/api/v1/functions/enhance`, body)).body.metadata.cache).toBe('miss');
    expect((await postJson(`${stack.url}/api/v1/functions/enhance`, body)).body.metadata.cache).toBe('hit');

    const samples = await scrape(stack.worker.http.url);
    for (const stage of ['cacheLookupWithVersion', 'generate', 'validate', 'cacheStore', 'storeVersion', 'publish']) {
      expect(sampleValue(samples, 'poet_stage_duration_seconds_count', { stage })).toBeGreaterThanOrEqual(1);
    }
    expect(sampleValue(samples, 'poet_cache_requests_total', { layer: 'all', outcome: 'miss' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(sampleValue(samples, 'poet_cache_requests_total', { layer: 'l0', outcome: 'hit' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      sampleValue(samples, 'poet_validation_results_total', { outcome: 'passed', safety_level: 'high' }),
    ).toBeGreaterThanOrEqual(1);
    expect(samples.some((s) => s.name === 'poet_task_queue_backlog' && s.labels.type === 'activity')).toBe(true);
    // From the Temporal runtime's own Prometheus exporter, merged into the worker's /metrics.
    // deploy/prometheus/alerts.yml's schedule-to-start alert queries this series.
    expect(samples.some((s) => s.name === 'temporal_activity_schedule_to_start_latency_seconds_bucket')).toBe(true);
  });
});

describe('health', () => {
  test('the API and the worker report each check with status and latency', async () => {
    // The worker also runs the validation sandbox, and reports whether it is isolated.
    for (const [url, own] of [
      [stack.url, []],
      [stack.worker.http.url, ['sandbox']],
    ] as const) {
      expect((await getJson(`${url}/health/live`)).body).toEqual({ status: 'ok' });
      const ready = await getJson(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(Object.keys(ready.body.checks).sort()).toEqual(
        ['disk', 'encryption', 'llm', 'memory', 'postgres', 'redis', ...own, 'temporal'].sort(),
      );
      expect(ready.body.checks).toMatchObject({
        temporal: { status: 'ok' },
        postgres: { status: 'ok' },
        redis: { status: 'ok' },
        disk: { status: 'ok', details: { free_mb: expect.any(Number) } },
        memory: { details: { heap_used_mb: expect.any(Number) } },
      });
      for (const check of Object.values<{ latency_ms: number }>(ready.body.checks))
        expect(check.latency_ms).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('readiness under faults', () => {
  const silent = createLogger({ level: 'error', service: 'test', silent: true });

  test('Redis unreachable degrades the API without failing it; too little disk space fails it', async () => {
    const redisDown = await startApi(
      { ...stack.config, PORT: 0, REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
      silent,
    );
    const diskShort = await startApi({ ...stack.config, PORT: 0, HEALTH_DISK_MIN_FREE_MB: 1_000_000_000 }, silent);
    try {
      const degraded = await getJson(`${redisDown.url}/health/ready`);
      expect(degraded.status).toBe(200);
      expect(degraded.body.status).toBe('degraded');
      expect(degraded.body.checks.redis).toMatchObject({ status: 'degraded', error: expect.any(String) });

      const failing = await getJson(`${diskShort.url}/health/ready`);
      expect(failing.status).toBe(503);
      expect(failing.body.status).toBe('failing');
      expect(failing.body.checks.disk).toMatchObject({ status: 'failing', error: expect.stringContaining('MiB free') });
    } finally {
      await redisDown.close();
      await diskShort.close();
    }
  });
});
