import { Router } from 'express';
import { EventsQuery } from '../../contracts/events';
import { InvalidPageToken, type EventsRepo } from '../../infra/db/events-repo';
import type { VersionsRepo } from '../../infra/db/versions-repo';
import { BadRequestError } from '../errors';
import { principalOf } from '../principal';
import { functionNameOf, functionNotFound, parseParam } from './functions';

export function eventsRouter(deps: { events: EventsRepo; versions: VersionsRepo }): Router {
  const router = Router();
  router.get('/api/v1/functions/:name/events', async (req, res) => {
    const name = functionNameOf(req);
    const query = parseParam(EventsQuery, req.query, 'query');
    const tenantId = principalOf(res).tenantId;
    if (!(await deps.versions.getFunction(tenantId, name))) throw functionNotFound(name);
    try {
      res.json(await deps.events.list(tenantId, name, query));
    } catch (err) {
      if (err instanceof InvalidPageToken) throw new BadRequestError(err.message, [{ path: 'page_token', message: err.message }], 'invalid_page_token');
      throw err;
    }
  });
  return router;
}
