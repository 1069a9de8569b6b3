import path from 'node:path';
import { z } from 'zod';
import { ProviderSettings } from './contracts/generation';

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const int = (fallback: number) => z.preprocess(emptyToUndefined, z.coerce.number().int().nonnegative().default(fallback));
/** `true` or `false`, nothing else (a typo fails loudly instead of reading as false). */
const flag = (fallback: boolean) =>
  z.preprocess(emptyToUndefined, z.enum(['true', 'false']).default(String(fallback) as 'true' | 'false')).transform((v) => v === 'true');

/**
 * Every setting of every process, read once from the environment.
 * Nothing else in the code base reads process.env: processes call loadConfig() in their composition root.
 */
export const ConfigSchema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'test', 'production']).default('development')),
  /** Interface the API listens on. Unset: all interfaces, or loopback only while AUTH_MODE=disabled. */
  HOST: optionalString,
  PORT: int(8080),
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(['error', 'warn', 'info', 'http', 'debug']).default('info')),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.preprocess(emptyToUndefined, z.string().default('default')),
  /** Temporal Cloud or a TLS cluster: an API key, or a client certificate and key (PEM files); either turns TLS on. */
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TASK_QUEUE: z.preprocess(emptyToUndefined, z.string().default('poet-enhance')),
  TEMPORAL_UI_URL: optionalString,
  TEMPORAL_CLI_PATH: optionalString,
  /** Attempts of one API call to Temporal before the API answers 503 (the SDK's default of 10 holds a caller ~20 s). */
  TEMPORAL_CLIENT_MAX_ATTEMPTS: int(4),
  TEMPORAL_DEV_PORT: int(7233),
  TEMPORAL_UI_PORT: int(8233),

  DATABASE_URL: optionalString,
  /** Schema that holds the tables; tests give each file its own. */
  DATABASE_SCHEMA: z.preprocess(emptyToUndefined, z.string().regex(/^[a-z_][a-z0-9_]*$/).default('public')),
  DATABASE_POOL_MAX: int(10),
  /** Port (on 127.0.0.1) of the embedded PostgreSQL server that `poet start` runs when DATABASE_URL is unset. */
  EMBEDDED_PG_PORT: int(54329),

  REDIS_URL: optionalString,
  /** Prefix of every Redis key and stream, so several deployments (or test files) can share one server. */
  REDIS_PREFIX: z.preprocess(emptyToUndefined, z.string().default('poet:')),
  EVENTS_STREAM_MAXLEN: int(10_000),

  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('data')),
  CACHE_L0_MAX_ENTRIES: int(1_000),
  /** 0 keeps cached enhancements until evicted. */
  CACHE_TTL_SECONDS: int(0),

  /** Seconds between flushes of each worker's per-layer hit/miss counts into the cache_stats table. */
  CACHE_STATS_FLUSH_SECONDS: int(5),
  CIRCUIT_REPORT_SECONDS: int(5),

  // Webhooks (issue 8): delivery policy and the SSRF guard.
  /** Lets webhooks target loopback, private and link-local addresses (tests, receivers on a private network). */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: flag(false),
  /** Bound on one delivery attempt's HTTP exchange. */
  WEBHOOK_TIMEOUT_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(100).default(10_000)),
  /** Attempts per delivery, and the exponential backoff (×2) between them, from the first interval up to the longest. */
  WEBHOOK_MAX_ATTEMPTS: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(12)),
  WEBHOOK_RETRY_INITIAL_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(10_000)),
  WEBHOOK_RETRY_MAX_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(3_600_000)),
  /** How often each worker starts the deliveries of events whose writer died before starting them (and how old they must be). */
  WEBHOOK_SWEEP_SECONDS: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(60)),

  // Artifact storage (issue 5): the filesystem under DATA_DIR, or an S3-compatible bucket that falls back to it.
  ARTIFACT_STORE: z.preprocess(emptyToUndefined, z.enum(['filesystem', 's3']).default('filesystem')),
  S3_BUCKET: optionalString,
  /** Key prefix inside the bucket, so several deployments can share one. */
  S3_PREFIX: z.preprocess(emptyToUndefined, z.string().default('')),
  S3_REGION: z.preprocess(emptyToUndefined, z.string().default('us-east-1')),
  /** Endpoint of an S3-compatible server (MinIO, versitygw, ...); unset: AWS. */
  S3_ENDPOINT: optionalString,
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: flag(false),
  /** Lifetime of the presigned download URLs in the versions API. */
  S3_PRESIGN_SECONDS: int(900),
  /** Bound on one S3 request; past it the version goes to the filesystem instead. */
  S3_REQUEST_TIMEOUT_MS: int(3_000),

  ENHANCE_WAIT_SECONDS: int(30),
  ENHANCE_MAX_WAIT_SECONDS: int(120),
  MAX_CODE_BYTES: int(64 * 1024),

  // Batches and live progress (issue 8).
  /** Child runs of one batch that run at once. */
  BATCH_CONCURRENCY: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(100).default(4)),
  /** How often GET /api/v1/runs/{id}/events asks a run for its progress. */
  RUN_EVENTS_POLL_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(50).default(500)),
  /** How often the SSE route sends a comment line on a quiet stream, so proxies do not close it as idle. */
  RUN_EVENTS_HEARTBEAT_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(50).default(15_000)),

  // Scheduled re-evaluation (issue 8): a Temporal Schedule starts reevaluateFunctions.
  /** Cron expression (UTC) of the schedule. */
  REEVALUATION_CRON: z.preprocess(emptyToUndefined, z.string().min(1).default('0 */6 * * *')),
  /** Each action starts up to this much later, at random, so many deployments do not hit the database at once. */
  REEVALUATION_JITTER: z.preprocess(emptyToUndefined, z.string().regex(/^\d+(ms|s|m|h)$/).default('5m')),
  /** Regenerations one re-evaluation runs at once. */
  REEVALUATION_CONCURRENCY: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(50).default(4)),
  /** Functions evaluated per page; each page is one workflow run (continue-as-new between pages). */
  REEVALUATION_PAGE_SIZE: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(500).default(50)),
  /** Unset: `reevaluate-<task queue>-<schema>`, so deployments sharing a namespace get one schedule each. */
  REEVALUATION_SCHEDULE_ID: optionalString,
  /** The worker creates or updates the schedule at start; false leaves that to `poet schedules apply`. */
  REEVALUATION_SCHEDULE_APPLY: flag(true),
  BODY_LIMIT_BYTES: int(256 * 1024),
  /** A client gets this long to send its request headers, and this long for the whole request: slow senders are cut off. */
  HTTP_HEADERS_TIMEOUT_MS: int(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000),
  /** How often the server sweeps connections for those timeouts (Node's default of 30 s lets slow senders linger). */
  HTTP_CONNECTIONS_CHECK_MS: int(1_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5_000),

  /** Workflow code bundled ahead of time (npm run build writes dist/workflow-bundle.js); unset: bundle at start. */
  WORKFLOW_BUNDLE_PATH: optionalString,
  WORKER_SHUTDOWN_GRACE_SECONDS: int(10),
  /** Payloads larger than this (bytes) go to the `payloads` table and histories keep a reference (claim check). */
  PAYLOAD_CLAIM_CHECK_BYTES: int(4096),
  /** Stored payloads no run wrote for this long are pruned: keep it at least the namespace's history retention. */
  PAYLOAD_RETENTION_DAYS: int(30),

  // Draining on SIGTERM (deployment, issue 9).
  /**
   * The API stops accepting at once, answers callers waiting on a run with 202 and its URL, and gives the other
   * in-flight requests this long before closing their connections. Keep it below the pod's termination grace period.
   */
  API_SHUTDOWN_GRACE_SECONDS: int(20),

  // --- Security (issue 6): authentication, partner JWTs, rate limits, CORS ---
  /**
   * api_keys: every /api and /v1 call needs a key (production requires it). disabled: every caller is the
   * `default` tenant's admin, the single-user laptop mode `poet start` uses when AUTH_MODE is unset.
   */
  AUTH_MODE: z.preprocess(emptyToUndefined, z.enum(['api_keys', 'disabled']).default('api_keys')),
  /** Browser origins allowed to call the API (comma-separated, exact match); empty: no cross-origin access. */
  CORS_ALLOWED_ORIGINS: z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v ?? []),
    z.array(z.string().url()),
  ),
  /** Express `trust proxy`: number of proxy hops whose X-Forwarded-For is believed (0: the socket address is the client). */
  TRUST_PROXY_HOPS: int(0),
  RATE_LIMIT_ENHANCE_PER_MINUTE: int(10),
  /** Enhance budget of a whole tenant, across all of its keys (a batch item counts as one enhance). */
  RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: int(60),
  RATE_LIMIT_KEY_PER_MINUTE: int(600),
  RATE_LIMIT_IP_PER_MINUTE: int(300),
  /** Partner endpoint POST /v1/aitomatic/enhance: RS256 JWTs checked against one of these two. */
  PARTNER_JWT_PUBLIC_KEY: optionalString,
  PARTNER_JWKS_URL: z.preprocess(emptyToUndefined, z.string().url().optional()),
  PARTNER_JWT_ISSUER: z.preprocess(emptyToUndefined, z.string().default('aitomatic')),
  PARTNER_JWT_AUDIENCE: z.preprocess(emptyToUndefined, z.string().default('poet-service')),
  /** Seconds: a partner token issued (`iat`) longer ago, or living longer from iat to exp, is refused. */
  PARTNER_JWT_MAX_AGE: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(3600)),
  /** Tenant that owns every function the partner endpoint enhances. */
  PARTNER_TENANT: z.preprocess(emptyToUndefined, z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).default('aitomatic')),
  /** Admins of this tenant also read audit entries no tenant could be attributed to (failed logins with unknown keys). */
  OPERATOR_TENANT: z.preprocess(emptyToUndefined, z.string().default('default')),

  // Observability (issue 7): worker HTTP server, Temporal runtime metrics, readiness thresholds, LangSmith.
  /** Port of the worker's own HTTP server (/health/live, /health/ready, /metrics); 0 picks a free one. */
  WORKER_HTTP_PORT: int(9464),
  /** Interface of the worker's HTTP server; unset: as for HOST. */
  WORKER_HTTP_HOST: optionalString,
  /** host:port where the Temporal runtime exports its Prometheus metrics; the worker's /metrics includes them. Unset: off. */
  TEMPORAL_METRICS_BIND_ADDRESS: optionalString,
  /** Readiness fails when DATA_DIR's filesystem has less free space than this. */
  HEALTH_DISK_MIN_FREE_MB: int(100),
  /** Readiness degrades when the V8 heap in use exceeds this share of its limit. */
  HEALTH_MAX_HEAP_RATIO: z.preprocess(emptyToUndefined, z.coerce.number().gt(0).max(1).default(0.9)),
  /** Set: every workflow is traced to LangSmith (a run tree per workflow, a child run per activity). Unset: no tracing. */
  LANGSMITH_API_KEY: optionalString,
  LANGSMITH_ENDPOINT: z.preprocess(emptyToUndefined, z.string().url().default('https://api.smith.langchain.com')),
  LANGSMITH_PROJECT: z.preprocess(emptyToUndefined, z.string().default('poet-service')),

  PYTHON_BIN: z.preprocess(emptyToUndefined, z.string().default('python3')),
  /** The only variable python3 children get (they run with an otherwise empty environment). */
  PATH: z.preprocess(emptyToUndefined, z.string().default('/usr/local/bin:/usr/bin:/bin')),
  VALIDATION_TIMEOUT_SECONDS: int(10),
  VALIDATION_MEMORY_MB: int(512),
  ANALYZER_TIMEOUT_MS: int(5_000),
  /** Python analyzer children working at once, and requests that may wait for one (more: 503 with Retry-After). */
  ANALYZER_POOL_SIZE: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(2)),
  ANALYZER_QUEUE_MAX: int(64),
  /** Set: validations run in children forked from one warm python3 per worker (one-shot when it fails). Unset: one python3 per validation. */
  SANDBOX_FORK_SERVER: flag(true),
  /**
   * `namespaces`: every validation runs under kernel isolation (python/isolation.py) and is refused when the kernel
   * will not give it. `none`: no isolation, for single-tenant trusted code only; the worker warns at every start.
   */
  SANDBOX_ISOLATION: z.preprocess(emptyToUndefined, z.enum(['namespaces', 'none']).default('namespaces')),
  /** Bytes one validation may write in all (its private /tmp), and the largest file. */
  SANDBOX_DISK_BYTES: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1 << 20).default(64 << 20)),

  // ---- LLM provider chain (issue 4); the offline template enhancer always follows these providers ----
  /** JSON list of ProviderSettings (src/contracts/generation.ts); unset or []: the template enhancer alone. */
  LLM_PROVIDERS: z.preprocess(emptyToUndefined, z.string().default('[]')),
  /** Consecutive failures that open a provider's circuit, and seconds before it lets one trial call through. */
  LLM_BREAKER_FAILURES: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(5)),
  LLM_BREAKER_HALF_OPEN_SECONDS: z.preprocess(emptyToUndefined, z.coerce.number().positive().default(60)),
  /** Rounds in which validation errors go back to the model before the next provider takes over. */
  LLM_MAX_REPAIRS: int(2),
  /** Attempts of one call on transient faults (429, 5xx, timeout), with exponential backoff and jitter from here. */
  LLM_MAX_ATTEMPTS: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(3)),
  LLM_RETRY_BASE_MS: int(1_000),
  LLM_RETRY_MAX_MS: int(30_000),
  /** Each tenant's LLM spend per UTC day, in US dollars; once reached, the template enhancer serves until midnight. Unset: no cap. */
  LLM_DAILY_BUDGET_USD: z.preprocess(emptyToUndefined, z.coerce.number().positive().optional()),
})
  .refine((c) => !(c.NODE_ENV === 'production' && c.AUTH_MODE === 'disabled'), {
    path: ['AUTH_MODE'],
    message: 'AUTH_MODE=disabled is refused when NODE_ENV=production',
  })
  .superRefine((c, ctx) => {
    if (c.AUTH_MODE !== 'disabled') return;
    // Without authentication every caller is admin: only this machine may be a caller.
    for (const key of ['HOST', 'WORKER_HTTP_HOST'] as const) {
      const host = c[key];
      if (host !== undefined && !isLoopback(host)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key}=${host} would expose an unauthenticated service (AUTH_MODE=disabled) to the network: use 127.0.0.1, ::1 or localhost, or set AUTH_MODE=api_keys`,
        });
      }
    }
  })
  .transform((c) => {
    // Containers run with authentication on and are reached through their network: all interfaces by default.
    const all = c.AUTH_MODE === 'disabled' ? '127.0.0.1' : '0.0.0.0';
    return { ...c, HOST: c.HOST ?? all, WORKER_HTTP_HOST: c.WORKER_HTTP_HOST ?? all };
  });

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A configured provider with its key read from the variable it names. */
export type ResolvedProvider = ProviderSettings & { api_key: string | undefined };

export type Config = z.infer<typeof ConfigSchema> & {
  /** Repository root (config lives one level below it in src/ and dist/ alike): python/ and migrations/ hang off it. */
  rootDir: string;
  pythonDir: string;
  migrationsDir: string;
  dataDir: string;
  llmProviders: ResolvedProvider[];
  /** REEVALUATION_SCHEDULE_ID, or the one derived from the task queue and schema. */
  reevaluationScheduleId: string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const rootDir = path.resolve(__dirname, '..');
  return {
    ...parsed.data,
    llmProviders: resolveProviders(parsed.data.LLM_PROVIDERS, env),
    rootDir,
    pythonDir: path.join(rootDir, 'python'),
    migrationsDir: path.join(rootDir, 'migrations'),
    dataDir: path.resolve(parsed.data.DATA_DIR),
    reevaluationScheduleId:
      parsed.data.REEVALUATION_SCHEDULE_ID ?? `reevaluate-${parsed.data.TEMPORAL_TASK_QUEUE}-${parsed.data.DATABASE_SCHEMA}`,
  };
}

/** Parses LLM_PROVIDERS and reads each key from the variable it names in the same environment. */
function resolveProviders(raw: string, env: Record<string, string | undefined>): ResolvedProvider[] {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  LLM_PROVIDERS: not JSON (${(err as Error).message})`);
  }
  const parsed = z.array(ProviderSettings).max(10).safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  LLM_PROVIDERS.${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const names = parsed.data.map((p) => p.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new ConfigError(`invalid configuration:\n  LLM_PROVIDERS: provider ${duplicate} is listed twice`);
  return parsed.data.map((provider) => {
    const key = provider.api_key_env ? env[provider.api_key_env] : undefined;
    if (provider.api_key_env && !key) {
      throw new ConfigError(`invalid configuration:\n  ${provider.api_key_env}: the key of LLM provider ${provider.name} is not set`);
    }
    return { ...provider, api_key: key };
  });
}
