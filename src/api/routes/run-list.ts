import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config';
import { RunListQuery } from '../../contracts/dashboard';
import { principalOf } from '../principal';
import { listRuns } from '../run-list';
import { parseQuery } from './stats';

/** GET /api/v1/runs: the caller's recent runs with links into the Temporal UI (the dashboard's run list). */
export function runListRouter(deps: { client: Client; config: Config }): Router {
  const { client, config } = deps;
  const router = Router();
  router.get('/api/v1/runs', async (req, res) => {
    const { limit } = parseQuery(RunListQuery, req.query, 'runs');
    const runs = await listRuns(client, {
      tenantId: principalOf(res).tenantId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      namespace: config.TEMPORAL_NAMESPACE,
      uiUrl: config.TEMPORAL_UI_URL,
      limit,
    });
    res.json({ runs });
  });
  return router;
}
