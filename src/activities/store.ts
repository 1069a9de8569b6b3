import type { EnhancedArtifact, EnhanceRequest, EnhanceMetadata, Guidance } from '../contracts/enhance';
import type { StoredVersion, VersionsRepo } from '../infra/db/versions-repo';

export interface StoreVersionInput {
  tenant_id: string;
  workflow_id: string;
  run_id: string;
  input_hash: string;
  request: EnhanceRequest;
  artifact: EnhancedArtifact;
  metadata: EnhanceMetadata;
  /** Set on regenerations: why, and what Train learned. */
  guidance?: Guidance;
}

export function createStoreActivity(versions: VersionsRepo) {
  return {
    storeVersion(input: StoreVersionInput): Promise<StoredVersion> {
      return versions.storeVersion({
        tenantId: input.tenant_id,
        functionName: input.request.function_name,
        idempotencyKey: `${input.workflow_id}/${input.run_id}`,
        inputHash: input.input_hash,
        request: input.request,
        domain: input.metadata.domain,
        optimizeFor: input.metadata.optimize_for,
        safetyLevel: input.metadata.safety_level,
        artifact: input.artifact,
        metadata: {
          ...input.metadata,
          ...(input.guidance ? { guidance: input.guidance } : {}),
          workflow_id: input.workflow_id,
          run_id: input.run_id,
        },
      });
    },
  };
}
