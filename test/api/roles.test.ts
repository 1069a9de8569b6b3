import type { AddressInfo } from 'node:net';
import express from 'express';
import { errorHandler } from '../../src/api/errors';
import { setPrincipal, type Role } from '../../src/api/principal';
import { mountRoutes, type RouteDeps } from '../../src/api/route';
import { tenantDataRoutes } from '../../src/api/routes/tenant-data';
import { TenantData } from '../../src/app/tenant-data';
import { createLogger } from '../../src/infra/observability/logger';
import { CacheInvalidator } from '../../src/infra/cache/enhancement-cache';
import { Metrics } from '../../src/infra/observability/metrics';
import { createPool } from '../../src/infra/db/pool';

/**
 * The operator-only routes refuse lesser roles before touching anything. Until API keys land the app's
 * principal is always an admin, so this mounts the real router behind a principal of the role under test.
 */
describe('operator-only routes', () => {
  const pool = createPool({ url: process.env.DATABASE_URL!, schema: 'public', max: 1 });
  afterAll(() => pool.end());

  async function deleteCacheAs(role: Role): Promise<{ status: number; body: any }> {
    const app = express();
    app.use((_req, res, next) => {
      setPrincipal(res, { tenantId: `roles_${role}`, role, keyId: 'test' });
      next();
    });
    const tenantData = new TenantData(pool, new CacheInvalidator({ prefix: 'test:roles:', pool, schema: 'public' }));
    app.use(mountRoutes(tenantDataRoutes, { app: { tenantData } } as unknown as RouteDeps));
    app.use(
      errorHandler(
        createLogger({ level: 'error', service: 'test', silent: true }),
        new Metrics({ domains: [], stages: [] }),
      ),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/cache?function_name=f`,
        { method: 'DELETE' },
      );
      return { status: res.status, body: await res.json() };
    } finally {
      server.close();
    }
  }

  test.each(['viewer', 'agent'] as const)('DELETE /api/v1/cache as %s is 403', async (role) => {
    expect(await deleteCacheAs(role)).toEqual({
      status: 403,
      body: {
        error: {
          code: 'forbidden',
          message: 'this action needs the operator role',
          category: 'input',
          severity: 'warning',
        },
      },
    });
  });

  test('DELETE /api/v1/cache as operator is allowed', async () => {
    expect(await deleteCacheAs('operator')).toEqual({
      status: 200,
      body: { function_name: 'f', shared_entries: 0, workers_notified: 0 },
    });
  });
});
