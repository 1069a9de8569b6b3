import { Router } from 'express';
import { BadRequestError } from '../errors';
import type { Runs } from '../runs';

const WORKFLOW_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

export function runsRouter(runs: Runs): Router {
  const router = Router();
  router.get('/api/v1/runs/:id', async (req, res) => {
    const id = req.params.id;
    if (!WORKFLOW_ID.test(id)) throw new BadRequestError('malformed run id', [{ path: 'id', message: 'letters, digits and _.:- only' }]);
    const { status, runId, outcome } = await runs.describe(id);
    const run = { workflow_id: id, run_id: runId };
    if (outcome?.status === 'completed') {
      res.json({ status, run, result: outcome.result });
    } else if (outcome) {
      res.json({ status, run, error: { ...outcome.error, run } });
    } else {
      res.json({ status, run });
    }
  });
  return router;
}
