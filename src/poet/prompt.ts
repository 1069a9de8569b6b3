import { z } from 'zod';
import type { EnhanceRequest, Guidance, JsonValue } from '../contracts/enhance';
import type { RepairRequest } from '../contracts/generation';
import type { DomainSettings } from './domains';
import { HOOK_NAMES } from './template';

const HookSource = z.string().min(1).max(8_000);

/**
 * What the model must answer: one JSON object of settings and optional hooks. The service writes the module from
 * them (the template), so a model configures the runtime and never writes a wrapper.
 */
export const ModelAnswer = z.object({
  /** Operate settings that override the domain's; checked against the domain schema (retry_on included). */
  settings: z
    .strictObject({
      retries: z.number().int(),
      timeout_s: z.number(),
      backoff_base_s: z.number(),
      backoff_max_s: z.number(),
      retry_on: z.array(z.string()),
    })
    .partial()
    .default({}),
  hooks: z.strictObject({ perceive: HookSource, enforce: HookSource }).partial().default({}),
});
export type ModelAnswer = z.infer<typeof ModelAnswer>;

export interface PromptInput {
  request: EnhanceRequest;
  domain: DomainSettings;
  /** POET_PARAMS the template would write with the domain's own settings. */
  params: Record<string, JsonValue>;
  guidance?: Guidance;
  repair?: RepairRequest;
}

const SYSTEM = `You are the POET enhancer. You receive one plain Python function and configure the POET runtime around it:
Perceive (argument checks), Operate (retries with backoff under an enforced timeout), Enforce (result checks), Train.
The service writes the module itself: the original code verbatim, then \`name = poet(POET_PARAMS)(name)\`.

Answer with ONE JSON object and nothing else:
{"settings": {"retries": int, "timeout_s": number, "backoff_base_s": number, "backoff_max_s": number, "retry_on": ["ExceptionClassName", ...]},
 "hooks": {"perceive": "<python source>", "enforce": "<python source>"}}
Every key is optional: leave out what the domain settings already get right.

Rules, all checked before anything is used:
- settings: retries 0-10, timeout_s up to 3600; retry_on names transient exception classes only, never ValueError,
  TypeError, KeyError or any other error the function raises about its own inputs.
- hooks observe, they never decide: "perceive" defines \`def ${HOOK_NAMES.perceive}(args, kwargs)\` and "enforce" defines
  \`def ${HOOK_NAMES.enforce}(result)\`; what they return is ignored and what they raise is only counted. They must not
  change their arguments.
- Python standard library only in hooks. No eval, exec, compile, __import__, subprocess, os.system, sockets, network
  access, pickle or marshal loads, and no file writes: code that uses them is refused.
- The enhanced function must return and raise exactly what the original does: a sandbox compares them.`;

function userMessage(input: PromptInput): string {
  const { request, domain, params, guidance } = input;
  const parts = [
    `<function_name>${request.function_name}</function_name>`,
    `<domain>${domain.name}: ${domain.description}</domain>`,
    `<optimize_for>${request.optimize_for ?? 'the domain defaults'}</optimize_for>`,
    `<domain_settings>${JSON.stringify({ perceive: domain.perceive, operate: domain.operate, enforce: domain.enforce, train: domain.train })}</domain_settings>`,
    `<poet_params>${JSON.stringify(params)}</poet_params>`,
  ];
  if (guidance) {
    parts.push(`<regeneration_reason>${guidance.reason}</regeneration_reason>`);
    if (guidance.suggestions.length > 0) {
      parts.push(`<user_suggestions>\n${guidance.suggestions.map((s) => `- ${s}`).join('\n')}\n</user_suggestions>`);
    }
  }
  parts.push(`<original_code>\n${request.original_code}\n</original_code>`);
  return parts.join('\n');
}

/** The conversation for one call: the task, and in a repair round the refused answer and why it was refused. */
export function buildMessages(input: PromptInput): { role: 'system' | 'user' | 'assistant'; content: string }[] {
  const messages: { role: 'system' | 'user' | 'assistant'; content: string }[] = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: userMessage(input) },
  ];
  if (input.repair) {
    messages.push(
      { role: 'assistant', content: input.repair.previous },
      {
        role: 'user',
        content: `That answer was refused:\n<validation_errors>\n${input.repair.errors}\n</validation_errors>\nReturn the corrected JSON object.`,
      },
    );
  }
  return messages;
}

/** The model's JSON answer, or why it is not one (fenced JSON is tolerated: many models add fences anyway). */
export function parseAnswer(content: string): { ok: true; answer: ModelAnswer } | { ok: false; reason: string } {
  const unfenced = content.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n```$/, '$1');
  let json: unknown;
  try {
    json = JSON.parse(unfenced);
  } catch (err) {
    return { ok: false, reason: `the answer is not valid JSON (${(err as Error).message})` };
  }
  const parsed = ModelAnswer.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `the answer lacks the expected fields: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
    };
  }
  return { ok: true, answer: parsed.data };
}
