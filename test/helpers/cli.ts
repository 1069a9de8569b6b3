import { execFile, spawn } from 'node:child_process';
import path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built `poet` (scripts/test.sh builds first) with only the environment given: no stray POET_* variables. */
export function poet(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface LiveCli {
  /** What the CLI has written to stderr so far. */
  stderr(): string;
  /** Resolves with stderr as it was when `pattern` first matched it; rejects when the CLI exits first. */
  stderrMatching(pattern: RegExp): Promise<string>;
  done: Promise<CliRun>;
}

/** The built `poet`, observed while it runs: what it prints, and when. */
export function poetLive(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): LiveCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    timeout: timeoutMs,
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (seen: string) => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of waiters.filter((w) => w.pattern.test(stderr))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(stderr);
    }
  });
  const done = new Promise<CliRun>((resolve) =>
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
  );
  return {
    stderr: () => stderr,
    stderrMatching(pattern) {
      if (pattern.test(stderr)) return Promise.resolve(stderr);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void done.then(() => reject(new Error(`poet exited before printing ${pattern}; stderr:\n${stderr}`)));
      });
    },
    done,
  };
}
