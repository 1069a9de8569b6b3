import { BatchResult, Progress, SseEnd, StageTransition } from '../../src/contracts/progress';
import { sseMessages } from '../../src/cli/sse';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, until, type TestStack } from '../helpers/stack';

let fake: FakeLlm;
let stack: TestStack;

beforeAll(async () => {
  fake = await startFakeLlm();
  stack = await startStack('progress', {
    // byname: `hang_*` functions hang until the call is aborted, the rest get a good answer.
    LLM_PROVIDERS: JSON.stringify([
      { name: 'primary', base_url: fake.url('byname'), model: 'fake-large', timeout_ms: 100_000 },
    ]),
    BATCH_CONCURRENCY: '2',
    RUN_EVENTS_POLL_MS: '100',
    RUN_EVENTS_HEARTBEAT_MS: '200',
  });
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

const code = (name: string) => `def ${name}(x: int) -> int:\n    return x + 1\n`;
// Valid syntax, but importing the module raises: validation fails whatever the enhancer writes.
const broken = (name: string) =>
  `raise RuntimeError("no import for you")\n\ndef ${name}(x: int) -> int:\n    return x\n`;

interface Streamed {
  id?: string;
  event: string;
  data: unknown;
}

/** Reads the whole stream: it must end by itself (the server closes it when the run ends), within the bound. */
async function readEvents(
  workflowId: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; text: string; messages: Streamed[] }> {
  const res = await fetch(`${stack.url}/api/v1/runs/${workflowId}/events`, {
    headers: { authorization: `Bearer ${stack.apiKey}`, ...headers },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  const messages: Streamed[] = [];
  for await (const m of sseMessages(new Blob([text]).stream())) messages.push({ ...m, data: JSON.parse(m.data) });
  return { status: res.status, type: res.headers.get('content-type'), text, messages };
}

/** Executions the visibility query finds; the store is eventually consistent, so the wait is bounded, not assumed. */
const listed = (query: string, count: number) =>
  until(`${count} runs matching ${query}`, async () => {
    const found = [];
    for await (const execution of stack.client.workflow.list({ query })) found.push(execution);
    return found.length === count ? found : undefined;
  });

const versionRows = async (name: string) =>
  (await stack.pool.query('SELECT version, status FROM versions WHERE function_name = $1', [name])).rows;

describe('live progress', () => {
  test('the SSE stream of a run shows every stage in order, then end, and closes', async () => {
    const name = `sse_${uniqueSuffix()}`;
    const started = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      { function_name: name, original_code: code(name) },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);

    const { status, type, messages } = await readEvents(started.body.run.workflow_id);
    expect(status).toBe(200);
    expect(type).toContain('text/event-stream');
    const stages = messages.filter((m) => m.event === 'stage').map((m) => StageTransition.parse(m.data).stage);
    expect(stages).toEqual(['queued', 'cache', 'generate', 'validate', 'store', 'publish', 'completed']);
    const last = messages[messages.length - 1]!;
    expect(last.event).toBe('end');
    expect(SseEnd.parse(last.data)).toMatchObject({
      status: 'completed',
      run: { workflow_id: started.body.run.workflow_id },
    });
    const snapshots = messages.filter((m) => m.event === 'progress').map((m) => Progress.parse(m.data));
    expect(snapshots.at(-1)).toMatchObject({ kind: 'single', stage: 'completed' });
  });

  test('the stream opens with retry:, ids count transitions, and Last-Event-ID resumes after the ones seen', async () => {
    const name = `sseid_${uniqueSuffix()}`;
    const started = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: code(name),
    });
    expect(started.status).toBe(200);
    const id = started.body.run.workflow_id;

    const whole = await readEvents(id);
    expect(whole.text).toMatch(/^retry: \d+\n\n/);
    const stageIds = whole.messages.filter((m) => m.event === 'stage').map((m) => m.id);
    expect(stageIds).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    // Every other event carries the count so far too: a client resuming from any of them misses nothing.
    expect(whole.messages.at(-1)).toMatchObject({ event: 'end', id: '7' });

    const resumed = await readEvents(id, { 'last-event-id': '3' });
    const stages = resumed.messages.filter((m) => m.event === 'stage');
    expect(stages.map((m) => [m.id, StageTransition.parse(m.data).stage])).toEqual([
      ['4', 'validate'],
      ['5', 'store'],
      ['6', 'publish'],
      ['7', 'completed'],
    ]);
    expect(resumed.messages.filter((m) => m.event === 'progress')).toHaveLength(1);
    expect(resumed.messages.at(-1)!.event).toBe('end');
    // A resume from the last id gets the current snapshot and end; a nonsense id starts from the beginning.
    expect((await readEvents(id, { 'last-event-id': '7' })).messages.map((m) => m.event)).toEqual(['progress', 'end']);
    expect((await readEvents(id, { 'last-event-id': 'x' })).messages.filter((m) => m.event === 'stage')).toHaveLength(
      7,
    );
  });

  test('a quiet stream gets heartbeat comments while the run waits on its provider', async () => {
    const name = `hang_${uniqueSuffix()}`;
    const started = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      { function_name: name, original_code: code(name) },
      { prefer: 'respond-async' },
    );
    const id = started.body.run.workflow_id;
    const res = await fetch(`${stack.url}/api/v1/runs/${id}/events`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
      signal: AbortSignal.timeout(30_000),
    });
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes('\n: ping\n\n') && text.includes('event: stage\ndata: {"stage":"generate"')) break;
    }
    expect(text).toContain('\n: ping\n\n');
    expect((await requestJson('DELETE', `${stack.url}/api/v1/runs/${id}`)).status).toBe(202);
    await readEvents(id);
  });

  test('a run that fails ends its stream with failed and the error', async () => {
    const name = `ssefail_${uniqueSuffix()}`;
    const started = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      { function_name: name, original_code: broken(name) },
      { prefer: 'respond-async' },
    );
    const { messages } = await readEvents(started.body.run.workflow_id);
    const stages = messages.filter((m) => m.event === 'stage').map((m) => StageTransition.parse(m.data));
    expect(stages.at(-1)).toMatchObject({ stage: 'failed' });
    expect(stages.at(-1)!.detail).toContain('no import for you');
    expect(SseEnd.parse(messages.at(-1)!.data)).toMatchObject({
      status: 'failed',
      error: { code: 'validation_failed' },
    });
  });

  test("unknown, malformed and other tenants' runs get a 404 or 400 before any stream starts", async () => {
    expect((await getJson(`${stack.url}/api/v1/runs/enhance-none-000000000000/events`)).status).toBe(404);
    expect((await getJson(`${stack.url}/api/v1/runs/${encodeURIComponent('bad id!')}/events`)).status).toBe(400);
    const name = `other_${uniqueSuffix()}`;
    const started = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: code(name),
    });
    const otherKey = await stack.createKey('other', 'admin');
    const other = { authorization: `Bearer ${otherKey}` };
    const id = started.body.run.workflow_id;
    expect((await getJson(`${stack.url}/api/v1/runs/${id}/events`, other)).status).toBe(404);
    expect((await requestJson('DELETE', `${stack.url}/api/v1/runs/${id}`, undefined, other)).status).toBe(404);
  });
});

describe('cancel', () => {
  test('DELETE reaches a hanging LLM call, the run ends canceled and stores nothing', async () => {
    const name = `hang_${uniqueSuffix()}`;
    const started = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      { function_name: name, original_code: code(name) },
      { prefer: 'respond-async' },
    );
    const id = started.body.run.workflow_id;
    const runUrl = `${stack.url}/api/v1/runs/${id}`;

    // GET shows live progress: the run is in generate, waiting on the provider.
    const running = await until('the generate stage', async () => {
      const res = await getJson(runUrl);
      return res.body.progress?.stage === 'generate' &&
        fake.calls('byname').some((c) => c.body.messages.some((m) => m.content.includes(name)))
        ? res
        : undefined;
    });
    expect(running.body).toMatchObject({ status: 'running', progress: { kind: 'single', stage: 'generate' } });
    const events = readEvents(id);

    const canceled = await requestJson('DELETE', runUrl);
    expect(canceled.status).toBe(202);
    expect(canceled.body).toMatchObject({ status: 'canceling', run: { workflow_id: id } });

    const { messages } = await events;
    expect(SseEnd.parse(messages.at(-1)!.data)).toMatchObject({ status: 'canceled' });
    expect((await getJson(runUrl)).body).toMatchObject({ status: 'canceled', error: { code: 'run_canceled' } });
    const [listedRun] = await listed(`FunctionName = '${name}' AND Outcome = 'canceled'`, 1);
    expect(listedRun!.status.name).toBe('CANCELLED');
    // The heartbeat delivered the cancellation to the activity, which aborted the HTTP call to the provider.
    await until('the provider call to be aborted', async () =>
      fake.calls('byname').find((c) => c.body.messages.some((m) => m.content.includes(name)) && c.abandoned),
    );
    expect(await versionRows(name)).toEqual([]);
    // Canceling an ended run changes nothing and says how it ended.
    expect(await requestJson('DELETE', runUrl)).toMatchObject({ status: 200, body: { status: 'canceled' } });
  });
});

describe('batch', () => {
  test('items run as child workflows; a failed item is reported, the others complete; progress counts done/total', async () => {
    const names = [`b1_${uniqueSuffix()}`, `b2_${uniqueSuffix()}`, `bbad_${uniqueSuffix()}`];
    const functions = [
      { function_name: names[0], original_code: code(names[0]!) },
      { function_name: names[1], original_code: code(names[1]!), domain: 'computation' },
      { function_name: names[2], original_code: broken(names[2]!) },
    ];
    const started = await postJson(`${stack.url}/api/v1/functions/enhance:batch`, { functions });
    expect(started.status).toBe(202);
    const id = started.body.run.workflow_id;
    expect(started.body).toMatchObject({
      status: 'running',
      total: 3,
      links: { self: `/api/v1/runs/${id}`, events: `/api/v1/runs/${id}/events` },
    });
    expect(started.headers.get('location')).toBe(`/api/v1/runs/${id}`);

    const { messages } = await readEvents(id);
    const snapshots = messages.filter((m) => m.event === 'progress').map((m) => Progress.parse(m.data));
    const last = snapshots.at(-1)!;
    expect(last).toMatchObject({ kind: 'batch', stage: 'completed', done: 3, total: 3, succeeded: 2, failed: 1 });
    expect(SseEnd.parse(messages.at(-1)!.data)).toMatchObject({ status: 'completed' });

    const run = await getJson(`${stack.url}/api/v1/runs/${id}`);
    expect(run.body.status).toBe('completed');
    const result = BatchResult.parse(run.body.result);
    expect(result).toMatchObject({ total: 3, succeeded: 2, failed: 1 });
    expect(result.items.map((i) => [i.function_name, i.status])).toEqual([
      [names[0], 'completed'],
      [names[1], 'completed'],
      [names[2], 'failed'],
    ]);
    expect(result.items[2]!.error).toContain('no import for you');
    await listed(`WorkflowId = '${id}' AND WorkflowType = 'enhanceBatch' AND Outcome = 'partial'`, 1);
    expect(result.items[0]!.version).toBe(1);
    for (const name of names.slice(0, 2)) expect(await versionRows(name)).toEqual([{ version: 1, status: 'active' }]);
    // Each item is an ordinary run of the tenant, readable on its own.
    const child = await getJson(`${stack.url}/api/v1/runs/${result.items[1]!.workflow_id}`);
    expect(child.body).toMatchObject({
      status: 'completed',
      result: { function_name: names[1], metadata: { domain: 'computation' } },
    });
  });

  test('bad batches: 400 for the schema (empty, over 100), 422 naming each bad item, and nothing starts', async () => {
    const url = `${stack.url}/api/v1/functions/enhance:batch`;
    const one = (n: string) => ({ function_name: n, original_code: code(n) });
    expect((await postJson(url, { functions: [] })).status).toBe(400);
    const tooMany = await postJson(url, { functions: Array.from({ length: 101 }, (_, i) => one(`f${i}`)) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details[0].path).toBe('functions');

    const name = `ok_${uniqueSuffix()}`;
    const rejected = await postJson(url, {
      functions: [
        one(name),
        { function_name: 'nope', original_code: 'def (:' },
        { ...one(`dom_${uniqueSuffix()}`), domain: 'astrology' },
      ],
    });
    expect(rejected.status).toBe(422);
    expect(rejected.body.error.code).toBe('invalid_batch_items');
    expect(rejected.body.error.details.map((d: { path: string }) => d.path)).toEqual(['functions.1', 'functions.2']);
    expect(rejected.body.error.details[1].message).toContain('unknown_domain');
    expect(await versionRows(name)).toEqual([]);
  });
});

describe('Temporal visibility', () => {
  test('runs are found by FunctionName, Domain, CacheOutcome, Outcome and Provider', async () => {
    const name = `vis_${uniqueSuffix()}`;
    const failing = `visfail_${uniqueSuffix()}`;
    const url = `${stack.url}/api/v1/functions/enhance`;
    expect(
      (await postJson(url, { function_name: name, original_code: code(name), domain: 'computation' })).status,
    ).toBe(200);
    expect((await postJson(url, { function_name: failing, original_code: broken(failing) })).status).toBe(422);

    const [done] = await listed(
      `FunctionName = '${name}' AND Domain = 'computation' AND CacheOutcome = 'miss' AND Outcome = 'completed' AND Provider = 'primary'`,
      1,
    );
    expect(done!.type).toBe('enhanceFunction');
    expect(done!.status.name).toBe('COMPLETED');
    const [failed] = await listed(`FunctionName = '${failing}' AND Outcome = 'failed'`, 1);
    expect(failed!.status.name).toBe('FAILED');
    expect(await listed(`FunctionName = '${name}' AND Outcome = 'failed'`, 0)).toEqual([]);
  });
});
