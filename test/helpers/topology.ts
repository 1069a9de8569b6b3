import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureTemporalCli, startDevServer, type DevServer, type DevServerOptions } from '../../src/cli/temporal-dev';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/definitions/search-attributes';
import { ended } from './processes';
import { freePort, waitFor } from './net';

const ROOT = path.join(__dirname, '..', '..');

/**
 * `POET_TEST_TOPOLOGY=cluster` (`npm run test:cluster`): the suite runs against scripts/cluster.sh's full Temporal
 * server on PostgreSQL instead of the dev server; global setup brings the cluster up and points TEMPORAL_ADDRESS at it.
 */
export const clusterTopology = process.env.POET_TEST_TOPOLOGY === 'cluster';

/** scripts/cluster.sh with the test's environment; throws with its output when it fails. */
export function clusterScript(...args: string[]): string {
  const result = spawnSync('bash', [path.join(ROOT, 'scripts', 'cluster.sh'), ...args], {
    env: process.env,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`scripts/cluster.sh ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/**
 * The same without blocking: a test's in-process API and worker keep serving while it runs (a blocked event loop
 * would have the API's keep-alive sockets time out under the test's own requests).
 */
async function clusterScriptAsync(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(ROOT, 'scripts', 'cluster.sh'), ...args], {
    env: process.env,
  });
  return stdout;
}

/** `scripts/cluster.sh env`'s exports as a map. */
function parseClusterEnv(printed: string): Record<string, string> {
  return Object.fromEntries(
    printed
      .split('\n')
      .filter((line) => line.startsWith('export '))
      .map((line) => line.slice('export '.length).split('=') as [string, string]),
  );
}

/** The cluster's exports (`scripts/cluster.sh env`) as a map. */
export function clusterEnv(): Record<string, string> {
  return parseClusterEnv(clusterScript('env'));
}

/** A Temporal server a fault test may kill with SIGKILL and start again. */
export interface KillableTemporal {
  address: string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same persistence; resolves once it answers. */
  start(): Promise<void>;
  /** Leaves nothing of this test running (the cluster stays up for the rest of the suite). */
  close(): Promise<void>;
}

async function killPid(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => ended(pid), 10_000, `process ${pid} gone after SIGKILL`, 50);
}

/** The cluster's Temporal services, each a process of its own. */
export const CLUSTER_TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'];

/** Temporal's pids by service as `scripts/cluster.sh env` exports them (frontend:123,history:456,...). */
export function clusterTemporalPids(env: Record<string, string> = clusterEnv()): Record<string, number> {
  return Object.fromEntries(
    (env.POET_CLUSTER_TEMPORAL_PIDS ?? '')
      .split(',')
      .filter(Boolean)
      .map((entry) => {
        const [service, pid] = entry.split(':');
        return [service!, Number(pid)];
      }),
  );
}

/**
 * The dev server on its own SQLite file under `dir`, or in cluster mode the cluster's server: its frontend, history,
 * matching and worker services, each a process, all killed at once.
 */
export async function killableTemporal(dir: string): Promise<KillableTemporal> {
  if (clusterTopology) {
    const env = clusterEnv();
    return {
      address: env.POET_CLUSTER_TEMPORAL_ADDRESS!,
      kill: async () => {
        const pids = clusterTemporalPids(parseClusterEnv(await clusterScriptAsync('env')));
        expect(Object.keys(pids).sort()).toEqual([...CLUSTER_TEMPORAL_SERVICES].sort());
        await Promise.all(Object.values(pids).map(killPid));
      },
      start: async () => {
        await clusterScriptAsync('up', '--temporal-only');
      },
      close: async () => {
        await clusterScriptAsync('up', '--temporal-only');
      },
    };
  }
  const options: DevServerOptions = {
    cli: ensureTemporalCli(ROOT, process.env),
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    dbFile: path.join(dir, 'temporal.sqlite'),
    searchAttributes: SEARCH_ATTRIBUTE_NAMES,
    env: process.env,
    stdio: 'ignore',
  };
  let server: DevServer = await startDevServer(options);
  return {
    address: server.address,
    kill: () => killPid(server.child.pid!),
    start: async () => {
      server = await startDevServer(options);
    },
    close: () => server.stop(),
  };
}
