import { TenantSettings } from '../../contracts/tenant-settings';
import { json, route } from '../route';

/** The caller's tenant's own settings, such as the plan of the rollouts regeneration starts. */
export const tenantSettingsRoutes = [
  route({
    operationId: 'getTenantSettings',
    method: 'GET',
    path: '/api/v1/tenant/settings',
    tags: ['tenant'],
    summary: "The caller's tenant's settings, defaults included",
    auth: 'api_key',
    role: 'viewer',
    responses: { 200: json(TenantSettings, 'The settings') },
    handler: ({ principal }, deps) => deps.app.tenantSettings.get(principal.tenantId),
  }),
  route({
    operationId: 'putTenantSettings',
    method: 'PUT',
    path: '/api/v1/tenant/settings',
    tags: ['tenant'],
    summary: "Replace the caller's tenant's settings; absent ones take their defaults (operator role)",
    description:
      'With `rollout` set, a version that feedback-driven regeneration makes is stored beside the active one and ' +
      'rolled out with that plan (`steps`, `min_calls`, `step_wait`, `max_duration`, as for POST ' +
      "/api/v1/functions/{name}/rollouts), after passing the function's feedback examples; with `rollout: null` it is activated at once.",
    auth: 'api_key',
    role: 'operator',
    body: TenantSettings,
    responses: { 200: json(TenantSettings, 'The settings now') },
    errors: [400],
    handler: ({ body, principal }, deps) => deps.app.tenantSettings.put(principal.tenantId, body),
  }),
];
