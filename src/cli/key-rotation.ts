import { Client, type Connection, WorkflowIdConflictPolicy } from '@temporalio/client';
import type { Config } from '../config';
import type { RotationProgress } from '../contracts/key-rotation';
import { rotationProgressQuery } from '../definitions/messages';
import { rotationDetails, rotationSummary } from '../definitions/run-details';
import { TenantKey } from '../definitions/search-attributes';
import { rotateKeyWorkflowId } from '../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../definitions/workflow-types';
import { type KeyUsage, StoredKeys } from '../infra/crypto/stored-keys';
import { createPool, migrate } from '../infra/db/pool';
import type { Logger } from '../infra/observability/logger';
import { createArtifactStore } from '../infra/storage/encrypted-artifact-store';
import { encryptionOnlyDataConverter } from '../infra/temporal/encryption-codec';
import { TemporalKeyUsage } from '../infra/temporal/key-usage';
import { UNENCRYPTED, UNENCRYPTED_LABEL } from '../infra/temporal/payload-keys';
import { reencryptSchedules, scheduleIds } from '../infra/temporal/schedules';
import type { rotateEncryptionKey } from '../workflows/key-rotation';
import { CliError, EXIT, type Output } from './client';
import { databaseUrl } from './keys';

export interface RotateDataOptions {
  pageSize: number;
  pagesPerRun: number;
  pollMs: number;
}

function keyRingOf(config: Config) {
  if (!config.encryption)
    throw new CliError('ENCRYPTION_KEYS (or ENCRYPTION_KEYS_FILE) is not set: there is no key ring', EXIT.usage);
  return config.encryption;
}

const summary = (p: RotationProgress) =>
  `${p.done} re-encrypted (${
    Object.entries(p.by_key)
      .map(([key, n]) => `${key}: ${n}`)
      .join(', ') || 'none'
  }), ${p.remaining ?? '?'} left, ${p.pages} pages, run ${p.runs}`;

/**
 * `poet keys rotate-data`: starts rotateEncryptionKey towards the active key of this process's ring (the workers'
 * must be the same) or joins the one going, and follows it to its end. Exit 0 when every row is under the key.
 */
export async function rotateDataCommand(
  config: Config,
  connection: Connection,
  opts: RotateDataOptions,
  out: Output,
): Promise<void> {
  const target = keyRingOf(config).activeKeyId;
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: encryptionOnlyDataConverter(config),
  });
  const handle = await client.workflow.start<typeof rotateEncryptionKey>(WORKFLOW_TYPES.rotateKey, {
    workflowId: rotateKeyWorkflowId(config.DATABASE_SCHEMA, target),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: [{ target_key_id: target, page_size: opts.pageSize, pages_per_run: opts.pagesPerRun }],
    // Started twice (two operators, a retried command): both follow one run.
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // It spans every tenant of the schema: the operator tenant's run.
    typedSearchAttributes: [{ key: TenantKey, value: config.OPERATOR_TENANT }],
    staticSummary: rotationSummary(target),
    staticDetails: rotationDetails(target),
  });
  out.note(`rotation to key ${target}: workflow ${handle.workflowId}`);
  const result = handle.result();
  let finished = false;
  void result.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs));
    if (finished) break;
    // Between two runs of the chain the query has no run to answer it: the next poll will.
    const progress = await client.workflow
      .getHandle(handle.workflowId)
      .query(rotationProgressQuery)
      .catch(() => undefined);
    if (progress) out.note(summary(progress));
  }
  const done = await result.catch((err: Error) => {
    // The activity's own message (which key to make active) is the root of the workflow's failure chain.
    let root: Error = err;
    while (root.cause instanceof Error) root = root.cause;
    throw new CliError(`rotation failed: ${root.message}`, EXIT.runFailed);
  });
  // The schedules' stored actions are Temporal's, not rows: written again under the active key here.
  const schedules = await reencryptSchedules(client, config);
  if (schedules.length > 0) out.note(`schedules re-encrypted under key ${target}: ${schedules.join(', ')}`);
  if (out.json) out.out(JSON.stringify(done));
  else out.out(`rotation to key ${target} complete: ${summary(done)}`);
  const unreadable = Object.entries(done.unreadable);
  if (unreadable.length > 0)
    throw new CliError(
      `rows the workers cannot decrypt were left as they are: ${unreadable.map(([key, n]) => `${n} under ${key}`).join(', ')}`,
      EXIT.runFailed,
    );
}

/** Where something is stored under `keyId`, as `payloads: 3, feedback: 1`; empty when nothing is. */
const usesOf = (usage: KeyUsage, keyId: string) =>
  Object.entries(usage)
    .filter(([, byKey]) => (byKey[keyId] ?? 0) > 0)
    .map(([place, byKey]) => `${place}: ${byKey[keyId]}`)
    .join(', ');

/**
 * `poet keys retire <id>`: checks that nothing still needs the key (stored payloads, encrypted rows and artifact
 * files, the deployment's schedules, the histories of open runs), and says what to remove from the ring. It never
 * edits the ring: where it lives (a file, a secret manager, an environment) is the operator's.
 */
export async function retireKeyCommand(
  config: Config,
  connection: Connection,
  keyId: string,
  logger: Logger,
  out: Output,
): Promise<void> {
  const ring = keyRingOf(config);
  const active = ring.activeKeyId;
  if (keyId === active)
    throw new CliError(
      `key ${keyId} is the active key (ENCRYPTION_ACTIVE_KEY): make another key active and run poet keys rotate-data first`,
      EXIT.rejected,
    );
  const url = databaseUrl(config);
  await migrate({ url, schema: config.DATABASE_SCHEMA, dir: config.migrationsDir, logger });
  const pool = createPool({ url, schema: config.DATABASE_SCHEMA, max: 1 });
  const artifacts = createArtifactStore(config, logger);
  let usage: KeyUsage;
  try {
    usage = await new StoredKeys(pool, ring, artifacts.raw).usage();
  } finally {
    artifacts.close();
    await pool.end();
  }
  // Without a codec: payloads as the server keeps them.
  const temporal = new TemporalKeyUsage(
    new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }),
    config.TEMPORAL_TASK_QUEUE,
  );
  const schedules = await temporal.schedulesUsing(keyId, scheduleIds(config));
  const runs = await temporal.openRunsUsing(keyId);

  const stored = usesOf(usage, keyId);
  const uses: string[] = [];
  if (stored) uses.push(`stored data (${stored}): run poet keys rotate-data with active key ${active}`);
  if (schedules.length > 0)
    uses.push(
      `the stored action of schedule ${schedules.join(', ')} (run poet schedules apply or poet keys rotate-data with active key ${active})`,
    );
  if (runs.workflowIds.length > 0)
    uses.push(
      `the history of ${plural(runs.workflowIds.length, 'open run')}: ${runs.workflowIds.slice(0, 5).join(', ')}${runs.workflowIds.length > 5 ? ', ...' : ''} (let them finish)`,
    );
  if (runs.truncated) uses.push(`possibly open runs past the first ${runs.examined}, which were not examined`);
  if (uses.length > 0)
    throw new CliError(`key ${keyId} still encrypts ${uses.join('; ')}; nothing was changed`, EXIT.rejected);

  const census = Object.entries(usage.payloads)
    .map(([key, n]) => `${key === UNENCRYPTED ? UNENCRYPTED_LABEL : key}: ${n}`)
    .join(', ');
  if (out.json)
    out.out(
      JSON.stringify({
        key_id: keyId,
        retirable: true,
        rows_by_key: usage.payloads,
        stored_by_key: usage,
        open_runs_examined: runs.examined,
      }),
    );
  else
    out.out(
      `key ${keyId} encrypts no stored payload, row or artifact (payloads ${census || 'none'}), no schedule's action and no open run's history (${runs.examined} examined). Remove the entry "${keyId}:..." from ENCRYPTION_KEYS (or the file ENCRYPTION_KEYS_FILE names) of every process, once Temporal histories written under it have passed the namespace's retention.`,
    );
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
