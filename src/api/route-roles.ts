import type { Role } from '../contracts/security';

/**
 * How each route authenticates and the least role it needs: the ONE table the authentication middleware enforces
 * (docs/api.md "Who may call what" mirrors it). A route missing here needs an API key with the admin role (fail closed),
 * and test/security/route-roles.test.ts fails until it is added.
 */
export type AuthScheme = 'public' | 'api_key' | 'partner_jwt';
export type RateClass = 'enhance';

export interface RouteRule {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Express-style path: `:param` at the start of a segment matches that segment; a colon inside one (`enhance:batch`) is literal. */
  path: string;
  auth: AuthScheme;
  /** For api_key routes; partner tokens act as an agent of the partner tenant. */
  role?: Role;
  /** Extra per-caller limit on top of the per-key and per-IP ones. */
  rate?: RateClass;
}

export const ROUTE_RULES: readonly RouteRule[] = [
  { method: 'GET', path: '/health/live', auth: 'public' },
  { method: 'GET', path: '/health/ready', auth: 'public' },
  // Prometheus scrapes without credentials; keep the port off the public internet (docs/operations.md, Observability).
  { method: 'GET', path: '/metrics', auth: 'public' },
  { method: 'GET', path: '/openapi.json', auth: 'public' },
  { method: 'GET', path: '/docs', auth: 'public' },
  { method: 'GET', path: '/docs/init.js', auth: 'public' },
  { method: 'GET', path: '/docs/assets/:file', auth: 'public' },
  // The dashboard's static files; its data comes from the authenticated routes below.
  { method: 'GET', path: '/dashboard', auth: 'public' },
  { method: 'GET', path: '/dashboard/:file', auth: 'public' },
  { method: 'POST', path: '/api/v1/functions/enhance', auth: 'api_key', role: 'agent', rate: 'enhance' },
  { method: 'GET', path: '/api/v1/runs', auth: 'api_key', role: 'viewer' },
  { method: 'POST', path: '/api/v1/functions/enhance:batch', auth: 'api_key', role: 'agent', rate: 'enhance' },
  { method: 'GET', path: '/api/v1/runs/:id', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/runs/:id/events', auth: 'api_key', role: 'viewer' },
  { method: 'DELETE', path: '/api/v1/runs/:id', auth: 'api_key', role: 'agent' },
  { method: 'POST', path: '/v1/external/enhance', auth: 'api_key', role: 'agent', rate: 'enhance' },
  { method: 'POST', path: '/v1/aitomatic/enhance', auth: 'partner_jwt', rate: 'enhance' },
  { method: 'GET', path: '/v1/aitomatic/runs/:id', auth: 'partner_jwt' },
  { method: 'GET', path: '/api/v1/domains', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/domains/:name', auth: 'api_key', role: 'viewer' },
  { method: 'POST', path: '/api/v1/domains', auth: 'api_key', role: 'operator' },
  { method: 'PUT', path: '/api/v1/domains/:name', auth: 'api_key', role: 'operator' },
  { method: 'DELETE', path: '/api/v1/domains/:name', auth: 'api_key', role: 'operator' },
  { method: 'GET', path: '/api/v1/functions', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/functions/:name', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/functions/:name/versions', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/functions/:name/versions/:v', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/functions/:name/versions/:a/diff/:b', auth: 'api_key', role: 'viewer' },
  { method: 'POST', path: '/api/v1/functions/:name/versions/:v/activate', auth: 'api_key', role: 'operator' },
  { method: 'POST', path: '/api/v1/functions/:name/feedback', auth: 'api_key', role: 'agent' },
  { method: 'GET', path: '/api/v1/functions/:name/events', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/cache/stats', auth: 'api_key', role: 'viewer' },
  { method: 'DELETE', path: '/api/v1/cache', auth: 'api_key', role: 'operator' },
  { method: 'POST', path: '/api/v1/admin/api-keys', auth: 'api_key', role: 'admin' },
  { method: 'GET', path: '/api/v1/admin/api-keys', auth: 'api_key', role: 'admin' },
  { method: 'DELETE', path: '/api/v1/admin/api-keys/:id', auth: 'api_key', role: 'admin' },
  { method: 'GET', path: '/api/v1/admin/audit', auth: 'api_key', role: 'admin' },
  { method: 'GET', path: '/api/v1/stats', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/costs', auth: 'api_key', role: 'viewer' },
  // Decodes any tenant's payloads in the namespace (the Temporal UI's codec endpoint).
  { method: 'POST', path: '/api/v1/codec/decode', auth: 'api_key', role: 'admin' },
  { method: 'POST', path: '/api/v1/webhooks', auth: 'api_key', role: 'operator' },
  { method: 'GET', path: '/api/v1/webhooks', auth: 'api_key', role: 'viewer' },
  { method: 'GET', path: '/api/v1/webhooks/:id', auth: 'api_key', role: 'viewer' },
  { method: 'DELETE', path: '/api/v1/webhooks/:id', auth: 'api_key', role: 'operator' },
  { method: 'GET', path: '/api/v1/webhooks/:id/deliveries', auth: 'api_key', role: 'viewer' },
  { method: 'POST', path: '/api/v1/webhooks/:id/test', auth: 'api_key', role: 'operator' },
  // Schedules span every tenant: the route also requires the operator tenant (OPERATOR_TENANT).
  { method: 'GET', path: '/api/v1/schedules', auth: 'api_key', role: 'operator' },
  { method: 'POST', path: '/api/v1/schedules/:id/pause', auth: 'api_key', role: 'operator' },
  { method: 'POST', path: '/api/v1/schedules/:id/unpause', auth: 'api_key', role: 'operator' },
  { method: 'POST', path: '/api/v1/schedules/:id/trigger', auth: 'api_key', role: 'operator' },
];

export interface RouteMatch {
  rule: RouteRule;
  params: Record<string, string>;
  /** False for a request no rule matches: the fail-closed fallback applies. */
  known: boolean;
}

const FALLBACK: Omit<RouteRule, 'method' | 'path'> = { auth: 'api_key', role: 'admin' };

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment.startsWith(':')) {
      if (got[i] === '') return undefined;
      params[segment.slice(1)] = got[i]!;
    } else if (segment !== got[i]) {
      return undefined;
    }
  }
  return params;
}

/** The rule of a request; HEAD follows GET as Express does. Unknown routes get the fail-closed fallback. */
export function matchRoute(method: string, path: string): RouteMatch {
  const wanted = method === 'HEAD' ? 'GET' : method;
  // Express ignores one trailing slash by default; so does the table.
  const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  for (const rule of ROUTE_RULES) {
    if (rule.method !== wanted) continue;
    const params = matchPath(rule.path, normalized);
    if (params) return { rule, params, known: true };
  }
  return { rule: { method: wanted as RouteRule['method'], path: '(unknown route)', ...FALLBACK }, params: {}, known: false };
}
