import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { DomainName, EnhanceRequest, EnhanceResult, JsonValue } from '../contracts/enhance';
import { ErrorBody } from '../contracts/errors';
import { LiveBody, ReadinessBody } from '../contracts/health';
import { EnhanceAccepted, RunStatusBody } from '../contracts/http';
import { CostsBody, CostsQuery, RunListBody, RunListQuery } from '../contracts/dashboard';
import { BatchAccepted, BatchRequest, CancelAccepted } from '../contracts/progress';
import { StatsBody, StatsQuery } from '../contracts/stats';
import { CodecRequest } from '../contracts/codec';
import { EventsQuery } from '../contracts/events';
import { ActivateResult, FeedbackRequest } from '../contracts/feedback';
import { ScheduleActionAnswer, ScheduleList, ScheduleNoteBody } from '../contracts/reevaluation';
import {
  CacheInvalidated,
  CacheStats,
  EventsPage,
  FeedbackAnswer,
  FunctionDetail,
  FunctionList,
  VersionDetail,
  VersionDiff,
  VersionList,
} from '../contracts/versions';
import { ApiKeyView, AuditEntry, AuditQuery, CreateApiKeyRequest, PartnerEnhanceRequest } from '../contracts/security';
import { CreateWebhookRequest, DeliveriesPage, DeliveriesQuery, WebhookCreated, WebhookTestResult, WebhookView } from '../contracts/webhooks';
import { DomainSettings } from '../poet/domains';
import { ROUTE_RULES } from './route-roles';

/**
 * The OpenAPI 3.1 document, generated from the zod contracts the routes validate with.
 * To document a route: put its schemas in src/contracts/ and add its operation to `paths` below.
 * test/api/openapi.test.ts fails when Express serves a route this table does not list.
 */

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const text = (mediaType: string, description: string) => ({ description, content: { [mediaType]: { schema: z.string() } } });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: `invalid_request` (with the offending paths), `invalid_json`, `unknown_domain`',
  401: 'Missing or invalid credentials',
  403: 'The caller lacks the role this action needs',
  404: 'No such resource',
  413: 'Body or code over its size limit (`payload_too_large`)',
  422: 'Understood but not processable (`invalid_python`, `function_not_found`, `validation_failed`, `dependency_unavailable`)',
  429: 'Rate limited; retry after `Retry-After` seconds',
  500: 'Internal error (never with details)',
  502: 'The enhancement run failed (`enhancement_failed`)',
  503: 'A dependency is unreachable (`service_unavailable`; `database_unavailable` naming the database fault class in `fault`), with `Retry-After`, or no worker can isolate the validation (`sandbox_unavailable`)',
};

/** The error body for each status, as every route answers errors in one shape. */
export function errors(...statuses: number[]): ZodOpenApiResponsesObject {
  return Object.fromEntries(statuses.map((status) => [String(status), json(ErrorBody, ERROR_DESCRIPTIONS[status] ?? 'Error')]));
}

const REQUEST_ID = z.string().meta({ description: 'Correlation id: taken from the request when plain (≤128 of `A-Za-z0-9._:-`), else generated.' });

/** Every operation answers with `X-Request-Id` and may answer 500 and 503. */
function operation(op: ZodOpenApiOperationObject): ZodOpenApiOperationObject {
  const responses = Object.fromEntries(
    Object.entries({ ...errors(500), ...op.responses }).map(([status, response]) => [
      status,
      { ...response, headers: { 'X-Request-Id': { schema: REQUEST_ID } } },
    ]),
  );
  return {
    ...op,
    requestParams: {
      ...op.requestParams,
      header: ((op.requestParams?.header as z.ZodObject | undefined) ?? z.object({})).extend({ 'x-request-id': REQUEST_ID.optional() }),
    },
    responses,
  };
}

const fnName = { path: z.object({ name: z.string() }) };

/** A domain as GET /api/v1/domains answers it: its settings, and whether it is built in or the tenant's own. */
const DomainView = DomainSettings.extend({ builtin: z.boolean() }).meta({ id: 'Domain' });
const domainName = { path: z.object({ name: DomainName }) };
const noContent = (description: string) => ({ description });
const webhookId = { path: z.object({ id: z.string() }) };

/** 200 of POST /v1/aitomatic/enhance: the enhanced Python and Dana with the partner's ids echoed. */
const PartnerEnhanceResult = z.object({
  transpilation_id: z.string(),
  agent_id: z.string(),
  function_name: z.string(),
  enhanced_dana: z.string(),
  enhanced_python: z.string(),
  version: z.number().int().positive(),
  metadata: EnhanceResult.shape.metadata,
  run: EnhanceResult.shape.run,
});

/** The enhance operation, shared by its two paths (the API's and the external alias). */
const enhanceOperation = operation({
  tags: ['enhance'],
  summary: 'Enhance a Python function with POET (Perceive, Operate, Enforce, Train)',
  requestParams: {
    query: z.object({ wait: z.string().optional().meta({ description: 'Seconds to wait for the result before answering 202' }) }),
    header: z.object({ prefer: z.string().optional().meta({ description: '`respond-async`: answer 202 at once' }) }),
  },
  requestBody: { content: { 'application/json': { schema: EnhanceRequest } } },
  responses: {
    200: json(EnhanceResult, 'The enhancement completed within the wait budget'),
    202: {
      ...json(EnhanceAccepted, 'The run goes on; poll the Location'),
      headers: { Location: { schema: z.string() } },
    },
    ...errors(400, 413, 422, 502, 503),
  },
});

const runId = { path: z.object({ id: z.string().meta({ description: 'Workflow id' }) }) };

export const paths: ZodOpenApiPathsObject = {
  '/health/live': {
    get: operation({ tags: ['health'], summary: 'The process is up', responses: { 200: json(LiveBody, 'Alive') } }),
  },
  '/health/ready': {
    get: operation({
      tags: ['health'],
      summary: 'Per-check readiness: Temporal, PostgreSQL, Redis, LLM circuits, disk, memory',
      responses: { 200: json(ReadinessBody, 'Ready (possibly degraded)'), 503: json(ReadinessBody, 'A required check is failing') },
    }),
  },
  '/metrics': {
    get: operation({ tags: ['observability'], summary: 'Prometheus metrics', responses: { 200: text('text/plain', 'Prometheus text exposition') } }),
  },
  '/openapi.json': {
    get: operation({ tags: ['observability'], summary: 'This document', responses: { 200: json(z.record(z.string(), z.unknown()), 'OpenAPI 3.1 document') } }),
  },
  '/docs': {
    get: operation({ tags: ['observability'], summary: 'Interactive API documentation (offline)', responses: { 200: text('text/html', 'HTML page') } }),
  },
  '/docs/init.js': {
    get: operation({ tags: ['observability'], summary: 'Start-up script of the docs page', responses: { 200: text('application/javascript', 'Script') } }),
  },
  '/docs/assets/{file}': {
    get: operation({
      tags: ['observability'],
      summary: 'Swagger UI files of the docs page (from swagger-ui-dist)',
      requestParams: { path: z.object({ file: z.string() }) },
      responses: {
        200: { description: 'The file', content: { 'text/javascript': { schema: z.string() }, 'text/css': { schema: z.string() } } },
        ...errors(404),
      },
    }),
  },
  '/api/v1/functions/enhance': { post: enhanceOperation },
  '/v1/external/enhance': { post: enhanceOperation },
  '/api/v1/functions/enhance:batch': {
    post: operation({
      tags: ['enhance'],
      summary: 'Enhance up to 100 functions in one parent run (child runs at bounded concurrency; per-item outcomes)',
      requestBody: { content: { 'application/json': { schema: BatchRequest } } },
      responses: {
        202: { ...json(BatchAccepted, 'The batch runs; poll `links.self` or stream `links.events`'), headers: { Location: { schema: z.string() } } },
        ...errors(400, 413, 422, 503),
      },
    }),
  },
  '/api/v1/runs/{id}': {
    get: operation({
      tags: ['enhance'],
      summary: 'Status, live progress and, once ended, result or error of an enhancement or batch run',
      requestParams: runId,
      responses: { 200: json(RunStatusBody, 'The run'), ...errors(400, 404, 503) },
    }),
    delete: operation({
      tags: ['enhance'],
      summary: 'Cancel a run: the LLM call and validation stop at their next heartbeat; a canceled run stores no version',
      requestParams: runId,
      responses: {
        200: json(CancelAccepted, 'The run had already ended: its status'),
        202: json(CancelAccepted, 'Cancellation requested (`canceling`)'),
        ...errors(400, 404, 503),
      },
    }),
  },
  '/api/v1/runs/{id}/events': {
    get: operation({
      tags: ['enhance'],
      summary: 'Server-Sent Events: `stage` transitions (history first), `progress` snapshots, then `end`; the stream closes when the run ends',
      requestParams: {
        ...runId,
        header: z.object({
          'last-event-id': z.string().optional().meta({ description: 'The id of the last event seen: the stream resumes after the stage transitions it counts' }),
        }),
      },
      responses: { 200: text('text/event-stream', 'SSE stream; data lines are JSON (see contracts/progress.ts)'), ...errors(400, 404, 503) },
    }),
  },
  '/v1/aitomatic/enhance': {
    post: operation({
      tags: ['partner'],
      summary: 'Enhance the Python the Aitomatic transpiler made from a Dana program (partner RS256 JWT)',
      requestParams: { query: z.object({ wait: z.string().optional() }), header: z.object({ prefer: z.string().optional() }) },
      requestBody: { content: { 'application/json': { schema: PartnerEnhanceRequest } } },
      responses: {
        200: json(PartnerEnhanceResult, 'Enhanced Python and Dana'),
        202: { ...json(EnhanceAccepted, 'The run goes on; poll the Location'), headers: { Location: { schema: z.string() } } },
        ...errors(400, 413, 422, 502, 503),
      },
    }),
  },
  '/v1/aitomatic/runs/{id}': {
    get: operation({
      tags: ['partner'],
      summary: 'Status of a partner enhancement run',
      requestParams: runId,
      responses: { 200: json(RunStatusBody, 'The run'), ...errors(400, 404, 503) },
    }),
  },
  '/api/v1/admin/api-keys': {
    post: operation({
      tags: ['admin'],
      summary: 'Create an API key of the caller\'s tenant; the only answer that carries its secret',
      requestBody: { content: { 'application/json': { schema: CreateApiKeyRequest } } },
      responses: {
        201: { ...json(ApiKeyView.extend({ key: z.string() }), 'Created'), headers: { Location: { schema: z.string() } } },
        ...errors(400),
      },
    }),
    get: operation({
      tags: ['admin'],
      summary: 'API keys of the caller\'s tenant (never their secrets)',
      responses: { 200: json(z.object({ api_keys: z.array(ApiKeyView) }), 'Keys') },
    }),
  },
  '/api/v1/admin/api-keys/{id}': {
    delete: operation({
      tags: ['admin'],
      summary: 'Revoke an API key',
      requestParams: { path: z.object({ id: z.string() }) },
      responses: { 200: json(ApiKeyView, 'The revoked key'), ...errors(400, 404) },
    }),
  },
  '/api/v1/admin/audit': {
    get: operation({
      tags: ['admin'],
      summary: 'Audit log of the caller\'s tenant, newest first',
      requestParams: { query: AuditQuery },
      responses: { 200: json(z.object({ entries: z.array(AuditEntry), next_before: z.string().nullable() }), 'One page of entries'), ...errors(400) },
    }),
  },
  '/api/v1/domains': {
    get: operation({
      tags: ['domains'],
      summary: 'Built-in domains and the tenant\'s custom ones, with their settings',
      responses: { 200: json(z.object({ domains: z.array(DomainView) }), 'Every domain the caller can use') },
    }),
    post: operation({
      tags: ['domains'],
      summary: 'Create a custom domain (operator role)',
      requestBody: { content: { 'application/json': { schema: DomainSettings } } },
      responses: {
        201: { ...json(DomainView, 'Created'), headers: { Location: { schema: z.string() } } },
        ...errors(400, 403),
        409: json(ErrorBody, '`domain_exists`, or `domain_builtin` for a built-in name'),
      },
    }),
  },
  '/api/v1/domains/{name}': {
    get: operation({
      tags: ['domains'],
      summary: 'One domain with its settings',
      requestParams: domainName,
      responses: { 200: json(DomainView, 'The domain'), ...errors(400, 404) },
    }),
    put: operation({
      tags: ['domains'],
      summary: 'Replace a custom domain (operator role)',
      requestParams: domainName,
      requestBody: { content: { 'application/json': { schema: DomainSettings } } },
      responses: { 200: json(DomainView, 'Replaced'), ...errors(400, 403, 404), 409: json(ErrorBody, '`domain_builtin`') },
    }),
    delete: operation({
      tags: ['domains'],
      summary: 'Delete a custom domain (operator role)',
      requestParams: domainName,
      responses: { 204: noContent('Deleted'), ...errors(400, 403, 404), 409: json(ErrorBody, '`domain_builtin`') },
    }),
  },
  '/api/v1/functions': {
    get: operation({
      tags: ['versions'],
      summary: "The tenant's functions, by name, paged",
      requestParams: { query: z.object({ limit: z.string().optional(), page_token: z.string().optional() }) },
      responses: { 200: json(FunctionList, 'A page of functions'), ...errors(400) },
    }),
  },
  '/api/v1/functions/{name}': {
    get: operation({
      tags: ['versions'],
      summary: 'A function and the summary of each version',
      requestParams: fnName,
      responses: { 200: json(FunctionDetail, 'The function'), ...errors(400, 404) },
    }),
  },
  '/api/v1/functions/{name}/versions': {
    get: operation({
      tags: ['versions'],
      summary: 'Versions of a function: status, domain, provider, feedback metrics',
      requestParams: fnName,
      responses: { 200: json(VersionList, 'The versions'), ...errors(400, 404) },
    }),
  },
  '/api/v1/functions/{name}/versions/{v}': {
    get: operation({
      tags: ['versions'],
      summary: 'One version: code, params, metadata, presigned downloads when on S3',
      requestParams: { path: z.object({ name: z.string(), v: z.string() }) },
      responses: { 200: json(VersionDetail, 'The version'), ...errors(400, 404) },
    }),
  },
  '/api/v1/functions/{name}/versions/{a}/diff/{b}': {
    get: operation({
      tags: ['versions'],
      summary: 'Unified diffs of the code and params of two versions',
      requestParams: { path: z.object({ name: z.string(), a: z.string(), b: z.string() }) },
      responses: { 200: json(VersionDiff, 'The diffs'), ...errors(400, 404) },
    }),
  },
  '/api/v1/functions/{name}/versions/{v}/activate': {
    post: operation({
      tags: ['versions'],
      summary: 'Rollback (or forward): make this version the active one, through the activateVersion workflow (operator role)',
      requestParams: { path: z.object({ name: z.string(), v: z.string() }), query: z.object({ wait: z.string().optional() }) },
      responses: { 200: json(ActivateResult, 'Activated'), 202: json(EnhanceAccepted, 'Still running'), ...errors(400, 403, 404) },
    }),
  },
  '/api/v1/functions/{name}/feedback': {
    post: operation({
      tags: ['versions'],
      summary: 'Feedback on a version; regenerateFromFeedback decides whether it must change and makes version N+1',
      requestParams: { ...fnName, query: z.object({ wait: z.string().optional() }) },
      requestBody: { content: { 'application/json': { schema: FeedbackRequest } } },
      responses: { 200: json(FeedbackAnswer, 'Accepted, or regenerated'), 202: json(EnhanceAccepted, 'Still running'), ...errors(400, 404) },
    }),
  },
  '/api/v1/functions/{name}/events': {
    get: operation({
      tags: ['versions'],
      summary: "A function's events, newest first, keyset-paged",
      requestParams: { ...fnName, query: EventsQuery.partial() },
      responses: { 200: json(EventsPage, 'A page of events'), ...errors(400, 404) },
    }),
  },
  '/api/v1/cache/stats': {
    get: operation({
      tags: ['cache'],
      summary: "Hit, miss and error counts per cache layer (l0, l1, l2) of the caller's tenant",
      responses: { 200: json(CacheStats, 'Counts and hit rates') },
    }),
  },
  '/api/v1/cache': {
    delete: operation({
      tags: ['cache'],
      summary: 'Invalidate the cache of the tenant, or of one function (operator role)',
      requestParams: { query: z.object({ function_name: z.string().optional() }) },
      responses: { 200: json(CacheInvalidated, 'Invalidated'), ...errors(400, 403, 503) },
    }),
  },
  '/api/v1/stats': {
    get: operation({
      tags: ['stats'],
      summary: 'Generation statistics: duration percentiles, success rate, cost and tokens, per domain and provider',
      requestParams: { query: StatsQuery },
      responses: { 200: json(StatsBody, 'Statistics of the window'), ...errors(400) },
    }),
  },
  '/api/v1/costs': {
    get: operation({
      tags: ['stats'],
      summary: 'Spend and tokens per UTC day and provider over the last `days` days (the dashboard\'s charts)',
      requestParams: { query: CostsQuery },
      responses: { 200: json(CostsBody, 'Rows per day and provider'), ...errors(400) },
    }),
  },
  '/api/v1/codec/decode': {
    post: operation({
      tags: ['observability'],
      summary: 'The Temporal UI\'s remote codec: payloads in proto JSON, decoded (claim-check references of the caller\'s tenant resolved, every tenant\'s for OPERATOR_TENANT; admin role; any other reference is a 404)',
      requestBody: { content: { 'application/json': { schema: CodecRequest } } },
      responses: { 200: json(CodecRequest, 'The same payloads, decoded'), ...errors(400, 403, 404) },
    }),
  },
  '/api/v1/runs': {
    get: operation({
      tags: ['enhance'],
      summary: 'The caller\'s most recent runs (Temporal visibility), newest first, with links into the Temporal UI',
      requestParams: { query: RunListQuery },
      responses: { 200: json(RunListBody, 'Recent runs'), ...errors(400, 503) },
    }),
  },
  '/api/v1/webhooks': {
    get: operation({
      tags: ['webhooks'],
      summary: "The tenant's webhooks (never their secrets)",
      responses: { 200: json(z.object({ webhooks: z.array(WebhookView) }), 'Every webhook of the tenant') },
    }),
    post: operation({
      tags: ['webhooks'],
      summary: 'Register a webhook for event types (operator role); the answer shows the signing secret, once',
      requestBody: { content: { 'application/json': { schema: CreateWebhookRequest } } },
      responses: {
        201: { ...json(WebhookCreated, 'Registered; `secret` signs every delivery and is never shown again'), headers: { Location: { schema: z.string() } } },
        ...errors(400, 403),
      },
    }),
  },
  '/api/v1/webhooks/{id}': {
    get: operation({
      tags: ['webhooks'],
      summary: 'One webhook',
      requestParams: webhookId,
      responses: { 200: json(WebhookView, 'The webhook'), ...errors(400, 404) },
    }),
    delete: operation({
      tags: ['webhooks'],
      summary: 'Delete a webhook and its delivery log (operator role); deliveries under way stop',
      requestParams: webhookId,
      responses: { 204: noContent('Deleted'), ...errors(400, 403, 404) },
    }),
  },
  '/api/v1/webhooks/{id}/deliveries': {
    get: operation({
      tags: ['webhooks'],
      summary: 'The delivery log: every attempt, newest first, paged',
      requestParams: { ...webhookId, query: DeliveriesQuery },
      responses: { 200: json(DeliveriesPage, 'One page of attempts'), ...errors(400, 404) },
    }),
  },
  '/api/v1/webhooks/{id}/test': {
    post: operation({
      tags: ['webhooks'],
      summary: 'Send a signed `ping` now, once (operator role), and answer how it went',
      requestParams: webhookId,
      responses: { 200: json(WebhookTestResult, 'The attempt, also in the delivery log'), ...errors(400, 403, 404) },
    }),
  },
  '/api/v1/schedules': {
    get: operation({
      tags: ['schedules'],
      summary: 'The deployment\'s schedules (re-evaluation): spec, paused, note, next and recent actions (operators of the operator tenant)',
      responses: { 200: json(ScheduleList, 'The schedules'), ...errors(503) },
    }),
  },
  ...Object.fromEntries(
    (['pause', 'unpause', 'trigger'] as const).map((action) => [
      `/api/v1/schedules/{id}/${action}`,
      {
        post: operation({
          tags: ['schedules'],
          summary: {
            pause: 'Pause a schedule, with an optional note',
            unpause: 'Unpause a schedule, with an optional note',
            trigger: 'Start the schedule\'s action now (skipped while one is running)',
          }[action],
          requestParams: { path: z.object({ id: z.string() }) },
          ...(action === 'trigger' ? {} : { requestBody: { content: { 'application/json': { schema: ScheduleNoteBody } } } }),
          responses: { 200: json(ScheduleActionAnswer, 'The schedule\'s state after the action'), ...errors(...(action === 'trigger' ? [404, 503] : [400, 404, 503])) },
        }),
      },
    ]),
  ),
  '/dashboard': {
    get: operation({ tags: ['observability'], summary: 'Operator dashboard (signs in with an API key)', responses: { 200: text('text/html', 'HTML page') } }),
  },
  '/dashboard/{file}': {
    get: operation({
      tags: ['observability'],
      summary: 'Script and style sheet of the dashboard',
      requestParams: { path: z.object({ file: z.string() }) },
      responses: {
        200: { description: 'The file', content: { 'text/javascript': { schema: z.string() }, 'text/css': { schema: z.string() } } },
        ...errors(404),
      },
    }),
  },
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** 401/429 on every authenticated operation and 403 where a role above viewer is needed, as route-roles.ts decides. */
function withAuthResponses(table: ZodOpenApiPathsObject): ZodOpenApiPathsObject {
  return Object.fromEntries(
    Object.entries(table).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([method, op]) => {
          const rule = ROUTE_RULES.find((r) => r.method === method.toUpperCase() && openApiPath(r.path) === path);
          if (!METHODS.includes(method as (typeof METHODS)[number]) || !rule || rule.auth === 'public') return [method, op];
          const o = op as ZodOpenApiOperationObject;
          const forbidden = rule.auth === 'api_key' && rule.role !== 'viewer' ? errors(403) : {};
          return [method, { ...o, security: [{ bearer: [] }, { apiKey: [] }], responses: { ...o.responses, ...errors(401, 429), ...forbidden } }];
        }),
      ),
    ]),
  );
}

let cached: ReturnType<typeof createDocument> | undefined;

export function openApiDocument(): ReturnType<typeof createDocument> {
  cached ??= createDocument({
    openapi: '3.1.0',
    info: {
      title: 'POET enhancement service',
      version: '0.1.0',
      description: 'Plain Python functions in, Perceive/Operate/Enforce/Train-enhanced Python and Dana out; every run a Temporal workflow.',
    },
    paths: withAuthResponses(paths),
    components: {
      schemas: { JsonValue },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`poet_<id>.<secret>`), or the partner\'s RS256 JWT on /v1/aitomatic' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  });
  return cached;
}

/** `/api/v1/runs/:id` (Express) → `/api/v1/runs/{id}` (OpenAPI); `enhance\:batch` (an escaped, literal colon) → `enhance:batch`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/\/:([A-Za-z0-9_]+)/g, '/{$1}').replace(/\\:/g, ':');
}
