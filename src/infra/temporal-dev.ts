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
