import { z } from 'zod';
import { FeedbackExample, FunctionName, JsonValue } from './enhance';

/**
 * The tenant export format (docs/tenant-data.md): NDJSON, one record per line, `kind` first. A header opens it, an
 * `end` record with the counts closes it (a stream cut short has none, and import refuses it). Within a function,
 * its versions, then its feedback, then its events follow its `function` record. Version 1 of the format; a later
 * version adds kinds or fields, and import reads every version up to its own.
 */
export const EXPORT_FORMAT = 'poet-tenant-export';
export const EXPORT_FORMAT_VERSION = 1;
export const EXPORT_MEDIA_TYPE = 'application/x-ndjson';

const Timestamp = z.iso.datetime({ offset: true });
const Json = z.record(z.string(), JsonValue);

export const ExportHeader = z.object({
  kind: z.literal('header'),
  format: z.literal(EXPORT_FORMAT),
  format_version: z.number().int().min(1).max(EXPORT_FORMAT_VERSION),
  tenant_id: z.string(),
  exported_at: Timestamp,
});

export const ExportDomain = z.object({ kind: z.literal('domain'), name: z.string().min(1).max(64), settings: Json });

export const ExportFunction = z.object({
  kind: z.literal('function'),
  name: FunctionName,
  current_version: z.number().int().positive().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

/** A version's artifacts as written: code.py, code.dana, params.json, metadata.json and, when it has one, poet_runtime.py. */
export const VersionFilesRecord = z.strictObject({
  'code.py': z.string(),
  'code.dana': z.string(),
  'params.json': z.string(),
  'metadata.json': z.string(),
  'poet_runtime.py': z.string().optional(),
});
export type VersionFilesRecord = z.infer<typeof VersionFilesRecord>;

export const ExportVersion = z.object({
  kind: z.literal('version'),
  function_name: FunctionName,
  version: z.number().int().positive(),
  status: z.enum(['active', 'deprecated']),
  input_hash: z.string(),
  domain: z.string(),
  optimize_for: z.string().nullable(),
  provider: z.string(),
  enhancer_version: z.string(),
  safety_level: z.string(),
  params: Json,
  metadata: Json,
  request: Json.nullable(),
  replaced_version: z.number().int().nullable(),
  /** Lineage: the version it was made from, what made it, and the hashes that find the same input and module. */
  parent_version: z.number().int().nullable().default(null),
  trigger: z.enum(['request', 'feedback', 'reevaluation']).default('request'),
  normalized_input_hash: z.string().nullable().default(null),
  code_sha256: z.string().nullable().default(null),
  created_at: Timestamp,
  activated_at: Timestamp.nullable(),
  files: VersionFilesRecord,
  /** SHA-256 (hex) of each file's UTF-8 bytes: import refuses a version whose files do not match. */
  sha256: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
});

export const ExportFeedback = z.object({
  kind: z.literal('feedback'),
  function_name: FunctionName,
  version: z.number().int().positive(),
  execution_id: z.string(),
  feedback_type: z.enum(['performance', 'error', 'user', 'system']),
  rating: z.number().int().min(1).max(5).nullable(),
  comments: z.string().nullable(),
  metrics: JsonValue.nullable(),
  suggestions: JsonValue,
  /** The examples this report added: regression tests every later version of the function must pass. */
  examples: z.array(FeedbackExample).default([]),
  created_at: Timestamp,
});

export const ExportEvent = z.object({
  kind: z.literal('event'),
  function_name: FunctionName,
  event_type: z.string(),
  dedupe_key: z.string(),
  workflow_id: z.string().nullable(),
  run_id: z.string().nullable(),
  payload: JsonValue,
  created_at: Timestamp,
});

export const ExportCounts = z.object({
  domains: z.number().int(),
  functions: z.number().int(),
  versions: z.number().int(),
  feedback: z.number().int(),
  events: z.number().int(),
});
export type ExportCounts = z.infer<typeof ExportCounts>;

export const ExportEnd = z.object({ kind: z.literal('end'), counts: ExportCounts });

export const ExportRecord = z.discriminatedUnion('kind', [
  ExportHeader,
  ExportDomain,
  ExportFunction,
  ExportVersion,
  ExportFeedback,
  ExportEvent,
  ExportEnd,
]);
export type ExportRecord = z.infer<typeof ExportRecord>;
export type ExportHeader = z.infer<typeof ExportHeader>;
export type ExportDomain = z.infer<typeof ExportDomain>;
export type ExportFunction = z.infer<typeof ExportFunction>;
export type ExportVersion = z.infer<typeof ExportVersion>;
export type ExportFeedback = z.infer<typeof ExportFeedback>;
export type ExportEvent = z.infer<typeof ExportEvent>;

/** One function of an export with everything that belongs to it: what import restores in one transaction. */
export interface ExportedFunction {
  fn: ExportFunction;
  versions: ExportVersion[];
  feedback: ExportFeedback[];
  events: ExportEvent[];
}

export const ImportResult = z.object({
  format_version: z.number().int(),
  /** Restored now. */
  imported: ExportCounts,
  /** Already there (a function of that name exists, a domain of that name exists): left as it is. */
  skipped: z.object({ domains: z.number().int(), functions: z.number().int() }),
});
export type ImportResult = z.infer<typeof ImportResult>;

export const FunctionDeleted = z.object({
  function_name: FunctionName,
  deleted: z.object({
    versions: z.number().int(),
    feedback: z.number().int(),
    events: z.number().int(),
    artifact_files: z.number().int(),
    cache_entries: z.number().int(),
    runs: z.number().int(),
    payloads: z.number().int(),
  }),
});
export type FunctionDeleted = z.infer<typeof FunctionDeleted>;

export const EraseQuery = z.strictObject({
  confirm: z.string().min(1).max(64).describe("the caller's tenant id, repeated: erasure cannot be undone"),
});

export const TenantErased = z.object({
  /** What the tenant's audit rows now carry instead of its id; the only link left between them. */
  pseudonym: z.string(),
  deleted_rows: z.record(z.string(), z.number().int()),
  audit_rows_pseudonymized: z.number().int(),
  artifact_files: z.number().int(),
  redis_keys: z.number().int(),
  runs: z.number().int(),
});
export type TenantErased = z.infer<typeof TenantErased>;
