import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the fake provider behaves; each mode is a path prefix (`<url>/<mode>/v1`), so one server plays several providers.
 * good: working settings and an observer hook. repair: a hook that does not compile first, a working one once the
 * prompt carries validation errors. ratelimit: 429 with Retry-After on the first call of each function, then good.
 * error500: always 500. hang: never answers. malformed: prose instead of JSON. blocked: a hook that calls eval.
 * auth: 401. byname: the mode named by the function name's prefix (`repair_x` behaves as repair), good otherwise.
 */
const MODES = ['good', 'repair', 'ratelimit', 'error500', 'hang', 'malformed', 'blocked', 'auth'] as const;
export type FakeMode = (typeof MODES)[number] | 'byname';

export interface FakeCall {
  mode: FakeMode;
  at: number;
  body: { model: string; messages: { role: string; content: string }[]; response_format?: { type: string } };
  /** hang: set when the client gave up on the request (its timeout, or an abort when the activity was canceled). */
  abandoned?: boolean;
}

export interface FakeLlm {
  url(mode: FakeMode): string;
  calls(mode?: FakeMode): FakeCall[];
  close(): Promise<void>;
}

const between = (text: string, tag: string) => text.match(new RegExp(`<${tag}>\\n?([\\s\\S]*?)\\n?</${tag}>`))?.[1];

/** What a model configures: Operate settings and a hook that observes the arguments, as the prompt asks. */
const GOOD_HOOK = 'def poet_perceive_hook(args, kwargs):\n    return len(args) + len(kwargs)\n';

function answerFor(
  requested: FakeMode,
  body: FakeCall['body'],
  seen: Map<string, number>,
): { status: number; headers?: Record<string, string>; content?: string } {
  const task = body.messages.find((m) => m.role === 'user')?.content ?? '';
  const name = between(task, 'function_name') ?? 'f';
  const prefix = name.split('_')[0] as (typeof MODES)[number];
  const mode = requested !== 'byname' ? requested : MODES.includes(prefix) ? prefix : 'good';
  const repairing = body.messages.some((m) => m.content.includes('<validation_errors>'));
  const count = (seen.get(`${mode}/${name}`) ?? 0) + 1;
  seen.set(`${mode}/${name}`, count);
  const json = (perceive: string) => JSON.stringify({ settings: { retries: 2 }, hooks: { perceive } });
  switch (mode) {
    case 'good':
      return { status: 200, content: json(GOOD_HOOK) };
    case 'repair':
      return { status: 200, content: json(repairing ? GOOD_HOOK : 'def poet_perceive_hook(:\n    pass\n') };
    case 'ratelimit':
      return count === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200, content: json(GOOD_HOOK) };
    case 'error500':
      return { status: 500 };
    case 'malformed':
      return { status: 200, content: 'Sure! Here is your enhanced function: def f(): ...' };
    case 'blocked':
      return { status: 200, content: json('def poet_perceive_hook(args, kwargs):\n    return eval("1 + 1")\n') };
    case 'auth':
      return { status: 401 };
    case 'hang':
      return { status: 0 };
  }
}

const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/**
 * A local OpenAI-compatible server speaking the real chat-completions protocol, usage tokens included.
 * `latencyMs` delays every answer, as a real model's generation time (the benchmarks load this file too).
 */
export async function startFakeLlm({ latencyMs = 0 }: { latencyMs?: number } = {}): Promise<FakeLlm> {
  const calls: FakeCall[] = [];
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = req.url?.match(/^\/([a-z0-9]+)\/v1\/chat\/completions$/);
      if (req.method !== 'POST' || !match) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
        return;
      }
      const mode = match[1] as FakeMode;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeCall['body'];
      const call: FakeCall = { mode, at: Date.now(), body };
      calls.push(call);
      const answer = answerFor(mode, body, seen);
      if (answer.status === 0) {
        // hang: the client's timeout or abort ends it
        res.on('close', () => (call.abandoned = true));
        return;
      }
      if (answer.status !== 200) {
        const type =
          answer.status === 401 ? 'authentication_error' : answer.status === 429 ? 'rate_limit_error' : 'server_error';
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(JSON.stringify({ error: { message: `fake ${type}`, type, code: null } }));
        return;
      }
      const prompt = body.messages.map((m) => m.content).join('\n');
      const content = answer.content ?? '';
      const respond = () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${calls.length}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
            usage: {
              prompt_tokens: estimateTokens(prompt),
              completion_tokens: estimateTokens(content),
              total_tokens: estimateTokens(prompt) + estimateTokens(content),
            },
          }),
        );
      if (latencyMs > 0) setTimeout(respond, latencyMs);
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (mode) => `http://127.0.0.1:${port}/${mode}/v1`,
    calls: (mode) => calls.filter((c) => mode === undefined || c.mode === mode),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
