import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/net';
import { getJson, postJson, startStack, uniqueSuffix, versionCounts, type TestStack } from '../helpers/stack';
import { killableTemporal, type KillableTemporal } from '../helpers/topology';

const RUNS = 50;

// Each run's validation sleeps in both the original and the enhanced function, so runs are in flight when Temporal goes.
const slow = (name: string) => ({
  function_name: name,
  original_code: `def ${name}(x: int) -> int:\n    import time\n    time.sleep(0.4)\n    return x * 2\n`,
  context: { samples: [[1], [2]] },
});

// The dev server, or the full server of scripts/cluster.sh under `npm run test:cluster`.
describe('Temporal killed with SIGKILL during runs and started again', () => {
  let dir: string;
  let temporal: KillableTemporal;
  let stack: TestStack;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'poet-trestart-'));
    temporal = await killableTemporal(dir);
    stack = await startStack('trestart', { TEMPORAL_ADDRESS: temporal.address });
  });
  afterAll(async () => {
    await stack.close();
    await temporal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${RUNS} runs in flight: the API answers 503 with Retry-After while it is down, and every run completes once, after`, async () => {
    const names = Array.from({ length: RUNS }, () => `restart_${uniqueSuffix()}`);
    const accepted = await Promise.all(
      names.map((name) => postJson(`${stack.url}/api/v1/functions/enhance`, slow(name), { prefer: 'respond-async' })),
    );
    expect(accepted.map((res) => res.status)).toEqual(Array(RUNS).fill(202));
    const locations = accepted.map((res) => `${stack.url}${res.headers.get('location')}`);
    const versions = () => versionCounts(stack.pool, names);

    await waitFor(async () => (await versions()).length > 0, 60_000, 'a first version stored', 50);
    await temporal.kill();
    // Otherwise the kill proved nothing.
    expect((await versions()).length).toBeLessThan(RUNS);
    const down = await postJson(`${stack.url}/api/v1/functions/enhance`, slow(`down_${uniqueSuffix()}`));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(down.body.error.code).toBe('service_unavailable');
    const polled = await getJson(locations[0]!);
    expect(polled.status).toBe(503);

    await temporal.start();
    await waitFor(
      async () =>
        (await Promise.all(locations.map((url) => getJson(url)))).every((res) => res.body.status === 'completed'),
      180_000,
      'every run completed after the restart',
      1_000,
    );
    for (const [i, url] of locations.entries()) {
      expect((await getJson(url)).body.result).toMatchObject({ function_name: names[i], version: 1 });
    }
    expect((await versions()).map((row) => row.n)).toEqual(Array(RUNS).fill(1));
  }, 300_000);
});
