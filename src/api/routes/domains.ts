import { z } from 'zod';
import { DomainSettings, DomainView } from '../../app/domains';
import { DomainName } from '../../contracts/enhance';
import { empty, json, route } from '../route';

const NameParams = z.object({ name: DomainName });

/** Built-in domains plus the caller's tenant's custom ones; operators may add, replace and delete custom domains. */
export const domainsRoutes = [
  route({
    operationId: 'listDomains',
    method: 'GET',
    path: '/api/v1/domains',
    tags: ['domains'],
    summary: "Built-in domains and the tenant's custom ones, with their settings",
    auth: 'api_key',
    role: 'viewer',
    responses: { 200: json(z.object({ domains: z.array(DomainView) }), 'Every domain the caller can use') },
    handler: async ({ principal }, deps) => ({ domains: await deps.app.domains.list(principal.tenantId) }),
  }),
  route({
    operationId: 'getDomain',
    method: 'GET',
    path: '/api/v1/domains/:name',
    tags: ['domains'],
    summary: 'One domain with its settings',
    auth: 'api_key',
    role: 'viewer',
    params: NameParams,
    responses: { 200: json(DomainView, 'The domain') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.domains.get(principal.tenantId, params.name),
  }),
  route({
    operationId: 'createDomain',
    method: 'POST',
    path: '/api/v1/domains',
    tags: ['domains'],
    summary: 'Create a custom domain (operator role)',
    auth: 'api_key',
    role: 'operator',
    body: DomainSettings,
    responses: { 201: json(DomainView, 'Created', z.object({ Location: z.string() })) },
    errors: [409],
    handler: async ({ body, principal, res }, deps) => {
      const created = await deps.app.domains.create(principal.tenantId, body);
      res.status(201).location(`/api/v1/domains/${created.name}`).json(created);
    },
  }),
  route({
    operationId: 'replaceDomain',
    method: 'PUT',
    path: '/api/v1/domains/:name',
    tags: ['domains'],
    summary: 'Replace a custom domain (operator role)',
    auth: 'api_key',
    role: 'operator',
    params: NameParams,
    body: DomainSettings,
    responses: { 200: json(DomainView, 'Replaced') },
    errors: [404, 409],
    handler: ({ params, body, principal }, deps) => deps.app.domains.replace(principal.tenantId, params.name, body),
  }),
  route({
    operationId: 'deleteDomain',
    method: 'DELETE',
    path: '/api/v1/domains/:name',
    tags: ['domains'],
    summary: 'Delete a custom domain (operator role)',
    auth: 'api_key',
    role: 'operator',
    params: NameParams,
    responses: { 204: empty('Deleted') },
    errors: [404, 409],
    handler: async ({ params, principal, res }, deps) => {
      await deps.app.domains.delete(principal.tenantId, params.name);
      res.status(204).end();
    },
  }),
];
