import { waitFor } from '../helpers/net';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const source = (name: string) => `def ${name}(x: int, y: int) -> int:\n    return x * y + 1\n`;
// Same AST once docstrings are dropped: comments, blank lines, spacing, quotes of the docstring, a docstring added.
const cosmetic = (name: string) =>
  `# helper used by the billing job\n\ndef ${name}( x: int,  y: int )->int:\n    '''Multiply, then add one.'''\n\n    return (x * y) + 1   # keep it simple\n`;
// A real change: a different constant.
const changed = (name: string) => `def ${name}(x: int, y: int) -> int:\n    return x * y + 2\n`;

describe('the cache: exact layers, the normalized-code layer, statistics and invalidation', () => {
  let stack: TestStack;
  const enhance = (name: string, code: string) =>
    postJson(`${stack.url}/api/v1/functions/enhance`, { function_name: name, original_code: code });
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

  test('cosmetic edits hit L2; a real change misses; counts per layer reach cache_stats; DELETE invalidates one function', async () => {
    const name = `mul_${uniqueSuffix()}`;
    expect((await enhance(name, source(name))).body.metadata.cache).toBe('miss');
    const cosmeticHit = (await enhance(name, cosmetic(name))).body;
    expect(cosmeticHit.metadata.cache).toBe('hit');
    expect(await layerOfHit(cosmeticHit.run)).toBe('l2');
    expect((await enhance(name, changed(name))).body.metadata.cache).toBe('miss');

    // A second worker process would find the first one's entries in Redis: a fresh cache sees L1 and L2 there.
    stack.worker.deps.cache.evictLocal('default');
    const redisHit = (await enhance(name, source(name))).body;
    expect(redisHit.metadata.cache).toBe('hit');
    expect(await layerOfHit(redisHit.run)).toBe('l1');

    // The worker flushes on a timer; flushing now makes the figures exact at this point.
    await stack.worker.deps.cache.flushStats(stack.pool);
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

    // Invalidate another function: ours stays cached. Then ours: the next request is a miss everywhere.
    const other = `other_${uniqueSuffix()}`;
    await enhance(other, source(other));
    const asViewer = { authorization: `Bearer ${await stack.createKey('default', 'viewer')}` };
    expect(
      (await requestJson('DELETE', `${stack.url}/api/v1/cache?function_name=${other}`, undefined, asViewer)).status,
    ).toBe(403);
    const dropOther = await requestJson('DELETE', `${stack.url}/api/v1/cache?function_name=${other}`);
    expect(dropOther.body).toMatchObject({ function_name: other, shared_entries: 2, workers_notified: 1 });
    expect((await enhance(name, source(name))).body.metadata.cache).toBe('hit');

    const dropOurs = await requestJson('DELETE', `${stack.url}/api/v1/cache?function_name=${name}`);
    expect(dropOurs.status).toBe(200);
    expect(dropOurs.body.shared_entries).toBeGreaterThanOrEqual(2);
    await waitFor(
      async () => (await enhance(name, cosmetic(name))).body.metadata.cache === 'miss',
      5_000,
      'worker L0 evicted',
    );

    const badQuery = await requestJson('DELETE', `${stack.url}/api/v1/cache?function_name=1bad`);
    expect(badQuery.status).toBe(400);
  });
});
