import type { AddressInfo } from 'node:net';
import express from 'express';
import Redis from 'ioredis';
import { errorHandler } from '../../src/api/errors';
import { RateLimits } from '../../src/api/rate-limit';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/infra/observability/logger';
import { createRedis } from '../../src/infra/cache/redis';
import { freePort } from '../helpers/net';
import { Metrics } from '../../src/infra/observability/metrics';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const logger = createLogger({ level: 'error', service: 'test', silent: true });

describe('enhance budget per key (RATE_LIMIT_ENHANCE_PER_MINUTE=3 here; 10 by default)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('ratelimit', {
      RATE_LIMIT_ENHANCE_PER_MINUTE: '3',
      RATE_LIMIT_KEY_PER_MINUTE: '1000',
      RATE_LIMIT_IP_PER_MINUTE: '1000',
    });
  });
  afterAll(() => stack.close());

  test('counts down in RateLimit headers, then 429 with Retry-After; other keys and other routes keep their budgets', async () => {
    const key = await stack.createKey('default', 'agent');
    const url = `${stack.url}/api/v1/functions/enhance`;
    // Schema-invalid bodies: counted like any call, and quick.
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const res = await postJson(url, { nope: i }, { 'x-api-key': key });
      expect(res.status).toBe(400);
      expect(res.headers.get('ratelimit-limit')).toBe('3');
      expect(res.headers.get('ratelimit-policy')).toBe('3;w=60');
      remaining.push(res.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const limited = await postJson(url, { nope: 4 }, { 'x-api-key': key });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // The external alias shares the budget: same class, same key.
    expect((await postJson(`${stack.url}/v1/external/enhance`, { nope: 5 }, { 'x-api-key': key })).status).toBe(429);

    expect((await postJson(url, { nope: 1 }, { 'x-api-key': await stack.createKey('default', 'agent') })).status).toBe(
      400,
    );
    expect((await getJson(`${stack.url}/api/v1/runs/enhance-x-000000000000`, { 'x-api-key': key })).status).toBe(404);
  });

  test('the counters live in Redis, shared by every API replica', async () => {
    const key = await stack.createKey('default', 'agent');
    await postJson(`${stack.url}/api/v1/functions/enhance`, {}, { 'x-api-key': key });
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      const counted = await redis.get(`${stack.config.REDIS_PREFIX}rl:enhance:${key.split('.')[0]}`);
      expect(counted).toBe('1');
    } finally {
      redis.disconnect();
    }
  });
});

describe('every batch item costs one enhance; a tenant-wide budget binds across all of its keys', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('ratelimit_tenant', {
      RATE_LIMIT_ENHANCE_PER_MINUTE: '10',
      RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: '15',
      RATE_LIMIT_KEY_PER_MINUTE: '1000',
      RATE_LIMIT_IP_PER_MINUTE: '1000',
    });
  });
  afterAll(() => stack.close());

  const item = (i: number) => ({ function_name: `f${i}`, original_code: `def f${i}(x):\n    return x\n` });

  test('a batch of 30 on a budget of 10 is a 429 with Retry-After', async () => {
    const key = await stack.createKey(`batch_${uniqueSuffix()}`, 'agent');
    const res = await postJson(
      `${stack.url}/api/v1/functions/enhance:batch`,
      { functions: Array.from({ length: 30 }, (_, i) => item(i)) },
      { 'x-api-key': key },
    );
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe('rate_limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('ratelimit-remaining')).toBe('0');
    expect(res.headers.get('ratelimit-limit')).toBe('10');
  });

  test("a batch of 3 leaves 7 of the key's 10", async () => {
    const key = await stack.createKey(`batch_${uniqueSuffix()}`, 'agent');
    // Three items that fail their checks (not Python): charged before anything is checked, and quick.
    const bad = Array.from({ length: 3 }, (_, i) => ({ function_name: `g${i}`, original_code: 'def (:' }));
    const res = await postJson(`${stack.url}/api/v1/functions/enhance:batch`, { functions: bad }, { 'x-api-key': key });
    expect(res.status).toBe(422);
    expect(res.headers.get('ratelimit-remaining')).toBe('7');
    expect(res.headers.get('ratelimit-policy')).toBe('10;w=60');
  });

  test('keys of one tenant share its budget of 15; another tenant keeps its own', async () => {
    const tenant = `t_${uniqueSuffix()}`;
    const url = `${stack.url}/api/v1/functions/enhance`;
    const first = await stack.createKey(tenant, 'agent');
    for (let i = 0; i < 10; i++) expect((await postJson(url, { nope: i }, { 'x-api-key': first })).status).toBe(400);
    const second = await stack.createKey(tenant, 'agent');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await postJson(url, { nope: i }, { 'x-api-key': second })).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    const third = await stack.createKey(tenant, 'admin');
    const limited = await postJson(url, { nope: 0 }, { 'x-api-key': third });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-limit')).toBe('15');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(
      (await postJson(url, { nope: 0 }, { 'x-api-key': await stack.createKey(`other_${uniqueSuffix()}`, 'agent') }))
        .status,
    ).toBe(400);
  });
});

describe('per-IP budget, and the in-memory insurance when Redis is away', () => {
  async function limitedApp(redis: Redis | undefined) {
    const config = loadConfig({ REDIS_PREFIX: `test:rl-${uniqueSuffix()}:`, RATE_LIMIT_IP_PER_MINUTE: '2' });
    const app = express();
    app.use(new RateLimits(config, redis, logger).perIp());
    app.get('/x', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorHandler(logger, new Metrics({ domains: [], stages: [] })));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`,
      close: () => new Promise((r) => server.close(r)),
    };
  }

  test.each([
    [
      'Redis up',
      async () => {
        const redis = createRedis(process.env.REDIS_URL!, logger);
        await new Promise((resolve) => redis.once('ready', resolve));
        return redis;
      },
    ],
    ['Redis unreachable', async () => createRedis(`redis://127.0.0.1:${await freePort()}`, logger)],
  ])('%s: the third call from one address within a minute is 429', async (_label, makeRedis) => {
    const redis = await makeRedis();
    const app = await limitedApp(redis);
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(app.url)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await app.close();
      redis.disconnect();
    }
  });
});
