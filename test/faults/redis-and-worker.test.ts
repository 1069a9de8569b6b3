import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, isListening, waitFor } from '../helpers/net';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';
import { startWorker } from '../../src/worker/worker';
import { createLogger } from '../../src/infra/observability/logger';

/** A redis-server of the test's own, so killing it touches nobody else. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await waitFor(() => isListening(port), 5_000, 'redis-server listening');
  return child;
}

const fn = (name: string) => ({
  function_name: name,
  original_code: `def ${name}(x: int) -> int:\n    return x + 1\n`,
});

describe('Redis killed mid-run', () => {
  let stack: TestStack;
  let redis: ChildProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    stack = await startStack('redisfault', { REDIS_URL: `redis://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    redis.kill('SIGKILL');
    await stack.close();
  });

  test('enhancements succeed uncached, readiness degrades, and the outbox catches the stream up when Redis returns', async () => {
    const url = `${stack.url}/api/v1/functions/enhance`;
    const before = await postJson(url, fn(`before_${uniqueSuffix()}`));
    expect(before.status).toBe(200);
    expect((await getJson(`${stack.url}/health/ready`)).body.checks.redis.status).toBe('ok');

    redis.kill('SIGKILL');
    await new Promise((resolve) => redis.once('exit', resolve));

    const name = `during_${uniqueSuffix()}`;
    const during = await postJson(url, fn(name));
    expect(during.status).toBe(200);
    expect(during.body.version).toBe(1);
    const ready = await getJson(`${stack.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'degraded',
      checks: { redis: { status: 'degraded' }, postgres: { status: 'ok' } },
    });
    const unstreamed = await stack.pool.query(
      'SELECT count(*)::int AS n FROM events WHERE function_name = $1 AND streamed_at IS NULL',
      [name],
    );
    expect(unstreamed.rows[0].n).toBe(3);
    // The bypass is counted as an error of the Redis-backed layers, not as a miss.
    await stack.worker.deps.cache.flushStats(stack.pool);
    const stats = (await getJson(`${stack.url}/api/v1/cache/stats`)).body;
    expect(stats.layers.find((l: { layer: string }) => l.layer === 'l1').errors).toBeGreaterThanOrEqual(1);

    redis = await startRedis(port);
    await waitFor(
      async () => (await getJson(`${stack.url}/health/ready`)).body.checks.redis.status === 'ok',
      15_000,
      'API sees redis',
    );
    await waitFor(async () => stack.worker.deps.redis?.status === 'ready', 15_000, 'worker sees redis');
    const after = await postJson(url, fn(`after_${uniqueSuffix()}`));
    expect(after.status).toBe(200);
    // The publish after recovery relays the rows Redis missed.
    const stillUnstreamed = await stack.pool.query('SELECT count(*)::int AS n FROM events WHERE streamed_at IS NULL');
    expect(stillUnstreamed.rows[0].n).toBe(0);
    const stream = await stack.worker.deps.redis!.xrange(`${stack.config.REDIS_PREFIX}events`, '-', '+');
    expect(stream.some(([, fields]) => fields.includes(name))).toBe(true);

    // And the shared cache is written again.
    const cached = fn(`cached_${uniqueSuffix()}`);
    expect((await postJson(url, cached)).body.metadata.cache).toBe('miss');
    expect(await stack.worker.deps.redis!.keys(`${stack.config.REDIS_PREFIX}cache:*`)).not.toHaveLength(0);
  });
});

describe('no worker polling', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('noworker');
  });
  afterAll(() => stack.close());

  test('a run accepted while every worker is down completes once a worker starts again', async () => {
    await stack.worker.shutdown();
    const name = `durable_${uniqueSuffix()}`;
    const accepted = await postJson(`${stack.url}/api/v1/functions/enhance?wait=1`, fn(name));
    expect(accepted.status).toBe(202);
    expect((await getJson(`${stack.url}${accepted.headers.get('location')}`)).body.status).toBe('running');

    const replacement = await startWorker(
      stack.config,
      createLogger({ level: 'error', service: 'test', silent: true }),
    );
    try {
      await waitFor(
        async () => (await getJson(`${stack.url}${accepted.headers.get('location')}`)).body.status === 'completed',
        15_000,
        'run completed',
      );
      const done = await getJson(`${stack.url}${accepted.headers.get('location')}`);
      expect(done.body.result).toMatchObject({ function_name: name, version: 1 });
    } finally {
      await replacement.shutdown();
    }
  });
});
