import type { Client } from '@temporalio/client';
import { createTwoFilesPatch } from 'diff';
import type { Config } from '../config';
import { FunctionName } from '../contracts/enhance';
import type { EventsQuery } from '../contracts/events';
import type { ActivateResult } from '../contracts/feedback';
import type { FunctionDetail, VersionDetail } from '../contracts/versions';
import { InvalidPageToken, type EventsRepo } from '../infra/db/events-repo';
import type { VersionsRepo } from '../infra/db/versions-repo';
import { sha256 } from '../infra/hash';
import { runDetails } from '../definitions/run-details';
import { functionSearchAttributes } from '../definitions/search-attributes';
import { activateWorkflowId } from '../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../definitions/workflow-types';
import type { activateVersion } from '../workflows/regenerate';
import { InvalidInputError, NotFoundError } from './errors';
import type { Runs, Settled } from './runs';

export const functionNotFound = (name: string) => new NotFoundError('function_not_found', `no function named ${name}`);
export const versionNotFound = (name: string, version: number) =>
  new NotFoundError('version_not_found', `function ${name} has no version ${version}`);

const invalidPageToken = (message: string) =>
  new InvalidInputError(message, [{ path: 'page_token', message }], 'invalid_page_token');

function decodeNameToken(token: string): string {
  const name = Buffer.from(token, 'base64url').toString('utf8');
  if (!FunctionName.safeParse(name).success)
    throw new InvalidInputError('page_token is not one this API issued', undefined, 'invalid_page_token');
  return name;
}

export interface FunctionsDeps {
  config: Config;
  client: Client;
  runs: Runs;
  versions: VersionsRepo;
  events: EventsRepo;
  /** Aborted when the API drains: callers still waiting get the run URL. */
  shutdown?: AbortSignal;
}

/** A tenant's functions: their versions, code, diffs and events, and which version is active. */
export class Functions {
  constructor(private readonly deps: FunctionsDeps) {}

  /** A page of functions by name; the token is the last name of the page. */
  async list(tenantId: string, q: { limit: number; page_token?: string }) {
    const after = q.page_token === undefined ? undefined : decodeNameToken(q.page_token);
    const page = await this.deps.versions.listFunctions(tenantId, { limit: q.limit + 1, after });
    const functions = page.slice(0, q.limit);
    const last = functions[functions.length - 1];
    return {
      functions,
      next_page_token: page.length > q.limit && last ? Buffer.from(last.function_name).toString('base64url') : null,
    };
  }

  async get(tenantId: string, name: string): Promise<FunctionDetail> {
    const fn = await this.deps.versions.getFunction(tenantId, name);
    if (!fn) throw functionNotFound(name);
    return fn;
  }

  async versions(tenantId: string, name: string) {
    const fn = await this.get(tenantId, name);
    return { function_name: name, current_version: fn.current_version, versions: fn.versions };
  }

  async version(tenantId: string, name: string, version: number): Promise<VersionDetail> {
    const detail = await this.deps.versions.getVersion({ tenantId, functionName: name, version });
    if (!detail) throw versionNotFound(name, version);
    return detail;
  }

  /** The stored source of a version in one language: its code.py or code.dana. */
  async code(tenantId: string, name: string, version: number, language: 'python' | 'dana'): Promise<string> {
    return (await this.version(tenantId, name, version)).code[language];
  }

  /**
   * The poet_runtime file a version was validated with (its folder's poet_runtime.py) and its sha256. Versions
   * whose code embeds its runtime have none: 404 `runtime_embedded`.
   */
  async runtime(tenantId: string, name: string, version: number) {
    const runtime = await this.deps.versions.runtime({ tenantId, functionName: name, version });
    if (runtime === undefined) throw versionNotFound(name, version);
    if (runtime === 'embedded')
      throw new NotFoundError(
        'runtime_embedded',
        `version ${version} of ${name} embeds its runtime in its code.py; it ships no poet_runtime.py`,
      );
    return { ...runtime, sha256: sha256(runtime.source) };
  }

  /** Unified diffs of the code and params of two versions. */
  async diff(tenantId: string, name: string, from: number, to: number) {
    const [a, b] = await Promise.all(
      [from, to].map((version) => this.deps.versions.getVersion({ tenantId, functionName: name, version })),
    );
    if (!a) throw versionNotFound(name, from);
    if (!b) throw versionNotFound(name, to);
    const patch = (file: string, x: string, y: string) =>
      createTwoFilesPatch(`v${from}/${file}`, `v${to}/${file}`, x, y);
    return {
      function_name: name,
      from,
      to,
      diff: {
        python: patch('code.py', a.code.python, b.code.python),
        dana: patch('code.dana', a.code.dana, b.code.dana),
        params: patch(
          'params.json',
          `${JSON.stringify(a.params, null, 2)}\n`,
          `${JSON.stringify(b.params, null, 2)}\n`,
        ),
      },
    };
  }

  /** The function's events, newest first; a page token from another query is refused. */
  async events(tenantId: string, name: string, query: EventsQuery) {
    await this.get(tenantId, name);
    try {
      return await this.deps.events.list(tenantId, name, query);
    } catch (err) {
      if (err instanceof InvalidPageToken) throw invalidPageToken(err.message);
      throw err;
    }
  }

  /** Rollback (or forward) through the activateVersion workflow, waiting up to `waitMs` for it. */
  async activate(tenantId: string, name: string, version: number, waitMs: number): Promise<Settled<ActivateResult>> {
    const { versions, client, config } = this.deps;
    const source = await versions.versionSource({ tenantId, functionName: name, version });
    if (!source) throw versionNotFound(name, version);
    const workflowId = activateWorkflowId(sha256(tenantId), name, version);
    const replaced = await versions.activeVersion(tenantId, name);
    const handle = await client.workflow.start<typeof activateVersion>(WORKFLOW_TYPES.activate, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ tenant_id: tenantId, function_name: name, version }],
      // The owner, readable from a describe: another tenant asking for this run gets a 404.
      memo: { tenant_id: tenantId },
      typedSearchAttributes: functionSearchAttributes(tenantId, name, source.request?.domain),
      staticSummary: `activate ${name} v${version}`,
      staticDetails: runDetails({
        function_name: name,
        version: `v${version}`,
        domain: source.request?.domain,
        trigger: 'activation',
        parent_version: replaced?.version ?? null,
        tenant_id: tenantId,
      }),
    });
    return this.deps.runs.settle(handle, waitMs, this.deps.shutdown);
  }
}
