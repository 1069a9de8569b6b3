import type { RequestHandler, Response } from 'express';
import type { AuditOutcome } from '../contracts/security';
import type { Audit } from '../app/access';
import type { Logger } from '../http/observability';
import { authFailureOf, routeOf } from './auth';
import { maybePrincipalOf } from './principal';
import { requestIdOf } from '../http/request-id';

const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);
const TARGET = 'poetAuditTarget';
const TENANT = 'poetAuditTenant';

/** Names what a mutating call acted on when neither the path nor the body says it (e.g. the id of a created key). */
export function setAuditTarget(res: Response, target: string): void {
  res.locals[TARGET] = target;
}

/**
 * Files the call's audit row under `tenantId` instead of the caller's tenant, and without the client address: the
 * erasure of a tenant records itself under the pseudonym its other rows now carry.
 */
export function setAuditTenant(res: Response, tenantId: string): void {
  res.locals[TENANT] = tenantId;
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  if (status === 401 || status === 403) return 'denied';
  return status < 500 ? 'rejected' : 'error';
}

const clip = (value: string, max = 200) => (value.length > max ? `${value.slice(0, max)}…` : value);

/**
 * Writes one audit row per mutating call and per authentication or authorization failure, once the answer is
 * known. A failed write is logged loudly; it cannot change an answer already sent.
 */
export function auditTrail(deps: { audit: Audit; logger: Logger }): RequestHandler {
  return (req, res, next) => {
    res.on('finish', () => {
      const status = res.statusCode;
      if (READ_ONLY.has(req.method) && status !== 401 && status !== 403) return;
      const principal = maybePrincipalOf(res);
      const failure = authFailureOf(res);
      const route = routeOf(res);
      const body = req.body as { function_name?: unknown; name?: unknown } | undefined;
      const target =
        (res.locals[TARGET] as string | undefined) ??
        route?.params.name ??
        route?.params.id ??
        (typeof body?.function_name === 'string' ? body.function_name : undefined) ??
        (typeof body?.name === 'string' ? body.name : undefined);
      deps.audit
        .record({
          actor: principal?.keyId ?? failure?.keyId ?? null,
          tenantId: (res.locals[TENANT] as string | undefined) ?? principal?.tenantId ?? failure?.tenantId ?? null,
          action: `${req.method} ${route?.known ? route.rule.path : '(unknown route)'}`,
          target: target === undefined ? null : clip(target),
          requestId: requestIdOf(res),
          outcome: outcomeOf(status),
          status,
          ip: res.locals[TENANT] === undefined ? (req.ip ?? null) : null,
          details: { path: clip(req.path, 300), ...(failure ? { reason: failure.reason } : {}) },
        })
        .catch((err: unknown) =>
          deps.logger.error('audit write failed', { error: (err as Error).message, request_id: requestIdOf(res) }),
        );
    });
    next();
  };
}
