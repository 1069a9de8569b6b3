import { Router } from 'express';
import type { Config } from '../../config';
import { ApiKeyId, AuditQuery, CreateApiKeyRequest } from '../../contracts/security';
import type { ApiKeysRepo } from '../../infra/db/api-keys-repo';
import type { AuditRepo } from '../../infra/db/audit-repo';
import { setAuditTarget } from '../auth-audit';
import { BadRequestError, NotFoundError, zodDetails } from '../errors';
import { principalOf } from '../principal';

/** Key management and the audit log of the caller's own tenant (admins only: see route-roles.ts). */
export function adminRouter(deps: { config: Config; keys: ApiKeysRepo; audit: AuditRepo }): Router {
  const router = Router();

  router.post('/api/v1/admin/api-keys', async (req, res) => {
    const parsed = CreateApiKeyRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body does not match the api key schema', zodDetails(parsed.error));
    const principal = principalOf(res);
    const created = await deps.keys.create({ tenantId: principal.tenantId, ...parsed.data, createdBy: principal.keyId });
    setAuditTarget(res, created.view.id);
    // The only time the secret leaves the server.
    res.status(201).location(`/api/v1/admin/api-keys/${created.view.id}`).json({ ...created.view, key: created.key });
  });

  router.get('/api/v1/admin/api-keys', async (_req, res) => {
    res.json({ api_keys: await deps.keys.list(principalOf(res).tenantId) });
  });

  router.delete('/api/v1/admin/api-keys/:id', async (req, res) => {
    const id = ApiKeyId.safeParse(req.params.id);
    if (!id.success) throw new BadRequestError('malformed api key id', zodDetails(id.error));
    const revoked = await deps.keys.revoke(principalOf(res).tenantId, id.data);
    if (!revoked) throw new NotFoundError('api_key_not_found', `no api key ${id.data}`);
    res.json(revoked);
  });

  router.get('/api/v1/admin/audit', async (req, res) => {
    const query = AuditQuery.safeParse(req.query);
    if (!query.success) throw new BadRequestError('invalid audit filters', zodDetails(query.error));
    const tenantId = principalOf(res).tenantId;
    res.json(await deps.audit.query(tenantId, query.data, tenantId === deps.config.OPERATOR_TENANT));
  });

  return router;
}
