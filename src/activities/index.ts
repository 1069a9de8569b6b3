import type { EnhancementCache } from '../infra/cache/enhancement-cache';
import type { EventPublisher } from '../infra/events/publisher';
import type { DomainsRepo } from '../infra/db/domains-repo';
import type { FeedbackRepo } from '../infra/db/feedback-repo';
import type { LlmUsageRepo } from '../infra/db/llm-usage-repo';
import type { ProviderChain } from '../infra/llm/provider-chain';
import type { ReevaluationRepo } from '../infra/db/reevaluation-repo';
import type { TenantSettingsRepo } from '../infra/db/tenant-settings-repo';
import type { PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import type { VersionsRepo } from '../infra/db/versions-repo';
import type { StoredKeys } from '../infra/crypto/stored-keys';
import type { Metrics } from '../infra/observability/metrics';
import { createCacheActivities } from './cache';
import { createFeedbackActivities } from './feedback';
import { createGenerateActivities, type LlmSettings } from './generate';
import { createKeyRotationActivities } from './key-rotation';
import { createPublishActivity } from './publish';
import { createReevaluationActivities } from './reevaluation';
import { createRolloutActivities, type RolloutDeps } from './rollout';
import { createStoreActivity } from './store';
import { createValidateActivity, type SandboxSettings } from './validate';
import { createWebhookActivities, type WebhookSettings } from './webhooks';

export interface ActivityDeps {
  cache: EnhancementCache;
  analyzer: PythonAnalyzer;
  domains: DomainsRepo;
  providers: ProviderChain;
  usage: LlmUsageRepo;
  llm: LlmSettings;
  sandbox: SandboxSettings;
  versions: VersionsRepo;
  events: EventPublisher;
  /** Run durations and failure classes, counted as runs publish their outcome. */
  metrics: Metrics;
  feedback: FeedbackRepo;
  tenantSettings: TenantSettingsRepo;
  webhooks: WebhookSettings;
  reevaluations: ReevaluationRepo;
  /** Functions per page of scheduled re-evaluation. */
  reevaluationPageSize: number;
  rollouts: RolloutDeps;
  /** What is stored under which key (payloads, encrypted rows and artifacts), for key rotation; undefined without a key ring. */
  storedKeys: StoredKeys | undefined;
}

/** Activities close over their adapters; the worker only wires them (temporalio/samples-typescript style). */
export function createActivities(deps: ActivityDeps) {
  const validation = createValidateActivity(deps.sandbox, deps.feedback);
  return {
    ...createCacheActivities(deps.cache, deps.providers, deps.versions, deps.feedback, deps.analyzer),
    ...createGenerateActivities(deps),
    ...validation,
    ...createStoreActivity(deps.versions),
    ...createFeedbackActivities(deps.versions, deps.feedback, deps.tenantSettings),
    ...createWebhookActivities(deps.webhooks),
    ...createReevaluationActivities(deps),
    ...createRolloutActivities(deps.rollouts, deps.versions, validation.validate),
    ...createPublishActivity(deps.events, deps.metrics),
    ...createKeyRotationActivities(deps.storedKeys),
  };
}

export type Activities = ReturnType<typeof createActivities>;
