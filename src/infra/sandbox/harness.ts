import { execFile, spawn } from 'node:child_process';
import path from 'node:path';

export type SandboxIsolation = 'namespaces' | 'none';

/** What python/sandbox.py and python/sandbox_server.py take as their first argument. */
export interface HarnessSettings {
  isolation: SandboxIsolation;
  /** The isolated run's whole writable space (its /tmp) and the largest file it may write. */
  disk_bytes: number;
}

/** The kernel refused the isolation a validation needs: nothing of the code under test ran. */
export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
}

/** python/sandbox.py's exit code and stderr prefix when the isolation could not be set up. */
const ISOLATION_FAILED_CODE = 71;
const ISOLATION_FAILED_PREFIX = 'sandbox isolation failed: ';

/** The isolation failure a one-shot harness reported, if that is how it ended. */
export function isolationFailure(exit: Pick<HarnessExit, 'code' | 'stderrTail'>): SandboxUnavailableError | undefined {
  if (exit.code !== ISOLATION_FAILED_CODE) return undefined;
  const at = exit.stderrTail.lastIndexOf(ISOLATION_FAILED_PREFIX);
  if (at < 0) return undefined;
  return new SandboxUnavailableError(exit.stderrTail.slice(at + ISOLATION_FAILED_PREFIX.length).trim());
}

export const STDOUT_CAP_BYTES = 1024 * 1024;
export const STDERR_TAIL_CHARS = 2048;
/** The harness enforces timeout_s itself; this margin covers interpreter start and its own report. */
export const KILL_MARGIN_MS = 2000;

export interface HarnessExit {
  stdout: string;
  stderrTail: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  killedFor?: 'timeout' | 'output';
}

/** SIGKILL to the process group led by `pid` (the harness and whatever it forked); false when the group is gone. */
export function killGroup(pid: number): boolean {
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

const interpreters = new Map<string, Promise<string>>();

/**
 * The interpreter behind pythonBin, resolved once: launchers such as pyenv shims cost ~80 ms a start and
 * put their own variables into the environment the code under test would see.
 */
export function resolveInterpreter(pythonBin: string, pathEnv: string): Promise<string> {
  const key = `${pythonBin}\0${pathEnv}`;
  let resolved = interpreters.get(key);
  if (!resolved) {
    resolved = new Promise<string>((resolve, reject) => {
      const script = 'import sys; sys.stdout.write(sys.executable)';
      execFile(pythonBin, ['-I', '-S', '-c', script], { env: { PATH: pathEnv }, timeout: 10_000 }, (error, stdout) => {
        if (!error && path.isAbsolute(stdout)) return resolve(stdout);
        reject(new Error(`cannot start the python sandbox (${pythonBin}): ${error?.message ?? 'no sys.executable'}`));
      });
    });
    resolved.catch(() => interpreters.delete(key));
    interpreters.set(key, resolved);
  }
  return resolved;
}

interface HarnessLaunch {
  python: string;
  script: string;
  pathEnv: string;
  harness: HarnessSettings;
  killAfterMs: number;
  probe?: boolean;
}

/**
 * One `python3 -I sandbox.py SETTINGS`: site-packages of the interpreter importable (read-only once isolated),
 * nothing else of the environment. Its stdin, stdout and stderr are pipes of this run alone.
 */
export function runHarness(input: string, launch: HarnessLaunch): Promise<HarnessExit> {
  return new Promise((resolve, reject) => {
    const args = ['-I', launch.script, JSON.stringify(launch.harness), ...(launch.probe ? ['--probe'] : [])];
    const child = spawn(launch.python, args, {
      cwd: '/',
      env: { PATH: launch.pathEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so a kill also reaches anything the code under test forked.
      detached: true,
    });
    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = '';
    let killedFor: HarnessExit['killedFor'];
    const kill = (reason: NonNullable<HarnessExit['killedFor']>) => {
      killedFor ??= reason;
      // The group already gone: make sure the leader is too.
      if (child.pid === undefined || !killGroup(child.pid)) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), launch.killAfterMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > STDOUT_CAP_BYTES) kill('output');
      else chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.stdin.on('error', () => undefined); // EPIPE when the harness died early: reported through its exit
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the python sandbox (${launch.python}): ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(chunks).toString('utf8'), stderrTail, code, signal, killedFor });
    });
    child.stdin.end(input);
  });
}
