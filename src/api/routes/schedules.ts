import { z } from 'zod';
import { ScheduleActionAnswer, ScheduleList, ScheduleNoteBody } from '../../contracts/reevaluation';
import { json, route, type AnyRoute } from '../route';

const IdParams = z.object({ id: z.string() });

const SUMMARY = {
  pause: 'Pause a schedule, with an optional note',
  unpause: 'Unpause a schedule, with an optional note',
} as const;

/** Pause or unpause with a note (the caller's key by default). */
const noted = (action: 'pause' | 'unpause'): AnyRoute =>
  route({
    operationId: `${action}Schedule`,
    method: 'POST',
    path: `/api/v1/schedules/:id/${action}`,
    tags: ['schedules'],
    summary: SUMMARY[action],
    auth: 'api_key',
    role: 'operator',
    params: IdParams,
    body: ScheduleNoteBody.optional(),
    responses: { 200: json(ScheduleActionAnswer, "The schedule's state after the action") },
    errors: [404],
    handler: async ({ params, body, principal }, deps) => {
      const note = body?.note ?? `${action}d by ${principal.keyId ?? 'an operator'}`;
      return { schedule: await deps.app.schedules.annotate(principal.tenantId, params.id, action, note) };
    },
  });

/** Schedules act on every tenant of the deployment: only operators of the operator tenant may see or steer them. */
export const schedulesRoutes = [
  route({
    operationId: 'listSchedules',
    method: 'GET',
    path: '/api/v1/schedules',
    tags: ['schedules'],
    summary:
      "The deployment's schedules (re-evaluation): spec, paused, note, next and recent actions (operators of the operator tenant)",
    auth: 'api_key',
    role: 'operator',
    responses: { 200: json(ScheduleList, 'The schedules') },
    handler: async ({ principal }, deps) => ({ schedules: await deps.app.schedules.list(principal.tenantId) }),
  }),
  noted('pause'),
  noted('unpause'),
  route({
    operationId: 'triggerSchedule',
    method: 'POST',
    path: '/api/v1/schedules/:id/trigger',
    tags: ['schedules'],
    summary: "Start the schedule's action now (skipped while one is running)",
    auth: 'api_key',
    role: 'operator',
    params: IdParams,
    responses: { 200: json(ScheduleActionAnswer, "The schedule's state after the action") },
    errors: [404],
    handler: async ({ params, principal }, deps) => ({
      schedule: await deps.app.schedules.trigger(principal.tenantId, params.id),
    }),
  }),
];
