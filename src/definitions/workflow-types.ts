/**
 * The workflow types, by name: the API, the CLI, schedules and the webhook dispatcher start workflows by these
 * names (typed with `import type` of the workflow function), so nothing outside the worker loads workflow code.
 * Each is the name of a function exported by src/workflows/index.ts.
 */
export const WORKFLOW_TYPES = {
  enhance: 'enhanceFunction',
  batch: 'enhanceBatch',
  regenerate: 'regenerateFromFeedback',
  activate: 'activateVersion',
  reevaluate: 'reevaluateFunctions',
  deliverWebhooks: 'deliverWebhooks',
  rollout: 'rolloutVersion',
  rotateKey: 'rotateEncryptionKey',
} as const;

export type WorkflowType = (typeof WORKFLOW_TYPES)[keyof typeof WORKFLOW_TYPES];
