import { ApplicationFailure, Context } from '@temporalio/activity';
import type { EnhanceRequest, EnhancedArtifact, Guidance } from '../contracts/enhance';
import { FailureType } from '../contracts/failure-types';
import type { GenerationAttempt, GenerationPlan, RepairRequest } from '../contracts/generation';
import type { DomainsRepo } from '../infra/db/domains-repo';
import { LlmError, type Completion } from '../infra/llm/provider';
import type { LlmUsageRepo } from '../infra/db/llm-usage-repo';
import type { ProviderChain } from '../infra/llm/provider-chain';
import type { PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import { applyOptimizeFor, DomainSettings } from '../poet/domains';
import { buildMessages, parseAnswer, type ModelAnswer } from '../poet/prompt';
import { ENHANCER_VERSION, enhanceWithTemplate, strictTypes } from '../poet/template';
import { heartbeating } from './heartbeat';

export interface LlmSettings {
  maxRepairs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Per tenant and UTC day; undefined: no cap. */
  dailyBudgetUsd?: number;
}

export interface GenerateDeps {
  analyzer: PythonAnalyzer;
  domains: DomainsRepo;
  providers: ProviderChain;
  usage: LlmUsageRepo;
  llm: LlmSettings;
}

export interface GenerateInput {
  request: EnhanceRequest;
  /** Absent only in runs started before custom domains existed: built-in domains then. */
  tenant_id?: string;
  guidance?: Guidance;
}

export interface GenerateWithLlmInput extends GenerateInput {
  provider: string;
  round: number;
  repair?: RepairRequest;
}

export interface LlmGeneration {
  artifact: EnhancedArtifact;
  /** This activity's calls, Temporal's retries included; the last one is the answer. */
  attempts: GenerationAttempt[];
}

const invalid = (message: string) =>
  ApplicationFailure.create({ type: FailureType.InvalidInput, nonRetryable: true, message });

/** Full jitter over half the exponential step, so a burst of retries does not hit the provider in lockstep. */
function backoffMs(attempt: number, llm: LlmSettings): number {
  const step = Math.min(llm.retryBaseMs * 2 ** (attempt - 1), llm.retryMaxMs);
  return Math.round(step * (0.5 + Math.random() / 2));
}

/** The domain with the model's Operate settings, checked as a domain's own are (bounds, never-retried classes). */
function withSettings(
  domain: DomainSettings,
  answer: ModelAnswer,
): { ok: true; domain: DomainSettings } | { ok: false; reason: string } {
  const checked = DomainSettings.safeParse({ ...domain, operate: { ...domain.operate, ...answer.settings } });
  if (checked.success) return { ok: true, domain: checked.data };
  return {
    ok: false,
    reason: `the settings are refused: ${checked.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
  };
}

export function createGenerateActivities(deps: GenerateDeps) {
  const { analyzer, domains, providers, usage, llm } = deps;

  /** The request checked again (activities trust no caller) and the template's answer, which every provider shares. */
  async function prepare(input: GenerateInput) {
    const { request, guidance } = input;
    const analysis = await analyzer.analyze(request.original_code);
    if (!analysis.ok) {
      throw invalid(
        `original_code is not valid Python: ${analysis.error.message} (line ${analysis.error.line ?? '?'})`,
      );
    }
    const fn = analysis.functions.find((f) => f.name === request.function_name);
    if (!fn) throw invalid(`original_code defines no top-level function named ${request.function_name}`);
    const tenantId = input.tenant_id ?? 'default';
    const entry = await domains.resolve(tenantId, request.domain);
    if (!entry) {
      const names = (await domains.list(tenantId)).map((d) => d.settings.name);
      throw invalid(`unknown domain ${request.domain}; valid domains: ${names.join(', ')}`);
    }
    const shifted = request.optimize_for ? applyOptimizeFor(entry.settings, request.optimize_for) : entry.settings;
    const domain = guidance
      ? {
          ...shifted,
          operate: { ...shifted.operate, ...guidance.operate },
          perceive: { ...shifted.perceive, ...guidance.perceive },
        }
      : shifted;
    const templateInput = {
      functionName: request.function_name,
      originalCode: request.original_code,
      analysis: fn,
      domain,
      optimizeFor: request.optimize_for ?? null,
      strict: strictTypes(request, guidance?.perceive),
    };
    return { domain, templateInput, template: enhanceWithTemplate(templateInput) };
  }

  return {
    /** The offline enhancer: the last provider of every chain. */
    async generate(input: GenerateInput): Promise<EnhancedArtifact> {
      const { template } = await prepare(input);
      return { ...template, provider: 'template', enhancer_version: ENHANCER_VERSION };
    },

    /** The chain as this worker is configured; the workflow walks it. */
    async generationPlan(): Promise<GenerationPlan> {
      return { providers: providers.names(), max_repairs: llm.maxRepairs, max_attempts: llm.maxAttempts };
    },

    /**
     * One call to one provider. Transient faults throw the retryable ProviderTransient (a 429's Retry-After, else
     * jittered backoff, as the next retry delay); anything else that ends this provider's turn throws the
     * non-retryable ProviderUnavailable; an answer that is not the JSON asked for throws ProviderBadAnswer.
     * Every call is recorded with its tokens, cost and latency, and every failure carries the calls so far.
     */
    async generateWithLlm(input: GenerateWithLlmInput): Promise<LlmGeneration> {
      const { domain, templateInput, template } = await prepare(input);
      const settings = providers.get(input.provider)?.settings;
      if (!settings) {
        throw ApplicationFailure.create({
          type: FailureType.ProviderUnavailable,
          nonRetryable: true,
          message: `provider ${input.provider} is not configured on this worker`,
          details: [{ attempts: [] }],
        });
      }
      const info = Context.current().info;
      // Activities always run inside a workflow here; the fallback keeps rows unique if one ever runs standalone.
      const execution = info.workflowExecution ?? { workflowId: `activity-${info.activityId}`, runId: info.activityId };
      const call = {
        tenantId: input.tenant_id ?? 'default',
        functionName: input.request.function_name,
        workflowId: execution.workflowId,
        runId: execution.runId,
        activityId: info.activityId,
        attempt: info.attempt,
        round: input.round,
        provider: input.provider,
        model: settings.model,
        domain: input.request.domain,
      };
      const callsSoFar = () => usage.callsOf(call.workflowId, call.runId, call.activityId);
      if (llm.dailyBudgetUsd !== undefined) {
        // Checked before each call: calls already in flight when the cap is reached may pass it by their own cost.
        const spent = await usage.spentToday(call.tenantId);
        if (spent >= llm.dailyBudgetUsd) {
          const reason = `the tenant's daily LLM budget of $${llm.dailyBudgetUsd} is spent ($${spent.toFixed(4)} today)`;
          await usage.record({
            ...call,
            outcome: 'over_budget',
            reason,
            promptTokens: 0,
            completionTokens: 0,
            costUsd: 0,
            latencyMs: 0,
          });
          throw ApplicationFailure.create({
            type: FailureType.ProviderUnavailable,
            nonRetryable: true,
            message: `${input.provider}: over_budget: ${reason}`,
            details: [{ attempts: await callsSoFar() }],
          });
        }
      }
      const messages = buildMessages({
        request: input.request,
        domain,
        params: template.params,
        guidance: input.guidance,
        repair: input.repair,
      });

      let completion: Completion;
      try {
        completion = await heartbeating((signal) => providers.complete(input.provider, messages, signal));
      } catch (err) {
        if (!(err instanceof LlmError)) throw err;
        const outcome = err.kind === 'circuit_open' ? 'circuit_open' : err.transient ? 'retryable_error' : 'failed';
        const reason = `${err.kind}: ${err.message}`;
        await usage.record({
          ...call,
          outcome,
          reason,
          promptTokens: 0,
          completionTokens: 0,
          costUsd: 0,
          latencyMs: err.latencyMs,
        });
        const details = [{ attempts: await callsSoFar() }];
        if (err.transient) {
          throw ApplicationFailure.create({
            type: FailureType.ProviderTransient,
            message: `${input.provider}: ${reason}`,
            details,
            nextRetryDelay: err.retryAfterMs ?? backoffMs(info.attempt, llm),
          });
        }
        throw ApplicationFailure.create({
          type: FailureType.ProviderUnavailable,
          nonRetryable: true,
          message: `${input.provider}: ${reason}`,
          details,
        });
      }

      const costUsd = providers.get(input.provider)!.costUsd(completion.prompt_tokens, completion.completion_tokens);
      const parsed = parseAnswer(completion.content);
      await usage.record({
        ...call,
        model: completion.model,
        outcome: parsed.ok ? 'answered' : 'bad_answer',
        reason: parsed.ok ? null : parsed.reason,
        promptTokens: completion.prompt_tokens,
        completionTokens: completion.completion_tokens,
        costUsd,
        latencyMs: completion.latency_ms,
      });
      const attempts = await callsSoFar();
      const chosen = parsed.ok ? withSettings(domain, parsed.answer) : parsed;
      if (!chosen.ok) {
        throw ApplicationFailure.create({
          type: FailureType.ProviderBadAnswer,
          nonRetryable: true,
          message: `${input.provider}: ${chosen.reason}`,
          details: [{ attempts, previous: completion.content.slice(0, 16_000) }],
        });
      }
      const hooks = parsed.ok ? parsed.answer.hooks : {};
      return {
        artifact: {
          ...enhanceWithTemplate({ ...templateInput, domain: chosen.domain, hooks }),
          provider: input.provider,
          enhancer_version: `llm:${completion.model}`,
        },
        attempts,
      };
    },
  };
}
