import type { Request, RequestHandler, Response } from 'express';
import type { ApiKeys } from '../app/access';
import type { Config } from '../config';
import type { PartnerVerifier } from '../contracts/security';
import { HttpError } from './errors';
import { callerOf, DEV_PRINCIPAL, MissingRoleError, hasRole, setPrincipal, type Principal } from './principal';
import type { RateLimits } from './rate-limit';
import { matchRoute, type AnyRoute, type RouteMatch } from './route';

export interface AuthDeps {
  config: Config;
  keys: ApiKeys;
  partner?: PartnerVerifier;
  limits: RateLimits;
  /** The declarations whose auth, role and rate class each request is held to. */
  routes: readonly AnyRoute[];
}

/** Why authentication failed, for the audit log; never the presented secret. */
export interface AuthFailure {
  reason: string;
  keyId?: string;
  tenantId?: string;
}

export class UnauthorizedError extends HttpError {
  constructor(message: string) {
    super(401, 'unauthorized', message);
  }
}

const ROUTE = 'poetRoute';
const FAILURE = 'poetAuthFailure';

export function routeOf(res: Response): RouteMatch | undefined {
  return res.locals[ROUTE] as RouteMatch | undefined;
}

export function authFailureOf(res: Response): AuthFailure | undefined {
  return res.locals[FAILURE] as AuthFailure | undefined;
}

/** `Authorization: Bearer <credential>` or `X-API-Key: <key>`; a non-Bearer Authorization counts as a bad credential. */
function presentedCredential(req: Request): string | undefined {
  const authorization = req.get('authorization');
  if (authorization !== undefined) return /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization)?.[1] ?? '';
  return req.get('x-api-key');
}

function deny(res: Response, failure: AuthFailure, message: string): never {
  res.locals[FAILURE] = failure;
  res.setHeader('WWW-Authenticate', 'Bearer realm="poet"');
  throw new UnauthorizedError(message);
}

async function apiKeyPrincipal(req: Request, res: Response, deps: AuthDeps): Promise<Principal> {
  if (deps.config.AUTH_MODE === 'disabled') return DEV_PRINCIPAL;
  const presented = presentedCredential(req);
  if (!presented)
    deny(res, { reason: 'missing_credentials' }, 'an API key is required (Authorization: Bearer <key> or X-API-Key)');
  const check = await deps.keys.verify(presented);
  if (!check.ok) {
    const { ok: _ok, ...failure } = check;
    deny(res, failure, 'invalid or revoked API key');
  }
  return { tenantId: check.key.tenantId, role: check.key.role, keyId: check.key.id };
}

async function partnerPrincipal(req: Request, res: Response, deps: AuthDeps): Promise<Principal> {
  if (!deps.partner)
    deny(res, { reason: 'partner_not_configured' }, 'partner authentication is not configured on this server');
  const token = presentedCredential(req);
  if (!token) deny(res, { reason: 'missing_credentials' }, 'a partner token is required (Authorization: Bearer <jwt>)');
  const check = await deps.partner.verify(token);
  if (!check.ok) deny(res, { reason: `jwt:${check.reason}` }, 'invalid partner token');
  // A partner token acts as an agent of the partner's tenant: it can enhance and read its own runs, nothing else.
  return { tenantId: deps.config.PARTNER_TENANT, role: 'agent', keyId: `partner:${check.subject}` };
}

/**
 * Authentication, the declared roles and per-caller rate limits, in that order, for every route but the public ones.
 * Missing or bad credentials: 401; a role below the route's: 403; over a budget: 429.
 */
export function authenticate(deps: AuthDeps): RequestHandler {
  return async (req, res, next) => {
    const match = matchRoute(deps.routes, req.method, req.path);
    res.locals[ROUTE] = match;
    const { rule } = match;
    if (rule.auth === 'public') return next();
    const principal =
      rule.auth === 'partner_jwt' ? await partnerPrincipal(req, res, deps) : await apiKeyPrincipal(req, res, deps);
    setPrincipal(res, principal);
    if (rule.role && !hasRole(principal, rule.role)) throw new MissingRoleError(rule.role);
    await deps.limits.perCaller(res, callerOf(principal), rule.rate);
    next();
  };
}
