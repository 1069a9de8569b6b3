import type { ApiKeys, Audit } from './access';
import type { PayloadCodec } from './codec';
import type { Domains } from './domains';
import type { Enhancements } from './enhance';
import type { Feedback } from './feedback';
import type { Functions } from './functions';
import type { KeyRotationStatus } from './key-rotation';
import type { Outcomes } from './outcomes';
import type { Resolver } from './resolution';
import type { Rollouts } from './rollouts';
import type { Runs } from './runs';
import type { ScheduleControl } from './schedules';
import type { TenantData } from './tenant-data';
import type { TenantLifecycle } from './tenant-lifecycle';
import type { Webhooks } from './webhooks';
import type { TenantSettingsRepo } from '../infra/db/tenant-settings-repo';

/** The use cases the API calls: each route parses, calls one of these, and answers. */
export interface UseCases {
  enhancements: Enhancements;
  runs: Runs;
  functions: Functions;
  feedback: Feedback;
  outcomes: Outcomes;
  resolver: Resolver;
  rollouts: Rollouts;
  domains: Domains;
  webhooks: Webhooks;
  tenantData: TenantData;
  tenantLifecycle: TenantLifecycle;
  /** Read and written as they are: the route's schema is all the checking they need. */
  tenantSettings: TenantSettingsRepo;
  apiKeys: ApiKeys;
  audit: Audit;
  schedules: ScheduleControl;
  codec: PayloadCodec;
  keyRotation: KeyRotationStatus;
}
