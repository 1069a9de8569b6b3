import { z } from 'zod';
import {
  ApiKeyId,
  ApiKeyView,
  AuditChain,
  AuditEntry,
  AuditQuery,
  CreateApiKeyRequest,
} from '../../contracts/security';
import { KeyRotationView } from '../../contracts/key-rotation';
import { setAuditTarget } from '../auth-audit';
import { json, route } from '../route';

/** Key management and the audit log of the caller's own tenant (admins only). */
export const adminRoutes = [
  route({
    operationId: 'getKeyRotation',
    method: 'GET',
    path: '/api/v1/admin/key-rotation',
    tags: ['admin'],
    summary:
      "Progress of the re-encryption of stored payloads to the API's active encryption key (poet keys rotate-data; operators of the operator tenant)",
    auth: 'api_key',
    role: 'operator',
    responses: { 200: json(KeyRotationView, 'The rotation towards the active key, if one was started') },
    errors: [403],
    handler: ({ principal }, deps) => deps.app.keyRotation.view(principal.tenantId),
  }),
  route({
    operationId: 'createApiKey',
    method: 'POST',
    path: '/api/v1/admin/api-keys',
    tags: ['admin'],
    summary: "Create an API key of the caller's tenant; the only answer that carries its secret",
    auth: 'api_key',
    role: 'admin',
    body: CreateApiKeyRequest,
    responses: { 201: json(ApiKeyView.extend({ key: z.string() }), 'Created', z.object({ Location: z.string() })) },
    handler: async ({ body, principal, res }, deps) => {
      const created = await deps.app.apiKeys.create(principal.tenantId, body, principal.keyId);
      setAuditTarget(res, created.id);
      res.status(201).location(`/api/v1/admin/api-keys/${created.id}`).json(created);
    },
  }),
  route({
    operationId: 'listApiKeys',
    method: 'GET',
    path: '/api/v1/admin/api-keys',
    tags: ['admin'],
    summary: "API keys of the caller's tenant (never their secrets)",
    auth: 'api_key',
    role: 'admin',
    responses: { 200: json(z.object({ api_keys: z.array(ApiKeyView) }), 'Keys') },
    handler: async ({ principal }, deps) => ({ api_keys: await deps.app.apiKeys.list(principal.tenantId) }),
  }),
  route({
    operationId: 'revokeApiKey',
    method: 'DELETE',
    path: '/api/v1/admin/api-keys/:id',
    tags: ['admin'],
    summary: 'Revoke an API key',
    auth: 'api_key',
    role: 'admin',
    params: z.object({ id: ApiKeyId }),
    responses: { 200: json(ApiKeyView, 'The revoked key') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.apiKeys.revoke(principal.tenantId, params.id),
  }),
  route({
    operationId: 'queryAuditLog',
    method: 'GET',
    path: '/api/v1/admin/audit',
    tags: ['admin'],
    summary: "Audit log of the caller's tenant, newest first",
    auth: 'api_key',
    role: 'admin',
    query: AuditQuery,
    responses: {
      200: json(z.object({ entries: z.array(AuditEntry), next_before: z.string().nullable() }), 'One page of entries'),
    },
    handler: ({ query, principal }, deps) => deps.app.audit.query(principal.tenantId, query),
  }),
  route({
    operationId: 'verifyAuditChain',
    method: 'GET',
    path: '/api/v1/admin/audit/verify',
    tags: ['admin'],
    summary: "Check the audit log's hash chain end to end (admins of the operator tenant)",
    auth: 'api_key',
    role: 'admin',
    responses: { 200: json(AuditChain, 'Rows chained, and where the chain is broken') },
    errors: [403],
    handler: ({ principal }, deps) => deps.app.audit.verifyChain(principal.tenantId),
  }),
];
