import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric of the service, in one registry per process (API or worker).
 * Label values are bounded: a value outside its known set becomes `other`, and nothing user-chosen
 * (function names, ids, free text) is ever a label, so the series count stays fixed.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const CIRCUIT_STATES = { closed: 0, half_open: 1, open: 2 } as const;
export type CircuitState = keyof typeof CIRCUIT_STATES;

const WEBHOOK_OUTCOMES = ['delivered', 'retry', 'failed', 'blocked'];

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** A label value from a known set, or `other`: a caller can never mint new series. */
export function bounded(value: string | undefined | null, known: ReadonlySet<string> | readonly string[]): string {
  if (!value) return 'none';
  const set = known instanceof Set ? known : new Set(known as readonly string[]);
  return set.has(value) ? value : 'other';
}

/** Buckets HTTP status codes into their class for labels that do not need the exact code. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export interface MetricsOptions {
  /** Known domains, providers, models and activity names: label values outside these sets become `other`. */
  domains: readonly string[];
  stages: readonly string[];
  providers?: readonly string[];
  models?: readonly string[];
  /** Process metrics (CPU, memory, event loop lag) under the `process_`/`nodejs_` prefixes. */
  defaultMetrics?: boolean;
}

/** Whether the worker can isolate validations, as the `poet_sandbox_isolated` gauge shows it. */
const SANDBOX_STATUSES = { isolated: 1, failing: 0, disabled: -1 } as const;
export type SandboxStatus = keyof typeof SANDBOX_STATUSES;

export class Metrics {
  readonly registry = new Registry();

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets: SECONDS_BUCKETS, registers: [this.registry] });
  }

  private readonly domains: ReadonlySet<string>;
  private readonly stages: Set<string>;
  private readonly providers: ReadonlySet<string>;
  private readonly models: ReadonlySet<string>;

  readonly enhancementRequests = this.counter(
    'poet_enhancement_requests_total',
    'Enhancement requests answered by the API, by domain and outcome (completed; partial: completed by the template ' +
      'after every LLM provider failed; accepted: answered 202; rejected: refused input; failed; error).',
    ['domain', 'status'] as const,
  );
  readonly errors = this.counter(
    'poet_errors_total',
    'Failures by category (input, validation, generation, deployment, system) and severity (info, warning, error, ' +
      'critical): the API counts the requests it refused, the worker the runs that failed, so each counts once.',
    ['category', 'severity'] as const,
  );
  readonly runDuration = this.histogram(
    'poet_run_duration_seconds',
    'Start to end of enhancement and regeneration runs by workflow type and outcome, whether their caller was ' +
      'answered 200 or 202 (observed by the worker when it publishes the outcome).',
    ['workflow_type', 'outcome'] as const,
  );
  readonly enhancementDuration = this.histogram(
    'poet_enhancement_duration_seconds',
    'Time from request to answer of enhancement requests that completed within the wait budget.',
    ['domain'] as const,
  );
  readonly activeEnhancements = this.gauge(
    'poet_active_enhancements',
    'Enhancement requests the API is answering right now.',
    [] as const,
  );
  readonly httpRequests = this.counter(
    'http_requests_total',
    'HTTP requests by method, route template and status code.',
    ['method', 'route', 'status'] as const,
  );
  readonly httpDuration = this.histogram(
    'http_request_duration_seconds',
    'HTTP request duration by method and route template.',
    ['method', 'route'] as const,
  );
  readonly cacheRequests = this.counter(
    'poet_cache_requests_total',
    'Enhancement cache lookups by layer (l0 in-process, l1 Redis, l2 normalized code, lineage for an answer of the active version read from the store, all for a miss) and outcome.',
    ['layer', 'outcome'] as const,
  );
  readonly llmTokens = this.counter(
    'poet_llm_tokens_total',
    'LLM tokens by provider, model and direction (input, output).',
    ['provider', 'model', 'direction'] as const,
  );
  readonly generationCost = this.counter(
    'poet_generation_cost_dollars_total',
    'Cost of generations in US dollars by provider and model.',
    ['provider', 'model'] as const,
  );
  readonly circuitState = this.gauge(
    'poet_circuit_breaker_state',
    'Circuit breaker state per LLM provider: 0 closed, 1 half-open, 2 open.',
    ['provider'] as const,
  );
  readonly validationResults = this.counter(
    'poet_validation_results_total',
    'Sandbox validations by outcome (passed, failed) and safety level.',
    ['outcome', 'safety_level'] as const,
  );
  readonly stageDuration = this.histogram(
    'poet_stage_duration_seconds',
    'Duration of each workflow stage (activity), retries counted separately.',
    ['stage'] as const,
  );
  readonly taskQueueBacklog = this.gauge(
    'poet_task_queue_backlog',
    'Approximate tasks waiting on the worker task queue, by type (workflow, activity); set by workers on scrape.',
    ['type'] as const,
  );
  readonly webhookDeliveries = this.counter(
    'poet_webhook_deliveries_total',
    'Webhook delivery attempts by outcome: delivered, retry (failed, another attempt follows), failed (given up), blocked (forbidden address).',
    ['outcome'] as const,
  );
  readonly cacheInvalidations = this.counter(
    'poet_cache_invalidations_total',
    'Cache invalidations this worker heard (PostgreSQL NOTIFY) and applied to its in-process cache.',
    [] as const,
  );
  readonly cacheListening = this.gauge(
    'poet_cache_invalidations_listening',
    '1 while this worker hears cache invalidations (its in-process cache is on), 0 while not (it holds nothing).',
    [] as const,
  );
  readonly sandboxIsolated = this.gauge(
    'poet_sandbox_isolated',
    'Validation sandbox at its last probe: 1 isolated, 0 failing (validations refused), -1 isolation turned off (SANDBOX_ISOLATION=none).',
    [] as const,
  );
  readonly ready = this.gauge(
    'poet_ready',
    'Readiness of this process at the last scrape: 1 ready (possibly degraded), 0 a required check is failing.',
    [] as const,
  );
  readonly healthCheck = this.gauge(
    'poet_health_check_status',
    'Readiness checks at the last scrape: 1 ok or disabled, 0.5 degraded, 0 failing.',
    ['check'] as const,
  );

  constructor(opts: MetricsOptions) {
    this.domains = new Set(opts.domains);
    this.stages = new Set(opts.stages);
    this.providers = new Set(opts.providers ?? ['template']);
    this.models = new Set(opts.models ?? ['template']);
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  domain(value: string | undefined): string {
    return bounded(value, this.domains);
  }

  stage(value: string): string {
    return bounded(value, this.stages);
  }

  recordGeneration(g: {
    provider: string;
    model: string;
    inputTokens: number;
    outputTokens: number;
    costUsd: number;
  }): void {
    const provider = bounded(g.provider, this.providers);
    const model = bounded(g.model, this.models);
    this.llmTokens.inc({ provider, model, direction: 'input' }, g.inputTokens);
    this.llmTokens.inc({ provider, model, direction: 'output' }, g.outputTokens);
    this.generationCost.inc({ provider, model }, g.costUsd);
  }

  setCircuitState(provider: string, state: CircuitState): void {
    this.circuitState.set({ provider: bounded(provider, this.providers) }, CIRCUIT_STATES[state]);
  }

  setSandboxState(status: SandboxStatus): void {
    this.sandboxIsolated.set(SANDBOX_STATUSES[status]);
  }

  recordWebhookAttempt(outcome: string): void {
    this.webhookDeliveries.inc({ outcome: bounded(outcome, WEBHOOK_OUTCOMES) });
  }

  /** Activity names are known once the activities are built. */
  allowStages(stages: Iterable<string>): void {
    for (const value of stages) this.stages.add(value);
  }

  recordReadiness(readiness: { status: string; checks: Record<string, { status: string }> }): void {
    this.ready.set(readiness.status === 'failing' ? 0 : 1);
    for (const [check, result] of Object.entries(readiness.checks)) {
      this.healthCheck.set({ check }, result.status === 'failing' ? 0 : result.status === 'degraded' ? 0.5 : 1);
    }
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
