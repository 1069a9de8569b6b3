import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { open, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from './logger';
import { KILL_MARGIN_MS, STDERR_TAIL_CHARS, STDOUT_CAP_BYTES, killGroup, resolveInterpreter, type HarnessExit } from './sandbox';

export interface SandboxForkServerOptions {
  pythonBin: string;
  scriptDir: string;
  /** PATH of the server and so of every child, whose environment holds nothing else. */
  pathEnv: string;
  logger?: Logger;
}

/** A server that died before it was ready is not started again for this long; validations run one-shot meanwhile. */
const RETRY_START_MS = 10_000;
const SERVER_STDERR_TAIL_CHARS = 4096;

interface Pending {
  resolve(exit: HarnessExit): void;
  reject(error: Error): void;
  workdir: string;
  pid?: number;
  killedFor?: 'timeout';
  timer: NodeJS.Timeout;
}

async function readStdout(file: string): Promise<{ text: string; overflow: boolean }> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return { text: '', overflow: false };
  try {
    const { size } = await handle.stat();
    if (size > STDOUT_CAP_BYTES) return { text: '', overflow: true };
    return { text: (await handle.readFile()).toString('utf8'), overflow: false };
  } finally {
    await handle.close();
  }
}

async function readTail(file: string): Promise<string> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    // UTF-8 takes at most 4 bytes a character.
    const length = Math.min(size, STDERR_TAIL_CHARS * 4);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    return buffer.subarray(0, bytesRead).toString('utf8').slice(-STDERR_TAIL_CHARS);
  } finally {
    await handle.close();
  }
}

/** What a child left in its working directory, as the one-shot harness's pipes would have delivered it. */
async function childExit(pending: Pending, code: number | null, signal: NodeJS.Signals | null): Promise<HarnessExit> {
  const [stdout, stderrTail] = await Promise.all([readStdout(path.join(pending.workdir, 'stdout')), readTail(path.join(pending.workdir, 'stderr'))]);
  const killedFor = pending.killedFor ?? (stdout.overflow ? 'output' : undefined);
  return { stdout: stdout.text, stderrTail, code, signal, killedFor };
}

type ServerMessage = { ready: true } | { id: number; pid: number } | { id: number; code: number | null; signal: NodeJS.Signals | null } | { id: number; error: string };

/** One running python/sandbox_server.py and the requests it has not finished. */
class ServerProcess {
  private readonly pending = new Map<number, Pending>();
  private stdoutBuffer = '';
  private stderrTail = '';
  private stopReason: Error | undefined;
  private gone: Error | undefined;
  ready = false;
  readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    onExit: (server: ServerProcess, reason: Error) => void,
  ) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-SERVER_STDERR_TAIL_CHARS);
    });
    child.stdin.on('error', () => undefined); // EPIPE after the server died: its exit handler rejects what is pending
    this.exited = new Promise((resolve) => {
      const end = (reason: Error) => {
        this.gone ??= this.stopReason ?? reason;
        for (const entry of this.pending.values()) {
          clearTimeout(entry.timer);
          // A child outlives a server killed outright: it is in its own session.
          if (entry.pid !== undefined) killGroup(entry.pid);
          entry.reject(this.gone);
        }
        this.pending.clear();
        onExit(this, this.gone);
        resolve();
      };
      child.once('error', (error) => end(new Error(`the sandbox fork server failed to start: ${error.message}`)));
      child.once('close', (code, signal) => {
        const detail = this.stderrTail.trim();
        end(new Error(`the sandbox fork server exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})${detail ? `: ${detail}` : ''}`));
      });
    });
  }

  /** The request is read by the child from workdir/request.json, written by the caller. */
  request(id: number, workdir: string, killAfterMs: number): Promise<HarnessExit> {
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, workdir, timer: setTimeout(() => this.overrun(id), killAfterMs) });
      this.child.stdin.write(`${JSON.stringify({ id, workdir })}\n`);
    });
  }

  /** Ends the server (and through it, or from here, every child it still has). */
  stop(reason: Error): void {
    this.stopReason ??= reason;
    this.child.kill('SIGKILL');
  }

  /** Closing its stdin makes the server kill its children and exit; one that does not is killed. */
  async close(reason: Error, graceMs: number): Promise<void> {
    this.stopReason ??= reason;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private overrun(id: number): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    entry.killedFor = 'timeout';
    if (entry.pid !== undefined) killGroup(entry.pid);
    // The exit report follows a kill at once; a server that sends none within the margin is stuck.
    entry.timer = setTimeout(() => this.stop(new Error(`the sandbox fork server did not report request ${id} after killing it`)), KILL_MARGIN_MS);
  }

  private onStdout(chunk: string): void {
    const lines = (this.stdoutBuffer + chunk).split('\n');
    this.stdoutBuffer = lines.pop() ?? '';
    for (const line of lines) {
      let message: ServerMessage;
      try {
        message = JSON.parse(line) as ServerMessage;
      } catch {
        this.stop(new Error(`the sandbox fork server wrote something else than its protocol: ${line.slice(0, 200)}`));
        return;
      }
      this.onMessage(message);
    }
  }

  private onMessage(message: ServerMessage): void {
    if ('ready' in message) {
      this.ready = true;
      return;
    }
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if ('pid' in message) {
      entry.pid = message.pid;
      if (entry.killedFor) killGroup(message.pid);
      return;
    }
    this.pending.delete(message.id);
    clearTimeout(entry.timer);
    if ('error' in message) entry.reject(new Error(`the sandbox fork server could not run request ${message.id}: ${message.error}`));
    else childExit(entry, message.code, message.signal).then(entry.resolve, entry.reject);
  }
}

/**
 * A warm `python3 -I -S sandbox_server.py`, started on first use and again after it dies, that forks one child per
 * validation: the child does what a one-shot sandbox.py does (own session, the fresh working directory, rlimits,
 * wall-clock guard, its JSON result) without paying for an interpreter start and the imports each time.
 * The request reaches the child as a file in its working directory, never through the server, whose memory every
 * child inherits. The child's stdout and stderr are files there too, read when it has ended: the stdout cap is
 * checked on the file's size (RLIMIT_FSIZE bounds both files) and the stderr tail is the file's end.
 */
export class SandboxForkServer {
  private current: ServerProcess | undefined;
  private starting: Promise<ServerProcess> | undefined;
  private retryAt = 0;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: SandboxForkServerOptions) {}

  /**
   * The harness's exit for one validation in a forked child, or undefined when the server cannot run it (closed,
   * not starting, died meanwhile): the caller runs the validation one-shot instead.
   */
  async run(payload: object, workdir: string, killAfterMs: number): Promise<HarnessExit | undefined> {
    if (this.closed || Date.now() < this.retryAt) return undefined;
    try {
      const [server] = await Promise.all([this.server(), writeFile(path.join(workdir, 'request.json'), JSON.stringify(payload), { mode: 0o600 })]);
      return await server.request(this.nextId++, workdir, killAfterMs);
    } catch (error) {
      this.opts.logger?.warn('validation runs one-shot: the sandbox fork server could not run it', { error: (error as Error).message });
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.current?.close(new Error('the sandbox fork server is closed'), KILL_MARGIN_MS);
  }

  private server(): Promise<ServerProcess> {
    if (this.current) return Promise.resolve(this.current);
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async start(): Promise<ServerProcess> {
    const { pythonBin, scriptDir, pathEnv } = this.opts;
    let python: string;
    try {
      python = await resolveInterpreter(pythonBin, pathEnv);
    } catch (error) {
      this.retryAt = Date.now() + RETRY_START_MS;
      throw error;
    }
    const child = spawn(python, ['-I', '-S', path.join(scriptDir, 'sandbox_server.py')], {
      cwd: os.tmpdir(),
      env: { PATH: pathEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C meant for the service does not reach it; it ends when its stdin closes.
      detached: true,
    });
    const server: ServerProcess = new ServerProcess(child, (ended, reason) => {
      if (this.current === ended) this.current = undefined;
      if (this.closed) return;
      if (!ended.ready) this.retryAt = Date.now() + RETRY_START_MS;
      this.opts.logger?.warn('the sandbox fork server ended; the next validation starts another', { error: reason.message, ready: ended.ready });
    });
    this.current = server;
    return server;
  }
}
