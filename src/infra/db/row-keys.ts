import type { Pool } from 'pg';
import type { ReencryptPageResult } from '../../contracts/key-rotation';
import { EncryptionKeyUnavailable } from '../crypto/key-ring';
import type { FieldCipher } from '../crypto/field-cipher';
import { bump, emptyPage, endOfPage } from '../crypto/reencrypt-page';
import { SEALED_METADATA } from './versions-repo';

/** A table with encrypted fields: every one of a row's is under the row's `key_id` (NULL: all plaintext). */
interface SealedTable {
  text: readonly string[];
  json: readonly string[];
  /** A jsonb column of which only these members are encrypted. */
  members?: { column: string; names: readonly string[] };
}

export const SEALED_TABLES = {
  versions: { text: [], json: ['params', 'request'], members: { column: 'metadata', names: SEALED_METADATA } },
  feedback: { text: ['comments'], json: ['suggestions'] },
  feedback_examples: { text: [], json: ['example'] },
} as const satisfies Record<string, SealedTable>;
export type SealedTableName = keyof typeof SEALED_TABLES;

/** How rotation reports rows whose fields were plaintext. */
export const PLAINTEXT_LABEL = 'unencrypted';

type Row = { id: string; key_id: string | null } & Record<string, unknown>;

/**
 * Re-encryption of the rows with encrypted fields to the active key (key rotation), and which key they are under.
 * A row's fields and key id change together, by compare-and-set on the key id it was read with: a row another writer
 * re-encrypted meanwhile is left as it made it, and a page done twice (a retried activity) finds nothing to do.
 */
export class RowKeys {
  constructor(
    private readonly pool: Pool,
    private readonly cipher: FieldCipher,
  ) {}

  /** One page of `table`'s rows not under the active key (plaintext ones included), after row id `after`. */
  async reencryptPage(
    table: SealedTableName,
    after: string | undefined,
    limit: number,
    countRemaining: boolean,
  ): Promise<ReencryptPageResult & { last?: string }> {
    const target = this.cipher.activeKeyId!;
    const spec: SealedTable = SEALED_TABLES[table];
    const columns = [...spec.text, ...spec.json, ...(spec.members ? [spec.members.column] : [])];
    const { rows } = await this.pool.query<Row>(
      `SELECT id, key_id, ${columns.join(', ')} FROM ${table}
        WHERE key_id IS DISTINCT FROM $1 AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [target, after || null, limit],
    );
    const result = emptyPage(rows.length);
    for (const row of rows) {
      let values: unknown[];
      try {
        values = this.reseal(spec, row);
      } catch (err) {
        if (!(err instanceof EncryptionKeyUnavailable)) throw err;
        bump(result.unreadable, row.key_id ?? PLAINTEXT_LABEL);
        continue;
      }
      const set = columns.map((c, i) => `${c} = $${i + 4}`).join(', ');
      const res = await this.pool.query(
        `UPDATE ${table} SET ${set}, key_id = $2 WHERE id = $1 AND key_id IS NOT DISTINCT FROM $3`,
        [row.id, target, row.key_id, ...values],
      );
      if (res.rowCount === 1) bump(result.rewritten, row.key_id ?? PLAINTEXT_LABEL);
      else result.concurrent++;
    }
    return endOfPage(
      result,
      rows.map((r) => r.id),
      limit,
      countRemaining ? (last) => this.count(table, target, last) : undefined,
    );
  }

  /** Rows of `table` not under `target`, after row id `after` (all of them without). */
  async count(table: SealedTableName, target: string, after?: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE key_id IS DISTINCT FROM $1 AND ($2::bigint IS NULL OR id > $2)`,
      [target, after ?? null],
    );
    return rows[0]!.n;
  }

  /** Rows per key id of every table with encrypted fields (null: plaintext), by table. */
  async usage(): Promise<Record<SealedTableName, Record<string, number>>> {
    const out = {} as Record<SealedTableName, Record<string, number>>;
    for (const table of Object.keys(SEALED_TABLES) as SealedTableName[]) {
      const { rows } = await this.pool.query<{ key_id: string | null; n: number }>(
        `SELECT key_id, count(*)::int AS n FROM ${table} GROUP BY key_id`,
      );
      out[table] = Object.fromEntries(rows.map((r) => [r.key_id ?? PLAINTEXT_LABEL, r.n]));
    }
    return out;
  }

  /** The row's encrypted columns as parameters, decrypted and sealed again under the active key. */
  private reseal(spec: SealedTable, row: Row): unknown[] {
    const c = this.cipher;
    return [
      ...spec.text.map((col) => c.sealText(c.openText(row[col] as string | null))),
      ...spec.json.map((col) => (row[col] === null ? null : c.sealJson(c.openJson(row[col])))),
      ...(spec.members
        ? [
            JSON.stringify(
              c.sealMembers(c.openMembers(row[spec.members.column] as object, spec.members.names), spec.members.names),
            ),
          ]
        : []),
    ];
  }
}
