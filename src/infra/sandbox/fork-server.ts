import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '../observability/logger';
import {
  KILL_MARGIN_MS,
  STDERR_TAIL_CHARS,
  STDOUT_CAP_BYTES,
  SandboxUnavailableError,
  killGroup,
  resolveInterpreter,
  type HarnessExit,
  type HarnessSettings,
} from './harness';

export interface SandboxForkServerOptions {
  pythonBin: string;
  scriptDir: string;
  /** PATH of the server and so of every child, whose environment holds nothing else. */
  pathEnv: string;
  harness: HarnessSettings;
  logger?: Logger;
}

/** A server that died before it was ready is not started again for this long; validations run one-shot meanwhile. */
const RETRY_START_MS = 10_000;
const SERVER_STDERR_TAIL_CHARS = 4096;

interface Pending {
  resolve(exit: HarnessExit): void;
  reject(error: Error): void;
  pid?: number;
  killedFor?: 'timeout';
  timer: NodeJS.Timeout;
}

interface Ended {
  id: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: number;
  stderr: number;
  overflow: boolean;
}

type ServerMessage =
  | { ready: true }
  | { id: number; pid: number }
  | Ended
  | { id: number; error: string }
  | { id: number; isolation: string };

/** One running python/sandbox_server.py and the requests it has not finished. */
class ServerProcess {
  private readonly pending = new Map<number, Pending>();
  private stdoutBuffer: Buffer = Buffer.alloc(0);
  /** An ended child's report whose output bytes are still arriving. */
  private ended: Ended | undefined;
  private stderrTail = '';
  private stopReason: Error | undefined;
  private gone: Error | undefined;
  ready = false;
  readonly exited: Promise<void>;
  readonly pid: number | undefined;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    onExit: (server: ServerProcess, reason: Error) => void,
  ) {
    this.pid = child.pid;
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
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
        end(
          new Error(
            `the sandbox fork server exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})${detail ? `: ${detail}` : ''}`,
          ),
        );
      });
    });
  }

  /** The request goes as a header line and its bytes; the server moves them into a memory file of the child's. */
  request(id: number, payload: string, killAfterMs: number): Promise<HarnessExit> {
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, timer: setTimeout(() => this.overrun(id), killAfterMs) });
      const body = Buffer.from(payload, 'utf8');
      this.child.stdin.write(Buffer.concat([Buffer.from(`${JSON.stringify({ id, size: body.length })}\n`), body]));
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
    entry.timer = setTimeout(
      () => this.stop(new Error(`the sandbox fork server did not report request ${id} after killing it`)),
      KILL_MARGIN_MS,
    );
  }

  /** Lines of the protocol, each report of an ended child followed by its output bytes. */
  private onStdout(chunk: Buffer): void {
    this.stdoutBuffer = this.stdoutBuffer.length ? Buffer.concat([this.stdoutBuffer, chunk]) : chunk;
    for (;;) {
      if (this.ended) {
        const { stdout, stderr } = this.ended;
        if (this.stdoutBuffer.length < stdout + stderr) return;
        const output = this.stdoutBuffer.subarray(0, stdout).toString('utf8');
        const tail = this.stdoutBuffer.subarray(stdout, stdout + stderr).toString('utf8');
        this.stdoutBuffer = this.stdoutBuffer.subarray(stdout + stderr);
        const ended = this.ended;
        this.ended = undefined;
        this.finish(ended, output, tail);
        continue;
      }
      const newline = this.stdoutBuffer.indexOf(0x0a);
      if (newline < 0) return;
      const line = this.stdoutBuffer.subarray(0, newline).toString('utf8');
      this.stdoutBuffer = this.stdoutBuffer.subarray(newline + 1);
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
    if ('stdout' in message) {
      this.ended = message;
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
    if ('isolation' in message) entry.reject(new SandboxUnavailableError(message.isolation));
    else entry.reject(new Error(`the sandbox fork server could not run request ${message.id}: ${message.error}`));
  }

  private finish(ended: Ended, stdout: string, stderr: string): void {
    const entry = this.pending.get(ended.id);
    if (!entry) return;
    this.pending.delete(ended.id);
    clearTimeout(entry.timer);
    const killedFor = entry.killedFor ?? (ended.overflow ? 'output' : undefined);
    entry.resolve({
      stdout,
      stderrTail: stderr.slice(-STDERR_TAIL_CHARS),
      code: ended.code,
      signal: ended.signal,
      killedFor,
    });
  }
}

/**
 * A warm `python3 -I sandbox_server.py SETTINGS`, started on first use and again after it dies, that forks one
 * child per validation: the child does what a one-shot sandbox.py does (the same kernel isolation, rlimits,
 * wall-clock guard, its JSON result) without paying for an interpreter start and the imports each time.
 * The request reaches the child in a memory file of its own, spliced there without passing through the server's
 * memory, which every child inherits. The child's stdout and stderr are memory files of its own too, sent back
 * when it has ended: the stdout cap is checked on the file's size (RLIMIT_FSIZE bounds both) and the stderr tail
 * is the file's end. Nothing of a validation is ever a file another validation could name.
 */
export class SandboxForkServer {
  private current: ServerProcess | undefined;
  private starting: Promise<ServerProcess> | undefined;
  private retryAt = 0;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: SandboxForkServerOptions) {}

  /** The running server's pid, for diagnostics; undefined before its first use and after it ended. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /**
   * The harness's exit for one validation in a forked child, or undefined when the server cannot run it (closed,
   * not starting, died meanwhile): the caller runs the validation one-shot instead.
   */
  async run(payload: string, killAfterMs: number): Promise<HarnessExit | undefined> {
    if (this.closed || Date.now() < this.retryAt) return undefined;
    try {
      const server = await this.server();
      return await server.request(this.nextId++, payload, killAfterMs);
    } catch (error) {
      // A one-shot run would meet the same refusal: fail closed at once.
      if (error instanceof SandboxUnavailableError) throw error;
      this.opts.logger?.warn('validation runs one-shot: the sandbox fork server could not run it', {
        error: (error as Error).message,
      });
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
    const { pythonBin, scriptDir, pathEnv, harness } = this.opts;
    let python: string;
    try {
      python = await resolveInterpreter(pythonBin, pathEnv);
    } catch (error) {
      this.retryAt = Date.now() + RETRY_START_MS;
      throw error;
    }
    // UTF-8 takes at most 4 bytes a character: the tail's bytes hold STDERR_TAIL_CHARS characters.
    const settings = { ...harness, stdout_cap: STDOUT_CAP_BYTES, stderr_tail: STDERR_TAIL_CHARS * 4 };
    const child = spawn(python, ['-I', path.join(scriptDir, 'sandbox_server.py'), JSON.stringify(settings)], {
      cwd: '/',
      env: { PATH: pathEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C meant for the service does not reach it; it ends when its stdin closes.
      detached: true,
    });
    const server: ServerProcess = new ServerProcess(child, (ended, reason) => {
      if (this.current === ended) this.current = undefined;
      if (this.closed) return;
      if (!ended.ready) this.retryAt = Date.now() + RETRY_START_MS;
      this.opts.logger?.warn('the sandbox fork server ended; the next validation starts another', {
        error: reason.message,
        ready: ended.ready,
      });
    });
    this.current = server;
    return server;
  }
}
