// Kept free of zod: workflows import it, and each workflow evaluates its imports afresh in the sandbox.

/**
 * ApplicationFailure types that activities raise and the API maps to answers.
 * Each is non-retryable (retrying cannot change the outcome) except ProviderTransient.
 */
export const FailureType = {
  /** The request cannot be enhanced as given (no such function, unknown domain, not Python). */
  InvalidInput: 'InvalidInput',
  /** The enhanced code failed validation: it does not compile, import or preserve behaviour. */
  ValidationFailed: 'ValidationFailed',
  /** The validation sandbox cannot be isolated on this worker: validations are refused rather than run bare. */
  SandboxUnavailable: 'SandboxUnavailable',
  /** A package the function declares (context.dependencies) is not importable by the sandbox's interpreter. */
  DependencyUnavailable: 'DependencyUnavailable',
  /** An LLM provider cannot answer this request now (auth, 4xx, context or content policy, unknown model, open circuit): next provider. */
  ProviderUnavailable: 'ProviderUnavailable',
  /** The model answered, but not with the JSON asked for: a repair round follows. */
  ProviderBadAnswer: 'ProviderBadAnswer',
  /** Rate limit, 5xx, timeout: the one retryable type; Temporal retries it (a 429's Retry-After sets the delay). */
  ProviderTransient: 'ProviderTransient',
  /** A payload's encryption key is missing from the worker's key ring, or is not the key it was encrypted with. */
  EncryptionKeyUnavailable: 'EncryptionKeyUnavailable',
  /** A webhook receiver answered 5xx, 408, 429, or not at all: retried with backoff (429's Retry-After sets the delay). */
  WebhookTransient: 'WebhookTransient',
  /** A webhook receiver refused the delivery (another 4xx, a redirect) or its address is forbidden: not retried. */
  WebhookRejected: 'WebhookRejected',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
