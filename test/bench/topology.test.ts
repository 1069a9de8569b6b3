import net from 'node:net';
import path from 'node:path';

// How `npm run bench -- --topology cluster` finds the cluster: the exports `scripts/cluster.sh env` prints, and the
// server processes behind an address or by service, whose CPU the benchmarks count.
const { parseExports, parseServicePids, pidsListeningOn } = require(
  path.join(__dirname, '..', '..', 'bench', 'lib', 'topology.js'),
);

test('reads the export lines of scripts/cluster.sh env, quoted or not, and nothing else', () => {
  const printed = [
    'export POET_CLUSTER_TEMPORAL_ADDRESS=127.0.0.1:17233',
    "export POET_CLUSTER_DIR='/root/.cache/poet-service/cluster'",
    'export POET_CLUSTER_API_URL="http://127.0.0.1:18080"',
    'export POET_CLUSTER_TEMPORAL_PIDS=frontend:101,history:102,matching:103,worker:104',
    'cluster: temporal running',
  ].join('\n');
  expect(parseExports(printed)).toEqual({
    POET_CLUSTER_TEMPORAL_ADDRESS: '127.0.0.1:17233',
    POET_CLUSTER_DIR: '/root/.cache/poet-service/cluster',
    POET_CLUSTER_API_URL: 'http://127.0.0.1:18080',
    POET_CLUSTER_TEMPORAL_PIDS: 'frontend:101,history:102,matching:103,worker:104',
  });
});

test("reads Temporal's pids by service, and refuses an entry that is not one of its services with a pid", () => {
  expect(parseServicePids('frontend:101,history:102,matching:103,worker:104')).toEqual({
    frontend: 101,
    history: 102,
    matching: 103,
    worker: 104,
  });
  expect(parseServicePids('')).toEqual({});
  expect(() => parseServicePids('frontend:101,api:102')).toThrow('api:102');
  expect(() => parseServicePids('history:x')).toThrow('history:x');
});

test('finds the process listening on a port from /proc', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as net.AddressInfo;
    expect(pidsListeningOn(port)).toEqual([process.pid]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
