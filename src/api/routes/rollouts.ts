import { z } from 'zod';
import { RolloutControl, RolloutRequest, RolloutStarted, RolloutState } from '../../contracts/rollouts';
import { FunctionNameParams } from '../http-input';
import { json, route } from '../route';

/** A function's progressive rollout (the rolloutVersion workflow) and the operator's controls of it. */
export const rolloutsRoutes = [
  route({
    operationId: 'startRollout',
    method: 'POST',
    path: '/api/v1/functions/:name/rollouts',
    tags: ['versions'],
    summary:
      'Roll a candidate version out step by step against the active one, judged on field reports (operator role)',
    description:
      "Starts the rolloutVersion workflow: resolve sends the units below the current step's share to the candidate. " +
      "After each step (a durable timer) both versions' field reports are compared: a success rate lower by more than " +
      "1 point at 95 % confidence (one-sided two-proportion z-test) or a p95 latency over 1.5× (and 5 ms above) the baseline's rolls " +
      'back at once; otherwise the share advances, and past the last step below 100 the candidate is activated. Short ' +
      'of `min_calls` for either version it waits another step, rolling back after `max_duration`. One per function at a time.',
    auth: 'api_key',
    role: 'operator',
    params: FunctionNameParams,
    body: RolloutRequest,
    responses: { 201: json(RolloutStarted, 'Started', z.object({ Location: z.string() })) },
    errors: [404, 409],
    handler: async ({ params, body, principal, res }, deps) => {
      const started = await deps.app.rollouts.start(principal.tenantId, params.name, body);
      res
        .status(201)
        .location(`/api/v1/functions/${encodeURIComponent(params.name)}/rollouts/current`)
        .json(started);
    },
  }),
  route({
    operationId: 'getRollout',
    method: 'GET',
    path: '/api/v1/functions/:name/rollouts/current',
    tags: ['versions'],
    summary: "The function's latest rollout: status, share, step and the last judgement with its figures",
    auth: 'api_key',
    role: 'viewer',
    params: FunctionNameParams,
    responses: { 200: json(RolloutState, 'The rollout') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.rollouts.current(principal.tenantId, params.name),
  }),
  route({
    operationId: 'controlRollout',
    method: 'POST',
    path: '/api/v1/functions/:name/rollouts/current/:action',
    tags: ['versions'],
    summary:
      'Pause, resume, abort (share 0, the baseline stays active) or force-promote the running rollout (operator role)',
    auth: 'api_key',
    role: 'operator',
    params: FunctionNameParams.extend({ action: RolloutControl }),
    responses: { 200: json(RolloutState, 'The rollout once the run has acted on it') },
    errors: [404, 409],
    handler: ({ params, principal }, deps) => deps.app.rollouts.control(principal.tenantId, params.name, params.action),
  }),
];
