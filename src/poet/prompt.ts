import { z } from 'zod';
import type { EnhanceRequest, Guidance, JsonValue } from '../contracts/enhance';
import type { RepairRequest } from '../contracts/generation';
import type { DomainSettings } from './domains';

/** What the model must answer: one JSON object. */
export const ModelAnswer = z.object({
  python: z.string().min(1),
  dana: z.string().default(''),
  optimizations: z.array(z.string().max(200)).max(50).default([]),
});
export type ModelAnswer = z.infer<typeof ModelAnswer>;

export interface PromptInput {
  request: EnhanceRequest;
  domain: DomainSettings;
  /** POET_PARAMS the module must carry, exactly as the template enhancer would write them. */
  params: Record<string, JsonValue>;
  guidance?: Guidance;
  repair?: RepairRequest;
}

const SYSTEM = `You are the POET enhancer. You receive one plain Python function and return it POET-enhanced:
Perceive (check arguments), Operate (retries with backoff under an enforced timeout), Enforce (check the result),
Train (a train_<name>(feedback) function that adapts retries and timeout).

Answer with ONE JSON object and nothing else: {"python": "<module source>", "dana": "<Dana source>", "optimizations": ["<short tag>", ...]}.

Rules for "python", all of them checked by a sandbox before anything is used:
- Keep the original code verbatim in the module and rebind the public name to a wrapper made with functools.wraps:
  the same name, signature, docstring and return values as the original, for every input the original accepts.
- Exceptions the function raises itself (ValueError, TypeError, KeyError, ...) propagate unchanged and at once.
  Operate retries only the exception classes listed in retry_on, never ValueError or TypeError.
- Define POET_PARAMS as the exact dict given below and read every setting from it.
- Python standard library only. No eval, exec, compile, __import__, subprocess, os.system, sockets, network access,
  pickle or marshal loads, and no file writes: code that uses them is refused.
"dana" mirrors the settings on the original definition under an @poet(...) decorator.`;

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
    return { ok: false, reason: `the answer lacks the expected fields: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}` };
  }
  return { ok: true, answer: parsed.data };
}
