import { z } from 'zod';
import { EnhanceRequest, EnhanceResult } from '../../contracts/enhance';
import { EnhanceAccepted } from '../../contracts/http';
import { BatchAccepted, BatchRequest } from '../../contracts/progress';
import { answerSettled, PreferHeader, WaitQuery, waitMsOf } from '../http-input';
import { callerOf } from '../principal';
import { json, route, type AnyRoute } from '../route';

const Location = z.object({ Location: z.string() });

/** The enhance operation on the API's path and on the external alias: the same contract for integrations. */
const enhanceAt = (path: string, operationId: string, summary: string): AnyRoute =>
  route({
    operationId,
    method: 'POST',
    path,
    tags: ['enhance'],
    summary,
    description:
      '200 with the result; 202 and `Location` with `Prefer: respond-async` or when the wait budget (default 30 s) runs out.',
    auth: 'api_key',
    role: 'agent',
    rate: 'enhance',
    query: WaitQuery,
    headers: PreferHeader,
    body: EnhanceRequest,
    responses: {
      200: json(EnhanceResult, 'The enhancement completed within the wait budget'),
      202: json(EnhanceAccepted, 'The run goes on; poll the Location', Location),
    },
    errors: [413, 422, 502],
    handler: async ({ query, body, req, res, principal }, deps) => {
      const waitMs = waitMsOf(query.wait, req, deps.config);
      return answerSettled(res, await deps.app.enhancements.enhance(body, principal.tenantId, waitMs));
    },
  });

export const enhanceRoutes = [
  enhanceAt(
    '/api/v1/functions/enhance',
    'enhanceFunction',
    'Enhance a Python function with POET (Perceive, Operate, Enforce, Train)',
  ),
  enhanceAt(
    '/v1/external/enhance',
    'enhanceFunctionExternal',
    'Enhance a Python function: the same contract for integrations outside the REST API',
  ),
  route({
    operationId: 'enhanceBatch',
    method: 'POST',
    path: '/api/v1/functions/enhance:batch',
    tags: ['enhance'],
    summary: 'Enhance up to 100 functions in one parent run (child runs at bounded concurrency; per-item outcomes)',
    description:
      'Every item costs what a single enhance costs, and every item is checked before anything starts: 422 `invalid_batch_items` names each rejected one.',
    auth: 'api_key',
    role: 'agent',
    rate: 'enhance',
    body: BatchRequest,
    responses: { 202: json(BatchAccepted, 'The batch runs; poll `links.self` or stream `links.events`', Location) },
    errors: [413, 422],
    handler: async ({ body, res, principal }, deps) => {
      // The request paid one point on arrival; the other items are charged before any of them is checked.
      await deps.limits.charge(res, callerOf(principal), 'enhance', body.functions.length - 1);
      const { run, total } = await deps.app.enhancements.batch(body.functions, principal.tenantId);
      const self = `/api/v1/runs/${encodeURIComponent(run.workflow_id)}`;
      res
        .status(202)
        .location(self)
        .json({ status: 'running', run, total, links: { self, events: `${self}/events` } });
    },
  }),
];
