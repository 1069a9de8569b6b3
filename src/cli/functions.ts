import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorBody } from '../contracts/errors';
import type { VersionDetail } from '../contracts/versions';
import { type ApiClient, CliError, EXIT, type Output, usageError } from './client';
import { finishRun, progressPrinter, watchRun, type RunBody } from './runs';

const fnPath = (name: string) => `/api/v1/functions/${encodeURIComponent(name)}`;

/** A positive integer argument, or a usage error naming it. */
export function versionArg(value: string, what: string): number {
  const n = Number(value.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1) throw usageError(`${what}: not a version number: ${value}`);
  return n;
}

/** A number flag within bounds, or a usage error naming it. */
export function numberArg(value: string | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw usageError(`${what}: a number from ${min} to ${max}, not ${value}`);
  return n;
}

interface VersionRow {
  version: number;
  status: string;
  created_at: string;
  domain: string;
  provider: string;
  safety_level: string;
  metrics: {
    feedback_count: number;
    success_rate: number | null;
    error_rate: number | null;
    avg_duration: number | null;
  };
}

const num = (value: number | null, digits = 2) => (value === null ? '-' : value.toFixed(digits));

/** `poet versions <name>`: the function's versions with their feedback metrics, newest first. */
export async function versionsCommand(client: ApiClient, out: Output, name: string): Promise<void> {
  const { body } = await client.get<{ current_version: number | null; versions: VersionRow[] }>(
    `${fnPath(name)}/versions`,
  );
  if (out.json) return out.out(JSON.stringify(body, null, 2));
  const rows = [
    ['version', 'status', 'created', 'domain', 'provider', 'safety', 'feedback', 'success', 'errors', 'avg_s'],
  ];
  for (const v of [...body.versions].sort((a, b) => b.version - a.version)) {
    const m = v.metrics;
    rows.push([
      `v${v.version}${v.version === body.current_version ? '*' : ''}`,
      v.status,
      v.created_at.slice(0, 19),
      v.domain,
      v.provider,
      v.safety_level,
      String(m.feedback_count),
      num(m.success_rate),
      num(m.error_rate),
      num(m.avg_duration, 3),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    out.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

const RUNTIME_FILE = 'poet_runtime.py';
const digestOf = (text: string) => createHash('sha256').update(text).digest();

/**
 * The version's runtime into `file`, checked against its Repr-Digest; a file there already that matches the
 * API's (its sha256 as If-None-Match: 304) is kept. Null for a version whose code embeds its runtime.
 */
async function fetchRuntime(client: ApiClient, url: string, file: string) {
  const local = await readFile(file, 'utf8').catch(() => undefined);
  const kept = local === undefined ? undefined : digestOf(local).toString('hex');
  let answer: Awaited<ReturnType<ApiClient['download']>>;
  try {
    // fetch() adds `cache-control: no-cache` to a conditional request unless told otherwise, and that forbids a 304.
    answer = await client.download(url, kept ? { 'if-none-match': `"${kept}"`, 'cache-control': 'max-age=0' } : {});
  } catch (err) {
    if (err instanceof CliError && (err.body as Partial<ErrorBody> | undefined)?.error?.code === 'runtime_embedded')
      return null;
    throw err;
  }
  const version = answer.headers.get('x-poet-runtime-version') ?? 'unknown';
  if (answer.status === 304) return { version, sha256: kept!, fetched: false };
  const sent = /^sha-256=:([A-Za-z0-9+/=]+):$/.exec(answer.headers.get('repr-digest') ?? '')?.[1];
  const got = digestOf(answer.body);
  if (sent !== got.toString('base64'))
    throw new CliError(`${url}: the body does not match its Repr-Digest (${sent ?? 'none sent'})`, EXIT.unreachable);
  await writeFile(file, answer.body);
  return { version, sha256: got.toString('hex'), fetched: true };
}

/**
 * `poet versions get <name> <version>`: the version's folder on disk (code.py, code.dana, params.json,
 * metadata.json and the poet_runtime.py it was validated with), which runs on its own with python3.
 */
export async function versionGetCommand(
  client: ApiClient,
  out: Output,
  name: string,
  v: string,
  opts: { dir?: string },
): Promise<void> {
  const version = versionArg(v, 'version');
  const dir = path.resolve(opts.dir ?? `${name}-v${version}`);
  const base = `${fnPath(name)}/versions/${version}`;
  const { body } = await client.get<VersionDetail>(base);
  const files = {
    'code.py': body.code.python,
    'code.dana': body.code.dana,
    'params.json': `${JSON.stringify(body.params, null, 2)}\n`,
    'metadata.json': `${JSON.stringify({ version, ...body.metadata }, null, 2)}\n`,
  };
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(files).map(([file, text]) => writeFile(path.join(dir, file), text)));
  const runtime = await fetchRuntime(client, `${base}/runtime`, path.join(dir, RUNTIME_FILE));
  const written = [...Object.keys(files), ...(runtime ? [RUNTIME_FILE] : [])];
  if (out.json) return out.out(JSON.stringify({ dir, files: written, runtime }, null, 2));
  out.out(`${name} v${version} -> ${dir}: ${written.join(', ')}`);
  out.note(
    runtime === null
      ? 'its code.py embeds its runtime: no poet_runtime.py'
      : `poet_runtime ${runtime.version} (sha256 ${runtime.sha256})${runtime.fetched ? '' : ', the file there already'}`,
  );
}

/** `poet diff <name> <a> <b>`: unified diffs of code.py (and, with --all, code.dana and params.json). */
export async function diffCommand(
  client: ApiClient,
  out: Output,
  name: string,
  a: string,
  b: string,
  opts: { all?: boolean },
): Promise<void> {
  const [from, to] = [versionArg(a, 'a'), versionArg(b, 'b')];
  const { body } = await client.get<{ diff: { python: string; dana: string; params: string } }>(
    `${fnPath(name)}/versions/${from}/diff/${to}`,
  );
  if (out.json) return out.out(JSON.stringify(body, null, 2));
  out.out(opts.all ? [body.diff.python, body.diff.dana, body.diff.params].join('\n') : body.diff.python);
}

export interface FeedbackOptions {
  version: string;
  type: string;
  rating?: string;
  comments?: string;
  suggestion?: string[];
  example?: string[];
  successRate?: string;
  errorRate?: string;
  avgDuration?: string;
  executionId?: string;
  async?: boolean;
}

/** One --example: a JSON object ({args, kwargs, expected | raises}); the API checks its shape. */
function exampleArg(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw usageError(`--example: not JSON: ${value}`);
  }
}

/**
 * `poet feedback <name> --version N ...`: records feedback; the service decides whether to regenerate. Without
 * --async the regeneration run is followed to its end and its outcome printed.
 */
export async function feedbackCommand(
  client: ApiClient,
  out: Output,
  name: string,
  opts: FeedbackOptions,
): Promise<void> {
  const metrics = {
    success_rate: numberArg(opts.successRate, '--success-rate', 0, 1),
    error_rate: numberArg(opts.errorRate, '--error-rate', 0, 1),
    avg_duration: numberArg(opts.avgDuration, '--avg-duration', 0, Number.MAX_SAFE_INTEGER),
  };
  const given = Object.fromEntries(Object.entries(metrics).filter(([, v]) => v !== undefined));
  const request = {
    version: versionArg(opts.version, '--version'),
    execution_id: opts.executionId ?? `cli-${randomUUID()}`,
    feedback_type: opts.type,
    ...(opts.rating !== undefined ? { rating: numberArg(opts.rating, '--rating', 1, 5) } : {}),
    ...(opts.comments !== undefined ? { comments: opts.comments } : {}),
    ...(opts.suggestion?.length ? { suggestions: opts.suggestion } : {}),
    ...(opts.example?.length ? { examples: opts.example.map(exampleArg) } : {}),
    ...(Object.keys(given).length ? { metrics: given } : {}),
  };
  const { status, body } = await client.post<Record<string, unknown> & Partial<RunBody>>(
    `${fnPath(name)}/feedback`,
    request,
    opts.async ? { prefer: 'respond-async' } : {},
  );
  if (status !== 202 || opts.async) {
    out.out(out.json ? JSON.stringify(body, null, 2) : summarizeFeedback(body));
    return;
  }
  const id = body.run!.workflow_id;
  const final = await watchRun(client, id, progressPrinter(out, id));
  if (out.json || final.status !== 'completed') return finishRun(out, final);
  out.out(summarizeFeedback(final.result as unknown as Record<string, unknown>));
}

function summarizeFeedback(body: Record<string, unknown>): string {
  if (body.status === 'running')
    return `regeneration running: poet runs watch ${(body.run as { workflow_id: string }).workflow_id}`;
  if (body.new_version)
    return `${body.status}: ${body.function_name} v${body.version} -> v${body.new_version} (${body.update_reason ?? 'updated'})`;
  return `${body.status}: ${body.function_name ?? ''} v${body.version} stays${body.duplicate ? ' (duplicate report)' : ''}`;
}
