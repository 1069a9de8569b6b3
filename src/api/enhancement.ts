import type { Client } from '@temporalio/client';
import type { Request, Response } from 'express';
import type { Config } from '../config';
import type { EnhanceRequest, EnhanceResult, RunRef } from '../contracts/enhance';
import { canonicalJson, sha256 } from '../infra/hash';
import type { DomainEntry, DomainsRepo } from '../infra/db/domains-repo';
import type { PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import { enhanceSearchAttributes } from '../definitions/search-attributes';
import { enhanceWorkflowId } from '../definitions/workflow-ids';
import { BadRequestError, HttpError, PayloadTooLargeError, UnprocessableError } from './errors';
import type { EnhanceStartOptions, Runs } from './runs';

export interface EnhancementDeps {
  config: Config;
  client: Client;
  analyzer: PythonAnalyzer;
  runs: Runs;
  domains: DomainsRepo;
  /** Fires when the API starts draining: waiting callers are answered 202 with the run URL at once. */
  shutdown?: AbortSignal;
}

/** The run finished within the budget (200 with its result), or is still going (202 and where to poll it). */
export type EnhancementOutcome = { status: 'completed'; result: EnhanceResult } | { status: 'running'; run: RunRef };

/**
 * How long to wait for the run: `?wait=` seconds (bounded by the configured maximum) or the default budget;
 * 0 with `Prefer: respond-async`. A malformed `wait` is a 400 either way.
 */
export function waitMsOf(req: Request, config: Config): number {
  const raw = req.query.wait;
  let ms = config.ENHANCE_WAIT_SECONDS * 1000;
  if (raw !== undefined) {
    const seconds = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > config.ENHANCE_MAX_WAIT_SECONDS) {
      throw new BadRequestError(`wait must be a number of seconds from 0 to ${config.ENHANCE_MAX_WAIT_SECONDS}`, [
        { path: 'query.wait', message: 'out of range' },
      ]);
    }
    ms = seconds * 1000;
  }
  return /\brespond-async\b/i.test(req.get('prefer') ?? '') ? 0 : ms;
}

/** 202 with where to poll the run: `runsPath` is the polling route of the endpoint's own authentication. */
export function respondRunning(res: Response, run: RunRef, runsPath: string): void {
  const location = `${runsPath}/${encodeURIComponent(run.workflow_id)}`;
  res.status(202).location(location).json({ status: 'running', run, links: { self: location } });
}

/** The checks a schema cannot make: size, the domain (built-in or the tenant's), and that the code parses and defines the function. */
async function checkRequest(request: EnhanceRequest, tenantId: string, deps: EnhancementDeps): Promise<{ domain: DomainEntry; normalizedHash: string }> {
  const { config, analyzer, domains } = deps;
  if (Buffer.byteLength(request.original_code) > config.MAX_CODE_BYTES) {
    throw new PayloadTooLargeError(`original_code exceeds ${config.MAX_CODE_BYTES} bytes`);
  }
  const domain = await domains.resolve(tenantId, request.domain);
  if (!domain) {
    const valid = (await domains.list(tenantId)).map((d) => d.settings.name);
    throw new BadRequestError(`unknown domain ${request.domain}`, [{ path: 'domain', message: `must be one of: ${valid.join(', ')}`, valid }], 'unknown_domain');
  }
  const analysis = await analyzer.analyze(request.original_code);
  if (!analysis.ok) {
    const { message, line, column } = analysis.error;
    throw new UnprocessableError('invalid_python', `original_code is not valid Python: ${message} at line ${line ?? '?'}`, [
      { path: 'original_code', message, line, column },
    ]);
  }
  if (!analysis.functions.some((f) => f.name === request.function_name)) {
    throw new UnprocessableError('function_not_found', `original_code defines no top-level function named ${request.function_name}`, [
      { path: 'function_name', message: `defined functions: ${analysis.functions.map((f) => f.name).join(', ') || 'none'}` },
    ]);
  }
  return { domain, normalizedHash: analysis.normalized_hash };
}

/** Checks a schema-valid request and derives its cache keys and workflow id (batches use them for their child runs). */
/** A failed run answers 422 (the input cannot be enhanced) unless the fault is ours. */
const FAILED_RUN_STATUS: Partial<Record<string, number>> = { enhancement_failed: 502, sandbox_unavailable: 503 };

export async function prepareRun(
  deps: EnhancementDeps,
  request: EnhanceRequest,
  tenantId: string,
): Promise<{ inputHash: string; normalizedInputHash: string; workflowId: string }> {
  const { domain, normalizedHash } = await checkRequest(request, tenantId, deps);
  // A custom domain's settings are part of the input: editing the domain makes a new enhancement, not a cache hit.
  const keyed = (req: EnhanceRequest) =>
    sha256(canonicalJson(domain.builtin ? { tenant: tenantId, request: req } : { tenant: tenantId, request: req, domain: domain.settings }));
  const inputHash = keyed(request);
  // The L2 cache key: the same input with the code replaced by its AST hash (comments, layout, docstrings ignored).
  const normalizedInputHash = keyed({ ...request, original_code: `ast:${normalizedHash}` });
  return { inputHash, normalizedInputHash, workflowId: enhanceWorkflowId(request.function_name, inputHash) };
}

/**
 * Checks a schema-valid request, starts its run (or joins the identical one already running) for the tenant,
 * and waits up to `waitMs` for it. Every enhance endpoint (REST, external, partner) goes through here.
 */
export async function startAndWait(deps: EnhancementDeps, request: EnhanceRequest, tenantId: string, waitMs: number): Promise<EnhancementOutcome> {
  const { inputHash, normalizedInputHash, workflowId } = await prepareRun(deps, request, tenantId);
  // USE_EXISTING: identical concurrent requests join one run instead of racing to make versions.
  const options = {
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    workflowId,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{ request, input_hash: inputHash, normalized_input_hash: normalizedInputHash, tenant_id: tenantId }],
    // The owner, readable from a describe: another tenant asking for this run gets a 404.
    memo: { tenant_id: tenantId },
    typedSearchAttributes: enhanceSearchAttributes(request),
    staticSummary: `enhance ${request.function_name} (${request.domain}${request.optimize_for ? `, for ${request.optimize_for}` : ''})`,
  } satisfies EnhanceStartOptions;
  const { run, outcome } = await deps.runs.startAndWait(options, waitMs, deps.shutdown);
  if (!outcome) return { status: 'running', run };
  if (outcome.status === 'completed') return outcome;
  const { code, message } = outcome.error;
  throw new HttpError(FAILED_RUN_STATUS[code] ?? 422, code, message, undefined, { run });
}
