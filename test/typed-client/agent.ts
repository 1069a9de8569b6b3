import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './generated/poet-api';

/**
 * An agent's session through a client typed from the served document alone (`openapi-typescript` types,
 * `openapi-fetch` calls): enhance a function and follow its run, enhance it again (a cache hit), list its versions,
 * send feedback, read a version that is not there. test/api/typed-client.test.ts generates the types, type-checks
 * this file against them and runs it against the live API: a change of the API that breaks such a client fails it.
 * It imports nothing of ours but the generated types, as a client outside this repository would.
 */

/** One answer as the wire carried it, for validation against the document. */
export interface Exchange {
  method: string;
  /** The document's path template, e.g. `/api/v1/runs/{id}`. */
  route: string;
  status: number;
  body: unknown;
}

const POLL_MS = 100;
const RUN_DEADLINE_MS = 30_000;

function fail(what: string, response: Response, error: unknown): never {
  throw new Error(`${what}: ${response.status} ${JSON.stringify(error)}`);
}

export async function agentSession(baseUrl: string, apiKey: string, name: string) {
  const exchanges: Exchange[] = [];
  const record: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
      exchanges.push({
        method: request.method,
        route: schemaPath,
        status: response.status,
        body: json ? await response.clone().json() : undefined,
      });
    },
  };
  const poet = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${apiKey}` } });
  poet.use(record);

  const request = {
    function_name: name,
    original_code: `def ${name}(a: float, b: float) -> float:\n    return a / b\n`,
    context: { samples: [[6, 3]] },
  };
  const started = await poet.POST('/api/v1/functions/enhance', {
    params: { header: { prefer: 'respond-async' } },
    body: request,
  });
  if (!started.data) fail('enhance', started.response, started.error);
  if (!('links' in started.data)) throw new Error(`enhance answered ${started.response.status}, not 202`);
  const runId = started.data.run.workflow_id;

  const deadline = Date.now() + RUN_DEADLINE_MS;
  let polled = await poet.GET('/api/v1/runs/{id}', { params: { path: { id: runId } } });
  while (polled.data?.status === 'running' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    polled = await poet.GET('/api/v1/runs/{id}', { params: { path: { id: runId } } });
  }
  if (!polled.data) fail('run', polled.response, polled.error);
  const result = polled.data.result;
  if (polled.data.status !== 'completed' || !result || !('enhanced_code' in result))
    throw new Error(`run ${runId} ended ${polled.data.status} without an enhancement result`);

  const again = await poet.POST('/api/v1/functions/enhance', { body: request });
  if (!again.data) fail('enhance again', again.response, again.error);
  if (!('enhanced_code' in again.data)) throw new Error(`enhance again answered ${again.response.status}, not 200`);

  const versions = await poet.GET('/api/v1/functions/{name}/versions', { params: { path: { name } } });
  if (!versions.data) fail('versions', versions.response, versions.error);

  const feedback = await poet.POST('/api/v1/functions/{name}/feedback', {
    params: { path: { name } },
    body: {
      version: result.version,
      execution_id: `exec-${runId}`,
      feedback_type: 'performance',
      rating: 5,
      metrics: { success_rate: 1 },
    },
  });
  if (!feedback.data) fail('feedback', feedback.response, feedback.error);
  if (!('version' in feedback.data)) throw new Error(`feedback answered ${feedback.response.status}, not 200`);

  const missing = await poet.GET('/api/v1/functions/{name}/versions/{v}', {
    params: { path: { name, v: result.version + 1 } },
  });

  return {
    exchanges,
    run: { id: runId, status: polled.data.status, location: started.response.headers.get('location') },
    enhanced: {
      version: result.version,
      cache: result.metadata.cache,
      provider: result.metadata.provider,
      python: result.enhanced_code.python,
    },
    again: { version: again.data.version, cache: again.data.metadata.cache },
    versions: versions.data.versions.map((v) => ({ version: v.version, status: v.status })),
    feedback: { status: feedback.data.status, version: feedback.data.version },
    missing: { status: missing.response.status, code: missing.error?.error.code },
  };
}
