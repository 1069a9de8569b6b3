import type { ApiKeyView, AuditQuery, CreateApiKeyRequest } from '../contracts/security';
import type { ApiKeysRepo } from '../infra/db/api-keys-repo';
import type { AuditRecord, AuditRepo } from '../infra/db/audit-repo';
import { ForbiddenError, NotFoundError } from './errors';

/** API keys of a tenant: made (the secret shown once), listed without secrets, revoked, and checked on every call. */
export class ApiKeys {
  constructor(private readonly repo: ApiKeysRepo) {}

  async create(
    tenantId: string,
    request: CreateApiKeyRequest,
    createdBy: string | null,
  ): Promise<ApiKeyView & { key: string }> {
    const created = await this.repo.create({ tenantId, ...request, createdBy });
    return { ...created.view, key: created.key };
  }

  list(tenantId: string): Promise<ApiKeyView[]> {
    return this.repo.list(tenantId);
  }

  async revoke(tenantId: string, id: string): Promise<ApiKeyView> {
    const revoked = await this.repo.revoke(tenantId, id);
    if (!revoked) throw new NotFoundError('api_key_not_found', `no api key ${id}`);
    return revoked;
  }

  /** Whose key this is, or why it is refused (for the audit log; never the secret). */
  verify(presented: string) {
    return this.repo.verify(presented);
  }
}

/** The append-only audit log: a row per mutating call and per refusal; the operator tenant also reads rows of no tenant. */
export class Audit {
  constructor(
    private readonly repo: AuditRepo,
    private readonly operatorTenant: string,
  ) {}

  record(entry: AuditRecord): Promise<void> {
    return this.repo.record(entry);
  }

  query(tenantId: string, q: AuditQuery) {
    return this.repo.query(tenantId, q, tenantId === this.operatorTenant);
  }

  /** The chain runs over every tenant's rows: only the operator tenant checks it. */
  verifyChain(tenantId: string) {
    if (tenantId !== this.operatorTenant)
      throw new ForbiddenError('forbidden', 'the audit chain spans every tenant: the operator tenant checks it');
    return this.repo.verifyChain();
  }
}
