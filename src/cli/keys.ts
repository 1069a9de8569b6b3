import type { Config } from '../config';
import { Role, TenantId } from '../contracts/security';
import { ApiKeysRepo } from '../infra/db/api-keys-repo';
import { createPool, migrate } from '../infra/db/pool';
import type { Logger } from '../infra/observability/logger';

export interface CreateKeyOptions {
  tenant: string;
  role: string;
  name: string;
}

/** DATABASE_URL, or the embedded PostgreSQL a running `poet start` serves. */
export function databaseUrl(config: Config): string {
  return config.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${config.EMBEDDED_PG_PORT}/postgres?sslmode=disable`;
}

/**
 * `poet keys create`: writes a key straight into PostgreSQL (how the first admin key comes to exist) and prints
 * the secret once on stdout; what it is goes to stderr, so `KEY=$(poet keys create)` captures only the key.
 */
export async function createKeyCommand(config: Config, opts: CreateKeyOptions, logger: Logger): Promise<void> {
  const tenant = TenantId.safeParse(opts.tenant);
  if (!tenant.success) throw new Error(`--tenant: ${tenant.error.issues[0]!.message}`);
  const role = Role.safeParse(opts.role);
  if (!role.success) throw new Error(`--role must be one of ${Role.options.join(', ')}`);
  const url = databaseUrl(config);
  await migrate({ url, schema: config.DATABASE_SCHEMA, dir: config.migrationsDir, logger });
  const pool = createPool({ url, schema: config.DATABASE_SCHEMA, max: 1 });
  try {
    const created = await new ApiKeysRepo(pool).create({
      tenantId: tenant.data,
      role: role.data,
      name: opts.name,
      createdBy: 'cli',
    });
    process.stderr.write(
      `created ${created.view.role} key ${created.view.id} for tenant ${created.view.tenant_id}; it is shown only now:\n`,
    );
    process.stdout.write(`${created.key}\n`);
  } finally {
    await pool.end();
  }
}
