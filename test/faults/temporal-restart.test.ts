import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTemporalCli, startDevServer, type DevServer, type DevServerOptions } from '../../src/cli/temporal-dev';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/definitions/search-attributes';
import { freePort, waitFor } from '../helpers/net';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

// Each run's validation sleeps in both the original and the enhanced function, so runs are in flight when Temporal goes.
const slow = (name: string) => ({
  function_name: name,
  original_code: `def ${name}(x: int) -> int:\n    import time\n    time.sleep(0.4)\n    return x * 2\n`,
  context: { samples: [[1], [2]] },
});

describe('Temporal dev server restarted during runs', () => {
  let dir: string;
  let options: DevServerOptions;
  let server: DevServer;
  let stack: TestStack;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'poet-trestart-'));
    options = {
      cli: ensureTemporalCli(path.join(__dirname, '..', '..'), process.env),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      dbFile: path.join(dir, 'temporal.sqlite'),
      searchAttributes: SEARCH_ATTRIBUTE_NAMES,
      env: process.env,
      stdio: 'ignore',
    };
    server = await startDevServer(options);
    stack = await startStack('trestart', { TEMPORAL_ADDRESS: server.address });
  });
  afterAll(async () => {
    await stack.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the API answers 503 with Retry-After while it is down, and every accepted run completes after', async () => {
    const names = Array.from({ length: 4 }, () => `restart_${uniqueSuffix()}`);
    const accepted = await Promise.all(
      names.map((name) => postJson(`${stack.url}/api/v1/functions/enhance`, slow(name), { prefer: 'respond-async' })),
    );
    expect(accepted.map((res) => res.status)).toEqual([202, 202, 202, 202]);
    const locations = accepted.map((res) => `${stack.url}${res.headers.get('location')}`);

    await server.stop();
    const down = await postJson(`${stack.url}/api/v1/functions/enhance`, slow(`down_${uniqueSuffix()}`));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(down.body.error.code).toBe('service_unavailable');
    const polled = await getJson(locations[0]!);
    expect(polled.status).toBe(503);

    server = await startDevServer(options);
    await waitFor(
      async () =>
        (await Promise.all(locations.map((url) => getJson(url)))).every((res) => res.body.status === 'completed'),
      90_000,
      'every run completed after the restart',
      500,
    );
    for (const [i, url] of locations.entries()) {
      expect((await getJson(url)).body.result).toMatchObject({ function_name: names[i], version: 1 });
    }
    const versions = await stack.pool.query(
      'SELECT function_name, count(*)::int AS n FROM versions WHERE function_name = ANY($1) GROUP BY 1',
      [names],
    );
    expect(versions.rows.map((row) => row.n)).toEqual([1, 1, 1, 1]);
  });
});
