import path from 'node:path';
import type { Pool } from 'pg';
import { createPool, migrate } from '../../src/infra/db/pool';
import { createLogger } from '../../src/infra/observability/logger';
import { uniqueSuffix } from './stack';

export interface MigratedSchema {
  schema: string;
  pool: Pool;
  /** Drops the schema and ends the pool. */
  drop(): Promise<void>;
}

/** A PostgreSQL schema of the test file's own with every migration applied, and a pool on it. */
export async function migratedSchema(name: string, max = 4): Promise<MigratedSchema> {
  const schema = `t_${name}_${uniqueSuffix()}`;
  const logger = createLogger({ level: 'error', service: 'test', silent: true });
  await migrate({
    url: process.env.DATABASE_URL!,
    schema,
    dir: path.join(__dirname, '..', '..', 'migrations'),
    logger,
  });
  const pool = createPool({ url: process.env.DATABASE_URL!, schema, max });
  return {
    schema,
    pool,
    async drop() {
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    },
  };
}
