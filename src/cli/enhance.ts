import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EnhanceResult } from '../contracts/enhance';
import { type ApiClient, type Output, usageError } from './client';
import { describeResult, followRun } from './runs';

export interface EnhanceOptions {
  function?: string;
  domain?: string;
  optimizeFor?: string;
  wait?: boolean;
  async?: boolean;
}

type StartAnswer = EnhanceResult | { status: 'running'; run: { workflow_id: string; run_id: string } };

/**
 * `poet enhance <file.py>`: starts the run at once (Prefer: respond-async) and, unless --async, follows it with a
 * progress line per stage to the end. The function defaults to the file's name.
 */
export async function enhanceCommand(
  client: ApiClient,
  out: Output,
  file: string,
  opts: EnhanceOptions,
): Promise<void> {
  if (opts.wait && opts.async) throw usageError('--wait and --async exclude each other');
  let code: string;
  try {
    code = await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const request = {
    function_name: opts.function ?? path.basename(file, path.extname(file)),
    original_code: code,
    ...(opts.domain ? { domain: opts.domain } : {}),
    ...(opts.optimizeFor ? { optimize_for: opts.optimizeFor } : {}),
  };
  const { status, body } = await client.post<StartAnswer>('/api/v1/functions/enhance', request, {
    prefer: 'respond-async',
  });
  if (status === 200) {
    // Answered at once: nothing to follow.
    const result = body as EnhanceResult;
    out.out(out.json ? JSON.stringify(result, null, 2) : describeResult(result));
    return;
  }
  const workflowId = body.run.workflow_id;
  if (opts.async) {
    out.out(out.json ? JSON.stringify(body, null, 2) : workflowId);
    if (!out.json) out.note(`started; follow it with: poet runs watch ${workflowId}`);
    return;
  }
  await followRun(client, out, workflowId);
}
