import { temporal } from '@temporalio/proto';
import type { Pool } from 'pg';
import type { RotationCursor, ReencryptPageResult } from '../../contracts/key-rotation';
import { EncryptionKeyUnavailable } from '../crypto/key-ring';
import { bump, emptyPage } from '../crypto/reencrypt-page';
import { EncryptionCodec } from './encryption-codec';

/** The `key_id` of a payload row that is not encrypted (written before encryption was on): no key id can be empty. */
export const UNENCRYPTED = '';
/** How rotation reports rows that were not encrypted. */
export const UNENCRYPTED_LABEL = 'unencrypted';

const CLASSIFY_PAGE = 500;

/** The key id a payload row is stored under (UNENCRYPTED when none), as the claim check records it on write. */
export function storedKeyId(payload: temporal.api.common.v1.IPayload): string {
  return EncryptionCodec.keyIdOf(payload) ?? UNENCRYPTED;
}

interface Row {
  id: string;
  tenant_id: string;
  data: Buffer;
  key_id: string | null;
}

/**
 * Which key the rows of the payload store are under, and their re-encryption to the active key (key rotation). A row
 * keeps its id (histories refer to it), so only its data and key id change, together, by compare-and-set on the key
 * id it was read with: a row another writer changed meanwhile is left as that writer made it.
 */
export class PayloadKeys {
  constructor(
    private readonly pool: Pool,
    private readonly codec: EncryptionCodec,
  ) {}

  get activeKeyId(): string {
    return this.codec.keyRing.activeKeyId;
  }

  /**
   * One page of rows not under the active key, in (id, tenant_id) order after `after`, re-encrypted under it; with
   * `countRemaining`, also how many such rows follow (a scan of the rest, so not on every page).
   */
  async reencryptPage(
    after: RotationCursor | undefined,
    limit: number,
    countRemaining: boolean,
  ): Promise<ReencryptPageResult> {
    const target = this.activeKeyId;
    const { rows } = await this.pool.query<Row>(
      `SELECT id, tenant_id, data, key_id FROM payloads
        WHERE key_id IS DISTINCT FROM $1 AND ($2::text IS NULL OR (id, tenant_id) > ($2, $3))
        ORDER BY id, tenant_id LIMIT $4`,
      [target, after?.id ?? null, after?.tenant_id ?? null, limit],
    );
    const result = emptyPage(rows.length);
    for (const row of rows) {
      const payload = temporal.api.common.v1.Payload.decode(row.data);
      const keyId = row.key_id ?? storedKeyId(payload);
      if (keyId === target) {
        // Written under the target key before key ids were recorded: only the id is missing.
        if (await this.compareAndSet(row, row.data, target)) result.classified++;
        else result.concurrent++;
        continue;
      }
      let sealed: Buffer;
      try {
        const [plain] = await this.codec.decode([payload]);
        const [encrypted] = await this.codec.encode([plain!]);
        sealed = Buffer.from(temporal.api.common.v1.Payload.encode(encrypted!).finish());
      } catch (err) {
        if (!(err instanceof EncryptionKeyUnavailable)) throw err;
        bump(result.unreadable, keyId);
        continue;
      }
      if (await this.compareAndSet(row, sealed, target)) bump(result.rewritten, keyId || UNENCRYPTED_LABEL);
      else result.concurrent++;
    }
    const last = rows.at(-1);
    if (!last || rows.length < limit) return { ...result, remaining: 0 };
    result.next = { id: last.id, tenant_id: last.tenant_id };
    if (countRemaining) {
      const left = await this.pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM payloads WHERE key_id IS DISTINCT FROM $1 AND (id, tenant_id) > ($2, $3)',
        [target, last.id, last.tenant_id],
      );
      result.remaining = Number(left.rows[0]!.n);
    }
    return result;
  }

  /** Rows per key id (UNENCRYPTED for rows not encrypted), after recording the key id of rows that lack one. */
  async usage(): Promise<Record<string, number>> {
    await this.classifyUnknown();
    const { rows } = await this.pool.query<{ key_id: string; n: string }>(
      'SELECT key_id, count(*) AS n FROM payloads GROUP BY key_id',
    );
    return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
  }

  /** Rows stored before key ids were recorded: their key id is read from the payload and written down. */
  private async classifyUnknown(): Promise<void> {
    for (;;) {
      const { rows } = await this.pool.query<Row>(
        'SELECT id, tenant_id, data, key_id FROM payloads WHERE key_id IS NULL LIMIT $1',
        [CLASSIFY_PAGE],
      );
      for (const row of rows)
        await this.compareAndSet(row, row.data, storedKeyId(temporal.api.common.v1.Payload.decode(row.data)));
      if (rows.length < CLASSIFY_PAGE) return;
    }
  }

  /** Writes `data` under `keyId` if the row is still as it was read (its key id; its data too when that was unknown). */
  private async compareAndSet(row: Row, data: Buffer, keyId: string): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE payloads SET data = $3, key_id = $4
        WHERE id = $1 AND tenant_id = $2 AND key_id IS NOT DISTINCT FROM $5 AND ($5::text IS NOT NULL OR data = $6)`,
      [row.id, row.tenant_id, data, keyId, row.key_id, row.data],
    );
    return res.rowCount === 1;
  }
}
