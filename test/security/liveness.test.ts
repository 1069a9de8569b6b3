import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/infra/observability/logger';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

let stack: TestStack;

beforeAll(async () => {
  // Logged at info, as in production: every failure and request line goes through redaction.
  const sink = new PassThrough().resume();
  stack = await startStack(
    'liveness',
    {},
    { logger: createLogger({ level: 'info', service: 'test-liveness', stream: sink }) },
  );
  // API and worker share this process here: loading the code of a first run and of a first failure is not what is measured.
  await enhanceRandom('warm', 'a.');
});
afterAll(() => stack.close());

/** Asks `url` every 20 ms until `stop` is set; returns the slowest answer's time in ms. */
async function slowestAnswer(url: string, stop: { done: boolean }): Promise<number> {
  let slowest = 0;
  while (!stop.done) {
    const started = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    slowest = Math.max(slowest, performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return slowest;
}

/** Two calls of the shared random generator never agree: a sample is quoted as a mismatch, then logged. */
function enhanceRandom(prefix: string, sample: string) {
  const name = `${prefix}_${uniqueSuffix()}`;
  const code = `import random\n\ndef ${name}(text: str) -> float:\n    return random.random()\n`;
  return postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: name,
    original_code: code,
    context: { samples: [[sample]] },
  });
}

/** The run of `sample` and the slowest liveness answer of the API and of the worker while it ran. */
async function slowestWhile(prefix: string, sample: string) {
  const stop = { done: false };
  const probes = [
    slowestAnswer(`${stack.url}/health/live`, stop),
    slowestAnswer(`${stack.worker.http.url}/health/live`, stop),
  ];
  const res = await enhanceRandom(prefix, sample);
  stop.done = true;
  const [api, worker] = await Promise.all(probes);
  return { res, api: api!, worker: worker! };
}

// A loaded machine answers slowly anyway: the floor is the same run with a 2-byte sample, measured just before, and
// blocking the event loop over the 60 KB text (seconds, as a backtracking redaction would) is what must not happen.
test('a 60 KB sample that makes the enhanced code differ fails the run while both processes answer liveness within 200 ms of a 2-byte run', async () => {
  const floor = await slowestWhile('small', 'a.');
  const { res, api, worker } = await slowestWhile('lag', 'a.'.repeat(30_000));

  expect(floor.res.status).toBe(422);
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe('validation_failed');
  expect(res.body.error.message.length).toBeLessThan(5000);
  expect(res.body.error.message).toContain("the whole text is in this failure's details in the run's history");
  expect(api).toBeLessThan(floor.api + 200);
  expect(worker).toBeLessThan(floor.worker + 200);
});

test('both processes export their event-loop lag', async () => {
  for (const url of [stack.url, stack.worker.http.url]) {
    const res = await getJson(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(String(res.body)).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
  }
});
