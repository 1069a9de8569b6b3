import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeLlm, type FakeLlm, type FakeMode } from '../helpers/fake-llm';
import { waitFor } from '../helpers/net';
import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/** One provider address whose behaviour the test switches: it forwards to the fake's path for the current mode. */
async function switchableProvider(fake: FakeLlm): Promise<{ url: string; mode: FakeMode; close(): Promise<void> }> {
  const state = { mode: 'good' as FakeMode };
  const server = http.createServer((req, res) => {
    const target = new URL(`${fake.url(state.mode)}${req.url!.replace(/^\/v1/, '')}`);
    const upstream = http.request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const HALF_OPEN_SECONDS = 2;

describe('an LLM provider that fails with 500s, 429s and hangs, then recovers', () => {
  let fake: FakeLlm;
  let provider: Awaited<ReturnType<typeof switchableProvider>>;
  let stack: TestStack;

  beforeAll(async () => {
    fake = await startFakeLlm();
    provider = await switchableProvider(fake);
    stack = await startStack('llmfault', {
      LLM_PROVIDERS: JSON.stringify([{ name: 'flaky', base_url: provider.url, model: 'fake-model', timeout_ms: 500 }]),
      LLM_BREAKER_FAILURES: '3',
      LLM_BREAKER_HALF_OPEN_SECONDS: String(HALF_OPEN_SECONDS),
      LLM_RETRY_BASE_MS: '20',
      LLM_RETRY_MAX_MS: '50',
      LLM_MAX_ATTEMPTS: '2',
    });
  });
  afterAll(async () => {
    await stack.close();
    await provider.close();
    await fake.close();
  });

  const enhance = async () => {
    const name = `calc_${uniqueSuffix()}`;
    const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: `def ${name}(x: int) -> int:\n    return x * 3\n`,
    });
    expect(res.status).toBe(200);
    return res.body.metadata as {
      provider: string;
      fallback: boolean;
      attempts: { provider: string; outcome: string }[];
    };
  };
  const circuitMetric = async () => {
    const text = await (await fetch(`${stack.worker.http.url}/metrics`)).text();
    return Number(/^poet_circuit_breaker_state\{provider="flaky"\} (\d)/m.exec(text)?.[1]);
  };

  test('the circuit opens, the template serves every request meanwhile, metrics show it, and it closes after recovery', async () => {
    expect((await enhance()).provider).toBe('flaky');
    expect(await circuitMetric()).toBe(0);

    // 500s, then 429s, then hangs past the provider timeout: each failure counts toward the breaker.
    const seen: string[] = [];
    for (const mode of ['error500', 'ratelimit', 'hang'] as const) {
      provider.mode = mode;
      const metadata = await enhance();
      expect(metadata).toMatchObject({ provider: 'template', fallback: true });
      seen.push(...metadata.attempts.filter((a) => a.provider === 'flaky').map((a) => a.outcome));
    }
    expect(seen).toContain('retryable_error');
    expect(seen).toContain('circuit_open');
    expect(await circuitMetric()).toBe(2);

    // Still failing: the open circuit answers at once, costing the provider at most the one trial call a
    // half-open period lets through (the hangs above may already have taken longer than that period).
    const callsWhileOpen = fake.calls().length;
    const whileOpen = await enhance();
    expect(whileOpen).toMatchObject({ provider: 'template', fallback: true });
    expect(whileOpen.attempts.map((a) => a.outcome)).toContain('circuit_open');
    expect(fake.calls().length - callsWhileOpen).toBeLessThanOrEqual(1);
    expect(await circuitMetric()).toBe(2);

    provider.mode = 'good';
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_SECONDS * 1000 + 200));
    // The half-open trial call succeeds, the circuit closes, and the provider serves again.
    await waitFor(
      async () => (await enhance()).provider === 'flaky',
      20_000,
      'the provider serves again after the half-open period',
    );
    expect(await circuitMetric()).toBe(0);
    expect((await enhance()).fallback).toBe(false);
  });
});
