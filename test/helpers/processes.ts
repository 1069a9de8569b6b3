import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnService as spawnBuilt } from '../../src/cli/processes';
import { stopProcess } from '../../src/cli/temporal-dev';

const DIST = path.join(__dirname, '..', '..', 'dist');

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything the process wrote, for assertions and for failure messages. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

/** `node dist/<api|worker>/main.js` as production runs it, with the given environment over the test's. */
export function spawnService(name: 'api' | 'worker', env: Record<string, string>): ServiceProcess {
  const child = spawnBuilt(DIST, name, { ...process.env, LOG_LEVEL: 'warn', ...env }, ['ignore', 'pipe', 'pipe']);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited, stop: (graceMs) => stopProcess(child, graceMs) };
}

/** Gone, or a zombie nobody reaps: either way nothing runs any more. */
export function ended(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

/** The pids of the live children of `pid`, from every one of its threads. */
export function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}
