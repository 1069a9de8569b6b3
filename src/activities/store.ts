import type { EnhancedArtifact, EnhanceRequest, EnhanceMetadata, Guidance } from '../contracts/enhance';
import type { StoredVersion, VersionsRepo } from '../infra/db/versions-repo';
import { poetRuntime } from '../poet/runtime';

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
      const wanted = input.artifact.runtime_version;
      const runtime = wanted === undefined ? undefined : poetRuntime();
      if (runtime && runtime.version !== wanted) {
        // Retryable: a worker of the release that wrote and validated the module ships that runtime.
        throw new Error(`the module needs poet_runtime ${wanted}; this worker ships ${runtime.version}`);
      }
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
        runtimeSource: runtime?.source,
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
