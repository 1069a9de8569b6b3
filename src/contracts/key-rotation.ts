import { z } from 'zod';

/**
 * What rotation re-encrypts, in this order: the payload store, the rows with encrypted fields, and the encrypted
 * artifact files (one version's files at a time, found through versions.artifact_key_id).
 */
export const RotationStage = z.enum(['payloads', 'versions', 'feedback', 'feedback_examples', 'artifacts']);
export type RotationStage = z.infer<typeof RotationStage>;

/**
 * A place in the rotation's scan: the stage (absent: payloads, as runs started before the other stages recorded it)
 * and the last row done in it. Payload rows go in (id, tenant_id) order; the other stages in row id order, with
 * `tenant_id` empty; an empty `id` is the start of a stage.
 */
export const RotationCursor = z.object({ stage: RotationStage.optional(), tenant_id: z.string(), id: z.string() });
export type RotationCursor = z.infer<typeof RotationCursor>;

/** What one page of re-encryption did. */
export const ReencryptPageResult = z.object({
  /** Rows re-encrypted under the target key, by the key id they were under (`plaintext`: not encrypted before). */
  rewritten: z.record(z.string(), z.number().int().min(0)),
  /** Rows without a recorded key id that turned out to be under the target key already: only their key id was filled. */
  classified: z.number().int().min(0),
  /** Rows another writer changed between read and write (the compare-and-set on their key id missed): left as they are. */
  concurrent: z.number().int().min(0),
  /** Rows this worker cannot decrypt (their key is not in its ring, or does not authenticate), by key id: left as they are. */
  unreadable: z.record(z.string(), z.number().int().min(0)),
  /** Where the next page starts; absent when this was the last one. */
  next: RotationCursor.optional(),
  /** Rows after this page not known to be under the target key, when counting was asked for (a scan of the rest). */
  remaining: z.number().int().min(0).optional(),
  /** Rows this page read. */
  read: z.number().int().min(0),
});
export type ReencryptPageResult = z.infer<typeof ReencryptPageResult>;

/** The `rotationProgress` query's answer, and the run's result. */
export const RotationProgress = z.object({
  target_key_id: z.string(),
  /** Rows re-encrypted so far, all runs of the chain together. */
  done: z.number().int().min(0),
  /** Rows re-encrypted, by the key id they were under. */
  by_key: z.record(z.string(), z.number().int().min(0)),
  classified: z.number().int().min(0),
  concurrent: z.number().int().min(0),
  unreadable: z.record(z.string(), z.number().int().min(0)),
  /** Estimate of the rows left after the last page (counted on each run's first page); undefined before the first page. */
  remaining: z.number().int().min(0).optional(),
  pages: z.number().int().min(0),
  /** Runs of the continue-as-new chain so far (1 for the first). */
  runs: z.number().int().min(1),
  cursor: RotationCursor.optional(),
  complete: z.boolean(),
});
export type RotationProgress = z.infer<typeof RotationProgress>;

/** Input of rotateEncryptionKey; continue-as-new carries the progress (with its cursor) to the next run. */
export const RotateKeyInput = z.object({
  /** The key every row is re-encrypted to: the workers' active key (a worker with another active key refuses). */
  target_key_id: z.string(),
  page_size: z.number().int().min(1).max(1000),
  /** Pages per run before continue-as-new, so the history stays small however many rows there are. */
  pages_per_run: z.number().int().min(1),
  progress: RotationProgress.optional(),
});
export type RotateKeyInput = z.infer<typeof RotateKeyInput>;

/** GET /api/v1/admin/key-rotation: the rotation towards this API's active key, as the dashboard shows it. */
export const KeyRotationView = z.object({
  /** The key the API encrypts with; null when encryption is off. */
  active_key_id: z.string().nullable(),
  /** The rotateEncryptionKey run towards the active key; null when none was started. */
  rotation: z
    .object({
      workflow_id: z.string(),
      status: z.enum([
        'running',
        'completed',
        'failed',
        'cancelled',
        'terminated',
        'timed_out',
        'continued_as_new',
        'paused',
        'unknown',
      ]),
      /** The run's progress query while it runs, its result once completed; null between two runs of the chain. */
      progress: RotationProgress.nullable(),
    })
    .nullable(),
});
export type KeyRotationView = z.infer<typeof KeyRotationView>;
