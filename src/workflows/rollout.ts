import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EventType, PublishedEvent } from '../contracts/events';
import type { RolloutInput, RolloutJudgement, RolloutState, RolloutStatus } from '../contracts/rollouts';
import { rolloutQuery, rolloutUpdates } from '../definitions/messages';
import { OutcomeKey, RolloutStepKey } from '../definitions/search-attributes';
import { activity } from './activities';
import { failureMessage } from './enhance';
import { activationEvents } from './regenerate';
import { judgeStep } from './rollout-judge';

const recordRollout = activity('recordRollout');
const rolloutFigures = activity('rolloutFigures');
const shadowValidate = activity('shadowValidate');
const activate = activity('activate');
const publish = activity('publish');

const ENDED: readonly RolloutStatus[] = ['promoted', 'rolled_back', 'aborted'];

/**
 * Progressive rollout of a candidate version against the active one (the baseline). Before any unit runs it, the
 * candidate is validated again with the function's feedback examples as they stand (a shadow validation): failing,
 * the rollout ends rolled back, naming the examples it failed. Then the candidate's share of units
 * (resolve reads it from PostgreSQL) rises step by step; after each step's durable timer both versions' field reports
 * are judged (rollout-judge.ts): no worse → the next step, and past the last step below 100 % the candidate is
 * activated; worse → the share goes to 0 at once and the baseline stays active. Short of calls it waits another
 * interval, until max_duration (paused time not counted), and then rolls back: an unproven candidate is not promoted.
 * Pause, resume, abort and promote are updates; every decision is an event with the figures that made it.
 */
export async function rolloutVersion(input: RolloutInput): Promise<RolloutState> {
  const { tenant_id, function_name, steps, candidate_version, baseline_version } = input;
  const { workflowId, runId } = workflowInfo();
  const state: RolloutState = {
    function_name,
    workflow_id: workflowId,
    candidate_version,
    baseline_version,
    status: 'running',
    share_percent: 0,
    steps,
    step_index: 0,
    last_judgement: null,
  };
  const ended = () => ENDED.includes(state.status);
  let wantPaused = false;
  let command: 'abort' | 'promote' | undefined;
  let deadline = Date.now() + input.max_duration * 1000;
  let pausedAt = 0;
  let published = 0;
  // Set once the run has acted on its end (recorded, activated, published): abort and promote answer then.
  let over = false;

  setHandler(rolloutQuery, () => state);
  const validator = () => {
    if (ended()) throw new Error(`the rollout has ended: ${state.status}`);
  };
  const control = (apply: () => void, done: () => boolean) => async () => {
    apply();
    await condition(() => done() || over);
    return state;
  };
  setHandler(
    rolloutUpdates.pause,
    control(
      () => (wantPaused = true),
      () => state.status === 'paused',
    ),
    { validator },
  );
  setHandler(
    rolloutUpdates.resume,
    control(
      () => (wantPaused = false),
      () => state.status === 'running',
    ),
    { validator },
  );
  setHandler(
    rolloutUpdates.abort,
    control(
      () => (command ??= 'abort'),
      () => over,
    ),
    { validator },
  );
  setHandler(
    rolloutUpdates.promote,
    control(
      () => (command ??= 'promote'),
      () => over,
    ),
    { validator },
  );

  const record = async (status: RolloutStatus, share: number) => {
    await recordRollout({
      tenant_id,
      function_name,
      workflow_id: workflowId,
      candidate_version,
      baseline_version,
      share_percent: share,
      status,
    });
    Object.assign(state, { status, share_percent: share });
    upsertSearchAttributes([{ key: RolloutStepKey, value: ENDED.includes(status) ? status : String(share) }]);
  };
  const emit = (type: EventType, payload: Record<string, unknown>, more: PublishedEvent[] = []) =>
    publish({
      tenant_id,
      function_name,
      workflow_id: workflowId,
      run_id: runId,
      events: [
        // Several of one type in a run (advanced, paused): the count keeps their outbox keys apart.
        { type, payload: { candidate_version, baseline_version, ...payload }, dedupe_suffix: String(++published) },
        ...more,
      ],
    });
  const end = async (status: RolloutStatus, payload: Record<string, unknown>) => {
    await record(status, 0);
    await emit('rollout.rolled_back', payload);
    upsertSearchAttributes([{ key: OutcomeKey, value: status }]);
  };

  /** Applies pause and resume as asked, until what is recorded is what was asked last. */
  const syncPause = async () => {
    while (wantPaused !== (state.status === 'paused')) {
      if (wantPaused) {
        pausedAt = Date.now();
        await record('paused', state.share_percent);
        await emit('rollout.paused', { share_percent: state.share_percent });
      } else {
        const pausedMs = Date.now() - pausedAt;
        deadline += pausedMs;
        await record('running', state.share_percent);
        await emit('rollout.resumed', { share_percent: state.share_percent, paused_ms: pausedMs });
      }
    }
  };

  /** The step interval on a durable timer; while paused the timer does not end the wait. */
  const waitStep = async () => {
    const until = Date.now() + input.step_wait * 1000;
    for (;;) {
      await syncPause();
      if (command) return;
      const paused = state.status === 'paused';
      if (!paused && Date.now() >= until) return;
      const asked = () => command !== undefined || wantPaused !== paused;
      if (paused) await condition(asked);
      else await condition(asked, until - Date.now());
    }
  };

  const promote = async (how: { forced: true } | { judgement: RolloutJudgement }) => {
    const { current, previous } = await activate({ tenant_id, function_name, version: candidate_version });
    await record('promoted', 100);
    await emit(
      'rollout.promoted',
      { ...how, from_percent: steps[state.step_index] },
      activationEvents(current, previous).map((e) => ({ ...e, dedupe_suffix: 'rollout' })),
    );
    upsertSearchAttributes([{ key: OutcomeKey, value: 'promoted' }]);
  };

  /** The steps: each one's durable timer, its judgement, and the decision it leads to, until the rollout ends. */
  const runSteps = async () => {
    await record('running', steps[0]!);
    await emit('rollout.started', {
      share_percent: steps[0],
      steps,
      min_calls: input.min_calls,
      step_wait: input.step_wait,
      max_duration: input.max_duration,
    });
    for (;;) {
      const stepStart = new Date(Date.now()).toISOString();
      let judgement: RolloutJudgement | undefined;
      for (;;) {
        await waitStep();
        if (command) break;
        const figures = await rolloutFigures({
          tenant_id,
          function_name,
          candidate_version,
          baseline_version,
          since: stepStart,
        });
        judgement = judgeStep(figures.candidate, figures.baseline, input.min_calls);
        state.last_judgement = judgement;
        if (judgement.verdict !== 'insufficient_calls' || Date.now() >= deadline || command) break;
      }
      if (command === 'abort') {
        await end('aborted', { reason: 'aborted', share_percent: state.share_percent });
        break;
      }
      if (command === 'promote') {
        await promote({ forced: true });
        break;
      }
      if (judgement!.verdict !== 'advance') {
        const reason = judgement!.verdict === 'worse' ? 'worse' : 'insufficient_calls_by_max_duration';
        await end('rolled_back', { reason, share_percent: state.share_percent, judgement });
        break;
      }
      const next = state.step_index + 1;
      if (next === steps.length - 1) {
        await promote({ judgement: judgement! });
        break;
      }
      const from = state.share_percent;
      await record('running', steps[next]!);
      state.step_index = next;
      await emit('rollout.advanced', { from_percent: from, share_percent: steps[next], judgement });
    }
  };

  try {
    const shadow = await shadowValidate({ tenant_id, function_name, version: candidate_version });
    if (shadow.passed) await runSteps();
    else await end('rolled_back', { reason: 'shadow_validation_failed', share_percent: 0, shadow });
  } catch (err) {
    // However the run ends, resolve must not keep sending units to the candidate: the baseline takes them all.
    const outcome = isCancellation(err) ? 'aborted' : 'failed';
    await CancellationScope.nonCancellable(async () => {
      await record(outcome === 'aborted' ? 'aborted' : 'rolled_back', 0);
      await emit('rollout.rolled_back', { reason: outcome === 'aborted' ? 'canceled' : failureMessage(err) });
    });
    upsertSearchAttributes([{ key: OutcomeKey, value: outcome }]);
    over = true;
    throw err;
  }
  over = true;
  await condition(allHandlersFinished);
  return state;
}
