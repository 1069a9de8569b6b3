import type { Response } from 'express';
import { REPORTER, ROLES, type Role } from '../contracts/security';
import { HttpError } from './errors';
import type { Caller } from './rate-limit';

export { ROLES, type Role };

/** Who is calling: every resource a route reads or writes belongs to `tenantId`. */
export interface Principal {
  tenantId: string;
  role: Role;
  /** The API key's public id, `partner:<subject>` for partner tokens, or null when authentication is disabled. */
  keyId: string | null;
}

/** AUTH_MODE=disabled: every caller is the default tenant's admin (the single-user laptop mode). */
export const DEV_PRINCIPAL: Principal = Object.freeze({ tenantId: 'default', role: 'admin', keyId: null });

const PRINCIPAL = Symbol('principal');

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals[PRINCIPAL as unknown as string] = principal;
}

/** The principal when authentication has run; undefined before it or on public routes. */
export function maybePrincipalOf(res: Response): Principal | undefined {
  return res.locals[PRINCIPAL as unknown as string] as Principal | undefined;
}

/** The rate-limit budgets a principal spends: its key's (its tenant's without a key) and its tenant's. */
export function callerOf(principal: Principal): Caller {
  return { caller: principal.keyId ?? `tenant:${principal.tenantId}`, tenantId: principal.tenantId };
}

export function principalOf(res: Response): Principal {
  const principal = maybePrincipalOf(res);
  // Routes run after authentication; reaching here without a principal is a wiring bug, not a client error.
  if (!principal) throw new Error('no principal on the request: authentication middleware missing');
  return principal;
}

export function hasRole(principal: Principal, needed: Role): boolean {
  if (principal.role === REPORTER) return needed === REPORTER;
  if (needed === REPORTER) return true;
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(needed);
}

export class MissingRoleError extends HttpError {
  constructor(needed: Role) {
    super(403, 'forbidden', `this action needs the ${needed} role`);
  }
}
