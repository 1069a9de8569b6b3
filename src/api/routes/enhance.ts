import { Router } from 'express';
import { EnhanceRequest } from '../../contracts/enhance';
import { respondRunning, startAndWait, waitMsOf, type EnhancementDeps } from '../enhancement';
import { BadRequestError, zodDetails } from '../errors';
import { principalOf } from '../principal';

/**
 * POST /api/v1/functions/enhance and its external alias POST /v1/external/enhance (the same contract for
 * integrations outside the REST API's versioning; domain defaults to base_reliability in both).
 */
export function enhanceRouter(deps: EnhancementDeps): Router {
  const router = Router();

  router.post(['/api/v1/functions/enhance', '/v1/external/enhance'], async (req, res) => {
    const waitMs = waitMsOf(req, deps.config);
    const parsed = EnhanceRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body does not match the enhance schema', zodDetails(parsed.error));

    const outcome = await startAndWait(deps, parsed.data, principalOf(res).tenantId, waitMs);
    if (outcome.status === 'completed') {
      res.status(200).json(outcome.result);
      return;
    }
    respondRunning(res, outcome.run, '/api/v1/runs');
  });

  return router;
}
