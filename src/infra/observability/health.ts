import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { CircuitState } from './metrics';

/**
 * Readiness checks shared by the API and the worker. Each check reports a status and its latency;
 * `failing` makes the process unready, `degraded` is reported but keeps it serving.
 */
export type CheckStatus = 'ok' | 'degraded' | 'failing' | 'disabled';
export interface CheckResult {
  status: CheckStatus;
  latency_ms: number;
  error?: string;
  details?: Record<string, unknown>;
}
export type Check = () => Promise<CheckResult>;
export interface Readiness {
  status: 'ok' | 'degraded' | 'failing';
  checks: Record<string, CheckResult>;
}

export const CHECK_TIMEOUT_MS = 2_000;

/** A probe bounded by CHECK_TIMEOUT_MS; when it throws or hangs the check reports `failure` with the reason. */
export function probeCheck(probe: () => Promise<unknown>, failure: CheckStatus = 'failing'): Check {
  return async () => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
        }),
      ]);
      return { status: 'ok', latency_ms: elapsed(started) };
    } catch (err) {
      return { status: failure, latency_ms: elapsed(started), error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

export const postgresCheck = (pool: Pool): Check => probeCheck(() => pool.query('SELECT 1'));

/** Redis only speeds things up: without it the service still answers, so it degrades rather than fails. */
export function redisCheck(redis: Redis | undefined): Check {
  if (!redis) return async () => ({ status: 'disabled', latency_ms: 0 });
  return probeCheck(async () => {
    // Commands fail fast while it reconnects; say so without queueing a command that would only time out.
    if (redis.status !== 'ready') throw new Error(`redis connection is ${redis.status}`);
    await redis.ping();
  }, 'degraded');
}

/** Free space where artifacts are written: below the minimum, versions cannot be stored. */
export function diskCheck(dir: string, minFreeMb: number): Check {
  return async () => {
    const started = performance.now();
    try {
      const stats = await statfs(nearestExisting(dir));
      const freeMb = Math.floor((stats.bavail * stats.bsize) / (1024 * 1024));
      const totalMb = Math.floor((stats.blocks * stats.bsize) / (1024 * 1024));
      const details = { path: dir, free_mb: freeMb, total_mb: totalMb, min_free_mb: minFreeMb };
      if (freeMb < minFreeMb)
        return {
          status: 'failing',
          latency_ms: elapsed(started),
          error: `${freeMb} MiB free, below ${minFreeMb} MiB`,
          details,
        };
      return { status: 'ok', latency_ms: elapsed(started), details };
    } catch (err) {
      return { status: 'failing', latency_ms: elapsed(started), error: (err as Error).message, details: { path: dir } };
    }
  };
}

/** DATA_DIR may not exist before the first version is stored: its filesystem is the one its parent lives on. */
function nearestExisting(dir: string): string {
  let current = path.resolve(dir);
  while (!existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

/** Heap in use against V8's limit: past the threshold the process still serves but is close to trouble. */
export function memoryCheck(maxHeapRatio: number): Check {
  return async () => {
    const started = performance.now();
    const heap = getHeapStatistics();
    const ratio = heap.used_heap_size / heap.heap_size_limit;
    const details = {
      rss_mb: Math.round(process.memoryUsage.rss() / (1024 * 1024)),
      heap_used_mb: Math.round(heap.used_heap_size / (1024 * 1024)),
      heap_limit_mb: Math.round(heap.heap_size_limit / (1024 * 1024)),
      heap_used_ratio: Math.round(ratio * 1000) / 1000,
    };
    if (ratio > maxHeapRatio)
      return {
        status: 'degraded',
        latency_ms: elapsed(started),
        error: `heap ${Math.round(ratio * 100)}% of its limit`,
        details,
      };
    return { status: 'ok', latency_ms: elapsed(started), details };
  };
}

/**
 * LLM providers by circuit state. An open circuit degrades: the chain falls through to the next provider,
 * ending with the offline template enhancer, so enhancements still complete.
 */
export type CircuitStates = () => Record<string, CircuitState> | Promise<Record<string, CircuitState>>;

export function circuitsCheck(states: CircuitStates | undefined): Check {
  if (!states) return async () => ({ status: 'disabled', latency_ms: 0 });
  return async () => {
    const started = performance.now();
    let providers: Record<string, CircuitState>;
    try {
      providers = await states();
    } catch (err) {
      // The states live in PostgreSQL for the API: its own check says when that is down.
      return {
        status: 'degraded',
        latency_ms: elapsed(started),
        error: `circuit states unavailable: ${(err as Error).message}`,
      };
    }
    const open = Object.entries(providers)
      .filter(([, state]) => state === 'open')
      .map(([name]) => name);
    return {
      status: open.length > 0 ? 'degraded' : 'ok',
      latency_ms: elapsed(started),
      details: { providers },
      ...(open.length > 0 ? { error: `circuit open: ${open.join(', ')}` } : {}),
    };
  };
}

export async function runChecks(checks: Record<string, Check>): Promise<Readiness> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => [name, await check()] as const),
  );
  const results = Object.fromEntries(entries);
  const statuses = entries.map(([, result]) => result.status);
  const status = statuses.includes('failing') ? 'failing' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, checks: results };
}
