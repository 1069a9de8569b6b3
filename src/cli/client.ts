import type { ErrorBody } from '../contracts/errors';

/** Exit codes of the REST commands, distinct per kind of failure so scripts can branch on them (docs/api.md, the `poet` CLI). */
export const EXIT = {
  ok: 0,
  /** A bad flag, argument or input file: nothing was sent. */
  usage: 2,
  /** The API refused the request (4xx): fix the request, retrying will not help. */
  rejected: 3,
  /** The API could not be reached, or answered 5xx: retrying later may help. */
  unreachable: 4,
  /** The run ended, but not completed (failed, canceled, terminated, timed out). */
  runFailed: 5,
} as const;

/** A failure that ends the command with its exit code and a one-line message on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

export interface ClientOptions {
  url: string;
  apiKey?: string;
  /** Per request. */
  timeoutMs?: number;
}

export interface Answer<T> {
  status: number;
  body: T;
}

/** JSON, or the text itself when it is not (a proxy's error page): the status decides what it means. */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The API over HTTP: every poet REST command goes through here, so errors map to exit codes in one place. */
export class ApiClient {
  private readonly base: URL;

  constructor(private readonly opts: ClientOptions) {
    try {
      this.base = new URL(opts.url);
    } catch {
      throw usageError(`--url: not a URL: ${opts.url}`);
    }
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Response> {
    const url = new URL(path, this.base);
    try {
      return await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(this.opts.apiKey ? { 'x-api-key': this.opts.apiKey } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(`cannot reach the API at ${this.base.origin} (${why})`, EXIT.unreachable);
    }
  }

  private refusal(res: Response, parsed: unknown): CliError {
    const error = (parsed as Partial<ErrorBody> | undefined)?.error;
    const message = `${res.status} ${error?.code ?? res.statusText}: ${error?.message ?? 'no error body'}`;
    const details = (error?.details ?? []).map((d) => `\n  ${d.path}: ${d.message}`).join('');
    return new CliError(`${message}${details}`, res.status < 500 ? EXIT.rejected : EXIT.unreachable, parsed);
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const res = await this.send(method, path, body, headers, AbortSignal.timeout(this.opts.timeoutMs ?? 30_000));
    const parsed = parseBody(await res.text());
    if (res.ok) return { status: res.status, body: parsed as T };
    throw this.refusal(res, parsed);
  }

  /**
   * A GET of a file: its text and headers. 304 (the caller's `if-none-match` still holds) answers with no text; any
   * other status but 2xx is a refusal like any request's.
   */
  async download(path: string, headers: Record<string, string> = {}): Promise<Answer<string> & { headers: Headers }> {
    const res = await this.send(
      'GET',
      path,
      undefined,
      { accept: '*/*', ...headers },
      AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    );
    const text = await res.text();
    if (res.ok || res.status === 304) return { status: res.status, body: text, headers: res.headers };
    throw this.refusal(res, parseBody(text));
  }

  /** A GET whose body is read as it arrives (Server-Sent Events); `signal` bounds it, not the request timeout. */
  async stream(path: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send('GET', path, undefined, { accept: 'text/event-stream' }, signal);
    if (res.ok && res.body) return res.body;
    throw this.refusal(res, parseBody(await res.text()));
  }

  get<T = unknown>(path: string): Promise<Answer<T>> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer<T>> {
    return this.request<T>('POST', path, body, headers);
  }
}

/** How a command prints: `--json` gives scripts the API's JSON on stdout; otherwise lines for people. */
export interface Output {
  json: boolean;
  out(text: string): void;
  /** Progress and notes: stderr, so stdout stays the result. */
  note(text: string): void;
}

export function output(json: boolean): Output {
  return {
    json,
    out: (text) => process.stdout.write(`${text}\n`),
    note: (text) => process.stderr.write(`${text}\n`),
  };
}
