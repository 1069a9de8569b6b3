import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import type { CachedEnhancement, EnhanceRequest, EnhanceWorkflowInput } from '../../src/contracts/enhance';

export type ActivityName = keyof Activities;
export interface ActivityCall<K extends ActivityName = ActivityName> {
  name: K;
  input: Parameters<Activities[K]>[0];
}

/**
 * The global setup's dev server (no server of its own): a workflow test needs no PostgreSQL, Redis or python3.
 * Only errors are logged: the failures the tests provoke are expected.
 */
export function workflowEnvironment(): Promise<TestWorkflowEnvironment> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  return TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS! });
}

export const HASH = 'a'.repeat(64);

export function enhanceInput(
  functionName = 'safe_divide',
  request: Partial<EnhanceRequest> = {},
): EnhanceWorkflowInput {
  return {
    request: {
      function_name: functionName,
      original_code: `def ${functionName}(a, b):\n    return a / b\n`,
      domain: 'base_reliability',
      ...request,
    },
    input_hash: HASH,
    normalized_input_hash: 'b'.repeat(64),
    tenant_id: 'default',
  };
}

export function enhancement(provider = 'template', python = 'enhanced = True\n'): CachedEnhancement {
  return {
    artifact: {
      python,
      dana: 'def f():\n  pass\n',
      params: { retries: 3 },
      optimizations: ['retry'],
      provider,
      enhancer_version: 'test-1',
    },
    validation: { safety_level: 'high', findings: [], samples_run: 200, duration_ms: 5 },
  };
}

/**
 * Plain functions implementing the Activities interface: a miss answered by the template, stored as version 1, and
 * every call recorded in order. A test replaces the ones its scenario needs.
 */
export function stubActivities(overrides: Partial<Activities> = {}): {
  activities: Activities;
  calls: ActivityCall[];
  names: () => string[];
} {
  const calls: ActivityCall[] = [];
  const defaults: Activities = {
    cacheLookupWithVersion: async () => ({
      key: 'exact-key',
      l2_key: 'l2-key',
      hit: null,
      active_version: null,
      lineage: null,
    }),
    cacheStore: async () => undefined,
    generationPlan: async () => ({ providers: [], max_repairs: 1, max_attempts: 2 }),
    generate: async () => enhancement().artifact,
    generateWithLlm: async (input) => ({
      artifact: enhancement(input.provider).artifact,
      attempts: [llmAttempt(input.provider, input.round)],
    }),
    validate: async () => enhancement().validation,
    storeVersion: async () => ({ version: 1, created: true, deprecated: null }),
    publish: async (input) => ({ inserted: input.events.length, streamed: input.events.length }),
    assessFeedback: async () => ({ status: 'accepted', reasons: [], feedback_count: 1 }),
    activate: async (input) => ({ current: input.version, previous: null }),
    findReevaluations: async () => ({ candidates: [] }),
    recordEvaluations: async () => undefined,
    deliverWebhook: async (input) => ({ webhook_id: input.webhook_id, status: 'delivered' }),
    recordRollout: async () => undefined,
    shadowValidate: async () => ({ passed: true, examples: 0 }),
    rolloutFigures: async (input) => ({
      candidate: { version: input.candidate_version, calls: 0, successes: 0, success_rate: null, p95_ms: null },
      baseline: { version: input.baseline_version, calls: 0, successes: 0, success_rate: null, p95_ms: null },
    }),
    reencryptPayloads: async () => ({
      rewritten: {},
      classified: 0,
      concurrent: 0,
      unreadable: {},
      read: 0,
      remaining: 0,
    }),
  };
  const merged = { ...defaults, ...overrides };
  const activities = Object.fromEntries(
    Object.entries(merged).map(([name, fn]) => [
      name,
      (input: unknown) => {
        calls.push({ name: name as ActivityName, input } as ActivityCall);
        return (fn as (input: unknown) => Promise<unknown>)(input);
      },
    ]),
  ) as unknown as Activities;
  return { activities, calls, names: () => calls.map((c) => c.name) };
}

export function llmAttempt(provider: string, round: number, outcome: 'accepted' | 'failed' = 'accepted') {
  return {
    provider,
    model: 'm',
    round,
    attempt: 1,
    outcome,
    reason: null,
    prompt_tokens: 10,
    completion_tokens: 20,
    cost_usd: 0.001,
    latency_ms: 7,
  };
}

/** The calls of one activity, in order. */
export function callsOf<K extends ActivityName>(calls: ActivityCall[], name: K): Parameters<Activities[K]>[0][] {
  return calls.filter((c): c is ActivityCall<K> => c.name === name).map((c) => c.input);
}

/**
 * Runs `body` while a worker with these activities serves a task queue of its own, on the prebuilt workflow bundle
 * (the code production runs).
 */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  activities: Activities,
  body: (taskQueue: string) => Promise<T>,
  options: Partial<WorkerOptions> = {},
): Promise<T> {
  const taskQueue = `wf-test-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities,
    workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! },
    ...options,
  });
  return worker.runUntil(body(taskQueue));
}

/**
 * With RECORD_HISTORIES=1, writes the run's history to test/replay/histories/<name>.json: the replay test then checks
 * that later workflow code still replays it (see test/replay/README.md).
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await handle.fetchHistory();
  writeFileSync(path.join(__dirname, '..', 'replay', 'histories', `${name}.json`), `${historyToJSON(history)}\n`);
}
