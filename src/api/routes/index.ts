import type { AnyRoute } from '../route';
import { adminRoutes } from './admin';
import { codecRoutes } from './codec';
import { dashboardRoutes } from './dashboard';
import { docsRoutes } from './docs';
import { domainsRoutes } from './domains';
import { enhanceRoutes } from './enhance';
import { functionsRoutes } from './functions';
import { healthRoutes } from './health';
import { outcomesRoutes } from './outcomes';
import { partnerRoutes } from './partner';
import { rolloutsRoutes } from './rollouts';
import { runsRoutes } from './runs';
import { schedulesRoutes } from './schedules';
import { tenantDataRoutes } from './tenant-data';
import { tenantLifecycleRoutes } from './tenant-lifecycle';
import { tenantSettingsRoutes } from './tenant-settings';
import { webhooksRoutes } from './webhooks';

/** Every route the API serves, each declared once in its feature's module. */
export const ROUTES: readonly AnyRoute[] = [
  ...healthRoutes,
  ...docsRoutes,
  ...dashboardRoutes,
  ...enhanceRoutes,
  ...runsRoutes,
  ...partnerRoutes,
  ...domainsRoutes,
  ...functionsRoutes,
  ...outcomesRoutes,
  ...rolloutsRoutes,
  ...tenantDataRoutes,
  ...tenantLifecycleRoutes,
  ...tenantSettingsRoutes,
  ...adminRoutes,
  ...codecRoutes,
  ...webhooksRoutes,
  ...schedulesRoutes,
];
