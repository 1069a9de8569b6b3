import { sha256 } from '../hash';

/** Tenant-scoped workflow ids: two tenants' functions of one name never share a run. */
export const tenantTag = (tenantId: string) => sha256(tenantId).slice(0, 8);

/**
 * One regeneration run per (tenant, function, version) at a time: feedback and scheduled re-evaluation use
 * this id alike, so they join (or skip) a run already going instead of making a second new version.
 */
export const regenerateWorkflowId = (tenantId: string, functionName: string, version: number) =>
  `regenerate-${functionName}-v${version}-${tenantTag(tenantId)}`;
