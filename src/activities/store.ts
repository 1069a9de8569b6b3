import type { EnhancedArtifact, EnhanceRequest, EnhanceMetadata, Guidance, Lineage } from '../contracts/enhance';
import type { CreationTrigger, VersionsRepo } from '../infra/db/versions-repo';
import { poetRuntime } from '../poet/runtime';
import { lineageOf } from './lineage';

export interface StoreVersionInput {
  tenant_id: string;
  workflow_id: string;
  run_id: string;
  /** The input the version answers: a regeneration's is its parent's. */
  input_hash: string;
  normalized_input_hash?: string;
  /** The version it is made from: the regenerated one, or the active one a cosmetic edit re-embeds. */
  parent_version?: number | null;
  /** Absent in runs started before lineage, all of them requests or regenerations with guidance. */
  trigger?: CreationTrigger;
  request: EnhanceRequest;
  artifact: EnhancedArtifact;
  metadata: EnhanceMetadata;
  /** Set on regenerations: why, and what Train learned. */
  guidance?: Guidance;
  /** A candidate a rollout will expose: stored, the active version left active. */
  inactive?: boolean;
}

export interface StoreVersionResult {
  version: number;
  created: boolean;
  deprecated: number | null;
  /** Set when a request made no version because the active one answers it already: which, and why. */
  lineage?: Lineage;
}

export function createStoreActivity(versions: VersionsRepo) {
  return {
    async storeVersion(input: StoreVersionInput): Promise<StoreVersionResult> {
      const wanted = input.artifact.runtime_version;
      const runtime = wanted === undefined ? undefined : poetRuntime();
      if (runtime && runtime.version !== wanted) {
        // Retryable: a worker of the release that wrote and validated the module ships that runtime.
        throw new Error(`the module needs poet_runtime ${wanted}; this worker ships ${runtime.version}`);
      }
      const { reused, ...stored } = await versions.storeVersion({
        tenantId: input.tenant_id,
        functionName: input.request.function_name,
        idempotencyKey: `${input.workflow_id}/${input.run_id}`,
        inputHash: input.input_hash,
        normalizedInputHash: input.normalized_input_hash,
        parentVersion: input.parent_version ?? null,
        trigger: input.trigger ?? (input.guidance ? 'feedback' : 'request'),
        request: input.request,
        domain: input.metadata.domain,
        optimizeFor: input.metadata.optimize_for,
        safetyLevel: input.metadata.safety_level,
        artifact: input.artifact,
        runtimeSource: runtime?.source,
        metadata: {
          ...input.metadata,
          ...(input.guidance ? { guidance: input.guidance } : {}),
          workflow_id: input.workflow_id,
          run_id: input.run_id,
        },
        inactive: input.inactive,
      });
      return reused ? { ...stored, lineage: lineageOf(reused.relation, reused.active) } : stored;
    },
  };
}
