import { Router } from 'express';
import { PartnerEnhanceRequest } from '../../contracts/security';
import { respondRunning, startAndWait, waitMsOf, type EnhancementDeps } from '../enhancement';
import { BadRequestError, PayloadTooLargeError, zodDetails } from '../errors';
import { principalOf } from '../principal';
import { runStatusHandler } from './runs';

/**
 * The Aitomatic transpilation partner (RS256 JWT, see auth-partner.ts): it sends the Python its transpiler made
 * from a Dana program and gets both back POET-enhanced. Runs belong to the partner tenant (PARTNER_TENANT).
 */
export function partnerRouter(deps: EnhancementDeps): Router {
  const router = Router();

  router.post('/v1/aitomatic/enhance', async (req, res) => {
    const waitMs = waitMsOf(req, deps.config);
    const parsed = PartnerEnhanceRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body does not match the partner enhance schema', zodDetails(parsed.error));
    const body = parsed.data;
    if (Buffer.byteLength(body.dana_source) > deps.config.MAX_CODE_BYTES) {
      throw new PayloadTooLargeError(`dana_source exceeds ${deps.config.MAX_CODE_BYTES} bytes`);
    }

    const request = {
      function_name: body.function_name,
      original_code: body.python_code,
      domain: body.domain,
      ...(body.config.optimize_for ? { optimize_for: body.config.optimize_for } : {}),
      ...(body.config.context ? { context: body.config.context } : {}),
    };
    const outcome = await startAndWait(deps, request, principalOf(res).tenantId, waitMs);
    if (outcome.status === 'running') {
      respondRunning(res, outcome.run, '/v1/aitomatic/runs');
      return;
    }
    const { result } = outcome;
    res.status(200).json({
      transpilation_id: body.transpilation_id,
      agent_id: body.agent_id,
      function_name: result.function_name,
      enhanced_dana: result.enhanced_code.dana,
      enhanced_python: result.enhanced_code.python,
      version: result.version,
      metadata: result.metadata,
      run: result.run,
    });
  });

  router.get('/v1/aitomatic/runs/:id', runStatusHandler(deps.runs));

  return router;
}
