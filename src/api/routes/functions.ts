import { z } from 'zod';
import { EventsQuery } from '../../contracts/events';
import { ActivateResult, FeedbackRequest } from '../../contracts/feedback';
import { EnhanceAccepted } from '../../contracts/http';
import {
  EventsPage,
  FeedbackAnswer,
  FunctionDetail,
  FunctionList,
  VersionDetail,
  VersionDiff,
  VersionList,
} from '../../contracts/versions';
import { answerSettled, FunctionNameParams, VersionParam, WaitQuery, waitMsOf } from '../http-input';
import { json, route, text } from '../route';

const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  page_token: z.string().max(400).optional(),
});
const VersionParams = FunctionNameParams.extend({ v: VersionParam });

/** A tenant's functions and their versions, feedback and events. */
export const functionsRoutes = [
  route({
    operationId: 'listFunctions',
    method: 'GET',
    path: '/api/v1/functions',
    tags: ['versions'],
    summary: "The tenant's functions, by name, paged",
    auth: 'api_key',
    role: 'viewer',
    query: ListQuery,
    responses: { 200: json(FunctionList, 'A page of functions') },
    handler: ({ query, principal }, deps) => deps.app.functions.list(principal.tenantId, query),
  }),
  route({
    operationId: 'getFunction',
    method: 'GET',
    path: '/api/v1/functions/:name',
    tags: ['versions'],
    summary: 'A function and the summary of each version',
    auth: 'api_key',
    role: 'viewer',
    params: FunctionNameParams,
    responses: { 200: json(FunctionDetail, 'The function') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.functions.get(principal.tenantId, params.name),
  }),
  route({
    operationId: 'listVersions',
    method: 'GET',
    path: '/api/v1/functions/:name/versions',
    tags: ['versions'],
    summary: 'Versions of a function: status, domain, provider, feedback metrics',
    auth: 'api_key',
    role: 'viewer',
    params: FunctionNameParams,
    responses: { 200: json(VersionList, 'The versions') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.functions.versions(principal.tenantId, params.name),
  }),
  route({
    operationId: 'getVersion',
    method: 'GET',
    path: '/api/v1/functions/:name/versions/:v',
    tags: ['versions'],
    summary: 'One version: code, params, metadata, presigned downloads when on S3',
    auth: 'api_key',
    role: 'viewer',
    params: VersionParams,
    responses: { 200: json(VersionDetail, 'The version') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.functions.version(principal.tenantId, params.name, params.v),
  }),
  route({
    operationId: 'getVersionCode',
    method: 'GET',
    path: '/api/v1/functions/:name/versions/:v/code/:language',
    tags: ['versions'],
    summary: "One version's enhanced source as text: its code.py (python) or code.dana (dana)",
    auth: 'api_key',
    role: 'viewer',
    params: VersionParams.extend({ language: z.enum(['python', 'dana']) }),
    responses: {
      200: text(['text/x-python', 'text/plain'], 'The source: text/x-python for python, text/plain for dana'),
    },
    errors: [404],
    handler: async ({ params, principal, res }, deps) => {
      const code = await deps.app.functions.code(principal.tenantId, params.name, params.v, params.language);
      res.type(params.language === 'python' ? 'text/x-python' : 'text/plain').send(code);
    },
  }),
  route({
    operationId: 'getVersionRuntime',
    method: 'GET',
    path: '/api/v1/functions/:name/versions/:v/runtime',
    tags: ['versions'],
    summary:
      'The poet_runtime.py a version was validated with, to put beside its code.py; 404 `runtime_embedded` for versions whose code embeds it',
    auth: 'api_key',
    role: 'viewer',
    params: VersionParams,
    responses: {
      200: text(
        ['text/x-python'],
        'The runtime module, as an attachment named poet_runtime.py',
        z.object({
          'Repr-Digest': z.string().describe('`sha-256=:<base64>:` of the body (RFC 9530)'),
          'X-Poet-Runtime-Version': z.string().describe('the `__version__` of the runtime'),
        }),
      ),
    },
    errors: [404],
    handler: async ({ params, principal, res }, deps) => {
      const runtime = await deps.app.functions.runtime(principal.tenantId, params.name, params.v);
      res
        .type('text/x-python')
        .set({
          'Content-Disposition': 'attachment; filename="poet_runtime.py"',
          'Repr-Digest': `sha-256=:${Buffer.from(runtime.sha256, 'hex').toString('base64')}:`,
          'X-Poet-Runtime-Version': runtime.version,
          ETag: `"${runtime.sha256}"`,
        })
        .send(runtime.source);
    },
  }),
  route({
    operationId: 'diffVersions',
    method: 'GET',
    path: '/api/v1/functions/:name/versions/:a/diff/:b',
    tags: ['versions'],
    summary: 'Unified diffs of the code and params of two versions',
    auth: 'api_key',
    role: 'viewer',
    params: FunctionNameParams.extend({ a: VersionParam, b: VersionParam }),
    responses: { 200: json(VersionDiff, 'The diffs') },
    errors: [404],
    handler: ({ params, principal }, deps) =>
      deps.app.functions.diff(principal.tenantId, params.name, params.a, params.b),
  }),
  route({
    operationId: 'activateVersion',
    method: 'POST',
    path: '/api/v1/functions/:name/versions/:v/activate',
    tags: ['versions'],
    summary:
      'Rollback (or forward): make this version the active one, through the activateVersion workflow (operator role)',
    auth: 'api_key',
    role: 'operator',
    params: VersionParams,
    query: WaitQuery,
    responses: { 200: json(ActivateResult, 'Activated'), 202: json(EnhanceAccepted, 'Still running') },
    errors: [404, 422, 502],
    handler: async ({ params, query, req, res, principal }, deps) => {
      const waitMs = waitMsOf(query.wait, req, deps.config);
      return answerSettled(res, await deps.app.functions.activate(principal.tenantId, params.name, params.v, waitMs));
    },
  }),
  route({
    operationId: 'submitFeedback',
    method: 'POST',
    path: '/api/v1/functions/:name/feedback',
    tags: ['versions'],
    summary: 'Feedback on a version; regenerateFromFeedback decides whether it must change and makes version N+1',
    auth: 'api_key',
    role: 'agent',
    params: FunctionNameParams,
    query: WaitQuery,
    body: FeedbackRequest,
    responses: { 200: json(FeedbackAnswer, 'Accepted, or regenerated'), 202: json(EnhanceAccepted, 'Still running') },
    errors: [404, 409, 422, 502],
    handler: async ({ params, query, body, req, res, principal }, deps) => {
      const waitMs = waitMsOf(query.wait, req, deps.config);
      const outcome = await deps.app.feedback.submit(principal.tenantId, params.name, body, waitMs);
      if (outcome.status === 'duplicate') return { status: 'accepted', duplicate: true, version: outcome.version };
      return answerSettled(res, outcome);
    },
  }),
  route({
    operationId: 'listFunctionEvents',
    method: 'GET',
    path: '/api/v1/functions/:name/events',
    tags: ['versions'],
    summary: "A function's events, newest first, keyset-paged",
    auth: 'api_key',
    role: 'viewer',
    params: FunctionNameParams,
    query: EventsQuery,
    responses: { 200: json(EventsPage, 'A page of events') },
    errors: [404],
    handler: ({ params, query, principal }, deps) => deps.app.functions.events(principal.tenantId, params.name, query),
  }),
];
