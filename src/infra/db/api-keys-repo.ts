import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import type { ApiKeyView, Role } from '../../contracts/security';

/** A key as the authentication middleware needs it. */
export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  role: Role;
}

export type KeyVerification =
  | { ok: true; key: ApiKeyRecord }
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'wrong_secret' | 'revoked'; keyId?: string; tenantId?: string };

/** What creating a key returns: the secret is in `key`, shown this once and never stored. */
export interface CreatedApiKey {
  key: string;
  view: ApiKeyView;
}

// `poet_<12 hex>.<43 base64url>`: the part before the dot is public (the id), 256 random bits follow it.
const KEY_PATTERN = /^(poet_[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

/** Keys carry 256 random bits, so one SHA-256 is enough: there is nothing to brute-force as with passwords. */
function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

interface Row {
  id: string;
  key_hash: string;
  tenant_id: string;
  role: Role;
  name: string;
  created_by: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

function toView(row: Row): ApiKeyView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    role: row.role,
    name: row.name,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at?.toISOString() ?? null,
  };
}

export class ApiKeysRepo {
  constructor(private readonly pool: Pool) {}

  async create(input: {
    tenantId: string;
    role: Role;
    name: string;
    createdBy: string | null;
  }): Promise<CreatedApiKey> {
    const id = `poet_${randomBytes(6).toString('hex')}`;
    const key = `${id}.${randomBytes(32).toString('base64url')}`;
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO api_keys (id, key_hash, tenant_id, role, name, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [id, hashKey(key).toString('hex'), input.tenantId, input.role, input.name, input.createdBy],
    );
    return { key, view: toView(rows[0]!) };
  }

  /**
   * Checks a presented key. A failure says why, and names the key and its tenant when the id is known,
   * so the audit log shows the owner which of their keys was tried with a wrong secret or after revocation.
   */
  async verify(presented: string): Promise<KeyVerification> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return { ok: false, reason: 'malformed' };
    const { rows } = await this.pool.query<Row>('SELECT * FROM api_keys WHERE id = $1', [match[1]]);
    const row = rows[0];
    if (!row) return { ok: false, reason: 'unknown_key', keyId: match[1] };
    const known = { keyId: row.id, tenantId: row.tenant_id };
    if (!timingSafeEqual(Buffer.from(row.key_hash, 'hex'), hashKey(presented)))
      return { ok: false, reason: 'wrong_secret', ...known };
    if (row.revoked_at) return { ok: false, reason: 'revoked', ...known };
    return { ok: true, key: { id: row.id, tenantId: row.tenant_id, role: row.role } };
  }

  async list(tenantId: string): Promise<ApiKeyView[]> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id', [
      tenantId,
    ]);
    return rows.map(toView);
  }

  /** Revokes the tenant's key; undefined when the tenant has no such key. Revoking twice keeps the first time. */
  async revoke(tenantId: string, id: string): Promise<ApiKeyView | undefined> {
    const { rows } = await this.pool.query<Row>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE tenant_id = $1 AND id = $2 RETURNING *`,
      [tenantId, id],
    );
    return rows[0] ? toView(rows[0]) : undefined;
  }
}
