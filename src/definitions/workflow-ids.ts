// Hashes are the caller's: hashing needs Node's crypto, which the workflow sandbox does not offer.

/**
 * One run per input: identical concurrent requests share it (conflict policy USE_EXISTING).
 * `inputHash` is the hex SHA-256 of the canonical input (tenant, request, custom domain settings).
 */
export const enhanceWorkflowId = (functionName: string, inputHash: string) =>
  `enhance-${functionName}-${inputHash.slice(0, 12)}`;

/** One run per batch: the same batch submitted again joins it. `batchHash` is the hex SHA-256 of tenant and functions. */
export const batchWorkflowId = (batchHash: string) => `batch-${batchHash.slice(0, 12)}`;

/** The child run of a batch's item: its position makes it unique within the batch. */
export const batchItemWorkflowId = (batchId: string, index: number) => `${batchId}.${index}`;

/**
 * One regeneration run per (tenant, function, version) at a time: feedback and scheduled re-evaluation use this id
 * alike, so they join (or skip) a run already going instead of making a second new version.
 * `tenantHash` is the hex SHA-256 of the tenant id: two tenants' functions of one name never share a run.
 */
export const regenerateWorkflowId = (tenantHash: string, functionName: string, version: number) =>
  `regenerate-${functionName}-v${version}-${tenantHash.slice(0, 8)}`;

/** One activation of a version at a time; `tenantHash` as for regenerateWorkflowId. */
export const activateWorkflowId = (tenantHash: string, functionName: string, version: number) =>
  `activate-${functionName}-v${version}-${tenantHash.slice(0, 8)}`;

/**
 * One rollout per function at a time: a second start while one runs is refused. `tenantHash` as for
 * regenerateWorkflowId.
 */
export const rolloutWorkflowId = (tenantHash: string, functionName: string) =>
  `rollout-${functionName}-${tenantHash.slice(0, 8)}`;

/** One delivery run per outbox event and database schema: a second start never delivers twice. */
export const deliverWebhooksWorkflowId = (schema: string, eventId: string) => `webhooks-${schema}-${eventId}`;

/** The re-evaluation schedule of a deployment: deployments sharing a namespace get one schedule each. */
export const reevaluationScheduleId = (taskQueue: string, schema: string) => `reevaluate-${taskQueue}-${schema}`;

/**
 * One re-encryption run per target key and database schema: `poet keys rotate-data` again joins the run going, and
 * after it has completed starts a new one (which finds only what an old key wrote since).
 */
export const rotateKeyWorkflowId = (schema: string, targetKeyId: string) => `rotate-key-${schema}-${targetKeyId}`;
