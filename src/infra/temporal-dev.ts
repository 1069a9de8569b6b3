import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * Dynamic config for the local dev server (npm start, tests, benchmarks). Its history queue readers poll
 * at 20 per second by default: once the burst is spent, every workflow and activity task dispatch waits
 * about 50 ms, which made a cache hit 240 ms instead of 50 ms (measured, bench/RESULTS.md).
 */
const DEV_SERVER_DYNAMIC_CONFIG = [
  'history.transferProcessorMaxPollRPS=10000',
  'history.timerProcessorMaxPollRPS=10000',
  'history.visibilityProcessorMaxPollRPS=10000',
];

export const devServerExtraArgs = (): string[] => DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]);

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
