import type { ActivityOptions } from '@temporalio/common';
import type { Activities } from '../activities';
import { FailureType } from '../contracts/failure-types';

export type ActivityName = keyof Activities;

/** What a workflow's activity call is given; `summary` names the step in the Temporal UI. */
export type ActivityPolicy = Pick<ActivityOptions, 'startToCloseTimeout' | 'heartbeatTimeout' | 'retry'> & {
  summary: string;
};

/** Bad input, failed validation, a payload this worker cannot decrypt: a retry cannot change the outcome. */
export const nonRetryableErrorTypes = [
  FailureType.InvalidInput,
  FailureType.ValidationFailed,
  FailureType.EncryptionKeyUnavailable,
];

/** In-process lookups on the cache-hit path: fast or not at all; a fault there degrades to a miss. */
const inProcess = { startToCloseTimeout: '5s', retry: { initialInterval: '100ms', maximumAttempts: 3 } } as const;

/** Reads and writes on PostgreSQL: retried until it is back, so a version or an event is never dropped on the floor. */
const untilPostgresIsBack = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes,
} as const;

/**
 * Long activities heartbeat (src/activities/heartbeat.ts): a cancellation reaches a hanging LLM call or sandbox
 * within seconds, and a killed worker's activity is retried after this rather than after its start-to-close timeout.
 */
const heartbeatTimeout = '10s';

/** Every activity's timeouts and retries, declared once; src/workflows/activities.ts builds the proxies from it. */
export const ACTIVITY_OPTIONS = {
  cacheLookupWithVersion: { ...inProcess, summary: 'look up the enhancement cache and, on a hit, the active version' },
  // The cache only saves work: a write that keeps failing is given up on quickly.
  cacheStore: { ...inProcess, summary: 'keep the validated enhancement in the cache' },
  // Reads the worker's own settings: nothing to wait for.
  generationPlan: { ...inProcess, summary: 'read the LLM provider chain of this worker' },
  // The template enhancer is offline and deterministic: only infrastructure faults are worth a retry.
  generate: {
    startToCloseTimeout: '2m',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 5,
      nonRetryableErrorTypes,
    },
    summary: 'generate the POET-enhanced Python and Dana code',
  },
  // The one retry loop of LLM calls: only ProviderTransient is retried, with the delay the activity names (Retry-After
  // or jittered backoff); the other failures move on to the next provider. Attempts come from the worker's LLM settings.
  generateWithLlm: {
    startToCloseTimeout: '2m',
    heartbeatTimeout,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      nonRetryableErrorTypes: [
        FailureType.InvalidInput,
        FailureType.ProviderUnavailable,
        FailureType.ProviderBadAnswer,
      ],
    },
    summary: 'ask an LLM provider for the enhanced code (structured JSON answer)',
  },
  // The sandbox enforces its own wall clock well inside the timeout; a failed validation is final.
  validate: {
    startToCloseTimeout: '1m',
    heartbeatTimeout,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
    summary: 'validate in the python3 sandbox: scan, compile, import, compare with the original',
  },
  // Idempotent per run (a retried attempt finds its own row), so retrying until PostgreSQL is back is safe.
  storeVersion: {
    startToCloseTimeout: '30s',
    retry: untilPostgresIsBack,
    summary: 'store the version: PostgreSQL rows and artifact files',
  },
  // Idempotent per event (outbox dedupe keys): a retry never publishes twice.
  publish: {
    startToCloseTimeout: '30s',
    retry: untilPostgresIsBack,
    summary: 'publish the events: outbox rows, then the Redis stream',
  },
  assessFeedback: {
    startToCloseTimeout: '30s',
    retry: untilPostgresIsBack,
    summary: 'Train: decide from the feedback whether the version must change',
  },
  // Takes a row lock on the function: retried until PostgreSQL is back, like the writes above.
  activate: { startToCloseTimeout: '30s', retry: untilPostgresIsBack, summary: 'switch the active version' },
  // A page of functions, each assessed: longer than one read.
  // Rows are rewritten by compare-and-set, so a retried page does only what the failed attempt left undone.
  reencryptPayloads: {
    startToCloseTimeout: '2m',
    retry: untilPostgresIsBack,
    summary: 're-encrypt a page of stored payloads under the active key',
  },
  findReevaluations: {
    startToCloseTimeout: '2m',
    retry: untilPostgresIsBack,
    summary: "find functions with feedback newer than their last evaluation, and Train's decision on each",
  },
  recordEvaluations: {
    startToCloseTimeout: '2m',
    retry: untilPostgresIsBack,
    summary: 'record the evaluations (cursors) and publish function.evaluated / function.regenerated',
  },
  recordRollout: {
    startToCloseTimeout: '30s',
    retry: untilPostgresIsBack,
    summary: "record the rollout's candidate share and status for resolve",
  },
  // The same sandbox run as validate; a candidate that fails is an answer (passed: false), not a failure.
  shadowValidate: {
    startToCloseTimeout: '1m',
    heartbeatTimeout,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
    summary: "validate the candidate on the function's feedback examples before any unit runs it",
  },
  rolloutFigures: {
    startToCloseTimeout: '30s',
    retry: untilPostgresIsBack,
    summary: "read the candidate's and the baseline's field reports since the step began",
  },
  // The HTTP timeout and the attempts come from config through the run's input (a workflow cannot read config);
  // a refused delivery is final.
  deliverWebhook: {
    retry: { backoffCoefficient: 2, nonRetryableErrorTypes: [FailureType.WebhookRejected] },
    summary: 'POST the signed event to one webhook',
  },
} satisfies Record<ActivityName, ActivityPolicy>;

/** Activities a workflow may run locally (in the worker of its workflow task): those without a heartbeat. */
export type LocalActivityName = {
  [K in ActivityName]: (typeof ACTIVITY_OPTIONS)[K] extends { heartbeatTimeout: unknown } ? never : K;
}[ActivityName];
