import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';

/**
 * Every text-like column of every table of the pool's schema searched for `needle`, as `table.column: rows`; payload
 * bytes are searched as bytes, everything else as its text form.
 */
export async function rowsContaining(pool: Pool, needle: string): Promise<{ columns: number; found: string[] }> {
  const { rows: columns } = await pool.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
        AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'bytea')`,
  );
  const found: string[] = [];
  for (const { table_name, column_name, data_type } of columns) {
    const bytes = data_type === 'bytea' ? `"${column_name}"` : `convert_to("${column_name}"::text, 'UTF8')`;
    const res = await pool.query(
      `SELECT count(*)::int AS n FROM "${table_name}" WHERE position(convert_to($1, 'UTF8') IN ${bytes}) > 0`,
      [needle],
    );
    if (res.rows[0].n > 0) found.push(`${table_name}.${column_name}: ${res.rows[0].n}`);
  }
  return { columns: columns.length, found };
}

/** Files under `dir` whose bytes contain `needle`, relative to it. */
export function filesContaining(dir: string, needle: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((file) => readFileSync(file).includes(needle))
    .map((file) => path.relative(dir, file));
}
