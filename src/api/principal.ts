import type { RequestHandler, Response } from 'express';
import { HttpError } from './errors';

/** Roles from least to most privileged; a route names the least role it needs. */
export const ROLES = ['viewer', 'agent', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: every resource a route reads or writes belongs to `tenantId`. */
export interface Principal {
  tenantId: string;
  role: Role;
  /** Public prefix of the API key used, or null for the unauthenticated single-tenant mode. */
  keyId: string | null;
}

const PRINCIPAL = Symbol('principal');

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals[PRINCIPAL as unknown as string] = principal;
}

export function principalOf(res: Response): Principal {
  const principal = res.locals[PRINCIPAL as unknown as string] as Principal | undefined;
  // Routes run after authentication; reaching here without a principal is a wiring bug, not a client error.
  if (!principal) throw new Error('no principal on the request: authentication middleware missing');
  return principal;
}

export function hasRole(principal: Principal, needed: Role): boolean {
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(needed);
}

export function requireRole(needed: Role): RequestHandler {
  return (_req, res, next) => {
    if (!hasRole(principalOf(res), needed)) {
      throw new HttpError(403, 'forbidden', `this action needs the ${needed} role`);
    }
    next();
  };
}

/** Until API keys exist every caller is the default tenant's admin: the single-user dev mode. */
export function singleTenantPrincipal(): RequestHandler {
  return (_req, res, next) => {
    setPrincipal(res, { tenantId: 'default', role: 'admin', keyId: null });
    next();
  };
}
