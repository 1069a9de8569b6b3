import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { waitUntil } from './wait';

/**
 * Dynamic config for the local dev server (npm start, tests, benchmarks) and the one-machine cluster
 * (scripts/cluster.sh writes it into the server's dynamic config file, so both topologies are tuned alike). Its history queue readers poll
 * at 20 per second by default: once the burst is spent, every workflow and activity task dispatch waits
 * about 50 ms, which made a cache hit 240 ms instead of 50 ms (measured, bench/RESULTS.md). One partition per task
 * queue (the default four make a poll wait for forwarding between partitions) and eager activity dispatch (the
 * activity a workflow task schedules comes back in that task's completion instead of through matching) took a hit
 * at concurrency 1 from 55 to 46 ms p50.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  'history.transferProcessorMaxPollRPS=10000',
  'history.timerProcessorMaxPollRPS=10000',
  'history.visibilityProcessorMaxPollRPS=10000',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
  'system.enableActivityEagerExecution=true',
];

export const devServerExtraArgs = (): string[] =>
  DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]);

/** Path of a usable Temporal CLI: scripts/install-temporal.sh finds it or builds it with Go (stderr shows how). */
export function ensureTemporalCli(rootDir: string, env: Record<string, string | undefined>): string {
  const result = spawnSync('bash', [path.join(rootDir, 'scripts', 'install-temporal.sh')], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cli = result.stdout.trim().split('\n').pop();
  if (result.status !== 0 || !cli) throw new Error('no Temporal CLI available (see the message above)');
  return cli;
}

export interface DevServerOptions {
  cli: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** SQLite file that keeps runs across restarts. */
  dbFile: string;
  /** Keyword search attributes to register. */
  searchAttributes: string[];
  env: Record<string, string | undefined>;
  stdio?: StdioOptions;
  /** The Temporal UI's remote codec (our API's /api/v1/codec): the UI shows claim-checked payloads decoded. */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  address: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** False while the server is still coming up; throws once it has exited, since waiting is then pointless. */
async function devServerAnswers(address: string, child: ChildProcess): Promise<boolean> {
  if (child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode}`);
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.healthService.check({}).finally(() => connection.close());
    return true;
  } catch {
    return false;
  }
}

/** `signal` (SIGTERM unless the program shuts down cleanly on another), then SIGKILL after the grace period. */
export function stopProcess(child: ChildProcess, graceMs = 15_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** `temporal server start-dev` with our search attributes and dynamic config, answering before this resolves. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${options.port}`;
  mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--namespace',
    options.namespace,
    '--db-filename',
    options.dbFile,
    '--log-level',
    'warn',
    // Write-ahead log, synced at checkpoints: survives a killed process (not a power cut) and halves the dev
    // server's CPU per run (bench/RESULTS.md).
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...options.searchAttributes.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
    ...devServerExtraArgs(),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
  ];
  const child = spawn(options.cli, args, {
    stdio: options.stdio ?? ['ignore', 'inherit', 'inherit'],
    env: options.env,
  });
  const stop = (graceMs?: number) => stopProcess(child, graceMs);
  try {
    await waitUntil(() => devServerAnswers(address, child), 60_000, `temporal dev server answering at ${address}`, 300);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, child, stop };
}
