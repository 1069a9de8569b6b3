import { z } from 'zod';
import { JsonValue, RunRef, VersionTrigger } from './enhance';
import { EventType } from './events';
import { FeedbackStatus } from './feedback';

/** Shapes of the versions, feedback, events and cache routes; the repos and the OpenAPI document use them. */

export const VersionMetrics = z.object({
  success_rate: z.number().nullable(),
  avg_duration: z.number().nullable(),
  error_rate: z.number().nullable(),
  feedback_count: z.number().int(),
});
export type VersionMetrics = z.infer<typeof VersionMetrics>;

export const StorageKind = z.enum(['filesystem', 's3', 'filesystem-fallback']);
export type StorageKind = z.infer<typeof StorageKind>;

export const VersionSummary = z.object({
  version: z.number().int().positive(),
  status: z.enum(['active', 'deprecated']),
  created_at: z.string(),
  domain: z.string(),
  provider: z.string(),
  safety_level: z.string(),
  storage: StorageKind,
  /** How it came to be (request, feedback, reevaluation) and the version it was made from. */
  trigger: VersionTrigger,
  parent_version: z.number().int().positive().nullable(),
  metrics: VersionMetrics,
});
export type VersionSummary = z.infer<typeof VersionSummary>;

export const FunctionSummary = z.object({
  function_name: z.string(),
  current_version: z.number().int().nullable(),
  version_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type FunctionSummary = z.infer<typeof FunctionSummary>;

export const FunctionList = z.object({ functions: z.array(FunctionSummary), next_page_token: z.string().nullable() });
export const FunctionDetail = FunctionSummary.extend({ versions: z.array(VersionSummary) });
export type FunctionDetail = z.infer<typeof FunctionDetail>;
export const VersionList = z.object({
  function_name: z.string(),
  current_version: z.number().int().nullable(),
  versions: z.array(VersionSummary),
});

/** Presigned URLs of a version's four files, one per file: an object with named fields, as client generators read it. */
const ArtifactUrls = z.object({
  'code.py': z.string(),
  'code.dana': z.string(),
  'params.json': z.string(),
  'metadata.json': z.string(),
});
export const ArtifactFile = ArtifactUrls.keyof();
export type ArtifactFile = z.infer<typeof ArtifactFile>;

export const VersionDetail = VersionSummary.extend({
  function_name: z.string(),
  code: z.object({ python: z.string(), dana: z.string() }),
  params: z.record(z.string(), JsonValue),
  metadata: z.record(z.string(), JsonValue),
  /** Presigned URLs of the four files when the version is on S3; null on the filesystem. */
  downloads: ArtifactUrls.nullable(),
});
export type VersionDetail = z.infer<typeof VersionDetail>;

export const VersionDiff = z.object({
  function_name: z.string(),
  from: z.number().int(),
  to: z.number().int(),
  diff: z.object({ python: z.string(), dana: z.string(), params: z.string() }),
});

export const FeedbackAnswer = z.object({
  status: FeedbackStatus,
  version: z.number().int(),
  duplicate: z.literal(true).optional(),
  new_version: z.number().int().optional(),
  update_reason: z.string().optional(),
  function_name: z.string().optional(),
  run: RunRef.optional(),
});

export const EventRecord = z.object({
  id: z.string(),
  event_type: EventType,
  function_name: z.string(),
  workflow_id: z.string().nullable(),
  run_id: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});
export type EventRecord = z.infer<typeof EventRecord>;
export const EventsPage = z.object({ events: z.array(EventRecord), next_page_token: z.string().nullable() });

export const CacheLayerName = z.enum(['l0', 'l1', 'l2']);
export const LayerStats = z.object({
  layer: CacheLayerName,
  hits: z.number().int(),
  misses: z.number().int(),
  errors: z.number().int(),
  hit_rate: z.number().nullable(),
});
export type LayerStats = z.infer<typeof LayerStats>;
export const CacheStats = z.object({ layers: z.array(LayerStats), overall_hit_rate: z.number().nullable() });
export type CacheStats = z.infer<typeof CacheStats>;
export const CacheInvalidated = z.object({
  function_name: z.string().nullable(),
  shared_entries: z.number().int(),
  workers_notified: z.number().int(),
});
export type CacheInvalidated = z.infer<typeof CacheInvalidated>;
