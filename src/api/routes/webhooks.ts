import { z } from 'zod';
import {
  CreateWebhookRequest,
  DeliveriesPage,
  DeliveriesQuery,
  WebhookCreated,
  WebhookId,
  WebhookTestResult,
  WebhookView,
} from '../../contracts/webhooks';
import { setAuditTarget } from '../auth-audit';
import { empty, json, route } from '../route';

const IdParams = z.object({ id: WebhookId });

/** Tenant webhooks: operators register and delete them, viewers read them and their delivery log. */
export const webhooksRoutes = [
  route({
    operationId: 'createWebhook',
    method: 'POST',
    path: '/api/v1/webhooks',
    tags: ['webhooks'],
    summary: 'Register a webhook for event types (operator role); the answer shows the signing secret, once',
    auth: 'api_key',
    role: 'operator',
    body: CreateWebhookRequest,
    responses: {
      201: json(
        WebhookCreated,
        'Registered; `secret` signs every delivery and is never shown again',
        z.object({ Location: z.string() }),
      ),
    },
    handler: async ({ body, principal, res }, deps) => {
      const created = await deps.app.webhooks.create(principal.tenantId, body);
      setAuditTarget(res, created.id);
      res.status(201).location(`/api/v1/webhooks/${created.id}`).json(created);
    },
  }),
  route({
    operationId: 'listWebhooks',
    method: 'GET',
    path: '/api/v1/webhooks',
    tags: ['webhooks'],
    summary: "The tenant's webhooks (never their secrets)",
    auth: 'api_key',
    role: 'viewer',
    responses: { 200: json(z.object({ webhooks: z.array(WebhookView) }), 'Every webhook of the tenant') },
    handler: async ({ principal }, deps) => ({ webhooks: await deps.app.webhooks.list(principal.tenantId) }),
  }),
  route({
    operationId: 'getWebhook',
    method: 'GET',
    path: '/api/v1/webhooks/:id',
    tags: ['webhooks'],
    summary: 'One webhook',
    auth: 'api_key',
    role: 'viewer',
    params: IdParams,
    responses: { 200: json(WebhookView, 'The webhook') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.webhooks.get(principal.tenantId, params.id),
  }),
  route({
    operationId: 'deleteWebhook',
    method: 'DELETE',
    path: '/api/v1/webhooks/:id',
    tags: ['webhooks'],
    summary: 'Delete a webhook and its delivery log (operator role); deliveries under way stop',
    auth: 'api_key',
    role: 'operator',
    params: IdParams,
    responses: { 204: empty('Deleted') },
    errors: [404],
    handler: async ({ params, principal, res }, deps) => {
      await deps.app.webhooks.delete(principal.tenantId, params.id);
      setAuditTarget(res, params.id);
      res.status(204).end();
    },
  }),
  route({
    operationId: 'listWebhookDeliveries',
    method: 'GET',
    path: '/api/v1/webhooks/:id/deliveries',
    tags: ['webhooks'],
    summary: 'The delivery log: every attempt, newest first, paged',
    auth: 'api_key',
    role: 'viewer',
    params: IdParams,
    query: DeliveriesQuery,
    responses: { 200: json(DeliveriesPage, 'One page of attempts') },
    errors: [404],
    handler: ({ params, query, principal }, deps) => deps.app.webhooks.deliveries(principal.tenantId, params.id, query),
  }),
  route({
    operationId: 'testWebhook',
    method: 'POST',
    path: '/api/v1/webhooks/:id/test',
    tags: ['webhooks'],
    summary: 'Send a signed `ping` now, once (operator role), and answer how it went',
    auth: 'api_key',
    role: 'operator',
    params: IdParams,
    responses: { 200: json(WebhookTestResult, 'The attempt, also in the delivery log') },
    errors: [404],
    handler: async ({ params, principal, res }, deps) => {
      const result = await deps.app.webhooks.test(principal.tenantId, params.id);
      setAuditTarget(res, params.id);
      return result;
    },
  }),
];
