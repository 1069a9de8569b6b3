import { Router, type Response } from 'express';
import { ScheduleNoteBody } from '../../contracts/reevaluation';
import type { Schedules } from '../../infra/temporal/schedules';
import { BadRequestError, HttpError, NotFoundError, zodDetails } from '../errors';
import { principalOf, requireRole } from '../principal';

/** Schedules act on every tenant of the deployment: only operators of the operator tenant may see or steer them. */
function requireOperatorTenant(operatorTenant: string) {
  return (_req: unknown, res: Response, next: () => void) => {
    if (principalOf(res).tenantId !== operatorTenant) {
      throw new HttpError(403, 'forbidden', 'schedules span every tenant: only operators of the operator tenant may use them');
    }
    next();
  };
}

const scheduleNotFound = (id: string) => new NotFoundError('schedule_not_found', `no schedule with id ${id}`);

export function schedulesRouter(deps: { schedules: Schedules; operatorTenant: string }): Router {
  const { schedules } = deps;
  const router = Router();
  const guard = [requireRole('operator'), requireOperatorTenant(deps.operatorTenant)];

  router.get('/api/v1/schedules', ...guard, async (_req, res) => {
    res.json({ schedules: await schedules.list() });
  });

  const noteOf = (body: unknown) => {
    const parsed = ScheduleNoteBody.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestError('request body does not match the schedule note schema', zodDetails(parsed.error));
    return parsed.data.note;
  };
  const answer = async (res: Response, id: string, view: Promise<unknown>) => {
    const schedule = await view;
    if (!schedule) throw scheduleNotFound(id);
    res.json({ schedule });
  };

  for (const action of ['pause', 'unpause'] as const) {
    router.post(`/api/v1/schedules/:id/${action}`, ...guard, async (req, res) => {
      const id = String(req.params.id);
      const note = noteOf(req.body) ?? `${action}d by ${principalOf(res).keyId ?? 'an operator'}`;
      await answer(res, id, schedules[action](id, note));
    });
  }
  router.post('/api/v1/schedules/:id/trigger', ...guard, async (req, res) => {
    const id = String(req.params.id);
    await answer(res, id, schedules.trigger(id));
  });

  return router;
}
