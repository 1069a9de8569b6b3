import { z } from 'zod';
import { RolloutPlan } from './rollouts';

/** A tenant's own settings: absent ones take their defaults. */
export const TenantSettings = z
  .strictObject({
    rollout: RolloutPlan.nullable().default(null).meta({
      description:
        'Set: a version made by feedback-driven regeneration is rolled out with this plan instead of being activated at once. null: activated at once',
    }),
  })
  .meta({ id: 'TenantSettings' });
export type TenantSettings = z.output<typeof TenantSettings>;

export const DEFAULT_TENANT_SETTINGS: TenantSettings = TenantSettings.parse({});
