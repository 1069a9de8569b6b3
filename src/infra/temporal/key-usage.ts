import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec';

/** Open runs examined at most by one census: a deployment with more is told so, not waited on. */
const MAX_OPEN_RUNS = 1_000;

const isPayload = (value: object): value is Payload => {
  const metadata = (value as Payload).metadata;
  return typeof metadata === 'object' && metadata !== null && 'encoding' in metadata;
};

/** The ids of the keys that encrypt the payloads anywhere inside a Temporal message, as the server keeps it. */
export function payloadKeyIds(message: unknown, into = new Set<string>()): Set<string> {
  if (typeof message !== 'object' || message === null || ArrayBuffer.isView(message)) return into;
  if (isPayload(message)) {
    const keyId = EncryptionCodec.keyIdOf(message);
    if (keyId !== undefined) into.add(keyId);
    return into;
  }
  for (const value of Object.values(message)) payloadKeyIds(value, into);
  return into;
}

/**
 * What in Temporal still holds payloads under a key, so `poet keys retire` can refuse before a key is removed that
 * a schedule's next action or an open run would need: the given schedules' stored actions (their arguments were
 * encrypted when the schedule was created or last updated) and the histories of the task queue's open runs.
 * Closed runs are not counted: their histories age out with the namespace's retention.
 */
export class TemporalKeyUsage {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Key ids of a schedule's stored action; undefined when there is no such schedule. */
  async scheduleKeys(scheduleId: string): Promise<Set<string> | undefined> {
    try {
      const { schedule } = await this.client.workflowService.describeSchedule({
        namespace: this.client.options.namespace,
        scheduleId,
      });
      return payloadKeyIds(schedule?.action);
    } catch (err) {
      if ((err as { code?: number }).code === 5) return undefined; // gRPC NOT_FOUND
      throw err;
    }
  }

  async schedulesUsing(keyId: string, scheduleIds: readonly string[]): Promise<string[]> {
    const using: string[] = [];
    for (const id of scheduleIds) if ((await this.scheduleKeys(id))?.has(keyId)) using.push(id);
    return using;
  }

  /** Workflow ids of the task queue's open runs whose history holds a payload under `keyId`; `truncated` past the cap. */
  async openRunsUsing(keyId: string): Promise<{ workflowIds: string[]; examined: number; truncated: boolean }> {
    const workflowIds: string[] = [];
    let examined = 0;
    const query = `ExecutionStatus = "Running" AND TaskQueue = "${this.taskQueue}"`;
    const { namespace } = this.client.options;
    let nextPageToken: Uint8Array | undefined;
    do {
      // Raw listings and histories: memos and payloads as the server keeps them, never decoded.
      const page = await this.client.workflowService.listWorkflowExecutions({ namespace, query, nextPageToken });
      for (const run of page.executions ?? []) {
        if (examined === MAX_OPEN_RUNS) return { workflowIds, examined, truncated: true };
        examined++;
        const workflowId = run.execution?.workflowId ?? '';
        const keys = payloadKeyIds(run.memo);
        const history = await this.client.workflow
          .getHandle(workflowId, run.execution?.runId ?? undefined)
          .fetchHistory();
        if (payloadKeyIds(history, keys).has(keyId)) workflowIds.push(workflowId);
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    return { workflowIds, examined, truncated: false };
  }
}
