import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../config';
import { AnalyzeResult } from '../contracts/analysis';

export interface PythonAnalyzerOptions {
  pythonBin: string;
  scriptDir: string;
  timeoutMs: number;
  /** PATH of the child, whose environment holds nothing else. */
  pathEnv: string;
}

export type PythonAnalyzerErrorCode = 'timeout' | 'exited' | 'closed' | 'protocol';

export class PythonAnalyzerError extends Error {
  override readonly name = 'PythonAnalyzerError';
  constructor(
    readonly code: PythonAnalyzerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(result: AnalyzeResult): void;
  reject(error: PythonAnalyzerError): void;
  timer: NodeJS.Timeout;
}

const STDERR_TAIL_CHARS = 4096;

/** One python3 child running analyze.py; answers requests by id until it exits or is stopped. */
class AnalyzerProcess {
  private readonly pending = new Map<number, Pending>();
  private stdoutBuffer = '';
  private stderrTail = '';
  private stopReason: PythonAnalyzerError | undefined;
  readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    onExit: () => void,
  ) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    // EPIPE after the child died: the exit handler below rejects what is pending.
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.rejectAll(this.stopReason ?? new PythonAnalyzerError('exited', `python analyzer failed to start: ${error.message}`));
        onExit();
        resolve();
      });
      child.once('close', (code, signal) => {
        const detail = this.stderrTail.trim();
        this.rejectAll(
          this.stopReason ??
            new PythonAnalyzerError(
              'exited',
              `python analyzer exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})${detail ? `: ${detail}` : ''}`,
            ),
        );
        onExit();
        resolve();
      });
    });
  }

  request(id: number, code: string, timeoutMs: number, onTimeout: () => void): Promise<AnalyzeResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PythonAnalyzerError('timeout', `python analyzer did not answer request ${id} within ${timeoutMs} ms`));
        onTimeout();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify({ id, code })}\n`);
    });
  }

  /** Rejects what is still pending with `reason` and kills the child. */
  stop(reason: PythonAnalyzerError): void {
    this.stopReason ??= reason;
    this.rejectAll(reason);
    this.child.kill('SIGKILL');
  }

  private onStdout(chunk: string): void {
    this.stdoutBuffer += chunk;
    let newline = this.stdoutBuffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.stdoutBuffer.slice(0, newline);
      this.stdoutBuffer = this.stdoutBuffer.slice(newline + 1);
      this.onLine(line);
      newline = this.stdoutBuffer.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return; // not an answer to anything; the pending request will time out
    }
    const id = (raw as { id?: unknown } | null)?.id;
    const pending = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!pending || typeof id !== 'number') return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const parsed = AnalyzeResult.safeParse(raw);
    if (parsed.success) pending.resolve(parsed.data);
    else pending.reject(new PythonAnalyzerError('protocol', `python analyzer answered request ${id} with an unexpected shape: ${parsed.error.message}`));
  }

  private rejectAll(reason: PythonAnalyzerError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(reason);
    }
    this.pending.clear();
  }
}

/**
 * Parses Python source with a persistent `python3 -I -S analyze.py`, started on first use and again after it dies.
 * The child answers in order, so a timed-out request means the child is stuck: it is killed and the requests
 * queued behind it fail with code 'exited'.
 */
export class PythonAnalyzer {
  private current: AnalyzerProcess | undefined;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: PythonAnalyzerOptions) {}

  analyze(code: string): Promise<AnalyzeResult> {
    if (this.closed) return Promise.reject(new PythonAnalyzerError('closed', 'python analyzer is closed'));
    const proc = this.ensureProcess();
    const id = this.nextId++;
    return proc.request(id, code, this.opts.timeoutMs, () => {
      if (this.current === proc) this.current = undefined;
      proc.stop(new PythonAnalyzerError('exited', `python analyzer restarted: request ${id} timed out ahead of this one`));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const proc = this.current;
    if (!proc) return;
    proc.stop(new PythonAnalyzerError('closed', 'python analyzer closed'));
    await proc.exited;
  }

  private ensureProcess(): AnalyzerProcess {
    if (this.current) return this.current;
    const child = spawn(this.opts.pythonBin, ['-I', '-S', path.join(this.opts.scriptDir, 'analyze.py')], {
      env: { PATH: this.opts.pathEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc: AnalyzerProcess = new AnalyzerProcess(child, () => {
      if (this.current === proc) this.current = undefined;
    });
    this.current = proc;
    return proc;
  }
}

/** The analyzer as every process configures it. */
export function createAnalyzer(config: Config): PythonAnalyzer {
  return new PythonAnalyzer({ pythonBin: config.PYTHON_BIN, scriptDir: config.pythonDir, timeoutMs: config.ANALYZER_TIMEOUT_MS, pathEnv: config.PATH });
}
