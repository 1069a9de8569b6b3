import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { answerSchemas } from '../helpers/openapi-answers';
import { runPackageBin } from '../helpers/package-bin';
import { startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/**
 * A TypeScript client made from the served document the way docs/api.md tells clients to: `openapi-typescript`
 * generates the types (into test/typed-client/generated/, gitignored), `tsc` type-checks the client
 * (test/typed-client/agent.ts) against them, and the client's `openapi-fetch` calls run against the live API,
 * every answer validated against the document's schema of its operation and status.
 */

const root = path.join(__dirname, '..', '..');
const clientDir = path.join(root, 'test', 'typed-client');

let fake: FakeLlm;
let stack: TestStack;

beforeAll(async () => {
  fake = await startFakeLlm();
  stack = await startStack('typedclient', {
    LLM_PROVIDERS: JSON.stringify([{ name: 'fake', base_url: fake.url('good'), model: 'fake-model' }]),
  });
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

async function run(what: string, pkg: string, command: string, args: string[]): Promise<void> {
  const { code, stdout, stderr } = await runPackageBin(pkg, command, args, { cwd: root });
  if (code !== 0) throw new Error(`${what} exited ${code}:\n${stdout}${stderr}`);
}

test('a client typed from /openapi.json type-checks and enhances, follows the run, lists versions and sends feedback', async () => {
  const served = await fetch(`${stack.url}/openapi.json`);
  expect(served.status).toBe(200);
  const doc = (await served.json()) as object;

  const generated = path.join(clientDir, 'generated');
  rmSync(generated, { recursive: true, force: true });
  mkdirSync(generated);
  writeFileSync(path.join(generated, 'openapi.json'), JSON.stringify(doc));
  await run('openapi-typescript', 'openapi-typescript', 'openapi-typescript', [
    path.join(generated, 'openapi.json'),
    '--output',
    path.join(generated, 'poet-api.d.ts'),
  ]);
  await run('tsc on the typed client', 'typescript', 'tsc', ['-p', path.join(clientDir, 'tsconfig.json')]);

  // Loaded only now, untyped here: its types exist once generated, and tsc checked it against them above.
  const { agentSession } = require('../typed-client/agent');
  const name = `typed_${uniqueSuffix()}`;
  const session = await agentSession(stack.url, stack.apiKey, name);

  const schemaOf = answerSchemas(doc);
  const exchanges: { method: string; route: string; status: number; body: unknown }[] = session.exchanges;
  const answers = exchanges.map(({ method, route, status, body }) => {
    const validate = schemaOf(route, method, status);
    return {
      call: `${method} ${route} → ${status}`,
      errors: validate?.(body) ? null : (validate?.errors ?? 'undocumented'),
    };
  });
  expect(answers).toEqual([
    { call: 'POST /api/v1/functions/enhance → 202', errors: null },
    ...answers
      .filter(({ call }) => call.startsWith('GET /api/v1/runs/{id} → '))
      .map(({ call }) => ({ call, errors: null })),
    { call: 'POST /api/v1/functions/enhance → 200', errors: null },
    { call: 'GET /api/v1/functions/{name}/versions → 200', errors: null },
    { call: 'POST /api/v1/functions/{name}/feedback → 200', errors: null },
    { call: 'GET /api/v1/functions/{name}/versions/{v} → 404', errors: null },
  ]);

  expect(session.run).toEqual({
    id: expect.stringMatching(new RegExp(`^enhance-${name}-`)),
    status: 'completed',
    location: `/api/v1/runs/${session.run.id}`,
  });
  expect(session.enhanced).toMatchObject({ version: 1, cache: 'miss', provider: 'fake' });
  expect(session.enhanced.python).toContain(`def ${name}(a: float, b: float) -> float:`);
  expect(session.again).toEqual({ version: 1, cache: 'hit' });
  expect(session.versions).toEqual([{ version: 1, status: 'active' }]);
  expect(session.feedback).toEqual({ status: 'accepted', version: 1 });
  expect(session.missing).toEqual({ status: 404, code: 'version_not_found' });
  expect(fake.calls('good').length).toBeGreaterThan(0);
}, 120_000);
