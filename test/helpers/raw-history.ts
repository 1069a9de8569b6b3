import { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { postJson, type TestStack } from './stack';

/** A function whose docstring carries `marker` and is long enough for the claim check to take its payloads. */
export function largeFunction(name: string, marker: string): string {
  return `def ${name}(x: int) -> int:\n    """${marker} ${'a long explanation. '.repeat(300)}"""\n    return x + 1\n`;
}

/** Enhances `code` with `key`'s tenant and returns the answer and the run's history as the server keeps it (no codec). */
export async function enhanceAndReadRawHistory(
  stack: TestStack,
  key: string,
  name: string,
  code: string,
): Promise<{ body: any; history: temporal.api.history.v1.IHistory }> {
  const res = await postJson(
    `${stack.url}/api/v1/functions/enhance`,
    { function_name: name, original_code: code },
    { authorization: `Bearer ${key}` },
  );
  if (res.status !== 200) throw new Error(`enhance answered ${res.status}: ${JSON.stringify(res.body)}`);
  const raw = new Client({ connection: stack.client.connection, namespace: stack.config.TEMPORAL_NAMESPACE });
  return { body: res.body, history: await raw.workflow.getHandle(res.body.run.workflow_id).fetchHistory() };
}
