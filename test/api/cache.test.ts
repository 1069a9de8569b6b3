import { waitFor } from '../helpers/net';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const source = (name: string) => `def ${name}(x: int, y: int) -> int:\n    return x * y + 1\n`;
// Same AST once docstrings are dropped: comments, blank lines, spacing, quotes of the docstring, a docstring added.
const cosmetic = (name: string) =>
  `# helper used by the billing job\n\ndef ${name}( x: int,  y: int )->int:\n    '''Multiply, then add one.'''\n\n    return (x * y) + 1   # keep it simple\n`;
// A real change: a different constant.
const changed = (name: string) => `def ${name}(x: int, y: int) -> int:\n    return x * y + 2\n`;

/** The API and worker of a stack, with or without Redis. */
function cacheApi(stack: () => TestStack) {
  return {
    enhance: async (name: string, code: string) => {
      const res = await postJson(`${stack().url}/api/v1/functions/enhance`, {
        function_name: name,
        original_code: code,
      });
      expect(res.status).toBe(200);
      return res.body;
    },
    invalidate: (name: string) => requestJson('DELETE', `${stack().url}/api/v1/cache?function_name=${name}`),
    /** Entries the worker's in-process cache holds for the function. */
    held: (name: string) => stack().worker.deps.cache.localEntries('default', name),
  };
}

describe('the cache: exact layers, the normalized-code layer, statistics and invalidation (Redis)', () => {
  let stack: TestStack;
  const { enhance, invalidate, held } = cacheApi(() => stack);
  // A hit answers before its run publishes its events: wait for this run's cache.hit event.
  const layerOfHit = async (run: { run_id: string }) => {
    let layer: string | undefined;
    await waitFor(
      async () => {
        const res = await stack.pool.query(
          `SELECT payload->>'layer' AS layer FROM events WHERE run_id = $1 AND event_type = 'cache.hit'`,
          [run.run_id],
        );
        layer = res.rows[0]?.layer;
        return layer !== undefined;
      },
      10_000,
      'the cache.hit event of the run',
    );
    return layer;
  };
  const stats = async () => (await getJson(`${stack.url}/api/v1/cache/stats`)).body;

  beforeAll(async () => {
    stack = await startStack('cache');
  });
  afterAll(() => stack.close());

  test("cosmetic edits hit L2 and answer with the caller's source; a real change misses; counts per layer reach cache_stats; DELETE invalidates one function everywhere", async () => {
    const name = `mul_${uniqueSuffix()}`;
    expect((await enhance(name, source(name))).metadata.cache).toBe('miss');
    // A real change makes v2 the active version; the source of v1, edited, is then an L2 hit (not the lineage's).
    expect((await enhance(name, changed(name))).metadata.cache).toBe('miss');
    const cosmeticHit = await enhance(name, cosmetic(name));
    expect(cosmeticHit.metadata.cache).toBe('hit');
    expect(await layerOfHit(cosmeticHit.run)).toBe('l2');
    expect(cosmeticHit.version).toBe(3);
    expect(cosmeticHit.enhanced_code.python).toContain(cosmetic(name).trimEnd());
    expect(cosmeticHit.enhanced_code.python).not.toContain(source(name).trimEnd());

    // A second worker process would find the first one's entries in Redis: a fresh cache sees L1 there.
    stack.worker.deps.cache.evictLocal('default');
    const redisHit = await enhance(name, changed(name));
    expect(redisHit.metadata.cache).toBe('hit');
    expect(await layerOfHit(redisHit.run)).toBe('l1');

    // The worker flushes on a timer; flushing now makes the figures exact at this point (a timer's flush under way
    // may still be writing its rows: wait for the last layer's).
    await stack.worker.deps.cache.flushStats(stack.pool);
    await waitFor(
      async () =>
        (await stats()).layers.some((l: { layer: string; misses: number }) => l.layer === 'l2' && l.misses === 2),
      5_000,
      'the flushed counts',
    );
    const flushed = await stats();
    const byLayer = Object.fromEntries(flushed.layers.map((l: { layer: string }) => [l.layer, l]));
    expect(byLayer.l0).toMatchObject({ hits: 0, misses: 4 });
    expect(byLayer.l1).toMatchObject({ hits: 1, misses: 3, errors: 0 });
    expect(byLayer.l2).toMatchObject({ hits: 1, misses: 2, errors: 0 });
    expect(flushed.overall_hit_rate).toBeCloseTo(2 / 4);
    const table = await stack.pool.query(
      "SELECT layer, hits::int, misses::int FROM cache_stats WHERE tenant_id = 'default' ORDER BY layer",
    );
    expect(table.rows).toEqual([
      { layer: 'l0', hits: 0, misses: 4 },
      { layer: 'l1', hits: 1, misses: 3 },
      { layer: 'l2', hits: 1, misses: 2 },
    ]);

    // Invalidate another function: ours stays cached. Then ours: Redis and the worker's memory lose it.
    const other = `other_${uniqueSuffix()}`;
    await enhance(other, source(other));
    const asViewer = { authorization: `Bearer ${await stack.createKey('default', 'viewer')}` };
    expect(
      (await requestJson('DELETE', `${stack.url}/api/v1/cache?function_name=${other}`, undefined, asViewer)).status,
    ).toBe(403);
    const dropOther = await invalidate(other);
    expect(dropOther.body).toMatchObject({ function_name: other, shared_entries: 2, workers_notified: 1 });
    await waitFor(async () => held(other) === 0, 5_000, "the worker drops the other function's entries");
    expect(held(name)).toBeGreaterThan(0);
    expect((await enhance(name, source(name))).metadata.cache).toBe('hit');

    const dropOurs = await invalidate(name);
    expect(dropOurs.status).toBe(200);
    expect(dropOurs.body.shared_entries).toBeGreaterThanOrEqual(2);
    expect(dropOurs.body.workers_notified).toBe(1);
    await waitFor(async () => held(name) === 0, 5_000, 'worker L0 evicted');
    // The active version now holds source(name): the changed code is answered by neither lineage nor cache.
    expect((await enhance(name, changed(name))).metadata.cache).toBe('miss');

    const badQuery = await requestJson('DELETE', `${stack.url}/api/v1/cache?function_name=1bad`);
    expect(badQuery.status).toBe(400);
  });
});

describe('cache invalidation without Redis (the `npm start` default): PostgreSQL tells every worker', () => {
  let stack: TestStack;
  const { enhance, invalidate, held } = cacheApi(() => stack);

  beforeAll(async () => {
    stack = await startStack('cachenoredis', { REDIS_URL: '' });
  });
  afterAll(() => stack.close());

  test("DELETE reaches the worker's in-process cache; a worker that cannot hear invalidations keeps nothing", async () => {
    const name = `mul_${uniqueSuffix()}`;
    await waitFor(
      async () => held(name) === 0 && (await invalidate(name)).body.workers_notified === 1,
      10_000,
      'listening',
    );
    expect((await enhance(name, source(name))).metadata.cache).toBe('miss');
    expect((await enhance(name, changed(name))).metadata.cache).toBe('miss');
    // v2 (changed) is active: the first source again is the worker's in-process hit.
    expect((await enhance(name, source(name))).metadata.cache).toBe('hit');
    expect(held(name)).toBeGreaterThan(0);

    const dropped = await invalidate(name);
    expect(dropped.status).toBe(200);
    expect(dropped.body).toEqual({ function_name: name, shared_entries: 0, workers_notified: 1 });
    await waitFor(async () => held(name) === 0, 5_000, "the worker drops the function's entries");
    // v3 (source) is active now: the changed code was cached only in that worker, and is gone.
    expect((await enhance(name, changed(name))).metadata.cache).toBe('miss');
    expect(held(name)).toBeGreaterThan(0);

    // Its listening session lost (an invalidation could go unheard): the worker drops everything and holds nothing
    // until it listens again.
    await stack.pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'poet-cache-listener:' || $1",
      [stack.config.DATABASE_SCHEMA],
    );
    await waitFor(async () => held(name) === 0, 5_000, 'entries dropped with the listening session');
    await waitFor(async () => (await invalidate(name)).body.workers_notified === 1, 10_000, 'listening again');
    expect((await enhance(name, source(name))).metadata.cache).toBe('miss');
    expect(held(name)).toBeGreaterThan(0);
  });
});
