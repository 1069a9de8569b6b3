import { wrapOpenAI } from 'langsmith/wrappers/openai';
import OpenAI from 'openai';
import type { ResolvedProvider } from '../../config';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Completion {
  content: string;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  latency_ms: number;
}

/**
 * Why a call failed, which decides what happens next (DESIGN.md "LLM calls: one retry loop"):
 * transient kinds are retried by Temporal; every other kind sends the workflow to the next provider at once.
 */
export type LlmErrorKind =
  | 'rate_limit'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'auth'
  | 'not_found'
  | 'context_length'
  | 'content_policy'
  | 'bad_request'
  | 'circuit_open'
  | 'canceled';

const TRANSIENT: ReadonlySet<LlmErrorKind> = new Set(['rate_limit', 'server', 'timeout', 'connection']);
/** Refusals about this request, not the provider's health: they do not count toward opening its circuit. */
const REQUEST_SPECIFIC: ReadonlySet<LlmErrorKind> = new Set([
  'context_length',
  'content_policy',
  'bad_request',
  'canceled',
]);

export class LlmError extends Error {
  override readonly name = 'LlmError';
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    readonly latencyMs: number,
    /** From a 429's Retry-After (seconds or HTTP date). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get transient(): boolean {
    return TRANSIENT.has(this.kind);
  }

  get countsAgainstProvider(): boolean {
    return !REQUEST_SPECIFIC.has(this.kind);
  }
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after-ms') ?? undefined;
  if (value && Number.isFinite(Number(value))) return Number(value);
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function classify(err: unknown, latencyMs: number, timeoutMs: number): LlmError {
  // Our own abort (the activity was canceled) says nothing about the provider's health.
  if (err instanceof OpenAI.APIUserAbortError) return new LlmError('canceled', 'the call was canceled', latencyMs);
  // The SDK cannot always tell its own abort from a dropped connection (an AbortError from another realm loses its
  // name): a connection error at the deadline is the timeout.
  const timedOut =
    err instanceof OpenAI.APIConnectionTimeoutError ||
    (err instanceof OpenAI.APIConnectionError && latencyMs >= timeoutMs * 0.95);
  if (timedOut) return new LlmError('timeout', `the provider did not answer within ${timeoutMs} ms`, latencyMs);
  if (err instanceof OpenAI.APIConnectionError)
    return new LlmError('connection', `cannot reach the provider: ${err.message}`, latencyMs);
  if (err instanceof OpenAI.APIError) {
    const code = `${err.code ?? ''} ${err.type ?? ''} ${err.message}`.toLowerCase();
    const message = `HTTP ${err.status}: ${err.message}`;
    if (err.status === 429) return new LlmError('rate_limit', message, latencyMs, retryAfterMs(err.headers));
    if (err.status === 401 || err.status === 403) return new LlmError('auth', message, latencyMs);
    if (err.status === 404 || code.includes('model_not_found')) return new LlmError('not_found', message, latencyMs);
    if (code.includes('context_length') || code.includes('maximum context'))
      return new LlmError('context_length', message, latencyMs);
    if (code.includes('content_policy') || code.includes('content_filter'))
      return new LlmError('content_policy', message, latencyMs);
    if (err.status === 408 || err.status === 409 || (err.status !== undefined && err.status >= 500))
      return new LlmError('server', message, latencyMs);
    return new LlmError('bad_request', message, latencyMs);
  }
  return new LlmError('server', err instanceof Error ? err.message : String(err), latencyMs);
}

/** One OpenAI-compatible endpoint. The SDK never retries (maxRetries 0): Temporal's retry policy is the one loop. */
export class LlmProvider {
  private readonly client: OpenAI;

  /** `traced`: each call becomes a LangSmith `llm` run with its token counts, nested under the activity's run. */
  constructor(
    readonly settings: ResolvedProvider,
    traced = false,
  ) {
    const client = new OpenAI({
      baseURL: settings.base_url,
      // Local OpenAI-compatible servers need no key, the SDK needs a string.
      apiKey: settings.api_key ?? 'not-needed',
      maxRetries: 0,
      timeout: settings.timeout_ms,
    });
    this.client = traced
      ? wrapOpenAI(client, { name: `${settings.name}:${settings.model}`, metadata: { ls_provider: settings.name } })
      : client;
  }

  /** Asks for a JSON object answer; rejects with an LlmError saying what kind of failure it was. */
  async complete(messages: ChatMessage[], signal?: AbortSignal): Promise<Completion> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let response;
    try {
      response = await this.client.chat.completions.create(
        {
          model: this.settings.model,
          messages,
          response_format: { type: 'json_object' },
          max_tokens: this.settings.max_tokens,
          temperature: 0,
        },
        { signal },
      );
    } catch (err) {
      throw classify(err, elapsed(), this.settings.timeout_ms);
    }
    const choice = response.choices[0];
    if (choice?.finish_reason === 'content_filter')
      throw new LlmError('content_policy', 'the answer was withheld by the content filter', elapsed());
    if (choice?.finish_reason === 'length')
      throw new LlmError('context_length', `the answer exceeded max_tokens ${this.settings.max_tokens}`, elapsed());
    return {
      content: choice?.message.content ?? '',
      model: response.model || this.settings.model,
      prompt_tokens: response.usage?.prompt_tokens ?? 0,
      completion_tokens: response.usage?.completion_tokens ?? 0,
      latency_ms: elapsed(),
    };
  }

  costUsd(promptTokens: number, completionTokens: number): number {
    const { price_in_per_1k, price_out_per_1k } = this.settings;
    return (
      Math.round(((promptTokens / 1000) * price_in_per_1k + (completionTokens / 1000) * price_out_per_1k) * 1e8) / 1e8
    );
  }
}
