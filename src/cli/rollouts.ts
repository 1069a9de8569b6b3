import type { RolloutStarted, RolloutState } from '../contracts/rollouts';
import { type ApiClient, type Output, usageError } from './client';
import { numberArg, versionArg } from './functions';

const ACTIONS = ['start', 'status', 'pause', 'resume', 'abort', 'promote'] as const;
const rolloutsPath = (name: string) => `/api/v1/functions/${encodeURIComponent(name)}/rollouts`;

export interface RolloutOptions {
  candidate?: string;
  steps?: string;
  minCalls?: string;
  stepWait?: string;
  maxDuration?: string;
}

const count = (value: string | undefined, flag: string) => numberArg(value, flag, 1, Number.MAX_SAFE_INTEGER);

function summary(s: RolloutState): string {
  const head = `${s.function_name}: v${s.candidate_version} against v${s.baseline_version}, ${s.status}, ${s.share_percent} % of units (steps ${s.steps.join('/')})`;
  return s.last_judgement ? `${head}\n  last judgement: ${s.last_judgement.verdict}: ${s.last_judgement.reason}` : head;
}

/** `poet rollout <name> [action]`: start a rollout, show it, or pause, resume, abort or promote it. */
export async function rolloutCommand(
  client: ApiClient,
  out: Output,
  name: string,
  action: string,
  opts: RolloutOptions,
) {
  if (!(ACTIONS as readonly string[]).includes(action))
    throw usageError(`action: one of ${ACTIONS.join(', ')}, not ${action}`);
  if (action === 'start') {
    if (!opts.candidate) throw usageError('--candidate <version> is required to start a rollout');
    const request = {
      candidate_version: versionArg(opts.candidate, '--candidate'),
      ...(opts.steps ? { steps: opts.steps.split(',').map((s) => numberArg(s.trim(), '--steps', 1, 100)) } : {}),
      ...(opts.minCalls ? { min_calls: count(opts.minCalls, '--min-calls') } : {}),
      ...(opts.stepWait ? { step_wait: count(opts.stepWait, '--step-wait') } : {}),
      ...(opts.maxDuration ? { max_duration: count(opts.maxDuration, '--max-duration') } : {}),
    };
    const { body: started } = await client.post<RolloutStarted>(rolloutsPath(name), request);
    const line = `${name}: rollout of v${started.candidate_version} against v${started.baseline_version} started (${started.run.workflow_id})`;
    return out.out(out.json ? JSON.stringify(started, null, 2) : line);
  }
  const { body } =
    action === 'status'
      ? await client.get<RolloutState>(`${rolloutsPath(name)}/current`)
      : await client.post<RolloutState>(`${rolloutsPath(name)}/current/${action}`, {});
  out.out(out.json ? JSON.stringify(body, null, 2) : summary(body));
}
