import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import type { Config } from '../../config';
import { AnalyzeResult } from '../../contracts/analysis';

export interface PythonAnalyzerOptions {
  pythonBin: string;
  scriptDir: string;
  timeoutMs: number;
  /** PATH of the child, whose environment holds nothing else. */
  pathEnv: string;
  /** Children working at once, one request each (default 2). */
  poolSize?: number;
  /** Requests waiting for a child (default 64); one more is refused at once ('overloaded'). */
  queueMax?: number;
  /** Bytes of answers kept by the code's hash (default 8 MiB; 0: none): a parse depends on the code alone. */
  cacheBytes?: number;
}

export type PythonAnalyzerErrorCode = 'timeout' | 'exited' | 'closed' | 'protocol' | 'overloaded';

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
  private dead = false;
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
        this.dead = true;
        this.rejectAll(
          this.stopReason ?? new PythonAnalyzerError('exited', `python analyzer failed to start: ${error.message}`),
        );
        onExit();
        resolve();
      });
      child.once('close', (code, signal) => {
        this.dead = true;
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
        reject(
          new PythonAnalyzerError('timeout', `python analyzer did not answer request ${id} within ${timeoutMs} ms`),
        );
        onTimeout();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify({ id, code })}\n`);
    });
  }

  /** False once stopped or exited: it takes no more requests. */
  get alive(): boolean {
    return !this.dead && this.stopReason === undefined;
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
    else
      pending.reject(
        new PythonAnalyzerError(
          'protocol',
          `python analyzer answered request ${id} with an unexpected shape: ${parsed.error.message}`,
        ),
      );
  }

  private rejectAll(reason: PythonAnalyzerError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(reason);
    }
    this.pending.clear();
  }
}

interface Job {
  code: string;
  resolve(result: AnalyzeResult): void;
  reject(error: PythonAnalyzerError): void;
}

/**
 * Parses Python source with a pool of persistent `python3 -I -S analyze.py` children, started on demand and again
 * after one dies. A child works on one request at a time, so a request's timeout counts only its own work, and a
 * request that times out kills only its own child: nothing queued or running elsewhere fails with it. Requests
 * beyond the pool wait in a bounded queue; past it they are refused at once ('overloaded').
 */
export class PythonAnalyzer {
  private readonly children = new Set<AnalyzerProcess>();
  private readonly idle: AnalyzerProcess[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly poolSize: number;
  private readonly queueMax: number;
  /** Answers by the code's SHA-256, and the parses under way, so a repeated request (a cache hit) spawns no work. */
  private readonly answers: LRUCache<string, AnalyzeResult> | undefined;
  private readonly inFlight = new Map<string, Promise<AnalyzeResult>>();

  constructor(private readonly opts: PythonAnalyzerOptions) {
    this.poolSize = opts.poolSize ?? 2;
    this.queueMax = opts.queueMax ?? 64;
    const cacheBytes = opts.cacheBytes ?? 8 * 2 ** 20;
    this.answers =
      cacheBytes > 0
        ? new LRUCache({ maxSize: cacheBytes, sizeCalculation: (answer) => JSON.stringify(answer).length + 64 })
        : undefined;
  }

  analyze(code: string): Promise<AnalyzeResult> {
    if (this.closed) return Promise.reject(new PythonAnalyzerError('closed', 'python analyzer is closed'));
    if (!this.answers) return this.parse(code);
    const key = createHash('sha256').update(code).digest('base64');
    const known = this.answers.get(key);
    if (known) return Promise.resolve(known);
    let parsing = this.inFlight.get(key);
    if (!parsing) {
      parsing = this.parse(code).then((answer) => {
        this.answers?.set(key, Object.freeze(answer));
        return answer;
      });
      const settled = () => this.inFlight.delete(key);
      parsing.then(settled, settled);
      this.inFlight.set(key, parsing);
    }
    return parsing;
  }

  private parse(code: string): Promise<AnalyzeResult> {
    if (this.queue.length >= this.queueMax) {
      return Promise.reject(
        new PythonAnalyzerError('overloaded', `python analyzer is busy: ${this.queue.length} requests are waiting`),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ code, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new PythonAnalyzerError('closed', 'python analyzer closed'));
    const children = [...this.children];
    for (const child of children) child.stop(new PythonAnalyzerError('closed', 'python analyzer closed'));
    await Promise.all(children.map((child) => child.exited));
  }

  /** Hands waiting requests to idle children, starting children up to the pool size. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const child = this.idle.pop() ?? (this.children.size < this.poolSize ? this.spawn() : undefined);
      if (!child) return;
      const job = this.queue.shift()!;
      const id = this.nextId++;
      child
        .request(id, job.code, this.opts.timeoutMs, () =>
          child.stop(new PythonAnalyzerError('exited', `python analyzer child stopped: request ${id} timed out`)),
        )
        .then(job.resolve, job.reject)
        .finally(() => {
          if (child.alive && !this.closed) this.idle.push(child);
          this.dispatch();
        });
    }
  }

  private spawn(): AnalyzerProcess {
    const proc = spawn(this.opts.pythonBin, ['-I', '-S', path.join(this.opts.scriptDir, 'analyze.py')], {
      env: { PATH: this.opts.pathEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child: AnalyzerProcess = new AnalyzerProcess(proc, () => {
      this.children.delete(child);
      const at = this.idle.indexOf(child);
      if (at >= 0) this.idle.splice(at, 1);
      if (!this.closed) this.dispatch();
    });
    this.children.add(child);
    return child;
  }
}

/** The analyzer as every process configures it. */
export function createAnalyzer(config: Config): PythonAnalyzer {
  return new PythonAnalyzer({
    pythonBin: config.PYTHON_BIN,
    scriptDir: config.pythonDir,
    timeoutMs: config.ANALYZER_TIMEOUT_MS,
    pathEnv: config.PATH,
    poolSize: config.ANALYZER_POOL_SIZE,
    queueMax: config.ANALYZER_QUEUE_MAX,
    cacheBytes: config.ANALYZER_CACHE_MB * 2 ** 20,
  });
}
