import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../../src/config';
import { createTracing } from '../../src/infra/observability/tracing';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { waitFor } from '../helpers/net';
import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/** Stands in for LangSmith: answers /info and records every run the client posts or patches. */
interface RecordedRun {
  id: string;
  name: string;
  run_type?: string;
  trace_id?: string;
  parent_run_id?: string;
  end_time?: unknown;
  session_name?: string;
  outputs?: { usage_metadata?: { input_tokens: number; output_tokens: number } };
}
const posted: RecordedRun[] = [];
const patched: RecordedRun[] = [];
const apiKeys = new Set<string>();
let recorder: http.Server;
let endpoint: string;
let stack: TestStack;
let fake: FakeLlm;

beforeAll(async () => {
  fake = await startFakeLlm();
  recorder = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['x-api-key']) apiKeys.add(String(req.headers['x-api-key']));
      if (req.method === 'GET' && req.url?.startsWith('/info')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ version: '0.17.0', batch_ingest_config: { use_multipart_endpoint: false } }));
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = JSON.parse(
        (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8') || '{}',
      );
      if (req.url?.startsWith('/runs/batch')) {
        posted.push(...(body.post ?? []));
        patched.push(...(body.patch ?? []));
      } else if (req.method === 'POST' && req.url?.startsWith('/runs')) {
        posted.push(body);
      } else if (req.method === 'PATCH' && req.url?.startsWith('/runs/')) {
        patched.push({ ...body, id: req.url.split('/')[2] });
      }
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  stack = await startStack('langsmith', {
    LANGSMITH_API_KEY: 'lsv2_pt_test_key_0123456789',
    LANGSMITH_ENDPOINT: endpoint,
    LANGSMITH_PROJECT: 'poet-test',
    LLM_PROVIDERS: JSON.stringify([{ name: 'fakeai', base_url: fake.url('good'), model: 'fake-large' }]),
  });
});
afterAll(async () => {
  await stack.close();
  await fake.close();
  recorder.close();
});

test('without LANGSMITH_API_KEY there is no tracing at all', () => {
  expect(createTracing(loadConfig({ LANGSMITH_ENDPOINT: endpoint }))).toBeUndefined();
});

test('one run tree per workflow, with a child run per activity (local ones too) and the LLM call with its tokens, sent to LANGSMITH_ENDPOINT with the key', async () => {
  const name = `traced_${uniqueSuffix()}`;
  const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: name,
    original_code: `def ${name}(x: int) -> int:\n    return x - 1\n`,
  });
  expect(res.status).toBe(200);
  const workflowId: string = res.body.run.workflow_id;

  // The workflow's run is the root of the trace whose activity runs carry this workflow id in their inputs.
  const workflowRun = () => {
    const traces = new Set(posted.filter((r) => JSON.stringify(r).includes(workflowId)).map((r) => r.trace_id));
    return posted.find((r) => r.name === 'RunWorkflow:enhanceFunction' && traces.has(r.trace_id));
  };
  const activityRuns = () => {
    const root = workflowRun();
    return root ? posted.filter((r) => r.trace_id === root.trace_id && r.name.startsWith('RunActivity:')) : [];
  };
  const expected = [
    'cacheLookupWithVersion',
    'generateWithLlm',
    'validate',
    'cacheStore',
    'storeVersion',
    'publish',
  ].map((a) => `RunActivity:${a}`);
  await waitFor(
    async () => expected.every((name) => activityRuns().some((r) => r.name === name)),
    15_000,
    'activity runs reported to LangSmith',
  );

  const root = workflowRun()!;
  const trace = posted.filter((r) => r.trace_id === root.trace_id);
  // Every run of the trace hangs off the workflow's run (directly or through StartActivity/StartWorkflow runs).
  const byId = new Map(trace.map((r) => [r.id, r]));
  const ancestors = (run: RecordedRun): string[] => {
    const parent = run.parent_run_id ? byId.get(run.parent_run_id) : undefined;
    return parent ? [parent.name, ...ancestors(parent)] : [];
  };
  expect([...new Set(activityRuns().map((r) => r.name))]).toEqual(expect.arrayContaining(expected));
  // Started by update-with-start: the workflow's run hangs off the API's marker run, the root of the trace.
  const starter = root.parent_run_id ? byId.get(root.parent_run_id) : undefined;
  expect(starter?.name).toBe('StartUpdateWithStartWorkflow:enhanceResult');
  expect(starter?.parent_run_id ?? null).toBeNull();
  await waitFor(
    async () => [...posted, ...patched].some((r) => r.id === root.id && r.end_time),
    15_000,
    'the workflow run ended',
  );
  for (const run of activityRuns()) expect(ancestors(run)).toContain('RunWorkflow:enhanceFunction');
  expect(trace.every((r) => r.session_name === 'poet-test')).toBe(true);

  // The provider's chat completion, traced by the wrapped OpenAI client inside the generate activity.
  const llmRun = trace.find((r) => r.run_type === 'llm')!;
  expect(llmRun).toBeDefined();
  expect(ancestors(llmRun)).toContain('RunActivity:generateWithLlm');
  await waitFor(
    async () => [...posted, ...patched].some((r) => r.id === llmRun.id && r.outputs?.usage_metadata),
    15_000,
    'the LLM run ended',
  );
  const usage = [...posted, ...patched].find((r) => r.id === llmRun.id && r.outputs?.usage_metadata)!.outputs!
    .usage_metadata!;
  const recorded = await stack.pool.query<{ prompt_tokens: number; completion_tokens: number }>(
    'SELECT prompt_tokens, completion_tokens FROM generations WHERE workflow_id = $1',
    [workflowId],
  );
  expect(usage).toMatchObject({
    input_tokens: recorded.rows[0]!.prompt_tokens,
    output_tokens: recorded.rows[0]!.completion_tokens,
  });
  expect(usage.input_tokens).toBeGreaterThan(0);
  expect([...apiKeys]).toEqual(['lsv2_pt_test_key_0123456789']);
});
