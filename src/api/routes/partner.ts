import { z } from 'zod';
import { EnhanceAccepted, RunStatusBody } from '../../contracts/http';
import { PartnerEnhanceRequest, PartnerEnhanceResult } from '../../contracts/security';
import { answerSettled, PreferHeader, RunIdParams, WaitQuery, waitMsOf } from '../http-input';
import { json, route } from '../route';

const RUNS_PATH = '/v1/aitomatic/runs';

/**
 * The Aitomatic transpilation partner (RS256 JWT): it sends the Python its transpiler made from a Dana program and
 * gets both back POET-enhanced. Runs belong to the partner tenant (PARTNER_TENANT).
 */
export const partnerRoutes = [
  route({
    operationId: 'enhancePartnerTranspilation',
    method: 'POST',
    path: '/v1/aitomatic/enhance',
    tags: ['partner'],
    summary: 'Enhance the Python the Aitomatic transpiler made from a Dana program (partner RS256 JWT)',
    auth: 'partner_jwt',
    rate: 'enhance',
    query: WaitQuery,
    headers: PreferHeader,
    body: PartnerEnhanceRequest,
    responses: {
      200: json(PartnerEnhanceResult, 'Enhanced Python and Dana'),
      202: json(EnhanceAccepted, 'The run goes on; poll the Location', z.object({ Location: z.string() })),
    },
    errors: [413, 422, 502],
    handler: async ({ query, body, req, res, principal }, deps) => {
      const waitMs = waitMsOf(query.wait, req, deps.config);
      return answerSettled(
        res,
        await deps.app.enhancements.enhanceForPartner(body, principal.tenantId, waitMs),
        RUNS_PATH,
      );
    },
  }),
  route({
    operationId: 'getPartnerRun',
    method: 'GET',
    path: `${RUNS_PATH}/:id`,
    tags: ['partner'],
    summary: 'Status of a partner enhancement run',
    auth: 'partner_jwt',
    params: RunIdParams,
    responses: { 200: json(RunStatusBody, 'The run') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.runs.status(params.id, principal.tenantId),
  }),
];
