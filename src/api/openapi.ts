import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { JsonValue } from '../contracts/enhance';
import { ErrorBody } from '../contracts/errors';
import type { AnyRoute, AuthScheme, ResponseSpec } from './route';
import { TAGS, type Tag } from './tags';

/**
 * The OpenAPI 3.1 document, generated from the route declarations: their schemas (the zod contracts the routes
 * parse with), their auth schemes and roles (security, 401/403/429), and the error body of every failure.
 */

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: `invalid_request` (with the offending paths), `invalid_json`, `invalid_path`, `unknown_domain`, `invalid_page_token`',
  401: 'Missing or invalid credentials',
  403: 'The caller lacks the role this action needs',
  404: 'No such resource',
  409: 'Conflict with what exists: `domain_exists`, `domain_builtin`',
  412: 'A precondition of the request (`If-Match`, `If-Unmodified-Since`) does not hold for the file (`precondition_failed`)',
  413: 'Body or code over its size limit (`payload_too_large`)',
  416: 'The requested `Range` is outside the file (`range_not_satisfiable`, with `Content-Range`)',
  422: 'Understood but not processable (`invalid_python`, `function_not_found`, `invalid_batch_items`, `validation_failed`, `dependency_unavailable`)',
  429: 'Rate limited; retry after `Retry-After` seconds',
  500: 'Internal error (never with details)',
  502: 'The run failed (`enhancement_failed`)',
  503: 'A dependency is unreachable (`service_unavailable`; `database_unavailable` naming the database fault class in `fault`), with `Retry-After`, no worker can isolate the validation (`sandbox_unavailable`), or the key ring lacks the key of data it must read (`encryption_key_unavailable`)',
};

const REQUEST_ID = z.string().meta({
  description: 'Correlation id: taken from the request when plain (≤128 of `A-Za-z0-9._:-`), else generated.',
});
const RESPONSE_HEADERS = z.object({ 'X-Request-Id': REQUEST_ID });

/**
 * Node's HTTP server answers this itself, before the app sees the request, so every operation can get it: no body
 * and no X-Request-Id.
 */
const HEADERS_TOO_LARGE: ZodOpenApiResponseObject = {
  description:
    "Request line and headers over the HTTP server's limit (Node's default: 16 KiB), answered before the app: no body",
};

const SECURITY: Record<AuthScheme, Array<Record<string, string[]>>> = {
  public: [],
  api_key: [{ bearerApiKey: [] }, { apiKeyHeader: [] }],
  partner_jwt: [{ partnerJwt: [] }],
};

/** The failures a declaration implies, plus those it names. */
function errorStatuses(route: AnyRoute): number[] {
  const statuses = new Set([500, ...(route.errors ?? [])]);
  if (route.params || route.query || route.body) statuses.add(400);
  if (route.body) statuses.add(413);
  if (route.auth !== 'public') for (const status of [401, 429, 503]) statuses.add(status);
  if (route.auth === 'api_key' && route.role !== 'viewer') statuses.add(403);
  return [...statuses].sort((a, b) => a - b);
}

function response(spec: ResponseSpec): ZodOpenApiResponseObject {
  return {
    description: spec.description,
    headers: spec.headers ? RESPONSE_HEADERS.extend(spec.headers.shape) : RESPONSE_HEADERS,
    ...(spec.content
      ? { content: Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema }])) }
      : {}),
  };
}

function operation(route: AnyRoute): ZodOpenApiOperationObject {
  const errors = errorStatuses(route).filter((status) => route.responses[status] === undefined);
  return {
    operationId: route.operationId,
    tags: route.tags,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: SECURITY[route.auth],
    requestParams: {
      ...(route.params ? { path: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      header: (route.headers ?? z.object({})).extend({ 'x-request-id': REQUEST_ID.optional() }),
    },
    ...(route.body
      ? {
          requestBody: {
            required: !route.body.safeParse(undefined).success,
            content: { 'application/json': { schema: route.body } },
          },
        }
      : {}),
    responses: {
      ...Object.fromEntries(Object.entries(route.responses).map(([status, spec]) => [status, response(spec)])),
      ...Object.fromEntries(
        errors.map((status) => [
          String(status),
          response({ description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: { 'application/json': ErrorBody } }),
        ]),
      ),
      431: HEADERS_TOO_LARGE,
    },
  };
}

/** `/api/v1/runs/:id` (Express) → `/api/v1/runs/{id}` (OpenAPI); `enhance\:batch` (an escaped, literal colon) → `enhance:batch`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/\/:([A-Za-z0-9_]+)/g, '/{$1}').replace(/\\:/g, ':');
}

function paths(routes: readonly AnyRoute[]): ZodOpenApiPathsObject {
  const table: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    table[path] = { ...table[path], [route.method.toLowerCase()]: operation(route) };
  }
  return table;
}

/** package.json's version and license (an SPDX expression), read once: the document cannot drift from them. */
const PACKAGE = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
  license: string;
};

const documents = new WeakMap<readonly AnyRoute[], ReturnType<typeof createDocument>>();

export function openApiDocument(routes: readonly AnyRoute[]): ReturnType<typeof createDocument> {
  let document = documents.get(routes);
  if (!document) {
    document = createDocument({
      openapi: '3.1.0',
      info: {
        title: 'POET enhancement service',
        version: PACKAGE.version,
        description:
          'Plain Python functions in, Perceive/Operate/Enforce/Train-enhanced Python and Dana out; every run a Temporal workflow.',
        license: { name: PACKAGE.license, identifier: PACKAGE.license },
      },
      servers: [{ url: '/', description: 'The API that serves this document' }],
      tags: Object.entries(TAGS)
        .filter(([name]) => routes.some((route) => route.tags.includes(name as Tag)))
        .map(([name, description]) => ({ name, description })),
      paths: paths(routes),
      components: {
        schemas: { JsonValue },
        securitySchemes: {
          bearerApiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (`poet_<id>.<secret>`) as `Authorization: Bearer <key>`',
          },
          apiKeyHeader: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'An API key in its own header',
          },
          partnerJwt: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: "The partner's RS256 JWT (the /v1/aitomatic routes)",
          },
        },
      },
    });
    documents.set(routes, document);
  }
  return document;
}
