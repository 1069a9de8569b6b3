import { Router, type Request, type Response } from 'express';
import { BadRequestError } from '../errors';
import { principalOf } from '../principal';
import type { Runs } from '../runs';

const WORKFLOW_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/** GET <runsPath>/:id for the caller's tenant; the partner API polls its runs through the same handler. */
export function runStatusHandler(runs: Runs) {
  return async (req: Request<{ id: string }>, res: Response) => {
    const id = req.params.id;
    if (!WORKFLOW_ID.test(id)) throw new BadRequestError('malformed run id', [{ path: 'id', message: 'letters, digits and _.:- only' }]);
    const { status, runId, outcome } = await runs.describe(id, principalOf(res).tenantId);
    const run = { workflow_id: id, run_id: runId };
    if (outcome?.status === 'completed') {
      res.json({ status, run, result: outcome.result });
    } else if (outcome) {
      res.json({ status, run, error: { ...outcome.error, run } });
    } else {
      res.json({ status, run });
    }
  };
}

export function runsRouter(runs: Runs): Router {
  const router = Router();
  router.get('/api/v1/runs/:id', runStatusHandler(runs));
  return router;
}
