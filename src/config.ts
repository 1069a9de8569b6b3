import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ProviderSettings } from './contracts/generation';
import { reevaluationScheduleId } from './definitions/workflow-ids';
import { type KeyRingSettings, parseKeyRing } from './infra/crypto/key-ring';

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const int = (fallback: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().nonnegative().default(fallback));
/** `true` or `false`, nothing else (a typo fails loudly instead of reading as false). */
const flag = (fallback: boolean) =>
  z
    .preprocess(emptyToUndefined, z.enum(['true', 'false']).default(String(fallback) as 'true' | 'false'))
    .transform((v) => v === 'true');

/**
 * Every setting of every process, read once from the environment.
 * Nothing else in the code base reads process.env: processes call loadConfig() in their composition root.
 * Each field's .describe() is the user-facing meaning: docs/configuration.md's table is generated from it
 * (npm run docs), so the text lives here once and the docs cannot drift from the code.
 */
export const ConfigFields = z.object({
  NODE_ENV: z
    .preprocess(emptyToUndefined, z.enum(['development', 'test', 'production']).default('development'))
    .describe('`development`, `test` or `production`; production refuses `AUTH_MODE=disabled`'),
  /** Interface the API listens on. Unset: all interfaces, or loopback only while AUTH_MODE=disabled. */
  HOST: optionalString.describe(
    'API listen interface; unset: `0.0.0.0`, or `127.0.0.1` while `AUTH_MODE=disabled`, which accepts only a loopback `HOST` (the API refuses to start otherwise)',
  ),
  PORT: int(8080).describe('API listen port'),
  LOG_LEVEL: z
    .preprocess(emptyToUndefined, z.enum(['error', 'warn', 'info', 'http', 'debug']).default('info'))
    .describe('`error`, `warn`, `info`, `http`, `debug`; logs are JSON lines'),

  TEMPORAL_ADDRESS: optionalString.describe('Temporal frontend `host:port`; unset: `npm start` runs a dev server'),
  TEMPORAL_NAMESPACE: z.preprocess(emptyToUndefined, z.string().default('default')).describe('namespace'),
  /** Temporal Cloud or a TLS cluster: an API key, or a client certificate and key (PEM files); either turns TLS on. */
  TEMPORAL_API_KEY: optionalString.describe('Temporal Cloud API key (turns TLS on)'),
  TEMPORAL_TLS_CERT_PATH: optionalString.describe(
    'mTLS client certificate, a PEM file (turns TLS on, with `TEMPORAL_TLS_KEY_PATH`)',
  ),
  TEMPORAL_TLS_KEY_PATH: optionalString.describe(
    'mTLS client key, a PEM file (turns TLS on, with `TEMPORAL_TLS_CERT_PATH`)',
  ),
  TEMPORAL_TASK_QUEUE: z
    .preprocess(emptyToUndefined, z.string().default('poet-enhance'))
    .describe('task queue of the worker'),
  /** Worker Versioning: workers of one deployment name, each version a build id; the deployment's current version gets new runs. */
  TEMPORAL_DEPLOYMENT_NAME: optionalString.describe(
    'worker deployment the worker belongs to (Worker Versioning); unset: an unversioned worker. `npm start` sets `poet` and makes each new build current',
  ),
  TEMPORAL_BUILD_ID: optionalString.describe(
    "build id of the worker's deployment version; unset: `<package version>-<first 12 hex of the workflow bundle's SHA-256>`, so changed workflow code is a new version",
  ),
  TEMPORAL_UI_URL: optionalString.describe(
    'base URL of the Temporal UI; the runs list and the dashboard link each run there (unset: no link)',
  ),
  TEMPORAL_CLI_PATH: optionalString.describe('an existing `temporal` binary to use'),
  /** Attempts of one API call to Temporal before the API answers 503 (the SDK's default of 10 holds a caller ~20 s). */
  TEMPORAL_CLIENT_MAX_ATTEMPTS: int(4).describe(
    'attempts of one API call to Temporal before answering 503 (about a second)',
  ),
  TEMPORAL_DEV_PORT: int(7233).describe('port of the dev server `npm start` runs'),
  TEMPORAL_UI_PORT: int(8233).describe("port of the dev server's Temporal UI under `npm start`"),
  /**
   * V8 old-space limits of the worker and the API that `poet start` spawns, as a pod's memory limit would impose
   * (deploy/ sets the same through NODE_OPTIONS). Without one, V8 sizes the heap from the machine's memory and the
   * processes grow into headroom they never use. A `--max-old-space-size` in the user's NODE_OPTIONS wins.
   */
  WORKER_MAX_HEAP_MB: int(384).describe(
    "V8 old-space limit (MiB) of the worker `npm start` runs (`--max-old-space-size`; a value in your `NODE_OPTIONS` wins); 0: V8's default, sized from the machine's memory",
  ),
  API_MAX_HEAP_MB: int(256).describe(
    'V8 old-space limit (MiB) of the API `npm start` runs, as for `WORKER_MAX_HEAP_MB`',
  ),
  /** scripts/cluster.sh runs two, as production scales workers out; each listens on its own port. */
  WORKER_PROCESSES: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(1).default(1))
    .describe(
      'worker processes `npm start` runs; the n-th (from 0) serves its HTTP on `WORKER_HTTP_PORT` + n (0: each a free one)',
    ),

  DATABASE_URL: optionalString.describe(
    'PostgreSQL; unset: `npm start` runs an embedded PostgreSQL server (cluster in `DATA_DIR/postgres`)',
  ),
  /** Schema that holds the tables; tests give each file its own. */
  DATABASE_SCHEMA: z
    .preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^[a-z_][a-z0-9_]*$/)
        .default('public'),
    )
    .describe('schema of the tables (migrations create it)'),
  DATABASE_POOL_MAX: int(10).describe('connections per process'),
  /** Port (on 127.0.0.1) of the embedded PostgreSQL server that `poet start` runs when DATABASE_URL is unset. */
  EMBEDDED_PG_PORT: int(54329).describe(
    'port (127.0.0.1) of the embedded PostgreSQL server; `poet keys create` looks there when `DATABASE_URL` is unset',
  ),

  REDIS_URL: optionalString.describe(
    'Redis for the L1 cache and the `poet:events` stream; unset: in-process cache only',
  ),
  /** Prefix of every Redis key and stream, so several deployments (or test files) can share one server. */
  REDIS_PREFIX: z
    .preprocess(emptyToUndefined, z.string().default('poet:'))
    .describe('prefix of every key and of the stream name'),
  EVENTS_STREAM_MAXLEN: int(10_000).describe('approximate cap of the stream'),

  DATA_DIR: z
    .preprocess(emptyToUndefined, z.string().default('data'))
    .describe("artifacts (and, under `npm start`, the dev server's and the embedded PostgreSQL's files)"),
  CACHE_L0_MAX_ENTRIES: int(1_000).describe('in-process LRU size'),
  /** 0 keeps cached enhancements until evicted. */
  CACHE_TTL_SECONDS: int(0).describe('0: cached enhancements stay until evicted'),

  /** Seconds between flushes of each worker's per-layer hit/miss counts into the cache_stats table. */
  CACHE_STATS_FLUSH_SECONDS: int(5).describe('how often each worker adds its cache counts to `cache_stats`'),
  CIRCUIT_REPORT_SECONDS: int(5).describe(
    "how often each worker writes its LLM circuit states to `circuit_states`; the API's readiness and the dashboard show the worst state any worker reported within three periods",
  ),

  // Webhooks: delivery policy and the SSRF guard.
  /** Lets webhooks target loopback, private and link-local addresses (tests, receivers on a private network). */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: flag(false).describe(
    '`true` lets webhooks reach loopback, private and link-local addresses (tests, receivers on a private network)',
  ),
  /** Bound on one delivery attempt's HTTP exchange. */
  WEBHOOK_TIMEOUT_MS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(100).default(10_000))
    .describe('bound on one delivery attempt'),
  /** Attempts per delivery, and the exponential backoff (×2) between them, from the first interval up to the longest. */
  WEBHOOK_MAX_ATTEMPTS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(12))
    .describe('attempts per delivery'),
  WEBHOOK_RETRY_INITIAL_MS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(10_000))
    .describe('first interval of the exponential backoff (×2) between delivery attempts'),
  WEBHOOK_RETRY_MAX_MS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(3_600_000))
    .describe('longest interval of the backoff between delivery attempts'),
  /** How often each worker starts the deliveries of events whose writer died before starting them (and how old they must be). */
  WEBHOOK_SWEEP_SECONDS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(60))
    .describe('how often each worker starts deliveries left unstarted (by a writer that died), once they are this old'),

  // Artifact storage: the filesystem under DATA_DIR, or an S3-compatible bucket that falls back to it.
  ARTIFACT_STORE: z
    .preprocess(emptyToUndefined, z.enum(['filesystem', 's3']).default('filesystem'))
    .describe('`filesystem` or `s3` (with the filesystem as fallback)'),
  S3_BUCKET: optionalString.describe('bucket of the artifacts'),
  /** Key prefix inside the bucket, so several deployments can share one. */
  S3_PREFIX: z
    .preprocess(emptyToUndefined, z.string().default(''))
    .describe('key prefix of the artifacts, so several deployments can share one bucket'),
  S3_REGION: z.preprocess(emptyToUndefined, z.string().default('us-east-1')).describe('region of the bucket'),
  /** Endpoint of an S3-compatible server (MinIO, versitygw, ...); unset: AWS. */
  S3_ENDPOINT: optionalString.describe('an S3-compatible server (MinIO, versitygw, ...); unset: AWS'),
  S3_ACCESS_KEY_ID: optionalString.describe("credentials; unset: the SDK's default chain"),
  S3_SECRET_ACCESS_KEY: optionalString.describe("credentials; unset: the SDK's default chain"),
  S3_FORCE_PATH_STYLE: flag(false).describe('path-style URLs, as most S3-compatible servers need'),
  /** Lifetime of the presigned download URLs in the versions API. */
  S3_PRESIGN_SECONDS: int(900).describe('lifetime of the presigned download URLs'),
  S3_SSE_KMS_KEY_ID: optionalString.describe(
    "KMS key (id or ARN) every artifact object is written under (SSE-KMS); unset: the bucket's default encryption. an S3-compatible server without KMS either ignores it (versitygw) or refuses the write, and the version then goes to the filesystem fallback",
  ),
  ARTIFACT_ENCRYPTION: flag(false).describe(
    'encrypt every artifact file (filesystem and S3) with the key ring (`ENCRYPTION_KEYS`); the API and `poet versions get` decrypt. off: filesystem artifacts stay plaintext so a version folder runs as it is (use disk encryption), S3 objects get server-side encryption only',
  ),
  /** Bound on one S3 request; past it the version goes to the filesystem instead. */
  S3_REQUEST_TIMEOUT_MS: int(3_000).describe('bound on one S3 request before falling back to the filesystem'),

  ENHANCE_WAIT_SECONDS: int(30).describe('default wait budget before a 202'),
  ENHANCE_MAX_WAIT_SECONDS: int(120).describe('largest `?wait=` accepted'),
  MAX_CODE_BYTES: int(64 * 1024).describe('largest `original_code`'),

  // Batches and live progress.
  /** Child runs of one batch that run at once. */
  BATCH_CONCURRENCY: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(100).default(4))
    .describe('child runs of one batch at once (1 to 100)'),
  /** How often GET /api/v1/runs/{id}/events asks a run for its progress. */
  RUN_EVENTS_POLL_MS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(50).default(500))
    .describe('how often the SSE route asks a run for its progress (at least 50)'),
  /** How often the SSE route sends a comment line on a quiet stream, so proxies do not close it as idle. */
  RUN_EVENTS_HEARTBEAT_MS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(50).default(15_000))
    .describe('how often the SSE route sends a `: ping` comment, so proxies keep the stream open (at least 50)'),

  // Scheduled re-evaluation: a Temporal Schedule starts reevaluateFunctions.
  /** Cron expression (UTC) of the schedule. */
  REEVALUATION_CRON: z
    .preprocess(emptyToUndefined, z.string().min(1).default('0 */6 * * *'))
    .describe('when the re-evaluation schedule fires (cron, UTC)'),
  /** Each action starts up to this much later, at random, so many deployments do not hit the database at once. */
  REEVALUATION_JITTER: z
    .preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^\d+(ms|s|m|h)$/)
        .default('5m'),
    )
    .describe('random delay of up to this much per action (`<n>ms|s|m|h`)'),
  /** Regenerations one re-evaluation runs at once. */
  REEVALUATION_CONCURRENCY: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(50).default(4))
    .describe('regenerations one re-evaluation runs at once (1 to 50)'),
  /** Functions evaluated per page; each page is one workflow run (continue-as-new between pages). */
  REEVALUATION_PAGE_SIZE: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(500).default(50))
    .describe('functions per page (one workflow run each; 1 to 500)'),
  /** Unset: `reevaluate-<task queue>-<schema>`, so deployments sharing a namespace get one schedule each. */
  REEVALUATION_SCHEDULE_ID: optionalString.describe('id of the schedule; unset: `reevaluate-<task queue>-<schema>`'),
  /** The worker creates or updates the schedule at start; false leaves that to `poet schedules apply`. */
  REEVALUATION_SCHEDULE_APPLY: flag(true).describe('the worker creates or updates the schedule at start'),
  BODY_LIMIT_BYTES: int(256 * 1024).describe('largest request body'),
  TENANT_IMPORT_MAX_BYTES: int(256 * 1024 * 1024).describe(
    'largest tenant export `POST /api/v1/tenant/import` reads (NDJSON, streamed)',
  ),
  /** A client gets this long to send its request headers, and this long for the whole request: slow senders are cut off. */
  HTTP_HEADERS_TIMEOUT_MS: int(10_000).describe('time a client gets to send its request headers'),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000).describe('time a client gets to send its whole request'),
  /** How often the server sweeps connections for those timeouts (Node's default of 30 s lets slow senders linger). */
  HTTP_CONNECTIONS_CHECK_MS: int(1_000).describe('how often the API sweeps connections for those two timeouts'),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5_000).describe('how long an idle keep-alive connection stays open'),

  /** Workflow code bundled ahead of time (npm run build writes dist/workflow-bundle.js); unset: bundle at start. */
  WORKFLOW_BUNDLE_PATH: optionalString.describe(
    'prebuilt workflow bundle (`npm run build` writes it); unset: `dist/workflow-bundle.js`; absent: bundled at worker start',
  ),
  WORKER_SHUTDOWN_GRACE_SECONDS: int(10).describe('time in-flight activities get on SIGTERM'),
  /** Payloads larger than this (bytes) go to the `payloads` table and histories keep a reference (claim check). */
  PAYLOAD_CLAIM_CHECK_BYTES: int(4096).describe(
    'Temporal payloads larger than this go to the `payloads` table; the history keeps a reference',
  ),
  /** Stored payloads no run wrote for this long are pruned: keep it at least the namespace's history retention. */
  PAYLOAD_RETENTION_DAYS: int(30).describe(
    "stored payloads no run wrote for this long are pruned; at least the namespace's history retention",
  ),
  /** Field outcome rows (per version and minute) older than this are pruned: rollouts judge recent minutes only. */
  OUTCOME_RETENTION_DAYS: int(90).describe(
    'field outcome reports older than this many days are pruned (per-minute rows of `outcome_buckets`)',
  ),

  // Draining on SIGTERM (deployment).
  /**
   * The API stops accepting at once, answers callers waiting on a run with 202 and its URL, and gives the other
   * in-flight requests this long before closing their connections. Keep it below the pod's termination grace period.
   */
  API_SHUTDOWN_GRACE_SECONDS: int(20).describe(
    'time in-flight requests get on SIGTERM before their connections are closed',
  ),

  // --- Security: authentication, partner JWTs, rate limits, CORS ---
  /**
   * api_keys: every /api and /v1 call needs a key (production requires it). disabled: every caller is the
   * `default` tenant's admin, the single-user laptop mode `poet start` uses when AUTH_MODE is unset.
   */
  AUTH_MODE: z
    .preprocess(emptyToUndefined, z.enum(['api_keys', 'disabled']).default('api_keys'))
    .describe(
      "`api_keys` or `disabled` (every caller is the default tenant's admin; refused in production; `poet start` uses it when unset)",
    ),
  /** Browser origins allowed to call the API (comma-separated, exact match); empty: no cross-origin access. */
  CORS_ALLOWED_ORIGINS: z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : (v ?? []),
      z.array(z.string().url()),
    )
    .describe('comma-separated browser origins allowed to call the API'),
  /** Express `trust proxy`: number of proxy hops whose X-Forwarded-For is believed (0: the socket address is the client). */
  TRUST_PROXY_HOPS: int(0).describe(
    'proxies in front of the API whose `X-Forwarded-For` is believed (per-IP limits, audit IPs)',
  ),
  RATE_LIMIT_ENHANCE_PER_MINUTE: int(10).describe('enhance budget per minute of one key; 0 turns it off'),
  /** Enhance budget of a whole tenant, across all of its keys (a batch item counts as one enhance). */
  RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: int(60).describe(
    'enhance budget per minute of a whole tenant, across all of its keys; each batch item counts as one enhance; 0 turns it off',
  ),
  RATE_LIMIT_TENANT_REPORTS_PER_MINUTE: int(120_000).describe(
    'outcome reports a whole tenant may send per minute (POST /api/v1/outcomes counts each report); 0 turns it off',
  ),
  RATE_LIMIT_KEY_PER_MINUTE: int(600).describe('budget per minute of one key on every route; 0 turns it off'),
  RATE_LIMIT_IP_PER_MINUTE: int(300).describe(
    'budget per minute of one client IP, before authentication; 0 turns it off',
  ),
  /** Partner endpoint POST /v1/aitomatic/enhance: RS256 JWTs checked against one of these two. */
  PARTNER_JWT_PUBLIC_KEY: optionalString.describe(
    "the partner's RS256 public key (PEM, `\\n` escapes accepted); neither it nor `PARTNER_JWKS_URL`: the partner endpoint refuses every call",
  ),
  PARTNER_JWKS_URL: z
    .preprocess(emptyToUndefined, z.string().url().optional())
    .describe("the partner's JWKS URL, instead of `PARTNER_JWT_PUBLIC_KEY`"),
  PARTNER_JWT_ISSUER: z
    .preprocess(emptyToUndefined, z.string().default('aitomatic'))
    .describe('required `iss` of partner tokens'),
  PARTNER_JWT_AUDIENCE: z
    .preprocess(emptyToUndefined, z.string().default('poet-service'))
    .describe('required `aud` of partner tokens'),
  /** Seconds: a partner token issued (`iat`) longer ago, or living longer from iat to exp, is refused. */
  PARTNER_JWT_MAX_AGE: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(3600))
    .describe(
      'seconds: partner tokens must carry `iat`; one issued longer ago, or living longer from `iat` to `exp`, is refused; a `jti` is accepted once',
    ),
  /** Tenant that owns every function the partner endpoint enhances. */
  PARTNER_TENANT: z
    .preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
        .default('aitomatic'),
    )
    .describe('tenant that owns what the partner enhances'),
  /** Admins of this tenant also read audit entries no tenant could be attributed to (failed logins with unknown keys). */
  OPERATOR_TENANT: z
    .preprocess(emptyToUndefined, z.string().default('default'))
    .describe(
      "its admins also read audit entries of unknown keys and decode every tenant's payloads (codec endpoint); its operators alone use the schedules routes",
    ),

  // Encryption of customers' code: Temporal payloads (and through them the payload store), SECURITY.md.
  ENCRYPTION_KEYS: optionalString.describe(
    'key ring of the payload codec: `<id>:<base64 of 32 random bytes>`, comma-separated; several keys decrypt, the active one encrypts. Unset: payloads are not encrypted (`npm start` writes `DATA_DIR/encryption-keys` on first start and uses it). Every process that talks to Temporal needs the same ring',
  ),
  ENCRYPTION_ACTIVE_KEY: z
    .preprocess(emptyToUndefined, z.string().optional())
    .describe('id of the key that encrypts; required when `ENCRYPTION_KEYS` holds several, unset: the only one'),

  // Observability: worker HTTP server, Temporal runtime metrics, readiness thresholds, LangSmith.
  /** Port of the worker's own HTTP server (/health/live, /health/ready, /metrics); 0 picks a free one. */
  WORKER_HTTP_PORT: int(9464).describe(
    "port of the worker's own `/health/live`, `/health/ready`, `/metrics`; 0 picks a free one",
  ),
  /** Interface of the worker's HTTP server; unset: as for HOST. */
  WORKER_HTTP_HOST: optionalString.describe(
    "interface of the worker's HTTP server; unset: `0.0.0.0`, or `127.0.0.1` while `AUTH_MODE=disabled` (loopback only then, as `HOST`)",
  ),
  /** host:port where the Temporal runtime exports its Prometheus metrics; the worker's /metrics includes them. Unset: off. */
  TEMPORAL_METRICS_BIND_ADDRESS: optionalString.describe(
    "`host:port` of the Temporal runtime's Prometheus exporter in the worker; its metrics are appended to the worker's `/metrics`",
  ),
  /** Readiness fails when DATA_DIR's filesystem has less free space than this. */
  HEALTH_DISK_MIN_FREE_MB: int(100).describe("readiness fails below this much free space on DATA_DIR's filesystem"),
  /** Readiness degrades when the V8 heap in use exceeds this share of its limit. */
  HEALTH_MAX_HEAP_RATIO: z
    .preprocess(emptyToUndefined, z.coerce.number().gt(0).max(1).default(0.9))
    .describe('readiness degrades above this share of the V8 heap limit'),
  /** Set: every workflow is traced to LangSmith (a run tree per workflow, a child run per activity). Unset: no tracing. */
  LANGSMITH_API_KEY: optionalString.describe(
    'set: LangSmith tracing (a run tree per workflow, a run per activity); unset: none',
  ),
  LANGSMITH_ENDPOINT: z
    .preprocess(emptyToUndefined, z.string().url().default('https://api.smith.langchain.com'))
    .describe('where traces go'),
  LANGSMITH_PROJECT: z
    .preprocess(emptyToUndefined, z.string().default('poet-service'))
    .describe('LangSmith project of the traces'),

  PYTHON_BIN: z
    .preprocess(emptyToUndefined, z.string().default('python3'))
    .describe('interpreter of the parser and the sandbox'),
  /** The only variable python3 children get (they run with an otherwise empty environment). */
  PATH: z
    .preprocess(emptyToUndefined, z.string().default('/usr/local/bin:/usr/bin:/bin'))
    .describe('the only variable the python3 children get'),
  VALIDATION_TIMEOUT_SECONDS: int(10).describe('sandbox wall clock per validation'),
  VALIDATION_MEMORY_MB: int(512).describe('sandbox address-space limit'),
  /** Seconds of a validation spent on evidence beyond the samples (doctests, generated inputs); within its wall clock. */
  VALIDATION_EVIDENCE_BUDGET_SECONDS: z
    .preprocess(emptyToUndefined, z.coerce.number().min(0).max(600).default(2))
    .describe(
      "seconds one validation spends on doctests and generated inputs together (fractions allowed), within `VALIDATION_TIMEOUT_SECONDS` less 1 s; fewer than 100 agreeing inputs in it rate `medium`; a request's `evidence_budget_s` overrides it; `0`: samples and feedback examples only",
    ),
  ANALYZER_TIMEOUT_MS: int(5_000).describe(
    "per-request limit of the python3 parser, counting only the request's own parsing (422 `analysis_timeout`)",
  ),
  /** Python analyzer children working at once, and requests that may wait for one (more: 503 with Retry-After). */
  ANALYZER_POOL_SIZE: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(2))
    .describe('python3 parser children working at once (one request each)'),
  // A burst of 100–500 distinct enhancements is the scale target; at most 512 × MAX_CODE_BYTES (32 MiB) waits.
  ANALYZER_QUEUE_MAX: int(512).describe('requests that may wait for a parser child; past it: 503 + `Retry-After`'),
  ANALYZER_CACHE_MB: z
    .preprocess(emptyToUndefined, z.coerce.number().int().min(0).default(8))
    .describe(
      "MiB of parses kept by the code's SHA-256 in each process, so a repeated request is not parsed again; `0`: none",
    ),
  /** Set: validations run in children forked from one warm python3 per worker (one-shot when it fails). Unset: one python3 per validation. */
  SANDBOX_FORK_SERVER: flag(true).describe(
    'validations run in children forked from one warm python3 per worker (falls back to one-shot when it fails); `false`: one python3 per validation',
  ),
  /**
   * `namespaces`: every validation runs under kernel isolation (python/isolation.py) and is refused when the kernel
   * will not give it. `none`: no isolation, for single-tenant trusted code only; the worker warns at every start.
   */
  SANDBOX_ISOLATION: z
    .preprocess(emptyToUndefined, z.enum(['namespaces', 'none']).default('namespaces'))
    .describe(
      'every validation under kernel isolation (own user, mount, PID, network namespaces, no capabilities, seccomp; SECURITY.md); refused with `sandbox_unavailable` when the kernel will not give it. `none`: no isolation, for trusted single-tenant code only (loud warning at every start)',
    ),
  /** Bytes one validation may write in all (its private /tmp), and the largest file. */
  SANDBOX_DISK_BYTES: z
    .preprocess(
      emptyToUndefined,
      z.coerce
        .number()
        .int()
        .min(1 << 20)
        .default(64 << 20),
    )
    .describe('what one validation may write in all (its private `/tmp`), and its largest file'),

  // ---- LLM provider chain; the offline template enhancer always follows these providers ----
  /** JSON list of ProviderSettings (src/contracts/generation.ts); unset or []: the template enhancer alone. */
  LLM_PROVIDERS: z
    .preprocess(emptyToUndefined, z.string().default('[]'))
    .describe(
      'JSON list of `{name, base_url, model, api_key_env?, price_in_per_1k, price_out_per_1k, timeout_ms, max_tokens}`; the key is read from the variable `api_key_env` names',
    ),
  /** Consecutive failures that open a provider's circuit, and seconds before it lets one trial call through. */
  LLM_BREAKER_FAILURES: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(5))
    .describe("consecutive failures that open a provider's circuit"),
  LLM_BREAKER_HALF_OPEN_SECONDS: z
    .preprocess(emptyToUndefined, z.coerce.number().positive().default(60))
    .describe('wait before an open circuit lets a trial call through'),
  /** Rounds in which validation errors go back to the model before the next provider takes over. */
  LLM_MAX_REPAIRS: int(2).describe('rounds in which validation errors go back to the model'),
  /** Attempts of one call on transient faults (429, 5xx, timeout), with exponential backoff and jitter from here. */
  LLM_MAX_ATTEMPTS: z
    .preprocess(emptyToUndefined, z.coerce.number().int().positive().default(3))
    .describe('attempts per call on 429/5xx/timeout'),
  LLM_RETRY_BASE_MS: int(1_000).describe('first delay of the jittered exponential backoff between attempts'),
  LLM_RETRY_MAX_MS: int(30_000).describe('longest delay of that backoff'),
  /** Each tenant's LLM spend per UTC day, in US dollars; once reached, the template enhancer serves until midnight. Unset: no cap. */
  LLM_DAILY_BUDGET_USD: z
    .preprocess(emptyToUndefined, z.coerce.number().positive().optional())
    .describe(
      "each tenant's LLM spend per UTC day in dollars (from the `costs` table); once reached, its runs skip the providers (`over_budget` in `metadata.attempts`, no call, no cost) and the template enhancer serves until midnight UTC. Checked before each call, so calls already in flight may pass it by their own cost; unset: no cap",
    ),
});

export const ConfigSchema = ConfigFields.refine((c) => !(c.NODE_ENV === 'production' && c.AUTH_MODE === 'disabled'), {
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
  /** The payload codec's key ring; undefined: payloads are not encrypted. */
  encryption: KeyRingSettings | undefined;
  /** REEVALUATION_SCHEDULE_ID, or the one derived from the task queue and schema. */
  reevaluationScheduleId: string;
  /** WORKFLOW_BUNDLE_PATH, or where `npm run build` writes the bundle. */
  workflowBundlePath: string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Settings that hold secrets. Each also accepts `<NAME>_FILE`, the path of a file holding the value (Kubernetes and
 * Docker secrets are mounted as files), so the secret need not sit in the environment. LLM providers' key variables
 * (`api_key_env`) accept the same.
 */
export const SECRET_SETTINGS = [
  'DATABASE_URL',
  'REDIS_URL',
  'S3_SECRET_ACCESS_KEY',
  'TEMPORAL_API_KEY',
  'PARTNER_JWT_PUBLIC_KEY',
  'LANGSMITH_API_KEY',
  'ENCRYPTION_KEYS',
] as const;

/** `name`'s value, from the environment or from the file `<name>_FILE` names (one trailing newline dropped). */
function secretValue(env: Record<string, string | undefined>, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (!file) return env[name];
  if (env[name]) throw new ConfigError(`invalid configuration:\n  ${name}: set both ${name} and ${name}_FILE; set one`);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    // The path and the reason, never any content.
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`invalid configuration:\n  ${name}_FILE: cannot read ${file} (${reason})`);
  }
}

/** The environment with every secret setting read from its `_FILE` where one is given. */
function withSecretFiles(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const resolved = { ...env };
  for (const name of SECRET_SETTINGS) resolved[name] = secretValue(env, name);
  return resolved;
}

export function loadConfig(given: Record<string, string | undefined> = process.env): Config {
  const env = withSecretFiles(given);
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const rootDir = path.resolve(__dirname, '..');
  return {
    ...parsed.data,
    llmProviders: resolveProviders(parsed.data.LLM_PROVIDERS, env),
    encryption: resolveKeyRing(parsed.data.ENCRYPTION_KEYS, parsed.data.ENCRYPTION_ACTIVE_KEY, parsed.data),
    rootDir,
    pythonDir: path.join(rootDir, 'python'),
    migrationsDir: path.join(rootDir, 'migrations'),
    dataDir: path.resolve(parsed.data.DATA_DIR),
    workflowBundlePath: path.resolve(
      parsed.data.WORKFLOW_BUNDLE_PATH ?? path.join(rootDir, 'dist', 'workflow-bundle.js'),
    ),
    reevaluationScheduleId:
      parsed.data.REEVALUATION_SCHEDULE_ID ??
      reevaluationScheduleId(parsed.data.TEMPORAL_TASK_QUEUE, parsed.data.DATABASE_SCHEMA),
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
  if (duplicate)
    throw new ConfigError(`invalid configuration:\n  LLM_PROVIDERS: provider ${duplicate} is listed twice`);
  return parsed.data.map((provider) => {
    const key = provider.api_key_env ? secretValue(env, provider.api_key_env) : undefined;
    if (provider.api_key_env && !key) {
      throw new ConfigError(
        `invalid configuration:\n  ${provider.api_key_env}: the key of LLM provider ${provider.name} is not set`,
      );
    }
    return { ...provider, api_key: key };
  });
}

function resolveKeyRing(
  raw: string | undefined,
  active: string | undefined,
  { ARTIFACT_ENCRYPTION }: { ARTIFACT_ENCRYPTION: boolean },
): KeyRingSettings | undefined {
  if (raw === undefined) {
    if (active !== undefined)
      throw new ConfigError('invalid configuration:\n  ENCRYPTION_ACTIVE_KEY: set without ENCRYPTION_KEYS');
    if (ARTIFACT_ENCRYPTION)
      throw new ConfigError(
        'invalid configuration:\n  ARTIFACT_ENCRYPTION: set without ENCRYPTION_KEYS (the key ring)',
      );
    return undefined;
  }
  try {
    return parseKeyRing(raw, active);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  ENCRYPTION_KEYS: ${(err as Error).message}`);
  }
}
