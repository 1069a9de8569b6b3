export { enhanceFunction } from './enhance';
export { activateVersion, regenerateFromFeedback } from './regenerate';
export { enhanceBatch } from './batch';
export { deliverWebhooks } from './webhooks';
export { reevaluateFunctions } from './reevaluate';
export { rolloutVersion } from './rollout';
export { rotateEncryptionKey } from './key-rotation';
