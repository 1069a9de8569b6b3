import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config';
import { EnhanceRequest } from '../../contracts/enhance';
import { canonicalJson, sha256 } from '../../infra/hash';
import type { PythonAnalyzer } from '../../infra/python-analyzer';
import type { DomainsRepo } from '../../infra/domains-repo';
import { enhanceFunction } from '../../workflows';
import { DomainKey, FunctionNameKey } from '../../workflows/search-attributes';
import { BadRequestError, HttpError, PayloadTooLargeError, UnprocessableError, zodDetails } from '../errors';
import { principalOf } from '../principal';
import type { Runs } from '../runs';

export interface EnhanceRouteDeps {
  config: Config;
  client: Client;
  analyzer: PythonAnalyzer;
  runs: Runs;
  /** Fires when the API starts draining: waiting callers are answered 202 with the run URL at once. */
  shutdown?: AbortSignal;
  domains: DomainsRepo;
}

/** Reads `?wait=` (seconds), bounded by the configured maximum; the default budget otherwise. */
function waitBudgetMs(raw: unknown, config: Config): number {
  if (raw === undefined) return config.ENHANCE_WAIT_SECONDS * 1000;
  const seconds = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > config.ENHANCE_MAX_WAIT_SECONDS) {
    throw new BadRequestError(`wait must be a number of seconds from 0 to ${config.ENHANCE_MAX_WAIT_SECONDS}`, [
      { path: 'query.wait', message: 'out of range' },
    ]);
  }
  return seconds * 1000;
}

export function enhanceRouter(deps: EnhanceRouteDeps): Router {
  const { config, client, analyzer, runs, domains } = deps;
  const router = Router();

  router.post('/api/v1/functions/enhance', async (req, res) => {
    const waitMs = waitBudgetMs(req.query.wait, config);
    const parsed = EnhanceRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body does not match the enhance schema', zodDetails(parsed.error));
    const request = parsed.data;

    if (Buffer.byteLength(request.original_code) > config.MAX_CODE_BYTES) {
      throw new PayloadTooLargeError(`original_code exceeds ${config.MAX_CODE_BYTES} bytes`);
    }
    const tenantId = principalOf(res).tenantId;
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

    // A custom domain's settings are part of the input: editing the domain makes a new enhancement, not a cache hit.
    const inputHash = sha256(canonicalJson(domain.builtin ? { tenant: tenantId, request } : { tenant: tenantId, request, domain: domain.settings }));
    const workflowId = `enhance-${request.function_name}-${inputHash.slice(0, 12)}`;
    // USE_EXISTING: identical concurrent requests join one run instead of racing to make versions.
    const handle = await client.workflow.start(enhanceFunction, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ request, input_hash: inputHash, tenant_id: tenantId }],
      typedSearchAttributes: [
        { key: FunctionNameKey, value: request.function_name },
        { key: DomainKey, value: request.domain },
      ],
      staticSummary: `enhance ${request.function_name} (${request.domain}${request.optimize_for ? `, for ${request.optimize_for}` : ''})`,
    });
    const run = { workflow_id: workflowId, run_id: handle.firstExecutionRunId };
    const location = `/api/v1/runs/${encodeURIComponent(workflowId)}`;

    const respondAsync = /\brespond-async\b/i.test(req.get('prefer') ?? '');
    const outcome = respondAsync ? undefined : await runs.waitFor(handle, waitMs, deps.shutdown);
    if (!outcome) {
      res.status(202).location(location).json({ status: 'running', run, links: { self: location } });
      return;
    }
    if (outcome.status === 'completed') {
      res.status(200).json(outcome.result);
      return;
    }
    const { code, message } = outcome.error;
    throw new HttpError(code === 'enhancement_failed' ? 502 : 422, code, message, undefined, { run });
  });

  return router;
}
