import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { EnhanceRequest, EnhanceResult, RunRef } from '../contracts/enhance';
import type { BatchWorkflowInput } from '../contracts/progress';
import type { PartnerEnhanceRequest, PartnerEnhanceResult } from '../contracts/security';
import { canonicalJson, sha256 } from '../infra/hash';
import type { DomainEntry, DomainsRepo } from '../infra/db/domains-repo';
import type { PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import { ENHANCE_VERSION, runDetails } from '../definitions/run-details';
import { enhanceSearchAttributes, TenantKey } from '../definitions/search-attributes';
import { batchItemWorkflowId, batchWorkflowId, enhanceWorkflowId } from '../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../definitions/workflow-types';
import type { enhanceBatch } from '../workflows/batch';
import { AppError, InvalidInputError, RunFailedError, TooLargeError, UnprocessableError } from './errors';
import type { EnhanceStartOptions, Runs, Settled } from './runs';

export interface EnhancementDeps {
  config: Config;
  client: Client;
  analyzer: PythonAnalyzer;
  runs: Runs;
  domains: DomainsRepo;
  /** Fires when the API starts draining: waiting callers get the run URL at once. */
  shutdown?: AbortSignal;
}

/** A started batch: its run, and how many items it runs. */
export interface BatchStarted {
  run: RunRef;
  total: number;
}

/**
 * Enhancements: one function (REST, external alias and partner alike), or a batch of them. Every input is checked
 * before anything starts; identical requests join one run.
 */
export class Enhancements {
  constructor(private readonly deps: EnhancementDeps) {}

  /** The checks a schema cannot make: size, the domain (built-in or the tenant's), and that the code parses and defines the function. */
  private async check(
    request: EnhanceRequest,
    tenantId: string,
  ): Promise<{ domain: DomainEntry; normalizedHash: string }> {
    const { config, analyzer, domains } = this.deps;
    if (Buffer.byteLength(request.original_code) > config.MAX_CODE_BYTES) {
      throw new TooLargeError(`original_code exceeds ${config.MAX_CODE_BYTES} bytes`);
    }
    const domain = await domains.resolve(tenantId, request.domain);
    if (!domain) {
      const valid = (await domains.list(tenantId)).map((d) => d.settings.name);
      throw new InvalidInputError(
        `unknown domain ${request.domain}`,
        [{ path: 'domain', message: `must be one of: ${valid.join(', ')}`, valid }],
        'unknown_domain',
      );
    }
    const analysis = await analyzer.analyze(request.original_code);
    if (!analysis.ok) {
      const { message, line, column } = analysis.error;
      throw new UnprocessableError(
        'invalid_python',
        `original_code is not valid Python: ${message} at line ${line ?? '?'}`,
        [{ path: 'original_code', message, line, column }],
      );
    }
    if (!analysis.functions.some((f) => f.name === request.function_name)) {
      throw new UnprocessableError(
        'function_not_found',
        `original_code defines no top-level function named ${request.function_name}`,
        [
          {
            path: 'function_name',
            message: `defined functions: ${analysis.functions.map((f) => f.name).join(', ') || 'none'}`,
          },
        ],
      );
    }
    return { domain, normalizedHash: analysis.normalized_hash };
  }

  /** Checks a schema-valid request and derives its cache keys and workflow id (batches use them for their child runs). */
  private async prepare(
    request: EnhanceRequest,
    tenantId: string,
  ): Promise<{ inputHash: string; normalizedInputHash: string; workflowId: string }> {
    const { domain, normalizedHash } = await this.check(request, tenantId);
    // A custom domain's settings are part of the input: editing the domain makes a new enhancement, not a cache hit.
    const keyed = (req: EnhanceRequest) =>
      sha256(
        canonicalJson(
          domain.builtin
            ? { tenant: tenantId, request: req }
            : { tenant: tenantId, request: req, domain: domain.settings },
        ),
      );
    const inputHash = keyed(request);
    // The L2 cache key: the same input with the code replaced by its AST hash (comments, layout, docstrings ignored).
    const normalizedInputHash = keyed({ ...request, original_code: `ast:${normalizedHash}` });
    return { inputHash, normalizedInputHash, workflowId: enhanceWorkflowId(request.function_name, inputHash) };
  }

  /**
   * Checks a schema-valid request, starts its run (or joins the identical one already running) for the tenant,
   * and waits up to `waitMs` for it.
   */
  async enhance(request: EnhanceRequest, tenantId: string, waitMs: number): Promise<Settled<EnhanceResult>> {
    const { deps } = this;
    const { inputHash, normalizedInputHash, workflowId } = await this.prepare(request, tenantId);
    // USE_EXISTING: identical concurrent requests join one run instead of racing to make versions.
    const options = {
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ request, input_hash: inputHash, normalized_input_hash: normalizedInputHash, tenant_id: tenantId }],
      // The owner, readable from a describe: another tenant asking for this run gets a 404.
      memo: { tenant_id: tenantId },
      typedSearchAttributes: enhanceSearchAttributes(request, tenantId),
      staticSummary: `enhance ${request.function_name} (${request.domain}${request.optimize_for ? `, for ${request.optimize_for}` : ''})`,
      staticDetails: runDetails({
        function_name: request.function_name,
        version: ENHANCE_VERSION,
        domain: request.domain,
        trigger: 'request',
        tenant_id: tenantId,
      }),
    } satisfies EnhanceStartOptions;
    const { run, outcome } = await deps.runs.startAndWait(options, waitMs, deps.shutdown);
    if (!outcome) return { status: 'running', run };
    if (outcome.status === 'completed') return outcome;
    throw new RunFailedError(outcome.error, run);
  }

  /**
   * The Aitomatic transpilation partner: the Python its transpiler made from a Dana program, enhanced like any
   * other function, answered with both languages and the partner's ids echoed.
   */
  async enhanceForPartner(
    body: PartnerEnhanceRequest,
    tenantId: string,
    waitMs: number,
  ): Promise<Settled<PartnerEnhanceResult>> {
    const max = this.deps.config.MAX_CODE_BYTES;
    if (Buffer.byteLength(body.dana_source) > max) throw new TooLargeError(`dana_source exceeds ${max} bytes`);
    const request = {
      function_name: body.function_name,
      original_code: body.python_code,
      domain: body.domain,
      ...(body.config.optimize_for ? { optimize_for: body.config.optimize_for } : {}),
      ...(body.config.context ? { context: body.config.context } : {}),
    };
    const settled = await this.enhance(request, tenantId, waitMs);
    if (settled.status === 'running') return settled;
    const { result } = settled;
    return {
      status: 'completed',
      result: {
        transpilation_id: body.transpilation_id,
        agent_id: body.agent_id,
        function_name: result.function_name,
        enhanced_dana: result.enhanced_code.dana,
        enhanced_python: result.enhanced_code.python,
        version: result.version,
        metadata: result.metadata,
        run: result.run,
      },
    };
  }

  /**
   * Every item is checked before anything starts: a batch with a bad item is refused naming each bad item.
   * Failures while running (validation, providers) are per-item outcomes of the batch run instead.
   */
  async batch(functions: EnhanceRequest[], tenantId: string): Promise<BatchStarted> {
    const { config, client } = this.deps;
    const batchId = batchWorkflowId(sha256(canonicalJson({ tenant: tenantId, functions })));
    const checked = await Promise.all(
      functions.map((request, index) =>
        this.prepare(request, tenantId).then(
          ({ inputHash, normalizedInputHash }) => ({
            request,
            input_hash: inputHash,
            normalized_input_hash: normalizedInputHash,
            workflow_id: batchItemWorkflowId(batchId, index),
          }),
          (err: unknown) => {
            if (err instanceof AppError) return { path: `functions.${index}`, message: `${err.code}: ${err.message}` };
            throw err;
          },
        ),
      ),
    );
    const rejected = checked.filter((c) => 'path' in c);
    if (rejected.length > 0)
      throw new UnprocessableError(
        'invalid_batch_items',
        `${rejected.length} of ${functions.length} functions were rejected`,
        rejected,
      );

    const input: BatchWorkflowInput = {
      tenant_id: tenantId,
      items: checked.filter((c): c is BatchWorkflowInput['items'][number] => !('path' in c)),
      concurrency: config.BATCH_CONCURRENCY,
    };
    const handle = await client.workflow.start<typeof enhanceBatch>(WORKFLOW_TYPES.batch, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: batchId,
      // An identical batch submitted again while running joins it.
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [input],
      memo: { tenant_id: tenantId },
      typedSearchAttributes: [{ key: TenantKey, value: tenantId }],
      staticSummary: `batch of ${functions.length} enhancements (${config.BATCH_CONCURRENCY} at a time)`,
      staticDetails: functions
        .map((f, i) => `${i + 1}. \`${f.function_name}\` (${f.domain}), trigger: request, tenant \`${tenantId}\``)
        .join('\n'),
    });
    return { run: { workflow_id: batchId, run_id: handle.firstExecutionRunId }, total: functions.length };
  }
}
