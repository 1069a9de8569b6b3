import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { CachedEnhancement, EnhanceRequest, Guidance } from '../contracts/enhance';
import { FailureType } from '../contracts/failure-types';
import type { GenerationAttempt, GenerationPlan, GenerationUsage, RepairRequest } from '../contracts/generation';
import { isSkipped } from '../contracts/skipped-outcomes';
import type { Stage } from '../contracts/progress';
import { activity, localActivity } from './activities';

/** Told when the loop enters generate or validate (enhanceFunction's progress query shows it). */
export type OnStage = (stage: Extract<Stage, 'generate' | 'validate'>, detail?: string) => void;

const generationPlan = localActivity('generationPlan');
const generate = activity('generate');
const validate = activity('validate');

export interface GenerateValidatedInput {
  request: EnhanceRequest;
  tenant_id: string;
  /** A regeneration's reason, user suggestions (into the prompt) and learned Operate settings. */
  guidance?: Guidance;
}

export interface GenerateValidatedOutput {
  enhancement: CachedEnhancement;
  /** The provider that answered is not the first of the chain. */
  fallback: boolean;
  attempts: GenerationAttempt[];
  usage: GenerationUsage;
}

function applicationFailure(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

function detail<T>(failure: ApplicationFailure | undefined, key: string): T | undefined {
  const first = failure?.details?.[0] as Record<string, unknown> | undefined;
  return first?.[key] as T | undefined;
}

function summarize(attempts: GenerationAttempt[]): GenerationUsage {
  return attempts.reduce<GenerationUsage>(
    (sum, a) => ({
      calls: sum.calls + (a.provider === 'template' || isSkipped(a.outcome) ? 0 : 1),
      prompt_tokens: sum.prompt_tokens + a.prompt_tokens,
      completion_tokens: sum.completion_tokens + a.completion_tokens,
      cost_usd: Math.round((sum.cost_usd + a.cost_usd) * 1e8) / 1e8,
      latency_ms: sum.latency_ms + a.latency_ms,
    }),
    { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, latency_ms: 0 },
  );
}

/**
 * One provider's turn: an answer, validation, and up to max_repairs rounds in which the refusal goes back to the
 * model. Null when the provider is done (failed, circuit open, retries or repairs spent): the caller moves on.
 */
async function providerTurn(
  input: GenerateValidatedInput,
  provider: string,
  plan: GenerationPlan,
  attempts: GenerationAttempt[],
  onStage: OnStage,
): Promise<CachedEnhancement | null> {
  const generateWithLlm = activity('generateWithLlm', { retry: { maximumAttempts: plan.max_attempts } });
  let repair: RepairRequest | undefined;
  for (let round = 0; round <= plan.max_repairs; round++) {
    let generated;
    onStage('generate', round === 0 ? provider : `${provider}, repair round ${round}`);
    try {
      generated = await generateWithLlm({ ...input, provider, round, repair });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const failure = applicationFailure(err);
      if (failure?.type === FailureType.InvalidInput) throw err;
      const calls = detail<GenerationAttempt[]>(failure, 'attempts');
      attempts.push(
        ...(calls?.length ? calls : [blankAttempt(provider, round, 'failed', failure?.message ?? String(err))]),
      );
      const previous = detail<string>(failure, 'previous');
      if (failure?.type === FailureType.ProviderBadAnswer && previous !== undefined) {
        repair = { previous, errors: failure.message };
        continue;
      }
      return null;
    }
    attempts.push(...generated.attempts);
    const answered = attempts[attempts.length - 1]!;
    onStage('validate', provider);
    try {
      const validation = await validate({
        request: input.request,
        artifact: generated.artifact,
        tenant_id: input.tenant_id,
      });
      return { artifact: generated.artifact, validation };
    } catch (err) {
      const failure = applicationFailure(err);
      if (failure?.type !== FailureType.ValidationFailed) throw err;
      attempts[attempts.length - 1] = { ...answered, outcome: 'invalid', reason: failure.message };
      repair = {
        previous: JSON.stringify({ python: generated.artifact.python, dana: generated.artifact.dana }),
        errors: failure.message,
      };
    }
  }
  return null;
}

function blankAttempt(
  provider: string,
  round: number,
  outcome: GenerationAttempt['outcome'],
  reason: string | null,
): GenerationAttempt {
  return {
    provider,
    model: null,
    round,
    attempt: 1,
    outcome,
    reason,
    prompt_tokens: 0,
    completion_tokens: 0,
    cost_usd: 0,
    latency_ms: 0,
  };
}

/**
 * generate → validate → repair over the provider chain, the template enhancer last: the one loop that
 * enhanceFunction and regenerations share. Fails only when the template's own output fails validation
 * (the original itself cannot pass) or the input is invalid.
 */
export async function generateValidated(
  input: GenerateValidatedInput,
  onStage: OnStage = () => undefined,
): Promise<GenerateValidatedOutput> {
  const plan = await generationPlan();
  const attempts: GenerationAttempt[] = [];
  const done = (enhancement: CachedEnhancement, provider: string): GenerateValidatedOutput => ({
    enhancement,
    fallback: provider !== (plan.providers[0] ?? 'template'),
    attempts,
    usage: summarize(attempts),
  });

  for (const provider of plan.providers) {
    const accepted = await providerTurn(input, provider, plan, attempts, onStage);
    if (accepted) return done(accepted, provider);
  }

  onStage('generate', 'template');
  const artifact = await generate(input);
  onStage('validate', 'template');
  const validation = await validate({ request: input.request, artifact, tenant_id: input.tenant_id });
  attempts.push(blankAttempt('template', 0, 'accepted', null));
  return done({ artifact, validation }, 'template');
}
